"""The official huggingface_hub client, unmodified, against a running dailypapers server."""

from datetime import date

import pytest
from huggingface_hub import HfApi

from dailypapers.store import Store
from dailypapers.web import periods


@pytest.fixture(scope="module")
def hf(live_demo):
    return HfApi(endpoint=live_demo.url)


@pytest.fixture(scope="module")
def demo_store(demo_db):
    store = Store(demo_db)
    yield store
    store.close()


def test_list_daily_papers_by_date(hf, demo_store):
    day = demo_store.latest_day()
    expected, _ = demo_store.feed(*2 * [date.fromisoformat(day)], limit=5)
    got = list(hf.list_daily_papers(date=day, limit=5))
    assert [p.id for p in got] == [p["id"] for p in expected]
    for info, paper in zip(got, expected):
        assert info.title == paper["title"]
        assert [a.name for a in info.authors] == [a["name"] for a in paper["authors"]]
        assert info.upvotes == paper["upvotes"]
        assert info.submitted_at.date().isoformat() >= day[:8]  # a datetime, parsed by the client
        assert info.published_at.isoformat()[:10] == paper["published_at"][:10]
        if paper["organization"]:
            assert info.organization.name == paper["organization"]["name"]
            assert info.organization.fullname == paper["organization"]["fullname"]
        if paper["submitted_by"]:
            assert info.submitted_by.username == paper["submitted_by"]["user"]


def test_week_month_and_sort(hf, demo_store):
    week = periods.week_of(date.fromisoformat(demo_store.latest_day()))
    expected, _ = demo_store.feed(week.start, week.end, sort="trending", limit=10)
    assert [p.id for p in hf.list_daily_papers(week=week.label, sort="trending", limit=10)] == [p["id"] for p in expected]
    month = periods.month("2026-05")
    expected, _ = demo_store.feed(month.start, month.end, sort="publishedAt", limit=20)
    assert [p.id for p in hf.list_daily_papers(month="2026-05", sort="publishedAt", limit=20)] == [p["id"] for p in expected]


def test_list_papers_and_paper_info(hf, demo_store):
    paper = demo_store.feed(*2 * [date.fromisoformat(demo_store.latest_day())], limit=1)[0][0]
    found = list(hf.list_papers(query=paper["title"], limit=3))
    assert found[0].id == paper["id"] and found[0].title == paper["title"] and len(found) <= 3
    info = hf.paper_info(paper["id"])
    assert info.title == paper["title"] and info.upvotes == paper["upvotes"]
    assert [a.name for a in info.authors] == [a["name"] for a in paper["authors"]]
    if paper["organization"]:
        assert info.organization.fullname == paper["organization"]["fullname"]
    assert hf.read_paper(paper["id"]).startswith(f"# {paper['title']}")


def test_unknown_paper_raises_the_clients_404(hf):
    from huggingface_hub.errors import HfHubHTTPError

    with pytest.raises(HfHubHTTPError) as error:
        hf.paper_info("2101.99999")
    assert error.value.response.status_code == 404
