"""HTML pages (server-rendered; work without JavaScript).

Every list page (a day, an ISO week, a month, search results) is `daily.html` with one card per paper
(`_card.html`); a paper has its own page (`paper.html`). Rendered pages are kept in the app's
`RenderCache`, keyed by route and parameters, so a busy daily page costs one lookup per request.
The hot routes are `async`: a cached page is answered on the event loop without a trip through the
thread pool; only a miss renders (database queries, templates) in a worker thread.
Data reaches the templates as plain values prepared here (dates formatted, abstracts cut, links
checked to be http(s)); Jinja's autoescaping does the escaping.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..search.query import parse as parse_query
from . import periods
from .common import (LATEST_DAY_KEY, MAX_QUERY, error_page, feed_links, html_response, latest_day, month_of, nav_links,
                     paper_or_404, period_feeds, period_url, render_page)
from .auth import SESSION_COOKIE, current_user
from .cache import Body, cached
from .comments import is_moderator
from .markdown import render as render_markdown
from .serialize import arxiv_links

router = APIRouter()

PER_PAGE = 50
MAX_PAGE = 10_000
EXCERPT_CHARS = 280
RELATED = 8  # related papers on a paper page
SORTS = {"upvotes": "Most upvoted", "trending": "Trending", "publishedAt": "Latest"}
SECTIONS = {"day": "daily", "week": "weekly", "month": "monthly"}


class BadRequest(Exception):
    """A parameter a page cannot use: answered with the 422 error page."""


async def _cached(request: Request, key, render):
    if request.cookies.get(SESSION_COOKIE) and await run_in_threadpool(current_user, request):  # (no hop for anonymous)
        return await run_in_threadpool(render)  # a logged-in reader's page is theirs (header, their votes)
    return await cached(request.app.state.cache, key, render)


async def _cached_page(request: Request, key, render) -> Body:
    return await _cached(request, key, lambda: Body(render()))


# -- small helpers -----------------------------------------------------------------------------------


def _search_feeds(query: str) -> list[dict]:
    """The feeds of a search (its newest matches); none for a search with nothing to search for."""
    if parse_query(query).is_empty:
        return []
    return feed_links("/feeds/search", f"search {query}", urlencode({"q": query}))


def _web_url(url: str | None) -> str | None:
    """The URL if it is an http(s) address (never a `javascript:` one), else None."""
    if url and isinstance(url, str) and re.match(r"^https?://[^\s]+$", url.strip(), re.IGNORECASE):
        return url.strip()
    return None


def _day_label(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]).strftime("%b %-d, %Y")
    except ValueError:
        return value[:10]


def _count(value: int | None) -> str:
    if not value:
        return "0"
    return f"{value / 1000:.1f}k".replace(".0k", "k") if value >= 1000 else str(value)


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The first `limit` characters of `text`, cut at a word boundary, with an ellipsis if cut."""
    text = " ".join((text or "").split())
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head[limit // 2 :] else text[:limit]
    return cut.rstrip(" ,;:.-–—") + "…"


def paragraphs(text: str | None) -> list[str]:
    """The abstract's paragraphs: split on blank lines, line breaks inside a paragraph joined."""
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n", text or "") if part.strip()]


def _links(paper: dict) -> list[dict]:
    links = arxiv_links(paper["id"])
    out = [{"label": "arXiv", "href": links["arxiv"], "kind": "arxiv"}, {"label": "PDF", "href": links["pdf"], "kind": "pdf"}]
    code = _web_url(paper.get("github_repo"))
    if code:
        stars = paper.get("github_stars")
        out.append({"label": "Code", "href": code, "kind": "code", "stars": _count(stars) if stars else None})
    project = _web_url(paper.get("project_page"))
    if project:
        out.append({"label": "Project page", "href": project, "kind": "project"})
    return out


def _organization(paper: dict) -> str | None:
    org = paper.get("organization")
    return (org.get("fullname") or org.get("name")) if org else None


def card(paper: dict, rank: int | None = None, why: dict | None = None) -> dict:
    """What `_card.html` shows of a paper; `rank` its place in a ranked list (a feed, search results; none
    on lists by date or saved order); `why` (from search) says why it matched."""
    authors = paper.get("authors") or []
    day = paper.get("day") or (paper.get("featured_on") or [None])[0]
    terms = set((why or {}).get("terms") or [])
    return {
        "id": paper["id"],
        "rank": rank,
        "title": paper["title"] or paper["id"],
        "title_parts": highlight(paper["title"] or paper["id"], terms),
        "upvotes": paper.get("upvotes") or 0,
        "excerpt": excerpt(paper.get("abstract")),
        "excerpt_parts": highlight(excerpt(paper.get("abstract")) or "", terms),
        "why": why,
        "author_count": len(authors),
        "first_authors": [a["name"] for a in authors[:3]],
        "more_authors": max(len(authors) - 3, 0),
        "organization": _organization(paper),
        "organization_name": paper["organization"]["name"] if paper.get("organization") else None,
        "day": day,
        "day_label": _day_label(day),
        "published_label": _day_label(paper.get("published_at")),
        "links": _links(paper),
        "num_comments": paper.get("num_comments") or 0,
    }


_WORD_OR_NOT = re.compile(r"(\w+)", re.UNICODE)


def highlight(text: str, terms: set[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is a matched term) so the template can mark matches (and escape all)."""
    if not terms:
        return [(text, False)]
    return [(piece, piece.lower() in terms) for piece in _WORD_OR_NOT.split(text) if piece]


def _sort(value: str) -> str:
    if value not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}")
    return value


def page_number(value: str) -> int:
    if not value.isdigit() or int(value) > MAX_PAGE:
        raise BadRequest(f"p (the page) must be a whole number from 0 to {MAX_PAGE}")
    return int(value)


# -- list pages ----------------------------------------------------------------------------------------


def _period_context(request: Request, period: periods.Period) -> dict:
    """The header of a day, week or month page: its neighbours and its sub-periods."""
    context: dict = {"kicker": {"day": "Daily Papers", "week": "Weekly Papers", "month": "Monthly Papers"}[period.kind]}
    if period.kind == "day":
        before, after = request.app.state.store.neighbor_days(period.label)
        week, month = periods.week_of(period.start), month_of(period.start)
        context["prev"] = {"href": period_url(periods.day(before)), "label": "previous day", "title": _day_label(before)} if before else None
        context["next"] = {"href": period_url(periods.day(after)), "label": "next day", "title": _day_label(after)} if after else None
        context["related"] = [
            {"href": period_url(week), "label": f"Week {week.label[-2:]}", "title": week.title},
            {"href": period_url(month), "label": month.start.strftime("%B %Y"), "title": month.title},
        ]
    else:
        before, after = period.shifted(-1), period.shifted(1)
        noun = period.kind
        context["prev"] = {"href": period_url(before), "label": f"previous {noun}", "title": before.title}
        context["next"] = {"href": period_url(after), "label": f"next {noun}", "title": after.title}
        if period.kind == "week":
            days = [period.start + timedelta(days=i) for i in range(7)]
            context["related"] = [
                {"href": period_url(periods.day(d)), "label": d.strftime("%a %-d"), "title": d.strftime("%A, %B %-d, %Y")} for d in days
            ]
            month = month_of(period.start)
            context["related"].append({"href": period_url(month), "label": month.start.strftime("%B %Y"), "title": month.title})
        else:
            weeks, start = [], periods.week_of(period.start)
            while start.start <= period.end:
                weeks.append({"href": period_url(start), "label": f"W{start.label[-2:]}", "title": start.title})
                start = start.shifted(1)
            context["related"] = weeks
    return context


def pager(base, page: int, total_pages: int) -> dict | None:
    if total_pages <= 1 and page == 0:
        return None
    return {
        "page": page,
        "pages": total_pages,
        "prev": base(min(page - 1, max(total_pages - 1, 0))) if page > 0 else None,
        "next": base(page + 1) if page + 1 < total_pages else None,
        "first": base(0) if page > 0 else None,
    }


async def _list_page(request: Request, period: periods.Period, sort: str, p: str) -> Response:
    try:
        sort, page = _sort(sort), page_number(p)
    except BadRequest as exc:
        return await run_in_threadpool(error_page, request, 422, str(exc))

    def render() -> str:
        items, total = request.app.state.store.feed(period.start, period.end, sort=sort, offset=page * PER_PAGE, limit=PER_PAGE)
        total_pages = math.ceil(total / PER_PAGE)
        context = _period_context(request, period)
        return render_page(
            request,
            "daily.html",
            view=period.kind,
            section=SECTIONS[period.kind],
            title=period.title,
            heading=period.title,
            period=period,
            canonical=period_url(period, sort=sort, p=page),
            cards=[card(item, page * PER_PAGE + i + 1) for i, item in enumerate(items)],
            total=total,
            sort=sort,
            sorts=[{"key": key, "label": label, "href": period_url(period, sort=key)} for key, label in SORTS.items()],
            pager=pager(lambda n: period_url(period, sort=sort, p=n), page, total_pages),
            first_page=period_url(period, sort=sort),
            nav=nav_links(latest_day(request)),
            feeds=period_feeds(period),
            **context,
        )

    return html_response(request, await _cached_page(request, ("pages:list", period, sort, page), render))


async def _period_page(request: Request, kind: str, value: str, sort: str, p: str) -> Response:
    try:
        period = periods.parse(kind, value)
    except periods.PeriodError as exc:
        return await run_in_threadpool(error_page, request, 422, str(exc))
    return await _list_page(request, period, sort, p)


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def home(request: Request, sort: str = "upvotes", p: str = "0"):
    latest = await _cached(request, LATEST_DAY_KEY, request.app.state.store.latest_day)
    if latest is None:
        body = await _cached_page(
            request,
            ("pages:empty",),
            lambda: render_page(request, "daily.html", view="empty", section="daily", title="No papers yet", heading="No papers yet",
                            cards=[], total=0, nav=nav_links(None), feeds=period_feeds(None)),  # fmt: skip
        )
        return html_response(request, body)
    return await _list_page(request, periods.day(latest), sort, p)


@router.api_route("/papers/date", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/papers/week", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/papers/month", methods=["GET", "HEAD"], include_in_schema=False)
def latest_period(request: Request):
    """`/papers/week` and `/papers/month`: the latest day's week or month (`/papers/date`: the latest day)."""
    kind = request.url.path.rsplit("/", 1)[-1]
    latest = latest_day(request)
    if latest is None:
        return RedirectResponse("/", status_code=302)
    day = date.fromisoformat(latest)
    period = {"date": periods.day(day), "week": periods.week_of(day), "month": month_of(day)}[kind]
    return RedirectResponse(period_url(period), status_code=302)


@router.api_route("/papers/date/{day}", methods=["GET", "HEAD"], include_in_schema=False)
async def daily_page(request: Request, day: str, sort: str = "upvotes", p: str = "0"):
    return await _period_page(request, "day", day, sort, p)


@router.api_route("/papers/week/{week}", methods=["GET", "HEAD"], include_in_schema=False)
async def weekly_page(request: Request, week: str, sort: str = "upvotes", p: str = "0"):
    return await _period_page(request, "week", week, sort, p)


@router.api_route("/papers/month/{month}", methods=["GET", "HEAD"], include_in_schema=False)
async def monthly_page(request: Request, month: str, sort: str = "upvotes", p: str = "0"):
    return await _period_page(request, "month", month, sort, p)


# -- search ----------------------------------------------------------------------------------------------


SEARCH_MODES = {"hybrid": "Words and meaning", "lexical": "Words", "semantic": "Meaning"}


@router.api_route("/search", methods=["GET", "HEAD"], include_in_schema=False)
def search_page(request: Request, q: str = "", p: str = "0", mode: str = "hybrid"):
    if len(q) > MAX_QUERY:
        return error_page(request, 422, f"q: the search is {len(q)} characters long; at most {MAX_QUERY} are allowed")
    if mode not in SEARCH_MODES:
        return error_page(request, 422, f"mode must be one of {', '.join(SEARCH_MODES)}")
    try:
        page = page_number(p)
    except BadRequest as exc:
        return error_page(request, 422, str(exc))
    query = " ".join(q.split())
    found = request.app.state.search.find(query, mode=mode, limit=PER_PAGE, offset=page * PER_PAGE) if query else None
    items = found.papers if found else []

    def url(n: int) -> str:
        return "/search?" + urlencode({"q": query, **({"mode": mode} if mode != "hybrid" else {}), **({"p": n} if n else {})})

    more, search_feeds = len(items) == PER_PAGE, _search_feeds(query)
    body = render_page(
        request,
        "daily.html",
        view="search",
        section="search",
        title=f"Search: {query}" if query else "Search",
        heading=f"Results for “{query}”" if query else "Search papers",
        q=query,
        mode=mode,
        modes=SEARCH_MODES,
        note=found.note if found else None,
        cards=[card(item, page * PER_PAGE + i + 1, found.why.get(item["pk"])) for i, item in enumerate(items)],
        total=len(items),
        pager=pager(url, page, page + 2 if more else page + 1) if query else None,
        first_page=url(0),
        nav=nav_links(latest_day(request)),
        feeds=search_feeds or period_feeds(None),
        search_feeds=search_feeds,
    )
    return html_response(request, body)


# -- one paper ---------------------------------------------------------------------------------------------


@router.api_route("/papers/{paper_id:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def paper_page(request: Request, paper_id: str):
    def render() -> str:
        paper = paper_or_404(request, paper_id)  # raises for an unknown id: nothing is cached then
        moderator = is_moderator(current_user(request))
        comments = [{**c, "html": render_markdown(c["body"])} for c in request.app.state.store.comments_of(paper["id"], hidden=moderator)]
        submitter = paper.get("submitted_by")
        keywords = paper.get("ai_keywords") or []
        return render_page(
            request,
            "paper.html",
            section="paper",
            title=paper["title"] or paper["id"],
            paper=paper,
            canonical=f"/papers/{paper['id']}",
            abstract=paragraphs(paper.get("abstract")),
            authors=[a["name"] for a in paper.get("authors") or []],
            categories=paper.get("categories") or [],
            published_label=_day_label(paper.get("published_at")),
            links=_links(paper),
            doi=paper.get("doi"),
            doi_url=f"https://doi.org/{quote(paper['doi'], safe='/:;()')}" if paper.get("doi") else None,
            keywords=keywords if isinstance(keywords, list) else [str(keywords)],
            submitter=(
                {"name": submitter.get("fullname") or submitter["user"], "user": submitter["user"],
                 "href": None if submitter.get("local") else f"https://huggingface.co/{quote(submitter['user'])}"}  # fmt: skip
                if submitter and submitter.get("user")
                else None
            ),
            organization=_organization(paper),
            featured=[{"day": d, "label": _day_label(d), "href": period_url(periods.day(d))} for d in paper.get("featured_on") or []],
            related=[card(other, n + 1) for n, other in enumerate(request.app.state.search.similar(paper, limit=RELATED))],
            comments=comments,
            comments_elsewhere=paper["num_comments"] - sum(1 for c in comments if not c["hidden_at"]),  # on Hugging Face
            moderator=moderator,
            nav=nav_links(latest_day(request)),
            feeds=period_feeds(None),
        )

    try:
        return html_response(request, await _cached_page(request, ("pages:paper", paper_id), render))
    except HTTPException as exc:
        return await run_in_threadpool(error_page, request, exc.status_code, str(exc.detail))
