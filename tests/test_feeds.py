"""RSS and Atom feeds, read by a real feed parser."""

from datetime import date

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
