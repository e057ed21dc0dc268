"""Accounts, sessions, CSRF, API tokens and upvotes against a live server."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import LiveServer, run_cli
from dailypapers import accounts
from dailypapers.store import Store

PASSWORD = "correct horse battery"


@pytest.fixture
def site(demo_copy):
    with LiveServer(demo_copy, failed_logins=3, signups_per_hour=50) as server:
        yield server


def browser_client(site: LiveServer) -> httpx.Client:
    """A client that sends forms the way a browser on the site's own pages does (Origin header)."""
    return httpx.Client(base_url=site.url, headers={"Origin": site.url}, timeout=30)


def sign_up(site: LiveServer, name: str) -> httpx.Client:
    client = browser_client(site)
    answer = client.post("/signup", data={"username": name, "email": f"{name}@example.org", "password": PASSWORD})
    assert answer.status_code == 303 and "dp_session" in client.cookies, answer.text
    return client


def csrf(client: httpx.Client) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/settings").text)[1]


def a_paper(site: LiveServer) -> dict:
    return httpx.get(f"{site.url}/api/daily_papers", params={"limit": 1}).json()[0]["paper"]


def test_users_create_admin_from_the_command_line(tmp_path, new_db):
    db = str(new_db("x"))
    made = run_cli("--db", db, "users", "create", "Root", "--email", "root@example.org", "--admin", "--password-stdin",
                   input_text=PASSWORD + "\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    store = Store(db)
    user, password_hash = store.login_candidate("root")
    assert user["role"] == "admin" and password_hash.startswith("$argon2id$") and accounts.verify_password(password_hash, PASSWORD)
    store.close()
    again = run_cli("--db", db, "users", "create", "root", "--email", "other@example.org", "--password-stdin", input_text=PASSWORD + "\n")
    assert again.returncode == 1 and "taken" in again.stderr
    weak = run_cli("--db", db, "users", "create", "bob", "--email", "b@example.org", "--password-stdin", input_text="short\n")
    assert weak.returncode == 1 and "10 to 200 characters" in weak.stderr
    made = run_cli("--db", db, "users", "create", "carol", "--email", "c@example.org", "--password-stdin", input_text=PASSWORD + "\n")
    assert made.returncode == 0 and "created user carol" in made.stderr  # (messages go to stderr)
    promoted = run_cli("--db", db, "users", "role", "Carol", "moderator")
    assert promoted.returncode == 0 and Store(db).login_candidate("carol")[0]["role"] == "moderator"
    unknown = run_cli("--db", db, "users", "role", "nobody", "admin")
    assert unknown.returncode == 1 and "no account named" in unknown.stderr


def test_sign_up_log_out_log_in(site):
    client = sign_up(site, "ada")
    assert "ada" in client.get("/").text and 'action="/logout"' in client.get("/").text
    cookie = next(c for c in client.cookies.jar if c.name == "dp_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    assert client.post("/logout", data={"csrf": csrf(client)}).status_code == 303
    assert client.get("/settings").status_code == 303  # to the log-in page
    answer = client.post("/login", data={"username": "ADA", "password": PASSWORD, "next": "//evil.example/x"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"  # never off the site
    assert "ada@example.org" in client.get("/settings").text


def test_wrong_password_and_unknown_account_look_the_same(site, monkeypatch):
    sign_up(site, "grace")
    client = browser_client(site)
    verified = []  # the hash each log-in checked its password against

    class CountingHasher:  # the server runs in this process: count its argon2 checks
        def __init__(self, hasher):
            self.hasher = hasher

        def verify(self, password_hash, password):
            verified.append(password_hash)
            return self.hasher.verify(password_hash, password)

        def __getattr__(self, name):
            return getattr(self.hasher, name)

    monkeypatch.setattr(accounts, "_HASHER", CountingHasher(accounts._HASHER))
    answers, checks = {}, {}
    for name in ("grace", "nobody", "grace", "nobody"):
        before = len(verified)
        answer = client.post("/login", data={"username": name, "password": "wrong password!"})
        checks.setdefault(name, []).extend(verified[before:])
        answers.setdefault(name, set()).add((answer.status_code, re.search(r'role="alert">(.*?)<', answer.text)[1]))
    assert answers["grace"] == answers["nobody"] == {(401, "Wrong username or password")}
    # An unknown name costs one full argon2 check too, with the same parameters (so the same time) as a
    # real account's: how long the answer takes does not tell which names exist.
    assert len(checks["grace"]) == len(checks["nobody"]) == 2
    parameters = {h.rsplit("$", 2)[0] for h in checks["grace"] + checks["nobody"]}
    assert len(parameters) == 1 and parameters.pop().startswith("$argon2id$")
    assert set(checks["nobody"]).isdisjoint(checks["grace"])
    # The third failure pauses the account name, for real and unknown names alike.
    for name in ("grace", "nobody"):
        client.post("/login", data={"username": name, "password": "wrong password!"})
        assert client.post("/login", data={"username": name, "password": PASSWORD}).status_code == 429


def test_forms_from_other_sites_or_without_the_token_are_refused(site):
    client = sign_up(site, "alan")
    token = csrf(client)
    paper = a_paper(site)
    bare = httpx.Client(base_url=site.url, cookies=client.cookies)  # no Origin, no Referer
    assert bare.post("/signup", data={"username": "eve", "email": "e@example.org", "password": PASSWORD}).status_code == 403
    evil = httpx.Client(base_url=site.url, cookies=client.cookies, headers={"Origin": "https://evil.example"})
    assert evil.post(f"/papers/{paper['id']}/upvote", data={"csrf": token}).status_code == 403
    assert client.post(f"/papers/{paper['id']}/upvote", data={"csrf": "forged"}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert a_paper(site)["upvotes"] == paper["upvotes"]  # nothing was counted


def test_upvote_from_the_page_shows_everywhere(site):
    client = sign_up(site, "barbara")
    paper = a_paper(site)
    answer = client.post(f"/papers/{paper['id']}/upvote", data={"csrf": csrf(client), "up": "1", "back": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert a_paper(site)["upvotes"] == paper["upvotes"] + 1  # the API
    page = client.get("/").text  # the reader's own daily page: the button is pressed
    card = re.search(rf'data-id="{re.escape(paper["id"])}".*?</article>', page, re.S)[0]
    assert 'aria-pressed="true"' in card and f'<span class="upvotes">{paper["upvotes"] + 1}</span>' in card
    anonymous = httpx.get(f"{site.url}/papers/{paper['id']}").text  # and everyone's
    assert f'<span class="upvotes">{paper["upvotes"] + 1}</span>' in anonymous
    client.post(f"/papers/{paper['id']}/upvote", data={"csrf": csrf(client), "up": "0"})
    assert a_paper(site)["upvotes"] == paper["upvotes"]


def test_api_tokens_vote_and_can_be_revoked(site):
    client = sign_up(site, "linus")
    made = client.post("/settings/tokens", data={"csrf": csrf(client), "name": "bot"})
    token = re.search(r'<code class="token">([^<]+)</code>', made.text)[1]
    paper = a_paper(site)
    api = httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {token}"})
    for _ in range(2):  # upvoting twice counts once
        answer = api.post(f"/api/papers/{paper['id']}/upvote")
        assert answer.status_code == 200 and answer.json() == {"id": paper["id"], "upvoted": True, "upvotes": paper["upvotes"] + 1}
    assert api.delete(f"/api/papers/{paper['id']}/upvote").json()["upvotes"] == paper["upvotes"]
    assert api.post("/api/papers/2501.00000/upvote").status_code == 404
    unauthenticated = httpx.post(f"{site.url}/api/papers/{paper['id']}/upvote")
    assert unauthenticated.status_code == 401 and unauthenticated.headers["www-authenticate"] == "Bearer"
    assert httpx.post(f"{site.url}/api/papers/{paper['id']}/upvote", cookies=client.cookies).status_code == 401  # no cookies
    token_id = re.search(r'action="/settings/tokens/(\d+)/revoke"', made.text)[1]
    client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf": csrf(client)})
    assert api.post(f"/api/papers/{paper['id']}/upvote").status_code == 401


def test_fifty_users_voting_at_once_make_exactly_fifty(site, demo_copy):
    store = Store(demo_copy)
    tokens = []
    for n in range(50):
        user = store.create_user(f"voter{n}", f"voter{n}@example.org", "not a usable hash")
        token, token_hash = accounts.new_secret()
        store.create_api_token(user["id"], "t", token_hash)
        tokens.append(token)
    paper = a_paper(site)

    def vote(token: str) -> int:
        return httpx.post(f"{site.url}/api/papers/{paper['id']}/upvote", headers={"Authorization": f"Bearer {token}"},
                          timeout=60).status_code  # fmt: skip

    with ThreadPoolExecutor(50) as pool:
        assert set(pool.map(vote, tokens + tokens[:10])) == {200}  # ten vote twice
    expected = paper["upvotes"] + 50
    assert a_paper(site)["upvotes"] == expected
    assert httpx.get(f"{site.url}/api/papers/{paper['id']}").json()["upvotes"] == expected
    assert f'<span class="upvotes">{expected}</span>' in httpx.get(f"{site.url}/papers/{paper['id']}").text
    store.close()
