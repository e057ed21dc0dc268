"""RSS and Atom feeds, read by a real feed parser."""

import re
from collections import Counter
from datetime import date
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest

from dailypapers.store import Store
from dailypapers.web import periods


@pytest.fixture(scope="module")
def demo_store(demo_db):
    store = Store(demo_db)
    yield store
    store.close()


@pytest.mark.parametrize("fmt", ["rss", "atom"])
@pytest.mark.parametrize("kind", ["daily", "weekly", "monthly"])
def test_feeds_list_the_period_most_upvoted_first(live_demo, demo_store, kind, fmt):
    latest = date.fromisoformat(demo_store.latest_day())
    period = {"daily": periods.day(latest), "weekly": periods.week_of(latest), "monthly": periods.month(latest.strftime("%Y-%m"))}[kind]
    expected, _ = demo_store.feed(period.start, period.end, limit=50)
    response = httpx.get(f"{live_demo.url}/feeds/{kind}.{fmt}")
    assert response.status_code == 200 and ("rss" if fmt == "rss" else "atom") in response.headers["content-type"]
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == ("rss20" if fmt == "rss" else "atom10")
    assert [e.title for e in feed.entries] == [p["title"] for p in expected]
    assert feed.entries[0].link == f"{live_demo.url}/papers/{expected[0]['id']}"
    assert f"{expected[0]['upvotes']} upvotes" in feed.entries[0].summary


def test_feed_for_a_chosen_period_and_bad_input(live_demo, demo_store):
    feed = feedparser.parse(httpx.get(f"{live_demo.url}/feeds/weekly.atom", params={"week": "2026-W20"}).content)
    week = periods.week("2026-W20")
    assert [e.title for e in feed.entries] == [p["title"] for p in demo_store.feed(week.start, week.end, limit=50)[0]]
    assert httpx.get(f"{live_demo.url}/feeds/weekly.rss", params={"week": "2026-W99"}).status_code == 422
    assert httpx.get(f"{live_demo.url}/feeds/hourly.rss").status_code == 404


# -- feeds of a search, an author, an organization -------------------------------------------------------------


def _words(text: str | None) -> list[str]:
    return [w.lower() for w in re.findall(r"\w+", text or "")]


def _has_run(words: list[str], run: list[str]) -> bool:
    """Whether `run` appears in `words`, in order and adjacent (how author: and org: match)."""
    return any(words[i : i + len(run)] == run for i in range(len(words) - len(run) + 1))


def _fetch(live_demo, path: str, **params) -> tuple[feedparser.FeedParserDict, httpx.Response]:
    response = httpx.get(f"{live_demo.url}{path}", params=params or None)  # {} would drop a query in `path`
    assert response.status_code == 200, response.text
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return feed, response


def _ids(feed) -> list[str]:
    return [entry.link.rsplit("/papers/", 1)[1] for entry in feed.entries]


def _newest_first(ids: list[str], papers: dict) -> bool:
    days = [papers[i]["published_at"][:10] for i in ids]  # what the search sorts by (every sample paper has one)
    return days == sorted(days, reverse=True)


@pytest.fixture(scope="module")
def all_papers(demo_store) -> dict:
    papers = {p["id"]: p for p in demo_store.papers_page(None, 100_000)}
    assert all(p["published_at"] for p in papers.values())
    return papers


def _text(paper: dict) -> list[str]:
    return _words(f"{paper['title']} {' '.join(a['name'] for a in paper['authors'])} {paper['abstract']}")


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_search_feed_lists_the_newest_matches(live_demo, all_papers, fmt):
    feed, response = _fetch(live_demo, f"/feeds/search.{fmt}", q="diffusion")
    ids = _ids(feed)
    assert feed.feed.title == 'dailypapers: search "diffusion"'
    assert {(link.rel, link.href) for link in feed.feed.links} >= {
        ("alternate", f"{live_demo.url}/search?q=diffusion"), ("self", str(response.url))}  # fmt: skip
    word = {i for i, p in all_papers.items() if "diffusion" in _text(p)}  # the word itself matches ...
    stem = {i for i, p in all_papers.items() if any(w.startswith("diffus") for w in _text(p))}  # ... and so may its stem
    assert len(word) > 50 and len(ids) == 50 and set(ids) <= stem
    assert _newest_first(ids, all_papers)
    oldest = min(all_papers[i]["published_at"][:10] for i in ids)
    assert all(all_papers[i]["published_at"][:10] <= oldest for i in word - set(ids))  # none newer left out


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_search_feed_honours_filters(live_demo, all_papers, fmt):
    feed, _ = _fetch(live_demo, f"/feeds/search.{fmt}", q="diffusion", **{"from": "2026-03", "to": "2026-03-15"})
    ids = _ids(feed)
    assert feed.feed.title == 'dailypapers: search "diffusion" from:2026-03 to:2026-03-15'
    assert parse_qs(urlsplit(feed.feed.link).query) == {"q": ["diffusion from:2026-03 to:2026-03-15"]}
    window = {i for i, p in all_papers.items() if "2026-03-01" <= p["published_at"][:10] <= "2026-03-15"}
    word = {i for i in window if "diffusion" in _text(all_papers[i])}
    stem = {i for i in window if any(w.startswith("diffus") for w in _text(all_papers[i]))}
    assert 0 < len(word) and len(stem) < 50
    assert word <= set(ids) <= stem and _newest_first(ids, all_papers)
    # the same filter in the query, and a filter that no paper meets
    assert _ids(_fetch(live_demo, f"/feeds/search.{fmt}", q="diffusion from:2026-03 to:2026-03-15")[0]) == ids
    assert _fetch(live_demo, f"/feeds/search.{fmt}", q="diffusion", category="no.such")[0].entries == []


def _prolific(names: list[str], limit: int = 50) -> list[str]:
    return [name for name, count in Counter(names).most_common() if count <= limit]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_author_feed_lists_the_authors_papers(live_demo, all_papers, fmt):
    names = [a["name"] for p in all_papers.values() for a in p["authors"]]
    unusual = next(n for n in _prolific(names) if "." in n and " " in n and not n.isascii())  # e.g. "Börje F. Karlsson"
    for name in (_prolific(names)[0], unusual):
        feed, response = _fetch(live_demo, f"/feeds/authors/{name}.{fmt}")
        ids = _ids(feed)
        by_name = {i for i, p in all_papers.items() if any(a["name"] == name for a in p["authors"])}
        expected = {i for i, p in all_papers.items() if _has_run(_words(", ".join(a["name"] for a in p["authors"])), _words(name))}
        assert len(ids) == len(set(ids)) and set(ids) == expected and by_name <= expected and len(by_name) > 1
        assert _newest_first(ids, all_papers)
        assert feed.feed.title == f"dailypapers: papers by {name}" and response.url.path.endswith(f"/{name}.{fmt}")
        assert any(link.rel == "self" and link.href == str(response.url) for link in feed.feed.links)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_organization_feed_lists_the_organizations_papers(live_demo, all_papers, fmt):
    def org_words(paper: dict) -> list[str]:
        org = paper["organization"] or {}
        return _words(f"{org.get('name') or ''} {org.get('fullname') or ''}")

    def matching(name: str) -> set[str]:
        return {i for i, p in all_papers.items() if _has_run(org_words(p), _words(name))}

    orgs = {p["organization"]["name"]: p["organization"] for p in all_papers.values() if p["organization"]}
    names = [p["organization"]["name"] for p in all_papers.values() if p["organization"]]
    name = next(n for n in _prolific(names) if len(matching(n)) <= 50 and " " in (orgs[n]["fullname"] or ""))
    for given in (name, orgs[name]["fullname"]):  # its name, or its full name (with spaces)
        feed, _ = _fetch(live_demo, f"/feeds/organizations/{given}.{fmt}")
        ids = _ids(feed)
        of_org = {i for i, p in all_papers.items() if (p["organization"] or {}).get("name") == name}
        assert set(ids) == matching(given) >= of_org and len(ids) == len(set(ids)) and len(of_org) > 1
        assert _newest_first(ids, all_papers) and feed.feed.title == f"dailypapers: papers of {given}"


def test_search_feed_errors(live_demo):
    for params in ({"q": "x", "from": "2026-13"}, {"q": "x", "to": "yesterday"}):
        response = httpx.get(f"{live_demo.url}/feeds/search.rss", params=params)
        api = httpx.get(f"{live_demo.url}/api/papers/search", params=params)
        assert response.status_code == api.status_code == 422
        assert response.json() == api.json() and "YYYY-MM-DD" in response.json()["error"]
    for path, params in [("/feeds/search.atom", {}), ("/feeds/search.rss", {"q": "  "}), ("/feeds/search.rss", {"q": '"" -'}),
                         ("/feeds/authors/--.rss", {})]:  # fmt: skip
        response = httpx.get(f"{live_demo.url}{path}", params=params)
        assert response.status_code == 422 and "nothing to search for" in response.json()["error"]
    assert httpx.get(f"{live_demo.url}/feeds/search.rss", params={"q": "x" * 1001}).status_code == 422
    for path in ("/feeds/search.json", "/feeds/authors/Hao Li.txt", "/feeds/organizations/google.xml"):
        response = httpx.get(f"{live_demo.url}{path}", params={"q": "x"})
        assert response.status_code == 404 and response.headers["content-type"].startswith("application/json")
        assert "no such feed" in response.json()["error"]  # the one error shape (issue 16)


ODD_QUERIES = ['"sparse reward', "(diffusion OR (model", "graph NEAR/3 neural", "NEAR(a b)", 'title: :: cat: author: org:"',
               "ünïcödé 深度学习 🤖 Schölkopf", 'a:b:c "x" -"y z" +w* ~2 ^3', "\\ [ ] { } < > & ;", "\x01 control", "-", "*", "from:2026-99"]  # fmt: skip


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_odd_searches_and_names_never_fail(live_demo, fmt):
    urls = [(f"/feeds/search.{fmt}", {"q": q}) for q in ODD_QUERIES]
    urls += [(f"/feeds/{kind}/{name}.{fmt}", {}) for kind in ("authors", "organizations")
             for name in ("O'Brien (MIT)", 'a"b NEAR c', "Σωκράτης Ö.", "x:y", "a&b<c>", "J. R. R. Tolkien")]  # fmt: skip
    for path, params in urls:
        response = httpx.get(f"{live_demo.url}{path}", params=params)
        assert response.status_code in (200, 422), (path, params, response.text)
        if response.status_code == 422:
            assert "error" in response.json()
        else:
            feed = feedparser.parse(response.content)
            assert not feed.bozo, (path, params, feed.bozo_exception)


def test_search_page_links_its_feed(live_demo):
    page = httpx.get(f"{live_demo.url}/search", params={"q": "diffusion author:Liu", "mode": "lexical"}).text
    href = "/feeds/search.rss?q=diffusion+author%3ALiu"
    assert f'<link rel="alternate" type="application/rss+xml" title="RSS: search diffusion author:Liu" href="{href}">' in page
    assert f'<a href="{href}" type="application/rss+xml">RSS</a>' in page
    feed, _ = _fetch(live_demo, href)
    assert feed.entries and feed.feed.title == 'dailypapers: search "diffusion author:Liu"'
