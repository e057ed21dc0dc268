"""Submissions, comments, organizations and author pages against a live server, with the arXiv API
replayed from recorded responses; and who may do what."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pytest
from conftest import PATIENCE, LiveServer, recorded_arxiv_api

from dailypapers import accounts

PASSWORD = "correct horse battery"


class Member:
    """A user with a browser session (forms) and an API token."""

    def __init__(self, site: LiveServer, name: str, role: str = "user"):
        store = site.app.state.store
        self.user = store.create_user(name, f"{name}@example.org", accounts.hash_password(PASSWORD), role=role)
        token, token_hash = accounts.new_secret()
        store.create_api_token(self.user["id"], "test", token_hash)
        self.api = httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.web = httpx.Client(base_url=site.url, headers={"Origin": site.url}, timeout=30)
        assert self.web.post("/login", data={"username": name, "password": PASSWORD}).status_code == 303
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', self.web.get("/settings").text)[1]

    def form(self, path: str, **data) -> httpx.Response:
        return self.web.post(path, data={"csrf": self.csrf, **data})


@pytest.fixture
def arxiv(replay_server):
    return replay_server({"/api/query": recorded_arxiv_api})


@pytest.fixture
def site(demo_copy, arxiv):
    with LiveServer(demo_copy, arxiv_api_url=f"{arxiv.url}/api/query", arxiv_min_interval=0, submission_max_days=100_000,
                    signups_per_hour=50, submissions_per_hour=4, comments_per_hour=8) as server:  # fmt: skip
        yield server


def featured_paper(site: LiveServer) -> dict:
    return httpx.get(f"{site.url}/api/daily_papers", params={"limit": 1}).json()[0]["paper"]


def today() -> str:
    return datetime.now(UTC).date().isoformat()


# -- submissions --------------------------------------------------------------------------------------------


def test_a_submitted_paper_is_fetched_from_arxiv_and_goes_on_todays_feed(site, arxiv):
    ada = Member(site, "ada")
    made = ada.api.post("/api/papers", json={"id": "https://arxiv.org/abs/2104.12255v1"})
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["id"] == "2104.12255" and item["title"] == "0" and item["submittedBy"]["user"] == "ada"
    assert item["paper"]["authors"][0]["name"] == "Quan Thoi Minh Nguyen" and item["featuredOn"] == [today()]
    assert [query["id_list"] for _, path, query in arxiv.requests] == ["2104.12255"]
    day = httpx.get(f"{site.url}/api/daily_papers", params={"date": today()}).json()
    assert [entry["paper"]["id"] for entry in day] == ["2104.12255"]
    assert 'data-id="2104.12255"' in httpx.get(site.url + "/").text  # today is now the latest day
    assert "2104.12255" in found_soon(site, "splitting zero attacks BLS signatures")  # the search index caught up
    again = ada.api.post("/api/papers", json={"id": "2104.12255"})
    assert again.status_code == 409 and f"already featured on {today()}" in again.text
    assert len(arxiv.requests) == 1


def found_soon(site: LiveServer, query: str, seconds: float = PATIENCE) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        ids = [e["paper"]["id"] for e in httpx.get(f"{site.url}/api/papers/search", params={"q": query, "mode": "lexical"}).json()]
        if ids or time.monotonic() > deadline:
            return ids
        time.sleep(0.2)


def test_submission_refusals(site, arxiv):
    ada = Member(site, "ada")
    featured = featured_paper(site)
    refused = ada.api.post("/api/papers", json={"id": featured["id"]})
    assert refused.status_code == 409 and "already featured" in refused.text
    assert ada.api.post("/api/papers", json={"id": "not a paper"}).status_code == 422
    missing = ada.api.post("/api/papers", json={"id": "0808.05394"})
    assert missing.status_code == 404 and "arXiv has no paper 0808.05394" in missing.text
    down = ada.api.post("/api/papers", json={"id": "1707.08567"})
    assert down.status_code == 502 and "arXiv" in down.text
    assert arxiv.requests and all(query["id_list"] != featured["id"] for _, _, query in arxiv.requests)
    anonymous = httpx.post(f"{site.url}/api/papers", json={"id": "1605.08386"})
    assert anonymous.status_code == 401
    assert httpx.get(f"{site.url}/api/papers/1605.08386").status_code == 404  # nothing was stored


def test_only_recent_papers_can_be_submitted(demo_copy, arxiv):
    with LiveServer(demo_copy, arxiv_api_url=f"{arxiv.url}/api/query", arxiv_min_interval=0) as site:  # 14 days
        old = Member(site, "ada").api.post("/api/papers", json={"id": "2104.12255"})
        assert old.status_code == 422 and "first published on 2021-04-20" in old.text and "last 14 days" in old.text
        assert httpx.get(f"{site.url}/api/papers/2104.12255").status_code == 404


def test_submitting_from_the_page(site):
    ada = Member(site, "ada")
    assert 'action="/submit"' in ada.web.get("/submit").text
    assert ada.web.post("/submit", data={"paper": "1605.08386"}).status_code == 403  # no CSRF token
    done = ada.form("/submit", paper="arXiv:1605.08386")
    assert done.status_code == 303 and done.headers["location"] == "/papers/1605.08386"
    page = ada.web.get("/papers/1605.08386").text
    assert "Submitted by" in page and "ada" in page
    refused = ada.form("/submit", paper="1605.08386")
    assert refused.status_code == 409 and "already featured" in refused.text and 'value="1605.08386"' in refused.text
    assert httpx.get(f"{site.url}/submit", follow_redirects=False).status_code == 303  # log in first


def test_submissions_are_rate_limited_per_account(site):
    ada = Member(site, "ada")
    answers = [ada.api.post("/api/papers", json={"id": "0808.05394"}).status_code for _ in range(5)]
    assert answers == [404] * 4 + [429]


# -- comments -------------------------------------------------------------------------------------------------


def comments_of(site: LiveServer, paper_id: str) -> list[dict]:
    return httpx.get(f"{site.url}/api/papers/{paper_id}/comments").json()


def num_comments(site: LiveServer, paper_id: str) -> int:
    return httpx.get(f"{site.url}/api/papers/{paper_id}").json()["numComments"]


def test_comments_render_markdown_safely_and_count_everywhere(site):
    ada = Member(site, "ada")
    paper = featured_paper(site)
    before = num_comments(site, paper["id"])
    body = "**Nice** result, see [code](https://example.org/x).\n\n<script>alert(1)</script> [x](javascript:alert(1))"
    made = ada.form(f"/papers/{paper['id']}/comments", body=body)
    assert made.status_code == 303 and re.search(r"#comment-\d+$", made.headers["location"])
    (comment,) = comments_of(site, paper["id"])
    assert comment["body"] == body and comment["author"] == {"user": "ada"}
    assert "<strong>Nice</strong>" in comment["html"] and 'href="https://example.org/x"' in comment["html"]
    assert "<script>" not in comment["html"] and 'href="javascript' not in comment["html"]
    page = httpx.get(f"{site.url}/papers/{paper['id']}").text
    assert "<strong>Nice</strong>" in page and "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert num_comments(site, paper["id"]) == before + 1
    day = httpx.get(site.url + "/").text
    card = day[day.index(f'data-id="{paper["id"]}"') :]
    assert f"{before + 1} comment" in card[: card.index("</article>")]
    assert ada.api.post(f"/api/papers/{paper['id']}/comments", json={"body": "   "}).status_code == 422
    assert ada.api.post(f"/api/papers/{paper['id']}/comments", json={"body": "x" * 10_001}).status_code == 422
    assert ada.api.post("/api/papers/0000.00000/comments", json={"body": "hi"}).status_code == 404


def test_the_paper_page_counts_comments_here_and_on_hugging_face(site):
    ada = Member(site, "ada")
    entries = httpx.get(f"{site.url}/api/daily_papers", params={"limit": 100}).json()
    paper = next(e for e in entries if e["numComments"] >= 2)
    ada.api.post(f"/api/papers/{paper['id']}/comments", json={"body": "one here"})
    page = httpx.get(f"{site.url}/papers/{paper['id']}").text
    # the same count as the paper's card ("N comments"), and how many of them are on Hugging Face
    assert re.search(rf'Comments <span class="muted">{paper["numComments"] + 1}</span>', page)
    assert f"{paper['numComments']} of them on <a href=\"https://huggingface.co/papers/{paper['id']}\"" in page
    assert num_comments(site, paper["id"]) == paper["numComments"] + 1
    day = re.search(r"/papers/date/(\d{4}-\d\d-\d\d)", page).group(1)  # the card on the paper's day says the same
    listing = httpx.get(f"{site.url}/papers/date/{day}").text
    assert f'<a class="comments" href="/papers/{paper["id"]}#comments">{paper["numComments"] + 1} comments</a>' in listing


def test_only_the_author_edits_or_deletes_a_comment(site):
    ada, bob = Member(site, "ada"), Member(site, "bob")
    paper = featured_paper(site)
    made = ada.api.post(f"/api/papers/{paper['id']}/comments", json={"body": "first"})
    assert made.status_code == 201
    cid = made.json()["id"]
    assert bob.api.patch(f"/api/comments/{cid}", json={"body": "hacked"}).status_code == 403
    assert bob.form(f"/comments/{cid}/edit", body="hacked").status_code == 403
    assert bob.api.delete(f"/api/comments/{cid}").status_code == 403
    assert bob.form(f"/comments/{cid}/delete").status_code == 403
    assert httpx.patch(f"{site.url}/api/comments/{cid}", json={"body": "anon"}).status_code == 401
    assert comments_of(site, paper["id"])[0]["body"] == "first"
    edited = ada.api.patch(f"/api/comments/{cid}", json={"body": "first, _edited_"})
    assert edited.status_code == 200 and edited.json()["editedAt"] and "<em>edited</em>" in edited.json()["html"]
    assert ada.form(f"/comments/{cid}/edit", body="by the form").status_code == 303
    assert comments_of(site, paper["id"])[0]["body"] == "by the form"
    assert ada.api.delete(f"/api/comments/{cid}").status_code == 204
    assert comments_of(site, paper["id"]) == [] and ada.api.delete(f"/api/comments/{cid}").status_code == 404


def test_only_moderators_hide_comments(site):
    ada, bob, mod = Member(site, "ada"), Member(site, "bob"), Member(site, "mod", role="moderator")
    paper = featured_paper(site)
    before = num_comments(site, paper["id"])
    cid = ada.api.post(f"/api/papers/{paper['id']}/comments", json={"body": "spam spam"}).json()["id"]
    assert bob.api.post(f"/api/comments/{cid}/hide").status_code == 403
    assert ada.form(f"/comments/{cid}/hide").status_code == 403  # not even its author
    assert mod.form(f"/comments/{cid}/hide").status_code == 303
    assert comments_of(site, paper["id"]) == [] and num_comments(site, paper["id"]) == before
    assert "spam spam" not in httpx.get(f"{site.url}/papers/{paper['id']}").text
    assert "spam spam" in mod.web.get(f"/papers/{paper['id']}").text  # moderators still see it, marked hidden
    assert ada.api.patch(f"/api/comments/{cid}", json={"body": "sneaky"}).status_code == 403
    shown = mod.api.delete(f"/api/comments/{cid}/hide")
    assert shown.status_code == 200 and shown.json()["hidden"] is False and shown.json()["body"] == "spam spam"
    assert num_comments(site, paper["id"]) == before + 1


def test_comments_are_rate_limited_and_need_the_csrf_token(site):
    ada = Member(site, "ada")
    paper = featured_paper(site)
    assert ada.web.post(f"/papers/{paper['id']}/comments", data={"body": "no token"}).status_code == 403
    other_site = httpx.post(f"{site.url}/papers/{paper['id']}/comments", data={"csrf": ada.csrf, "body": "x"},
                            cookies=ada.web.cookies, headers={"Origin": "https://evil.example"})  # fmt: skip
    assert other_site.status_code == 403
    answers = [ada.api.post(f"/api/papers/{paper['id']}/comments", json={"body": f"c{i}"}).status_code for i in range(9)]
    assert answers == [201] * 8 + [429]
    assert len(comments_of(site, paper["id"])) == 8


# -- organizations and authors --------------------------------------------------------------------------------


def test_administrators_attach_papers_to_organizations(site):
    root, ada = Member(site, "root", role="admin"), Member(site, "ada")
    paper = featured_paper(site)
    refused = ada.api.put(f"/api/papers/{paper['id']}/organization", json={"organization": "newlab"})
    assert refused.status_code == 403
    assert ada.form(f"/papers/{paper['id']}/organization", organization="newlab").status_code == 403
    assert root.api.put(f"/api/papers/{paper['id']}/organization", json={"organization": "bad handle!"}).status_code == 422
    done = root.api.put(f"/api/papers/{paper['id']}/organization", json={"organization": "newlab", "fullname": "New Lab"})
    assert done.status_code == 200 and done.json()["organization"]["fullname"] == "New Lab"
    page = httpx.get(f"{site.url}/organizations/newlab")
    assert page.status_code == 200 and "New Lab" in page.text and f'data-id="{paper["id"]}"' in page.text
    assert 'href="/organizations/newlab"' in httpx.get(f"{site.url}/papers/{paper['id']}").text
    assert httpx.get(f"{site.url}/organizations/no-such-lab").status_code == 404
    listing = httpx.get(f"{site.url}/organizations", params={"q": "new lab"}).text
    assert '<a href="/organizations/newlab">New Lab</a> <span class="muted">1 paper</span>' in listing
    assert "Attach to an organization" in root.web.get(f"/papers/{paper['id']}").text
    assert "Attach to an organization" not in ada.web.get(f"/papers/{paper['id']}").text


def test_users_join_and_leave_organizations(site):
    ada = Member(site, "ada")
    entries = httpx.get(f"{site.url}/api/daily_papers", params={"limit": 100}).json()
    org = next(e["organization"] for e in entries if e.get("organization"))
    url = f"/organizations/{org['name']}"
    page = httpx.get(site.url + url).text
    assert "No members yet" in page and re.search(r'class="paper-card"', page)
    assert ada.web.post(url + "/membership", data={"member": "1"}).status_code == 403  # no CSRF token
    assert ada.form(url + "/membership", member="1").status_code == 303
    assert "Members: ada" in httpx.get(site.url + url).text and "Leave" in ada.web.get(url).text
    assert ada.form(url + "/membership", member="0").status_code == 303
    assert "No members yet" in httpx.get(site.url + url).text


def test_author_pages_list_an_authors_papers(site):
    paper = httpx.get(f"{site.url}/api/papers/{featured_paper(site)['id']}").json()["paper"]
    name = paper["authors"][0]["name"]
    page = httpx.get(f"{site.url}/authors/{name}")
    assert page.status_code == 200 and f'data-id="{paper["id"]}"' in page.text and 'href="/feeds/authors/' in page.text
    assert f'href="/authors/{httpx.URL("/" + name).raw_path.decode()[1:]}"' in httpx.get(f"{site.url}/papers/{paper['id']}").text
    assert httpx.get(f"{site.url}/authors/Nobody Ever Wrote This").status_code == 404


def test_the_write_api_is_in_the_openapi_document(site):
    paths = httpx.get(f"{site.url}/openapi.json").json()["paths"]
    assert "post" in paths["/api/papers"] and "post" in paths["/api/papers/{paper_id}/comments"]
    assert {"patch", "delete"} <= set(paths["/api/comments/{comment_id}"]) and "put" in paths["/api/papers/{paper_id}/organization"]


def test_limits_per_address_hold_across_accounts(site):
    ada, bob = Member(site, "ada"), Member(site, "bob")  # both from 127.0.0.1
    paper = featured_paper(site)
    assert [ada.api.post("/api/papers", json={"id": "0808.05394"}).status_code for _ in range(4)] == [404] * 4
    assert bob.api.post("/api/papers", json={"id": "0808.05394"}).status_code == 429  # the address's 4 are used
    for i in range(8):
        assert ada.api.post(f"/api/papers/{paper['id']}/comments", json={"body": f"c{i}"}).status_code == 201
    refused = bob.api.post(f"/api/papers/{paper['id']}/comments", json={"body": "one more"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


def test_sign_ups_and_log_ins_are_limited_per_address(demo_copy):
    with LiveServer(demo_copy, signups_per_hour=2, logins_per_hour=3) as site:
        client = httpx.Client(base_url=site.url, headers={"Origin": site.url})
        made = [client.post("/signup", data={"username": f"user{i}", "email": f"user{i}@example.org", "password": PASSWORD}).status_code
                for i in range(3)]  # fmt: skip
        assert made == [303, 303, 429]
        def log_in(browser: httpx.Client) -> int:
            return browser.post("/login", data={"username": "user0", "password": PASSWORD}).status_code

        new_browsers = [httpx.Client(base_url=site.url, headers={"Origin": site.url}) for _ in range(4)]
        assert [log_in(browser) for browser in new_browsers] == [303, 303, 303, 429]
        # A browser that has logged in to the account before is counted by itself (web/login_limits.py).
        assert log_in(new_browsers[0]) == 303
