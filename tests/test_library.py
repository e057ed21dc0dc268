"""A reader's library and "For you": saving, dismissing, following, collections and their privacy,
imports (with papers fetched from a recorded arXiv API), exports, recommendations with reasons (pages,
API, personal feed) and the digest's "For you" section."""

from __future__ import annotations

import json
import re
from datetime import date
import xml.etree.ElementTree as ET

import feedparser
import pytest

from conftest import ARXIV_API, free_port
from dailypapers import accounts
from dailypapers.records import normalize_id

PASSWORD = "correct horse battery"
ATOM = "{http://www.w3.org/2005/Atom}"


def _recorded_entries() -> dict[str, ET.Element]:
    """Every paper entry of the recorded arXiv API answers, by arXiv id."""
    entries = {}
    for path in ARXIV_API.glob("*.json"):
        recorded = json.loads(path.read_text())
        if recorded["status_code"] != 200:
            continue
        root = ET.fromstring(recorded["body"].encode("latin-1"))
        for entry in root.iter(ATOM + "entry"):
            ident = entry.find(ATOM + "id").text
            if "/abs/" in ident:
                entries[normalize_id(ident)] = entry
    return entries


def batched_arxiv_api(query: dict):
    """A ReplayServer route for /api/query answering any id_list with the recorded entries of those ids
    (arXiv answers a batch with one feed holding the papers it knows)."""
    entries = _recorded_entries()
    feed = ET.Element(ATOM + "feed")
    for ident in query.get("id_list", "").split(","):
        if normalize_id(ident) in entries:
            feed.append(entries[normalize_id(ident)])
    return 200, {"Content-Type": "application/atom+xml"}, ET.tostring(feed)


@pytest.fixture
def site(demo_copy, replay_server):
    arxiv = replay_server({"/api/query": batched_arxiv_api})
    site_ = _app(demo_copy, arxiv_api_url=f"{arxiv.url}/api/query")
    site_.arxiv = arxiv
    return site_


class _Site:
    """The app in-process, with readers who log in through the forms."""

    def __init__(self, app):
        self.app, self.store = app, app.state.store

    def reader(self, name: str, role: str = "user"):
        from fastapi.testclient import TestClient

        self.store.create_user(name, f"{name}@example.org", accounts.hash_password(PASSWORD), role)
        client = TestClient(self.app, headers={"Origin": "http://testserver"}, follow_redirects=False)
        assert client.post("/login", data={"username": name, "password": PASSWORD}).status_code == 303
        client.csrf = self.store.session_user(accounts.secret_hash(client.cookies["dp_session"]))["csrf"]
        return client

    def token(self, name: str) -> dict:
        user = self.store.login_candidate(name)[0]
        token, token_hash = accounts.new_secret()
        self.store.create_api_token(user["id"], "test", token_hash)
        return {"Authorization": f"Bearer {token}"}


def _app(db, **settings) -> _Site:
    from dailypapers.config import Config
    from dailypapers.web.app import create_app

    values = {"db": str(db), "query_embed_timeout": 600, "arxiv_min_interval": 0, "smtp_host": "127.0.0.1",
              "smtp_port": free_port(), **settings}  # fmt: skip
    app = create_app(Config(values, environ={}))
    app.state.search.load_model(600)
    return _Site(app)


def _feed_ids(client, n: int = 30) -> list[str]:
    return [item["paper"]["id"] for item in client.get("/api/daily_papers", params={"limit": n}).json()]


def _cards(html: str) -> list[str]:
    return re.findall(r'<article class="paper-card" data-id="([^"]+)"', html)


def test_save_dismiss_and_follow_with_forms(site):
    ada = site.reader("ada")
    paper = _feed_ids(ada, 1)[0]
    home = ada.get("/").text
    assert f'action="/papers/{paper}/save"' in home and "Save to your library" in home  # a ★ on every card, without JavaScript
    assert ada.post(f"/papers/{paper}/save", data={"csrf": ada.csrf, "back": "/"}).headers["location"] == "/"
    assert "Saved: take it out of your library" in ada.get(f"/papers/{paper}").text
    library = ada.get("/library").text
    assert "to read" in library and f'data-id="{paper}"' in library
    # a forged form changes nothing
    assert ada.post(f"/papers/{paper}/save", data={"csrf": "forged", "saved": "0"}).status_code == 403
    user_id = site.store.login_candidate("ada")[0]["id"]
    assert site.store.library(user_id)["saved"] == [paper]
    # dismissing takes it out of the collections
    ada.post(f"/papers/{paper}/dismiss", data={"csrf": ada.csrf})
    assert site.store.library(user_id)["saved"] == [] and site.store.library(user_id)["dismissed"] == [paper]
    # following an author and an organization from their pages
    author = site.store.paper(paper)["authors"][0]["name"]
    page = ada.get(f"/authors/{author}").text
    assert "Follow</button>" in page
    ada.post(f"/follows/author/{author}", data={"csrf": ada.csrf})
    assert "Following ✓" in ada.get(f"/authors/{author}").text
    org = next(p["organization"]["name"] for p in site.store.papers_by_ids(_feed_ids(ada)) if p.get("organization"))
    ada.post(f"/follows/organization/{org}", data={"csrf": ada.csrf})
    library = site.store.library(user_id)
    assert library["authors"] == [author] and library["organizations"] == [org]
    assert ada.post("/follows/nobody/x", data={"csrf": ada.csrf}).status_code == 422


def test_the_api_and_recommendations_that_say_why(site):
    site.reader("bo")
    headers = site.token("bo")
    from fastapi.testclient import TestClient

    api = TestClient(site.app, headers=headers)
    assert api.get("/api/recommendations").status_code == 409  # nothing saved: nothing to learn from
    ids = _feed_ids(api, 30)
    papers = {p["id"]: p for p in site.store.papers_by_ids(ids)}
    # save the papers about one topic: the rest of the feed ranks by closeness to them
    topic = [i for i in ids if re.search(r"video|image|visual|vision", papers[i]["title"] + (papers[i]["abstract"] or ""), re.I)][:4]
    assert len(topic) >= 2
    for paper_id in topic:
        answer = api.put(f"/api/library/saved/{paper_id}", json={"collection": "vision"})
        assert answer.status_code == 200, answer.text
    assert set(answer.json()["saved"]) == set(topic) and answer.json()["collections"][0]["name"] == "vision"
    ranked = api.get("/api/recommendations", params={"view": "week", "limit": 10}).json()
    assert ranked and not {r["paper"]["id"] for r in ranked} & set(topic)  # saved papers are never recommended
    scores = [r["score"] for r in ranked]
    assert scores == sorted(scores, reverse=True)
    first = ranked[0]["reasons"]
    assert first["closest"] and first["closest"][0]["id"] in topic and first["closest"][0]["title"] == papers[first["closest"][0]["id"]]["title"]
    # dismissing the first changes the next ranking
    assert api.put(f"/api/library/dismissed/{ranked[0]['paper']['id']}").status_code == 200
    again = api.get("/api/recommendations", params={"view": "week", "limit": 10}).json()
    assert ranked[0]["paper"]["id"] not in [r["paper"]["id"] for r in again]
    # the whole catalog, beyond the feed
    catalog = api.get("/api/recommendations", params={"view": "catalog", "limit": 20}).json()
    assert catalog and all(r["reasons"]["closest"] or r["reasons"]["terms"] for r in catalog)
    assert api.get("/api/recommendations", params={"view": "year"}).status_code == 422
    assert api.put("/api/library/saved/2501.99999x").status_code == 404


def test_collections_are_private_unless_public(site):
    cy, dee = site.reader("cy"), site.reader("dee")
    paper = _feed_ids(cy, 1)[0]
    cy.post("/library/collections", data={"csrf": cy.csrf, "name": "secret reading"})
    cy.post(f"/papers/{paper}/save", data={"csrf": cy.csrf, "collection": "secret reading"})
    key = next(c["key"] for c in site.store.collections_of(site.store.login_candidate("cy")[0]["id"]) if c["name"] == "secret reading")
    assert cy.get(f"/collections/{key}").status_code == 200
    assert dee.get(f"/collections/{key}").status_code == 404  # the same answer as no such collection
    assert dee.get(f"/collections/{key}.atom").status_code == 404
    assert dee.get("/collections/1").status_code in (404, 422)  # ids are not guessable keys
    from fastapi.testclient import TestClient

    anyone = TestClient(site.app)
    assert anyone.get(f"/api/collections/{key}").status_code == 401
    assert anyone.get(f"/api/collections/{key}", headers=site.token("dee")).status_code == 404
    assert anyone.get(f"/api/collections/{key}", headers=site.token("cy")).json()["papers"] == [paper]
    cy.post(f"/library/collections/{key}", data={"csrf": cy.csrf, "public": "1"})
    assert dee.get(f"/collections/{key}").status_code == 200
    feed = feedparser.parse(anyone.get(f"/collections/{key}.atom").content)
    assert [e.link.rsplit("/", 1)[1] for e in feed.entries] == [paper]
    assert dee.post(f"/library/collections/{key}", data={"csrf": dee.csrf, "public": "0"}).status_code == 404  # not hers
    assert cy.post(f"/library/collections/{key}", data={"csrf": cy.csrf}).status_code == 303  # nothing asked: nothing changes
    cy.post(f"/library/collections/{key}", data={"csrf": cy.csrf, "name": "shared reading"})
    assert cy.post("/library/collections", data={"csrf": cy.csrf, "name": "shared reading"}).status_code == 422  # taken
    cy.post(f"/library/collections/{key}", data={"csrf": cy.csrf, "delete": "1"})
    assert dee.get(f"/collections/{key}").status_code == 404 and site.store.collections_of(site.store.login_candidate("cy")[0]["id"]) == []


def test_import_fetches_matches_and_reports(site, tmp_path):
    eve = site.reader("eve")
    in_catalog = _feed_ids(eve, 2)
    title = site.store.paper(in_catalog[1])["title"]
    bibtex = (
        f"@misc{{one, title={{Known}}, eprint={{{in_catalog[0]}}}, archivePrefix={{arXiv}}}}\n"
        f"@article{{two, title={{{title}}}, journal={{Some Journal}}}}\n"  # no arXiv id: matched by title
        "@misc{three, title={Fetched}, eprint={1605.08386}, archivePrefix={arXiv}}\n"  # not in the catalog: from arXiv
        "@misc{four, title={Unknown}, eprint={2501.99999}, archivePrefix={arXiv}}\n"  # arXiv has no such paper
        "@book{five, title={A book nobody has indexed}}\n"
    )
    answer = eve.post("/library/import", data={"csrf": eve.csrf, "collection": "imported"},
                      files={"file": ("refs.bib", bibtex.encode(), "application/x-bibtex")})  # fmt: skip
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "1 already in the catalog" in page and "1 fetched from arXiv" in page and "1 found by title" in page
    assert "four" in page and "five" in page  # what could not be placed, by its key
    assert [q["id_list"] for _, _, q in site.arxiv.requests] == ["1605.08386,2501.99999"]  # one batched request
    user_id = site.store.login_candidate("eve")[0]["id"]
    assert set(site.store.library(user_id)["saved"]) == {in_catalog[0], in_catalog[1], "1605.08386"}
    assert site.store.paper("1605.08386")["title"]
    exported = eve.get("/library/export.bib").text
    assert exported.count("@misc{") == 3 and "eprint = {1605.08386}" in exported.replace("eprint={", "eprint = {")


def test_bad_imports_store_nothing(site):
    fay = site.reader("fay")
    user_id = site.store.login_candidate("fay")[0]["id"]
    broken = b"@article{broken, title={Never closed, eprint={2401.00001}\n"
    answer = fay.post("/library/import", data={"csrf": fay.csrf}, files={"file": ("refs.bib", broken, "text/plain")})
    assert answer.status_code == 422 and "Nothing was imported" in answer.text and "line" in answer.text
    huge = b"2401.00001\n" * 1_000_000  # 11 MB: over the request body limit, refused before it is read
    assert fay.post("/library/import", data={"csrf": fay.csrf}, files={"file": ("ids.txt", huge, "text/plain")}).status_code == 413
    api = site.token("fay")
    from fastapi.testclient import TestClient

    client = TestClient(site.app, headers=api)
    answer = client.post("/api/library/import", json={"text": "not an id\n", "filename": "ids.txt"})
    assert answer.status_code == 422 and "line 1" in answer.json()["error"]
    assert site.store.library(user_id)["saved"] == [] and site.store.collections_of(user_id) == []
    # arXiv not answering: nothing is saved, not even the papers the catalog had
    site.app.state.config.arxiv_api_url = f"http://127.0.0.1:{free_port()}/api/query"
    known = _feed_ids(client, 1)[0]
    answer = client.post("/api/library/import", json={"text": f"{known}\n1605.08386\n"})
    assert answer.status_code == 502 and site.store.library(user_id)["saved"] == []


def test_the_for_you_page_and_the_personal_feed(site):
    gus = site.reader("gus")
    assert "import your references" in gus.get("/for-you").text
    ids = _feed_ids(gus, 5)
    gus.post(f"/papers/{ids[0]}/save", data={"csrf": gus.csrf})
    page = gus.get("/for-you?view=week").text
    shown = _cards(page)
    assert shown and ids[0] not in shown and "Close to your" in page and "Not interested" in page
    gus.post(f"/papers/{shown[0]}/dismiss", data={"csrf": gus.csrf, "back": "/for-you?view=week"})
    assert shown[0] not in _cards(gus.get("/for-you?view=week").text)
    feed_url = re.search(r"<code>[^<]*(/for-you/feed/[^<]+\.atom)</code>", gus.get("/library").text)[1]
    from fastapi.testclient import TestClient

    feed = feedparser.parse(TestClient(site.app).get(feed_url).content)  # no session: the URL is the secret
    assert feed.entries and ids[0] not in {e.link.rsplit("/", 1)[1] for e in feed.entries}
    gus.post("/for-you/feed", data={"csrf": gus.csrf})  # a new link: the old one stops working
    assert TestClient(site.app).get(feed_url).status_code == 404
    assert gus.get("/for-you/feed/short.atom").status_code in (404, 422)


def test_a_linked_subscribers_digest_has_for_you(demo_copy, mail_server):
    """Opening the mail's manage link while logged in to the account with that address links them; the
    next digest has a "For you" section: the day's feed ranked for the account, its saves left out."""
    from conftest import mail_settings
    from dailypapers.digest import parse_periods, send, signer
    from dailypapers.digest.preferences import check_preferences

    site = _app(demo_copy, **mail_settings(mail_server))
    hal, store = site.reader("hal"), site.store
    subscriber, confirmation = store.subscribe("hal@example.org", check_preferences(top=0, searches=['"no paper says this qwxz"']))
    store.mark_sent(confirmation)
    store.set_subscriber_status(subscriber["id"], "confirmed", only_from=["pending"])
    day = store.latest_day()
    on_the_day = [p["id"] for p in store.feed(date.fromisoformat(day), date.fromisoformat(day), limit=500)[0]]
    hal.post(f"/papers/{on_the_day[0]}/save", data={"csrf": hal.csrf})
    token = signer(store, site.app.state.config).sign("manage", subscriber["id"])  # the mail's manage link
    assert hal.get(f"/subscriptions/manage/{token}").status_code == 200
    assert store.subscriber(subscriber["id"])["user_id"] == store.login_candidate("hal")[0]["id"]
    send(store, site.app.state.search, site.app.state.config, parse_periods(f"daily:{day}", day))
    [mail] = mail_server.to("hal@example.org")
    text = mail.get_body(("plain",)).get_content()
    sent = set(re.findall(r"/papers/(\d{4}\.\d{4,5})", text))
    assert "For you" in text and sent and on_the_day[0] not in sent and sent <= set(on_the_day)


@pytest.mark.browser
def test_a_reader_imports_then_dismisses_in_a_browser(browser, demo_copy, tmp_path):
    """Log in, import a BibTeX file, see the week ranked closest first with reasons, dismiss the first:
    it is gone and the ranking changed."""
    import httpx

    from conftest import LiveServer

    with LiveServer(demo_copy, arxiv_min_interval=0) as server:
        store = server.app.state.store
        user = store.create_user("ivy", "ivy@example.org", accounts.hash_password(PASSWORD))
        token, token_hash = accounts.new_secret()
        store.create_api_token(user["id"], "test", token_hash)
        api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=600)
        week = [item["paper"] for item in api.get("/api/daily_papers", params={"limit": 100}).json()]
        topic = [p for p in week if re.search(r"\bvideo", p["title"], re.I)][:3]
        assert len(topic) >= 2
        bib = tmp_path / "mine.bib"
        bib.write_text("".join(f"@misc{{p{n}, title={{{p['title']}}}, eprint={{{p['id']}}}, archivePrefix={{arXiv}}}}\n"
                               for n, p in enumerate(topic)))  # fmt: skip
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(120_000)
        page.goto(server.url + "/login?next=/library")
        page.fill("input[name=username]", "ivy")
        page.fill("input[name=password]", PASSWORD)
        page.click("form.subscribe-form button[type=submit]")
        page.wait_for_url("**/library")
        page.set_input_files("#import-file", str(bib))
        page.click("form[action=\"/library/import\"] button[type=submit]")
        assert f"{len(topic)} already in the catalog" in page.inner_text(".import-report")

        page.goto(server.url + "/for-you?view=week")
        shown = page.eval_on_selector_all("article.paper-card", "cards => cards.map(c => c.dataset.id)")
        before = {r["paper"]["id"]: r["score"] for r in api.get("/api/recommendations", params={"view": "week", "limit": 50}).json()}
        assert shown == list(before) and not set(shown) & {p["id"] for p in topic}  # closest first, the saved ones left out
        first = page.locator("article.paper-card").first
        reasons = first.locator(".reasons")
        assert "Close to your" in reasons.inner_text()
        assert reasons.locator("a").first.get_attribute("href") in {f"/papers/{p['id']}" for p in topic}
        first.locator("text=Not interested").click()
        page.wait_for_url("**/for-you?view=week")
        after = page.eval_on_selector_all("article.paper-card", "cards => cards.map(c => c.dataset.id)")
        assert shown[0] not in after and store.library(user["id"])["dismissed"] == [shown[0]]
        now = {r["paper"]["id"]: r["score"] for r in api.get("/api/recommendations", params={"view": "week", "limit": 50}).json()}
        assert after == list(now)  # the page shows the retrained model's ranking
        assert any(abs(now[i] - before[i]) > 1e-6 for i in now if i in before)  # which learned from the dismissal


def test_saving_into_a_named_collection_from_the_paper_page(site):
    jo = site.reader("jo")
    paper = _feed_ids(jo, 1)[0]
    page = jo.get(f"/papers/{paper}").text
    assert 'name="collection"' in page and 'list="my-collections"' in page
    jo.post(f"/papers/{paper}/save", data={"csrf": jo.csrf, "collection": "  to  cite "})
    user_id = site.store.login_candidate("jo")[0]["id"]
    assert [(c["name"], c["count"]) for c in site.store.collections_of(user_id)] == [("to cite", 1)]
    assert '<option value="to cite">' in jo.get(f"/papers/{paper}").text


def test_a_large_import_fetches_in_turns(site, monkeypatch):
    """One import fetches at most MAX_FETCHED papers from arXiv; importing the same file again fetches
    the next ones and keeps what the first one saved."""
    from dailypapers.web import imports

    monkeypatch.setattr(imports, "MAX_FETCHED", 1)
    kim = site.reader("kim")
    ids = "1605.08386\n2104.12255\n"
    first = kim.post("/library/import", data={"csrf": kim.csrf, "ids": ids})
    assert "1 fetched from arXiv" in first.text and "not fetched yet" in first.text
    second = kim.post("/library/import", data={"csrf": kim.csrf, "ids": ids})
    assert "1 already in the catalog" in second.text and "1 fetched from arXiv" in second.text and "not fetched yet" not in second.text
    assert set(site.store.library(site.store.login_candidate("kim")[0]["id"])["saved"]) == {"1605.08386", "2104.12255"}
