"""The JSON API: Hugging Face's paths, parameters and field names."""

from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from ..search.query import day_bound
from . import periods
from .cache import Body, cached, respond
from .common import LATEST_DAY_KEY, MAX_QUERY, json_response, paper_or_404
from .models import Comment, PaperItem, header, responses
from .serialize import comment_item, hf_item, to_markdown

router = APIRouter()


def resolve_period(day: str | None, week: str | None, month: str | None, latest: str | None) -> periods.Period | None:
    """The period a feed request names; the latest day with papers if it names none (None if there is none)."""
    given = [(kind, value) for kind, value in (("day", day), ("week", week), ("month", month)) if value is not None]
    if len(given) > 1:
        raise periods.PeriodError("give at most one of date, week and month")
    if given:
        return periods.parse(*given[0])
    return periods.day(latest) if latest else None


@router.get("/api/daily_papers", tags=["papers"], summary="Papers featured on a day, in an ISO week or a month",
            responses=responses(list[PaperItem], 422, headers={"X-Total-Count": header("Papers in the period (of the submitter).",
                                                                                       "integer")}))
async def daily_papers(
    request: Request,
    date: str | None = Query(None, description="A featured day, YYYY-MM-DD (default: the latest day with papers)."),
    week: str | None = Query(None, description="An ISO week, YYYY-Www, e.g. 2025-W09."),
    month: str | None = Query(None, description="A month, YYYY-MM."),
    submitter: str | None = Query(None, max_length=100, description="Only papers posted by this username."),
    sort: Literal["upvotes", "publishedAt", "trending"] = Query(
        "upvotes", description="upvotes (default), publishedAt (latest posted first) or trending (see /docs#trending)."
    ),
    p: int = Query(0, ge=0, le=10_000, description="Page, from 0."),
    limit: int = Query(50, ge=1, le=100, description="Papers per page, 1–100."),
):
    cache = request.app.state.cache
    period = resolve_period(date, week, month, await cached(cache, LATEST_DAY_KEY, request.app.state.store.latest_day))
    if period is None:
        return json_response([], {"X-Total-Count": "0"})

    def render():
        items, total = request.app.state.store.feed(
            period.start, period.end, sort=sort, submitter=submitter, offset=p * limit, limit=limit
        )
        return Body(orjson.dumps([hf_item(item) for item in items])), total

    body, total = await cached(cache, ("daily", period, sort, submitter, p, limit), render)
    return respond(request, body, "application/json", headers={"X-Total-Count": str(total)})


def search_filters(
    author: str | None = Query(None, max_length=200, description="Only papers by this author (all of its words, in order)."),
    category: str | None = Query(None, max_length=40, description="Only papers in this arXiv category, e.g. cs.LG."),
    organization: str | None = Query(None, max_length=200, description="Only papers of this organization."),
    published_from: str | None = Query(None, alias="from", max_length=10, description="Published on or after: YYYY, YYYY-MM or YYYY-MM-DD."),
    published_to: str | None = Query(None, alias="to", max_length=10, description="Published on or before: YYYY, YYYY-MM or YYYY-MM-DD."),
) -> dict:
    """The search filters given as parameters (API and feeds), as `Search.find`'s keyword arguments;
    a `from` or `to` that is not a date is a 422."""
    for name, value in (("from", published_from), ("to", published_to)):
        if value and day_bound(value, upper=False) is None:
            raise periods.PeriodError(f"{name} must be a date written YYYY, YYYY-MM or YYYY-MM-DD")
    return {"author": author, "category": category, "organization": organization,
            "published_from": published_from, "published_to": published_to}  # fmt: skip


@router.get("/api/papers/search", tags=["papers"], summary="Search papers by words and meaning",
            responses=responses(list[PaperItem], 422, headers={
                "X-Search-Mode": {"description": "The mode that ran.", "required": True,
                                  "schema": {"type": "string", "enum": ["hybrid", "lexical", "semantic"]}},
                "X-Search-Note": header("Why the mode that ran differs from the one asked for.", required=False)}))  # fmt: skip
def search_papers(
    request: Request,
    q: str = Query("", max_length=MAX_QUERY, description='Words, "exact phrases", -excluded, author:, cat:, org:, '
                   f"from:, to: (see the README). At most {MAX_QUERY} characters."),  # fmt: skip
    limit: int = Query(50, ge=1, le=120, description="Results, 1–120."),
    sort: Literal["relevance", "date", "upvotes"] = Query("relevance", description="relevance, date (newest first) or upvotes."),
    mode: Literal["hybrid", "lexical", "semantic"] = Query(
        "hybrid", description="lexical (words), semantic (meaning) or hybrid (both fused). The response header "
        "X-Search-Mode says which ran; X-Search-Note why it differs from the one asked for."),
    filters: dict = Depends(search_filters),
):
    found = request.app.state.search.find(q, mode=mode, limit=limit, sort=sort, **filters)
    note = found.note.encode("ascii", "replace").decode() if found.note else None  # headers are latin-1
    headers = {"X-Search-Mode": found.mode, **({"X-Search-Note": note} if note else {})}
    return json_response([hf_item(item) for item in found.papers], headers)


@router.get("/api/papers", tags=["papers"], summary="Every paper, in id order, with cursor pagination",
            responses=responses(list[PaperItem], 422, headers={"Link": header('The next page: `<...>; rel="next"` (none on the last).',
                                                                              required=False)}))
def list_all_papers(
    request: Request,
    cursor: str | None = Query(None, max_length=64, description="The `id` of the last paper of the previous page."),
    limit: int = Query(50, ge=1, le=100),
):
    items = request.app.state.store.papers_page(cursor, limit)
    headers = {}
    if len(items) == limit:
        headers["Link"] = f'<{request.url.path}?cursor={items[-1]["id"]}&limit={limit}>; rel="next"'
    return json_response([hf_item(item) for item in items], headers)


@router.get("/api/papers/{paper_id:path}/similar", tags=["papers"], summary="Related papers",
            responses=responses(list[PaperItem], 404, 422, e404="No such paper."))
def similar_papers(request: Request, paper_id: str, limit: int = Query(8, ge=1, le=50, description="Papers, 1–50.")):
    """The papers whose title and abstract are most like this one's, most alike first."""
    paper = paper_or_404(request, paper_id)
    return json_response([hf_item(item) for item in request.app.state.search.similar(paper, limit=limit)])


@router.get("/api/papers/{paper_id:path}/comments", tags=["community"], summary="A paper's comments, oldest first",
            responses=responses(list[Comment], 404, 422, e404="No such paper."))
def paper_comments(request: Request, paper_id: str):
    paper = paper_or_404(request, paper_id)
    return json_response([comment_item(c) for c in request.app.state.store.comments_of(paper["id"])])


@router.get("/api/papers/{paper_id:path}", tags=["papers"], summary="One paper",
            responses=responses(PaperItem, 404, 422, e404="No such paper."))
def paper_info(request: Request, paper_id: str):
    return json_response(hf_item(paper_or_404(request, paper_id)))


@router.get("/papers/{paper_id:path}.md", tags=["papers"], summary="One paper as Markdown", response_class=Response,
            responses=responses(None, 404, 422, media="text/markdown", description="The paper page as Markdown.", e404="No such paper."))
@router.head("/papers/{paper_id:path}.md", include_in_schema=False)
def paper_markdown(request: Request, paper_id: str):
    paper = paper_or_404(request, paper_id)
    return Response(to_markdown(paper, request.app.state.config.site_url), media_type="text/markdown; charset=utf-8")

