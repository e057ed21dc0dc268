"""The JSON API against the demo database, over real HTTP."""

from datetime import date, timedelta

import httpx
import pytest

from dailypapers.store import Store
from dailypapers.web import periods


@pytest.fixture(scope="module")
def api(live_demo):
    with httpx.Client(base_url=live_demo.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def demo_store(demo_db):
    store = Store(demo_db)
    yield store
    store.close()


def ids(response):
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def test_default_is_the_latest_day_by_upvotes(api, demo_store):
    latest = date.fromisoformat(demo_store.latest_day())
    expected, total = demo_store.feed(latest, latest, limit=50)
    response = api.get("/api/daily_papers")
    assert ids(response) == [p["id"] for p in expected]
    upvotes = [item["paper"]["upvotes"] for item in response.json()]
    assert upvotes == sorted(upvotes, reverse=True)
    assert response.headers["x-total-count"] == str(total)


def test_item_shape_follows_hugging_face(api, demo_store):
    item = next(i for i in api.get("/api/daily_papers", params={"limit": 100}).json() if i["organization"])
    paper = demo_store.paper(item["id"])
    assert item["paper"]["id"] == item["id"] == paper["id"]
    assert item["paper"]["publishedAt"] == paper["published_at"]  # arXiv publication
    assert item["publishedAt"].startswith(paper["featured_on"][0]) or item["publishedAt"] == paper["submitted_at"]
    assert item["title"] == paper["title"] and item["paper"]["summary"] == paper["abstract"]
    assert [a["name"] for a in item["paper"]["authors"]] == [a["name"] for a in paper["authors"]]
    assert item["organization"]["name"] == paper["organization"]["name"] == item["paper"]["organization"]["name"]
    assert item["submittedBy"]["user"] == paper["submitted_by"]["user"]
    assert item["numComments"] == paper["num_comments"] and item["upvotes"] == paper["upvotes"]


@pytest.mark.parametrize("kind", ["week", "month"])
def test_week_and_month(api, demo_store, kind):
    latest = date.fromisoformat(demo_store.latest_day()) - timedelta(days=20)
    period = periods.week_of(latest) if kind == "week" else periods.month(latest.strftime("%Y-%m"))
    expected, total = demo_store.feed(period.start, period.end, limit=100)
    got = api.get("/api/daily_papers", params={kind: period.label, "limit": 100})
    assert ids(got) == [p["id"] for p in expected] and total > 0
    days = {p["day"] for p in expected}
    assert all(period.start.isoformat() <= d <= period.end.isoformat() for d in days) and len(days) > 1


def test_pages_and_limits(api):
    params = {"month": "2026-05", "limit": 7}
    first, second = ids(api.get("/api/daily_papers", params=params)), ids(api.get("/api/daily_papers", params={**params, "p": 1}))
    both = ids(api.get("/api/daily_papers", params={"month": "2026-05", "limit": 14}))
    assert len(first) == 7 and first + second == both
    assert ids(api.get("/api/daily_papers", params={**params, "p": 9999})) == []


def test_sorts(api, demo_store):
    by_time = api.get("/api/daily_papers", params={"week": "2026-W20", "sort": "publishedAt", "limit": 100}).json()
    stamps = [i["publishedAt"] for i in by_time]
    assert stamps == sorted(stamps, reverse=True)
    trending = api.get("/api/daily_papers", params={"week": "2026-W20", "sort": "trending", "limit": 100})
    week = periods.week("2026-W20")
    expected, total = demo_store.feed(week.start, week.end, sort="trending", limit=100)
    assert ids(trending) == [p["id"] for p in expected] and trending.headers["x-total-count"] == str(total)
    by_upvotes = ids(api.get("/api/daily_papers", params={"week": "2026-W20", "limit": 100}))
    assert ids(trending) != by_upvotes  # over a week, age matters


def test_submitter_filter(api, demo_store):
    item = next(i for i in api.get("/api/daily_papers", params={"month": "2026-05", "limit": 100}).json() if i["submittedBy"])
    user = item["submittedBy"]["user"]
    got = api.get("/api/daily_papers", params={"month": "2026-05", "submitter": user, "limit": 100}).json()
    assert got and all(i["submittedBy"]["user"] == user for i in got)


@pytest.mark.parametrize("params", [
    {"date": "2025-02-30"}, {"date": "2025-2-3"}, {"date": "yesterday"}, {"week": "2025-W54"}, {"week": "2025-W00"},
    {"week": "2025-09"}, {"month": "2025-13"}, {"month": "2025-00"}, {"month": "25-01"}, {"limit": 0}, {"limit": 101},
    {"limit": "ten"}, {"p": -1}, {"sort": "random"}, {"date": "2025-01-01", "week": "2025-W01"},
])  # fmt: skip
def test_impossible_parameters_are_422_with_a_message(api, params):
    response = api.get("/api/daily_papers", params=params)
    assert response.status_code == 422
    assert response.json()["error"]


def test_paper_info_and_404(api, demo_store):
    paper_id = demo_store.feed(*2 * [date.fromisoformat(demo_store.latest_day())], limit=1)[0][0]["id"]
    item = api.get(f"/api/papers/{paper_id}").json()
    assert item["id"] == paper_id and item["featuredOn"]
    assert api.get(f"/api/papers/{paper_id}v3").json()["id"] == paper_id
    for unknown in ("2101.99999", "not-a-paper", "..%2F..%2Fetc"):
        response = api.get(f"/api/papers/{unknown}")
        assert response.status_code == 404 and response.headers["content-type"] == "application/json"
        assert list(response.json()) == ["error"] and response.json()["error"]


def test_search(api, demo_store):
    paper = demo_store.paper(demo_store.feed(*2 * [date.fromisoformat(demo_store.latest_day())], limit=1)[0][0]["id"])
    found = ids(api.get("/api/papers/search", params={"q": paper["title"], "limit": 5}))
    assert found[0] == paper["id"]
    assert ids(api.get("/api/papers/search", params={"q": paper["id"]}))[0] == paper["id"]
    surname = paper["authors"][0]["name"].split()[-1]
    assert paper["id"] in ids(api.get("/api/papers/search", params={"q": f"{surname} {paper['title'].split()[0]}", "limit": 120}))
    for nasty in ['"unbalanced', "NEAR(", "a AND OR", "*", "-x", "title:", "(((", "💥", "' OR 1=1 --"]:
        assert api.get("/api/papers/search", params={"q": nasty}).status_code == 200
    assert api.get("/api/papers/search", params={"q": "x" * 1001}).status_code == 422
    assert api.get("/api/papers/search", params={"q": "x", "limit": 121}).status_code == 422


def test_markdown_and_listing_and_docs(api, demo_store):
    first_page = api.get("/api/papers", params={"limit": 3})
    listed = ids(first_page)
    assert listed == sorted(listed) and 'rel="next"' in first_page.headers["link"]
    assert ids(api.get("/api/papers", params={"limit": 3, "cursor": listed[-1]}))[0] > listed[-1]
    markdown = api.get(f"/papers/{listed[0]}.md")
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith(f"# {demo_store.paper(listed[0])['title']}")
    assert api.get("/papers/2101.99999.md").status_code == 404
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/daily_papers", "/api/papers/search", "/api/papers/{paper_id}"} <= set(paths)


def test_answers_are_gzipped_for_clients_that_accept_it(api):
    plain = api.get("/api/daily_papers", headers={"Accept-Encoding": "identity"})
    zipped = api.get("/api/daily_papers", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers and zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json()  # httpx decompresses
    assert int(zipped.headers["content-length"]) < int(plain.headers["content-length"]) / 2
    page = api.get("/", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert page.headers["content-encoding"] == "gzip" and "paper-card" in page.text
