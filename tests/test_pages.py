"""The server-rendered pages: daily / weekly / monthly lists, paper pages, search, errors.

Expected values come from the store's read API (`Store.feed`, `Store.paper`, ...) on the demo database,
never from hard-coded counts.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from urllib.parse import quote
from html.parser import HTMLParser

import httpx
from markupsafe import escape
import pytest
from fastapi.testclient import TestClient

from dailypapers.config import Config
from dailypapers.web import periods
from dailypapers.web.app import create_app
from dailypapers.web.pages import PER_PAGE, excerpt, paragraphs

HTML = {"accept": "text/html"}


class Page(HTMLParser):
    """The parts of a rendered page the tests look at: cards, links, the head's <link>s, the <h1>."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.cards: list[dict] = []
        self.links: list[dict] = []  # every <a>: attributes plus "text"
        self.head_links: list[dict] = []
        self.forms: list[dict] = []
        self.inputs: list[dict] = []
        self.h1 = ""
        self._stack: list[str] = []
        self._capture: list[tuple[str, object, str]] = []  # (tag, target, key)
        self._card_depth: int | None = None
        self.feed(text)
        self.close()

    @property
    def card(self) -> dict | None:
        return self.cards[-1] if self._card_depth is not None else None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag not in ("link", "meta", "input", "br", "img"):
            self._stack.append(tag)
        if tag == "article" and "paper-card" in classes:
            self.cards.append({"id": attrs.get("data-id"), "day": attrs.get("data-day"), "title": "", "href": None,
                               "upvotes": "", "abstract": "", "authors": "", "links": []})  # fmt: skip
            self._card_depth = len(self._stack)
        if tag == "link":
            self.head_links.append(attrs)
        if tag == "form":
            self.forms.append(attrs)
        if tag == "input":
            self.inputs.append(attrs)
        if tag == "h1":
            self._capture.append(("h1", self, "h1"))
        if tag == "a":
            link = {**attrs, "text": ""}
            self.links.append(link)
            self._capture.append(("a", link, "text"))
            if self.card is not None:
                self.card["links"].append(link)
                if self._stack[-2:-1] == ["h2"]:
                    self.card["href"] = attrs.get("href")
                    self._capture.append(("a", self.card, "title"))
        if self.card is not None and tag in ("span", "p"):
            for name in ("upvotes", "abstract", "authors"):
                if name in classes:
                    self._capture.append((tag, self.card, name))

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
        if self._card_depth is not None and tag == "article" and len(self._stack) < self._card_depth:
            self._card_depth = None
        self._capture = [c for c in self._capture if c[0] != tag]

    def handle_data(self, data):
        for _, target, key in self._capture:
            if isinstance(target, dict):
                target[key] += data
            else:
                setattr(target, key, getattr(target, key) + data)

    def link(self, cls: str) -> dict | None:
        found = [a for a in self.links if cls in (a.get("class") or "").split()]
        return found[0] if found else None


@pytest.fixture(scope="module")
def app(demo_db):
    # a busy machine may take seconds to embed a query: the tests compare answers, never speed
    application = create_app(Config({"db": str(demo_db), "query_embed_timeout": 600.0}, environ={}))
    yield application
    application.state.store.close()


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def store(app):
    return app.state.store


@pytest.fixture(scope="module")
def latest(store) -> date:
    return date.fromisoformat(store.latest_day())


def get_page(client, url: str, status: int = 200) -> Page:
    response = client.get(url, headers=HTML)
    assert response.status_code == status, (url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def assert_cards_match(page: Page, items: list[dict], first_rank: int = 1):
    assert [c["id"] for c in page.cards] == [i["id"] for i in items]
    for card, item in zip(page.cards, items):
        assert " ".join(card["title"].split()) == " ".join(item["title"].split())
        assert card["href"] == f"/papers/{item['id']}"
        assert int(card["upvotes"]) == item["upvotes"]


# -- daily page ---------------------------------------------------------------------------------------------


def test_home_is_the_latest_day_in_upvote_order(client, store, latest):
    items, total = store.feed(latest, latest)
    page = get_page(client, "/")
    assert len(page.cards) >= 10
    assert len(page.cards) == min(total, PER_PAGE)
    assert_cards_match(page, items)
    upvotes = [int(c["upvotes"]) for c in page.cards]
    assert upvotes == sorted(upvotes, reverse=True)
    assert all(c["title"].strip() for c in page.cards)
    assert latest.strftime("%B %-d, %Y") in page.h1
    # the same list at its own address
    dated = get_page(client, f"/papers/date/{latest}")
    assert [c["id"] for c in dated.cards] == [c["id"] for c in page.cards]


def test_cards_show_abstract_excerpt_authors_and_links(client, store, latest):
    items, _ = store.feed(latest, latest)
    page = get_page(client, f"/papers/date/{latest}")
    for card, item in zip(page.cards, items):
        assert card["abstract"] == excerpt(item["abstract"])
        assert len(card["abstract"]) <= 281
        n = len(item["authors"])
        if n:
            assert f"{n} author" in card["authors"]
            for author in item["authors"][:3]:
                assert author["name"] in card["authors"]
            for author in item["authors"][3:]:
                assert author["name"] not in card["authors"].split(", ")
        if item["organization"]:
            assert (item["organization"]["fullname"] or item["organization"]["name"]) in card["authors"]
        hrefs = [a["href"] for a in card["links"]]
        assert f"https://arxiv.org/abs/{item['id']}" in hrefs
        assert f"https://arxiv.org/pdf/{item['id']}" in hrefs
        assert (item["github_repo"] in hrefs) == bool(item["github_repo"])
        assert (item["project_page"] in hrefs) == bool(item["project_page"])
        code = [a for a in card["links"] if a.get("href") == item["github_repo"]]
        if code and item["github_stars"]:
            assert "★" in code[0]["text"]
    assert any(c["links"] and any("link-code" in (a.get("class") or "") for a in c["links"]) for c in page.cards)


def test_excerpt_cuts_at_a_word_boundary():
    text = "word " * 100
    cut = excerpt(text, 280)
    assert cut.endswith("…") and len(cut) <= 281 and cut[:-1].split(" ")[-1] == "word"
    assert excerpt("short  text\nhere") == "short text here"
    assert paragraphs("one\nline\n\n two \n\n\n") == ["one line", "two"]


def test_previous_and_next_day_links_go_to_days_with_papers(client, store, latest):
    before, after = store.neighbor_days(latest.isoformat())
    assert after is None and before is not None
    page = get_page(client, f"/papers/date/{latest}")
    assert page.link("prev")["href"] == f"/papers/date/{before}"
    assert page.link("next") is None  # nothing after the latest day

    # a day in the middle: both neighbours, each with papers (skipping days with none, e.g. weekends)
    middle = date.fromisoformat(before)
    prev_day, next_day = store.neighbor_days(middle.isoformat())
    page = get_page(client, f"/papers/date/{middle}")
    assert page.link("prev")["href"] == f"/papers/date/{prev_day}"
    assert page.link("next")["href"] == f"/papers/date/{next_day}"
    for day in (prev_day, next_day):
        d = date.fromisoformat(day)
        assert store.feed(d, d)[1] > 0
        assert get_page(client, f"/papers/date/{day}").cards
    # the day page links to its week and month
    hrefs = {a.get("href") for a in page.links}
    assert f"/papers/week/{periods.week_of(middle).label}" in hrefs
    assert f"/papers/month/{middle:%Y-%m}" in hrefs


def test_a_day_without_papers_is_an_empty_list_with_neighbours(client, store):
    stats = store.stats()
    empty_day = date.fromisoformat(stats["first_day"]) - timedelta(days=3)
    page = get_page(client, f"/papers/date/{empty_day}")
    assert page.cards == []
    assert page.link("next")["href"] == f"/papers/date/{stats['first_day']}"
    assert page.link("prev") is None


# -- week and month ------------------------------------------------------------------------------------------


def test_week_page_lists_the_weeks_papers(client, store, latest):
    week = periods.week_of(latest - timedelta(days=7))
    items, total = store.feed(week.start, week.end)
    assert total > 0
    page = get_page(client, f"/papers/week/{week.label}")
    assert_cards_match(page, items)
    assert len({c["day"] for c in page.cards}) > 1  # papers from several days
    assert all(week.start.isoformat() <= c["day"] <= week.end.isoformat() for c in page.cards)
    hrefs = {a.get("href") for a in page.links}
    for i in range(7):
        assert f"/papers/date/{week.start + timedelta(days=i)}" in hrefs
    assert page.link("prev")["href"] == f"/papers/week/{week.shifted(-1).label}"
    assert page.link("next")["href"] == f"/papers/week/{week.shifted(1).label}"


def test_month_page_lists_the_months_papers_with_pages(client, store, latest):
    month = periods.month(f"{latest:%Y-%m}").shifted(-1)
    items, total = store.feed(month.start, month.end)
    assert total > PER_PAGE, "the demo month should need more than one page"
    page = get_page(client, f"/papers/month/{month.label}")
    assert_cards_match(page, items)
    assert page.link("prev")["href"] == f"/papers/month/{month.shifted(-1).label}"
    assert page.link("next")["href"] == f"/papers/month/{month.shifted(1).label}"
    assert page.link("page-next")["href"] == f"/papers/month/{month.label}?p=1"
    assert page.link("page-prev") is None

    second_items, _ = store.feed(month.start, month.end, offset=PER_PAGE, limit=PER_PAGE)
    second = get_page(client, f"/papers/month/{month.label}?p=1")
    assert_cards_match(second, second_items)
    assert int(second.cards[0]["upvotes"]) <= int(page.cards[-1]["upvotes"])
    assert second.link("page-prev")["href"] == f"/papers/month/{month.label}"


def test_sorts(client, store, latest):
    week = periods.week_of(latest)
    for sort in ("trending", "publishedAt", "upvotes"):
        items, _ = store.feed(week.start, week.end, sort=sort)
        page = get_page(client, f"/papers/week/{week.label}?sort={sort}")
        assert_cards_match(page, items)
        current = [a for a in page.links if a.get("aria-current") == "true"]
        assert [a["href"] for a in current] == [f"/papers/week/{week.label}" + ("" if sort == "upvotes" else f"?sort={sort}")]
    trending = [c["id"] for c in get_page(client, f"/papers/week/{week.label}?sort=trending").cards]
    latest_first = get_page(client, f"/papers/week/{week.label}?sort=publishedAt").cards
    assert trending != [c["id"] for c in latest_first] or len(trending) < 2
    days = [c["day"] for c in latest_first]
    assert days == sorted(days, reverse=True)


def test_a_page_past_the_end_is_an_empty_list(client, store, latest):
    _, total = store.feed(latest, latest)
    beyond = total // PER_PAGE + 3
    page = get_page(client, f"/papers/date/{latest}?p={beyond}")
    assert page.cards == []
    assert page.link("page-prev")["href"] == f"/papers/date/{latest}"  # back to the last page that has papers
    assert page.link("page-next") is None


# -- paper page ----------------------------------------------------------------------------------------------


def test_paper_page_shows_everything(client, store, latest):
    items, _ = store.feed(latest, latest)
    item = max(items, key=lambda i: len(i["authors"]))
    paper = store.paper(item["id"])
    response = client.get(f"/papers/{paper['id']}", headers=HTML)
    assert response.status_code == 200
    text = html.unescape(response.text)
    page = Page(response.text)
    assert " ".join(page.h1.split()) == " ".join(paper["title"].split())
    for paragraph in paragraphs(paper["abstract"]):
        assert paragraph in text
    assert len(paper["authors"]) > 3
    for author in paper["authors"]:
        assert f'<a class="author" href="/authors/{quote(author["name"])}">{escape(author["name"])}</a>' in response.text
    hrefs = {a.get("href") for a in page.links}
    for day in paper["featured_on"]:
        assert f"/papers/date/{day}" in hrefs
    assert f"https://arxiv.org/abs/{paper['id']}" in hrefs
    assert f"https://arxiv.org/pdf/{paper['id']}" in hrefs
    for key in ("github_repo", "project_page"):
        if paper[key]:
            assert paper[key] in hrefs
    if paper["ai_summary"]:
        assert paper["ai_summary"] in text
    for keyword in paper["ai_keywords"] or []:
        assert f"<li>{escape(keyword)}</li>" in response.text
    if paper["submitted_by"]:
        assert paper["submitted_by"]["fullname"] in text
    if paper["organization"]:
        assert paper["organization"]["fullname"] in text
    assert f'<span class="upvotes">{paper["upvotes"]}</span>' in response.text


def test_paper_page_with_paragraphs_and_versioned_id(client, store):
    with store.engine.connect() as conn:
        import sqlalchemy as sa

        paper_id = conn.execute(sa.text("select id from papers where abstract like :two_lines limit 1"), {"two_lines": "%\n\n%"}).scalar()
    if paper_id is None:
        pytest.skip("no multi-paragraph abstract in the demo data")
    paper = store.paper(paper_id)
    page = client.get(f"/papers/{paper_id}").text
    assert page.count("<p>") >= len(paragraphs(paper["abstract"])) >= 2
    for paragraph in paragraphs(paper["abstract"]):
        assert f"<p>{escape(paragraph)}</p>" in page
    versioned = client.get(f"/papers/{paper_id}v2")
    assert versioned.status_code == 200
    assert Page(versioned.text).h1 == Page(page).h1


def test_unknown_paper_is_a_404_page(client):
    for url in ("/papers/2101.99999", "/papers/not-an-arxiv-id", "/papers/2101.99999v3"):
        page = get_page(client, url, 404)
        assert "404" in client.get(url).text
        assert any(f.get("action") == "/search" for f in page.forms)  # the site layout around the error
    assert client.get("/api/papers/2101.99999").headers["content-type"].startswith("application/json")


# -- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/papers/date/2025-02-30", "/papers/week/2025-W60", "/papers/month/2025-13", "/papers/date/yesterday",
     "/search?q=" + "x" * 1001, "/?sort=best", "/papers/week/2025-W09?p=-1", "/?p=lots"],  # fmt: skip
)
def test_invalid_parameters_are_422_pages(client, url):
    response = client.get(url, headers=HTML)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    page = Page(response.text)
    assert "422" in response.text and page.h1.strip()
    assert any(i.get("name") == "q" for i in page.inputs)
    # also without an Accept header naming HTML (curl, scripts)
    assert client.get(url).status_code == 422


def test_search_takes_a_pasted_paragraph_up_to_1000_characters(client):
    assert client.get("/search", params={"q": "x" * 1000}).status_code == 200
    assert client.get("/search", params={"q": "x" * 1001}).status_code == 422


# -- search ----------------------------------------------------------------------------------------------------


def test_search_finds_a_paper_by_a_title_word(client, app, store, latest):
    items, _ = store.feed(latest, latest)
    target = items[0]
    words = sorted((w for w in re.findall(r"[A-Za-z]{6,}", target["title"])), key=len, reverse=True)
    assert words
    expected = [p["id"] for p in app.state.search.papers(words[0], limit=PER_PAGE)]
    assert target["id"] in expected
    page = get_page(client, f"/search?q={words[0]}")
    assert [c["id"] for c in page.cards] == expected
    assert any(i.get("name") == "q" and i.get("value") == words[0] for i in page.inputs)
    # an arXiv id finds that paper first
    page = get_page(client, f"/search?q={target['id']}")
    assert page.cards[0]["id"] == target["id"]


def test_empty_search_shows_the_search_page(client):
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        page = get_page(client, url)
        assert page.cards == []
        assert "Search" in page.h1


# -- layout, feeds, caching -----------------------------------------------------------------------------------


def test_every_page_has_the_layout(client, store, latest):
    week, month = periods.week_of(latest), f"{latest:%Y-%m}"
    paper_id = store.feed(latest, latest)[0][0]["id"]
    for url in ("/", f"/papers/week/{week.label}", f"/papers/month/{month}", f"/papers/{paper_id}", "/search?q=model", "/papers/2101.99999"):
        response = client.get(url, headers=HTML)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.text
        page = Page(response.text)
        assert any(f.get("action") == "/search" and f.get("method") == "get" for f in page.forms)
        assert any(i.get("name") == "q" for i in page.inputs)
        hrefs = {a.get("href") for a in page.links}
        assert {"/", f"/papers/week/{week.label}", f"/papers/month/{month}", "/docs"} <= hrefs
        types = {link.get("type") for link in page.head_links if link.get("rel") == "alternate"}
        assert {"application/rss+xml", "application/atom+xml"} <= types
        assert any(link.get("rel") == "stylesheet" for link in page.head_links)


def test_feed_links_match_the_period(client, latest):
    week, month = periods.week_of(latest).label, f"{latest:%Y-%m}"
    cases = {f"/papers/date/{latest}": f"/feeds/daily.rss?date={latest}", f"/papers/week/{week}": f"/feeds/weekly.rss?week={week}",
             f"/papers/month/{month}": f"/feeds/monthly.rss?month={month}"}  # fmt: skip
    for url, feed in cases.items():
        page = get_page(client, url)
        alternates = [link["href"] for link in page.head_links if link.get("rel") == "alternate"]
        assert feed in alternates and feed.replace(".rss", ".atom") in alternates
        assert client.get(feed).status_code == 200


def test_head_requests(client, latest):
    for url in ("/", f"/papers/date/{latest}", "/search?q=model"):
        response = client.head(url)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert client.head("/papers/2101.99999").status_code == 404


def test_latest_week_and_month_shortcuts_redirect(client, latest):
    assert client.get("/papers/week", follow_redirects=False).headers["location"] == f"/papers/week/{periods.week_of(latest).label}"
    assert client.get("/papers/month", follow_redirects=False).headers["location"] == f"/papers/month/{latest:%Y-%m}"


def test_pages_are_rendered_once_then_cached(demo_db):
    application = create_app(Config({"db": str(demo_db)}, environ={}))
    store = application.state.store
    calls = []
    real_feed, real_paper = store.feed, store.paper
    store.feed = lambda *a, **k: calls.append("feed") or real_feed(*a, **k)
    store.paper = lambda *a, **k: calls.append("paper") or real_paper(*a, **k)
    try:
        with TestClient(application) as c:
            first = c.get("/").text
            paper_url = Page(first).cards[0]["href"]
            c.get(paper_url)
            assert calls == ["feed", "paper"]  # one query per list page, none per card
            for _ in range(3):
                assert c.get("/").text == first
                c.get(paper_url)
            assert calls == ["feed", "paper"]
    finally:
        store.close()


def test_stylesheet_is_small(client):
    css = client.get("/static/style.css")
    assert css.status_code == 200 and len(css.content) < 12 * 1024  # the grid, thumbnails and focus rings fit in 12 KB
    assert "prefers-color-scheme" in css.text and "line-clamp" in css.text


def test_data_is_escaped(demo_copy):
    import sqlalchemy as sa

    application = create_app(Config({"db": str(demo_copy)}, environ={}))
    try:
        store = application.state.store
        latest = store.latest_day()
        day = date.fromisoformat(latest)
        paper_id = store.feed(day, day)[0][0]["id"]
        evil = '<script>alert("x")</script> & <b>bold</b>'
        with store.writer.begin() as conn:
            conn.execute(sa.text("update papers set title = :t, abstract = :t, project_page = 'javascript:alert(1)' where id = :id"),
                         {"t": evil, "id": paper_id})  # fmt: skip
        with TestClient(application) as c:
            for url in ("/", f"/papers/{paper_id}"):
                body = c.get(url).text
                assert "<script>" not in body and "<b>bold</b>" not in body
                assert "&lt;script&gt;" in body
                assert "javascript:" not in body
    finally:
        application.state.store.close()


def test_empty_catalog_home(tmp_path, new_db):
    application = create_app(Config({"db": str(new_db("empty"))}, environ={}))
    try:
        with TestClient(application) as c:
            response = c.get("/")
            assert response.status_code == 200
            page = Page(response.text)
            assert page.cards == [] and "No papers" in page.h1
            assert c.get("/search?q=anything").status_code == 200
            assert c.get("/papers/week", follow_redirects=False).headers["location"] == "/"
    finally:
        application.state.store.close()


def test_pages_over_real_http(live_demo):
    """The same daily page through uvicorn."""
    with httpx.Client(base_url=live_demo.url, timeout=60) as http:
        response = http.get("/", headers=HTML)
        assert response.status_code == 200
        page = Page(response.text)
        assert len(page.cards) >= 10
        assert http.get(page.cards[0]["href"]).status_code == 200
        assert http.get("/papers/month/2025-13", headers=HTML).status_code == 422


def test_logged_out_the_upvote_button_leads_to_log_in_and_back(client, latest):
    page = get_page(client, f"/papers/date/{latest}")
    assert page.cards
    for card in page.cards:
        (vote,) = [link for link in card["links"] if "vote-login" in (link.get("class") or "")]
        # back to the day's page, under either of its addresses (a logged-out page is cached once for both)
        assert vote["href"] in (f"/login?next=/papers/date/{latest}", "/login?next=/") and "log in to upvote" in vote["text"]
    paper = get_page(client, f"/papers/{page.cards[0]['id']}")
    (vote,) = [link for link in paper.links if "vote-login" in (link.get("class") or "")]
    assert vote["href"] == f"/login?next=/papers/{page.cards[0]['id']}"
    login = client.get(vote["href"])
    assert login.status_code == 200 and f'value="/papers/{page.cards[0]["id"]}"' in login.text  # where it goes back to


def test_search_scores_sit_behind_a_why_this_result_disclosure(client, store, latest):
    items, _ = store.feed(latest, latest)
    word = max(re.findall(r"[A-Za-z]{6,}", items[0]["title"]), key=len)
    html = client.get("/search", params={"q": word, "mode": "lexical"}).text
    disclosures = re.findall(r'<details class="why"><summary>Why this result</summary><p>(.*?)</p></details>', html, re.S)
    assert disclosures and all("keyword rank" in d for d in disclosures)
    assert html.count('class="paper-card"') == len(disclosures)


def test_ranks_are_shown_on_ranked_lists_only(client, store, latest):
    daily = client.get(f"/papers/date/{latest}").text
    assert re.findall(r'<span class="rank">#(\d+)</span>', daily)[:3] == ["1", "2", "3"]
    items, _ = store.feed(latest, latest)
    author = items[0]["authors"][0]["name"]
    by_date = client.get(f"/authors/{author}")
    assert by_date.status_code == 200 and 'class="paper-card"' in by_date.text
    assert 'class="rank"' not in by_date.text  # newest first: a rank would mean nothing
    org = store.organizations_by_papers()[0]
    page = client.get(f"/organizations/{org['name']}")
    assert page.status_code == 200 and 'class="paper-card"' in page.text and 'class="rank"' not in page.text


def _org_rows(page: str) -> list[tuple[str, str, int]]:
    """(handle linked, full name, papers) of each organization listed."""
    return [(handle, html.unescape(name), int(count)) for handle, name, count in re.findall(
        r'<li><a href="/organizations/([^"]+)">([^<]+)</a> <span class="muted">(\d+) papers?', page)]  # fmt: skip


def test_organizations_are_paged_ordered_and_listed_once_per_name(client, store):
    first = client.get("/organizations")
    assert first.status_code == 200
    total, pages = map(int, re.search(r"(\d+) organizations · page 1 of (\d+)", first.text).groups())
    rows = []
    for n in range(pages):
        page = client.get(f"/organizations?p={n}" if n else "/organizations").text
        assert ('rel="next"' in page) == (n + 1 < pages) and ('rel="prev"' in page) == (n > 0)
        rows += _org_rows(page)
    assert len(rows) == total > 90 and len(_org_rows(first.text)) == 90
    names = [name.casefold() for _, name, _ in rows]
    assert len(names) == len(set(names)), "a full name is listed once"
    assert [(-count, name.casefold()) for _, name, count in rows] == sorted((-count, name.casefold()) for _, name, count in rows)
    # the demo's Zhejiang University goes by four handles: one line, their papers summed, each handle linked
    zju = [org for org in store.organizations_by_papers() if org["fullname"].casefold() == "zhejiang university"]
    assert len(zju) == 1 and len(zju[0]["handles"]) > 1
    found = client.get("/organizations?q=ZHEJIANG").text
    assert [(h, n.casefold(), c) for h, n, c in _org_rows(found)] == [(zju[0]["name"], "zhejiang university", zju[0]["papers"])]
    assert zju[0]["papers"] == sum(h["papers"] for h in zju[0]["handles"])
    for handle in zju[0]["handles"]:
        assert f'href="/organizations/{handle["name"]}">@{handle["name"]}</a>' in found
    other = zju[0]["handles"][1]["name"]
    assert f'<a href="/organizations/{zju[0]["name"]}">@{zju[0]["name"]}</a>' in client.get(f"/organizations/{other}").text
    assert "No organization matches" in client.get("/organizations?q=no-such-lab-anywhere").text
    assert client.get(f"/organizations?p={pages}").status_code == 404
    assert client.get("/organizations?p=x").status_code == 422
    assert client.get("/organizations?q=" + "x" * 101).status_code == 422
