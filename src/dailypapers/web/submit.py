"""Submitting a paper to today's daily feed, by arXiv id or URL (the page /submit and POST /api/papers).

A paper the store does not hold (or holds without a publication date) is fetched from the arXiv API
(`arxiv_api_url`). Only papers first published at most `submission_max_days` ago are taken, and a paper
that has been on the feed before is refused. Submissions are rate-limited per account and per address.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..ingest import arxiv_api
from ..ingest.http import PoliteClient
from ..records import InvalidRecord, parse_arxiv_id
from ..store.community import AlreadyFeatured
from .common import html_response, json_response, latest_day, nav_links, render_page
from .auth import api_user, current_user, form_user
from .models import PaperItem, responses
from .ratelimit import client_address, limit
from .serialize import hf_item

router = APIRouter()
_arxiv_lock = threading.Lock()  # one request to arXiv at a time, spaced by arxiv_min_interval


class Submission(BaseModel):
    id: str = Field(max_length=200, description="An arXiv id (2501.01234, hep-th/9901001) or an arxiv.org URL.")


def _arxiv_client(request: Request) -> PoliteClient:
    state, config = request.app.state, request.app.state.config
    if getattr(state, "arxiv_client", None) is None:
        # A reader is waiting: two retries at most, and never a long Retry-After.
        state.arxiv_client = PoliteClient(min_interval=config.arxiv_min_interval, max_retries=2, timeout=20, max_wait=10)
    return state.arxiv_client


def _fetch(request: Request, paper_id: str):
    try:
        with _arxiv_lock:
            record = arxiv_api.fetch_paper(paper_id, url=request.app.state.config.arxiv_api_url, client=_arxiv_client(request))
    except arxiv_api.ArxivApiError as exc:
        raise HTTPException(502, str(exc)) from None
    if record is None:
        raise HTTPException(404, f"arXiv has no paper {paper_id}")
    return record


def submit(request: Request, user: dict, text: str) -> dict:
    """Put the paper named by `text` on today's feed; the paper, or an HTTPException saying why not."""
    config, store = request.app.state.config, request.app.state.store
    try:
        paper_id = parse_arxiv_id(text.strip())[0]
    except InvalidRecord:
        raise HTTPException(422, f"{text.strip()[:100]!r} is not an arXiv id or arxiv.org URL") from None
    limit(request, "submit", f"user:{user['id']}", f"address:{client_address(request)}")
    paper = store.paper(paper_id)
    if paper and paper["featured_on"]:
        raise HTTPException(409, str(AlreadyFeatured(paper_id, paper["featured_on"][0])))
    record = _fetch(request, paper_id) if paper is None or not paper.get("published_at") else None
    published = record.published_at if record else paper["published_at"]
    today = datetime.now(UTC).date()
    oldest = today - timedelta(days=config.submission_max_days)
    if not published or published[:10] < oldest.isoformat():
        raise HTTPException(422, f"{paper_id} was first published on {(published or 'an unknown day')[:10]}: only papers "
                                 f"published in the last {config.submission_max_days} days can be submitted")  # fmt: skip
    if record:
        store.apply([record])
    try:
        store.feature_submission(paper_id, today.isoformat(), user["username"])
    except AlreadyFeatured as exc:
        raise HTTPException(409, str(exc)) from None
    request.app.state.cache.changed()
    request.app.state.search.catch_up_soon()
    return store.paper(paper_id)


# -- the page ---------------------------------------------------------------------------------------------


def _page(request: Request, status: int = 200, **context) -> Response:
    context.setdefault("days", request.app.state.config.submission_max_days)
    return html_response(request, render_page(request, "submit.html", title="Submit a paper", nav=nav_links(latest_day(request)), **context), status)


@router.get("/submit", include_in_schema=False)
def submit_page(request: Request):
    if current_user(request) is None:
        return RedirectResponse("/login?next=/submit", status_code=303)
    return _page(request)


@router.post("/submit", include_in_schema=False)
async def submit_form(request: Request):
    form = await request.form()
    user = form_user(request, form)
    text = str(form.get("paper", ""))[:200]
    try:
        paper = await run_in_threadpool(submit, request, user, text)
    except HTTPException as exc:
        if exc.status_code in (401, 403, 429):
            raise
        return await run_in_threadpool(_page, request, exc.status_code, error=str(exc.detail), value=text)
    return RedirectResponse(f"/papers/{paper['id']}", status_code=303)


# -- the API ------------------------------------------------------------------------------------------------


@router.post("/api/papers", tags=["community"], summary="Submit a paper to today's feed (API token)", status_code=201,
             responses=responses(PaperItem, 401, 404, 409, 413, 422, 429, 502, status=201, description="The paper, on today's feed.",
                                 e404="arXiv has no such paper.", e409="It has been on the daily feed before.",
                                 e422="Not an arXiv id or URL, published too long ago, or a body that is not valid."))
def submit_api(request: Request, submission: Submission, user: dict = Depends(api_user)):
    """Answers the paper as it is now on the feed. 409 if it has been featured before, 422 if it was
    published too long ago, 404 if arXiv does not know it, 502 if arXiv cannot be reached."""
    return json_response(hf_item(submit(request, user, submission.id)), status_code=201)
