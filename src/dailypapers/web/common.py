"""What several web modules answer with: JSON bytes, a rendered page, the error page, a paper or a
404, the latest day, and the links every page's header and feeds carry."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode, urlsplit

import orjson
from fastapi import HTTPException, Path, Request, Response

from ..records import InvalidRecord, normalize_id
from ..search.query import MAX_CHARS
from . import periods
from .auth import current_user
from .cache import Body, respond

# A row id in a path (a comment's, a token's): the tables' INTEGER keys are 32 bits on PostgreSQL, so a
# larger number is refused (422) before it reaches the database, which would fail on it.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Name = Annotated[str, Path(min_length=1, max_length=200)]  # an author's or organization's name in a path

LATEST_DAY_KEY = ("latest-day",)
FEED_NAMES = {"day": "daily", "week": "weekly", "month": "monthly"}
FEED_PARAMS = {"day": "date", "week": "week", "month": "month"}
MAX_QUERY = MAX_CHARS


class JSONBytes(Response):
    media_type = "application/json"


def json_response(value, headers: dict | None = None, status_code: int = 200) -> Response:
    return JSONBytes(orjson.dumps(value), status_code=status_code, headers=headers)


def latest_day(request: Request) -> str | None:
    """The latest day with papers, cached like a page (the cache empties whenever the catalog changes)."""
    return request.app.state.cache.get(LATEST_DAY_KEY, request.app.state.store.latest_day)


def local_path(path: str | None) -> str:
    """A redirect target on this site only (no //other.host, no scheme)."""
    if not path or not path.startswith("/") or path.startswith("//") or urlsplit(path).netloc:
        return "/"
    return path


def paper_or_404(request: Request, paper_id: str) -> dict:
    try:
        canonical = normalize_id(paper_id)
    except InvalidRecord:
        raise HTTPException(404, f"{paper_id!r} is not an arXiv id") from None
    paper = request.app.state.store.paper(canonical)
    if paper is None:
        raise HTTPException(404, f"paper {canonical} not found")
    return paper


def render_page(request: Request, template: str, **context) -> str:
    """A template with the reader (None if not logged in) and, for a reader, which shown papers they upvoted
    and saved."""
    user = current_user(request)
    if user:
        shown = [c["id"] for c in context.get("cards") or []] + ([context["paper"]["id"]] if context.get("paper") else [])
        context["voted"] = request.app.state.store.voted(user["id"], shown) if shown else set()
        context["saved"] = request.app.state.store.saved_among(user["id"], shown)
        if context.get("paper"):  # its page offers every collection to save it into
            context["collections"] = request.app.state.store.collections_of(user["id"])
    context["here"] = request.url.path + (f"?{request.url.query}" if request.url.query else "")  # forms come back here
    return request.app.state.templates.get_template(template).render({"user": user, **context})


def html_response(request: Request, body: Body | str, status: int = 200) -> Response:
    return respond(request, body if isinstance(body, Body) else Body(body), "text/html; charset=utf-8", status)


def error_page(request: Request, status: int, message: str) -> Response:
    body = render_page(request, "error.html", status=status, message=message, nav=nav_links(latest_day(request)),
                       feeds=period_feeds(None))  # fmt: skip
    return html_response(request, body, status)


def nav_links(latest: str | None) -> dict:
    """Targets of the header's Daily / Weekly / Monthly links: the latest day's day, week and month."""
    if latest is None:
        return {"daily": "/", "weekly": "/", "monthly": "/"}
    day = date.fromisoformat(latest)
    return {"daily": "/", "weekly": period_url(periods.week_of(day)), "monthly": period_url(month_of(day))}


def month_of(day: date) -> periods.Period:
    return periods.month(day.strftime("%Y-%m"))


def period_url(period: periods.Period, **query) -> str:
    base = f"/papers/date/{period.label}" if period.kind == "day" else f"/papers/{period.kind}/{period.label}"
    query = {key: value for key, value in query.items() if value not in (None, "", 0, "upvotes")}
    return base + (f"?{urlencode(query)}" if query else "")


def feed_links(path: str, label: str, query: str = "") -> list[dict]:
    """`<link rel="alternate">` targets (and page links): the RSS and Atom feeds at `path`.rss / `path`.atom."""
    query = f"?{query}" if query else ""
    return [
        {"type": "application/rss+xml", "title": f"RSS: {label}", "href": f"{path}.rss{query}", "label": "RSS"},
        {"type": "application/atom+xml", "title": f"Atom: {label}", "href": f"{path}.atom{query}", "label": "Atom"},
    ]


def period_feeds(period: periods.Period | None) -> list[dict]:
    """The feeds of this period (the latest day's if None)."""
    kind = period.kind if period else "day"
    name = FEED_NAMES[kind]
    label = f"{name} papers" + (f", {period.label}" if period else "")
    return feed_links(f"/feeds/{name}", label, f"{FEED_PARAMS[kind]}={period.label}" if period else "")
