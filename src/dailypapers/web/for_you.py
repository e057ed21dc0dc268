""""For you": the feed ranked for the logged-in reader, and recent papers from the whole catalog, each
with why (rank/for_you.py); the same through the API and as a feed at a secret URL.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..rank.for_you import NoLibrary, Recommendation
from . import periods
from .auth import api_user, current_user, form_user
from .common import html_response, json_response, latest_day, nav_links, render_page
from .feeds import MEDIA, feed_body
from .models import Recommendation as RecommendationModel
from .models import responses
from .pages import card
from .serialize import hf_item

router = APIRouter()
VIEWS = {"day": "Today's feed", "week": "This week", "catalog": "From the whole catalog"}
View = Literal["day", "week", "catalog"]
CLOSE_ENOUGH = 0.7  # a saved paper is named as close if it is at least this similar as the closest one


def recommendations(request: Request, user_id: int, view: str, limit: int) -> list[Recommendation]:
    """NoLibrary before the reader has saved anything."""
    recommender = request.app.state.recommender
    if view == "catalog":
        return recommender.catalog(user_id, limit)
    latest = latest_day(request)
    if latest is None:
        return []
    period = periods.day(latest) if view == "day" else periods.week_of(date.fromisoformat(latest))
    return recommender.feed(user_id, period.start, period.end, limit)


def reasons_item(request: Request, found: Recommendation) -> dict:
    """The reasons, with the titles of the closest saved papers, for a person and for the API."""
    reasons = found.reasons
    # the saved papers it is clearly closest to, not every saved paper it shares a word with
    best = max((s for _, s in reasons.closest), default=0.0)
    closest = [(i, s) for i, s in reasons.closest if s >= CLOSE_ENOUGH * best][:2]
    titles = {p["id"]: p["title"] for p in request.app.state.store.papers_by_ids([i for i, _ in closest])}
    return {
        "closest": [{"id": i, "title": titles.get(i, i), "similarity": round(float(s), 3)} for i, s in closest],
        "authors": list(reasons.authors), "organization": reasons.organization, "terms": list(reasons.terms),
    }  # fmt: skip


@router.get("/for-you", include_in_schema=False)
def for_you_page(request: Request, view: str = "day"):
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/for-you", status_code=303)
    view = view if view in VIEWS else "day"
    try:
        found = recommendations(request, user["id"], view, 50)
        problem = None
    except NoLibrary as exc:
        found, problem = [], str(exc)
    cards = []
    for rank, item in enumerate(found, start=1):
        cards.append({**card(item.paper, rank), "reasons": reasons_item(request, item)})
    body = render_page(
        request, "for_you.html", title="For you", section="for-you", view=view, cards=cards, problem=problem,
        views=[{"key": key, "label": label, "href": f"/for-you?view={key}"} for key, label in VIEWS.items()],
        nav=nav_links(latest_day(request)),
    )  # fmt: skip
    return html_response(request, body)


@router.post("/for-you/feed", include_in_schema=False)
async def new_feed_link(request: Request):
    """A new secret URL for the personal feed; the old one stops working."""
    user = form_user(request, await request.form())
    await run_in_threadpool(request.app.state.store.feed_token, user["id"], new=True)
    return RedirectResponse("/library#feed", status_code=303)


FeedToken = Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


@router.get("/for-you/feed/{token}.{fmt}", include_in_schema=False)
def personal_feed(request: Request, fmt: str, token: str = FeedToken):
    """The reader's recommendations from the whole catalog, for a feed reader (which carries no session)."""
    store = request.app.state.store
    user_id = store.feed_reader(token)
    if fmt not in MEDIA or user_id is None:
        raise HTTPException(404, "no such feed")
    try:
        papers = [found.paper for found in request.app.state.recommender.catalog(user_id, 50)]
    except NoLibrary:
        papers = []
    config = request.app.state.config
    body = feed_body(request, fmt, f"{config.site_name}: for you", f"{config.site_url}/for-you", papers, "closest to your library first")
    return Response(body, media_type=f"{MEDIA[fmt]}; charset=utf-8", headers={"Cache-Control": "private, no-store"})


@router.get("/api/recommendations", tags=["library"], summary="Papers ranked for you, with why (API token)",
            responses=responses(list[RecommendationModel], 401, 409, 422, description="Best first.",
                                e409="Nothing to learn from yet: save a paper first."))
def recommendations_api(
    request: Request,
    view: View = Query("day", description="`day`: the latest day's feed; `week`: its week; `catalog`: recent papers from the whole catalog."),
    limit: int = Query(20, ge=1, le=100),
    user: dict = Depends(api_user),
):
    try:
        found = recommendations(request, user["id"], view, limit)
    except NoLibrary as exc:
        raise HTTPException(409, str(exc)) from None
    return json_response([{"paper": hf_item(f.paper), "score": round(f.score, 4), "reasons": reasons_item(request, f)} for f in found])


