"""Security that holds for every page: headers, and hostile text that stays text in a real browser."""

from __future__ import annotations

import httpx
import pytest

from conftest import LiveServer, every_route
from dailypapers import accounts
from dailypapers.records import PaperRecord
from dailypapers.search import Search
from dailypapers.store import Store

SCRIPT = "<script>window.__xss = 1; alert('xss')</script>"
IMG = "<img src=x onerror=\"window.__xss = 2; alert('img')\">"
HOSTILE = PaperRecord(
    id="2608.99999", source="hf", observed="2026-08-21",
    title=f"Attention {SCRIPT} is {IMG} all",
    abstract=f"We show {IMG} and {SCRIPT} and <a href=\"javascript:window.__xss=3\">click</a> nothing runs.",
    authors=[{"name": f"Mallory {SCRIPT}"}, {"name": f"Eve {IMG}"}],
    featured_on=["2026-08-21"], upvotes=999, submitted_at="2026-08-21T08:00:00.000Z",
    organization={"name": "evil", "fullname": f"Evil {IMG} Org", "avatar": "javascript:window.__xss=4"},
    github_repo="javascript:window.__xss=5", project_page="javascript:window.__xss=6", published_at="2026-08-20",
)  # fmt: skip
HOSTILE_COMMENTS = [
    f"Look {SCRIPT} here, **bold** {IMG}",
    "[click me](javascript:window.__xss=7) and [data](data:text/html,<script>window.__xss=8</script>)",
    '<a href="javascript:window.__xss=9">raw link</a> <iframe src="javascript:window.__xss=10"></iframe>',
    "</textarea><script>window.__xss=11</script>",  # shown again in its author's edit box
]
PASSWORD = "correct horse battery"


@pytest.fixture
def hostile_site(demo_copy):
    store = Store(demo_copy)
    store.apply([HOSTILE])
    mallory = store.create_user("mallory", "mallory@example.org", accounts.hash_password(PASSWORD))
    for body in HOSTILE_COMMENTS:
        store.add_comment(HOSTILE.id, mallory["id"], body)
    Search(store, encoder=None).refresh()
    store.close()
    with LiveServer(demo_copy) as server:
        yield server


def test_security_headers_everywhere(live_demo):
    for path in ("/", "/api/daily_papers", "/feeds/daily.rss", "/static/style.css", "/search?q=x", "/nowhere"):
        headers = httpx.get(live_demo.url + path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert "script-src 'self'" in headers["content-security-policy"] and "unsafe-inline" not in headers["content-security-policy"]


OWN_SCRIPTS = "script:not([src^='/static/keys.js?'])"  # every script but the keyboard shortcuts' file


@pytest.mark.browser
def test_hostile_paper_text_is_inert_in_a_browser(browser, hostile_site):
    """Title, abstract, authors, organization and links full of script: every page shows them as text."""
    context = browser.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for path in ("/", "/papers/date/2026-08-21", "/papers/2608.99999", "/search?q=attention+mallory", "/papers/week/2026-W34"):
        page.goto(hostile_site.url + path)
        assert page.evaluate("window.__xss") is None, path
        assert page.locator(OWN_SCRIPTS).count() == 0, path  # no script but the site's own keys.js
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], path
    page.goto(hostile_site.url + "/papers/2608.99999")
    assert SCRIPT in page.inner_text("h1")  # shown, as text
    for link in page.locator("a").all():  # clicking every link on the page runs nothing either
        if (link.get_attribute("href") or "").startswith("/"):
            continue
        assert not (link.get_attribute("href") or "").lower().startswith("javascript")
    assert page.locator(".comment").count() == len(HOSTILE_COMMENTS) and "<script>" in page.inner_text(".comments")
    for path in ("/organizations/evil", "/authors/Eve", "/api/papers/2608.99999/comments"):
        page.goto(hostile_site.url + path)
        assert page.evaluate("window.__xss") is None, path
    # Their author sees them again in the edit boxes
    page.goto(hostile_site.url + "/login")
    page.fill("input[name=username]", "mallory")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.subscribe-form button[type=submit]")
    page.goto(hostile_site.url + "/papers/2608.99999")
    assert page.locator("textarea[name=body]").count() == len(HOSTILE_COMMENTS) + 1  # an edit box each, and a new one
    assert page.evaluate("window.__xss") is None and page.locator(OWN_SCRIPTS).count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if not h.startswith(("/", "http://", "https://", "#", "mailto:"))], hrefs
    assert dialogs == []
    context.close()


# Forms that need no CSRF token: each link is itself the secret (the token in its URL), and the one-click
# unsubscribe POST (RFC 8058) comes from mail clients, with no Origin. A subscription from another site
# only sends a confirmation mail (double opt-in).
SECRET_LINK_FORMS = {"/subscriptions/manage/{token}", "/unsubscribe/{token}", "/subscribe"}
SESSIONLESS_FORMS = {"/signup", "/login", "/forgot", "/reset/{token}"}  # checked by Origin only: there is no session yet


def test_every_state_changing_form_refuses_other_sites_and_missing_tokens(demo_copy):
    from fastapi.testclient import TestClient

    from dailypapers.config import Config
    from dailypapers.web.app import create_app

    app = create_app(Config({"db": str(demo_copy)}, environ={}))
    store = app.state.store
    user = store.create_user("ada", "ada@example.org", accounts.hash_password(PASSWORD), role="admin")
    here = {"Origin": "http://testserver"}
    client = TestClient(app, follow_redirects=False)
    assert client.post("/login", data={"username": "ada", "password": PASSWORD}, headers=here).status_code == 303
    csrf = store.session_user(accounts.secret_hash(client.cookies["dp_session"]))["csrf"]
    paper_id = client.get("/api/daily_papers", params={"limit": 1}).json()[0]["paper"]["id"]
    comment_id = store.add_comment(paper_id, user["id"], "hello")
    values = {"paper_id": paper_id, "comment_id": comment_id, "token_id": 1, "name": "evil", "token": "x", "kind": "author",
              "key": store.create_collection(user["id"], "mine")["key"]}  # fmt: skip
    forms = [(route.path, method) for route in every_route(app) if not route.path.startswith("/api/")
             for method in sorted(route.methods & {"POST", "PUT", "PATCH", "DELETE"})]  # fmt: skip
    assert len(forms) == 25, forms  # a new form must be added here, and thought about
    for path, method in forms:
        if path in SECRET_LINK_FORMS:
            continue
        url = path.replace(":path", "").format(**values)
        evil = client.request(method, url, data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
        assert evil.status_code == 403, (path, evil.status_code)
        no_origin = client.request(method, url, data={"csrf": csrf})
        assert no_origin.status_code == 403, (path, no_origin.status_code)
        if path not in SESSIONLESS_FORMS:
            no_token = client.request(method, url, data={}, headers=here)
            assert no_token.status_code == 403, (path, no_token.status_code)
    assert store.comments_of(paper_id)[0]["body"] == "hello" and store.session_user(accounts.secret_hash(client.cookies["dp_session"]))
