"""Subscribing to digests, confirming, managing preferences and leaving; the personal feed.

No account is needed. Whoever subscribes gets a confirmation mail (double opt-in) and nothing else
until its link is opened. Every digest carries signed links to the preferences page and to leave:
`GET /unsubscribe/{token}` (the visible link) and `POST /unsubscribe/{token}` (RFC 8058 one-click)
both unsubscribe at once. A token that is forged, altered or for another purpose is refused (400).
The answer to a subscription request is the same whether the address was known or not.
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, Body, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from .. import digest
from ..digest.compose import Composer
from ..digest.preferences import FREQUENCIES, MAX_TOP, InvalidSubscription, check_email, check_preferences
from ..digest.send import MailConfigError
from ..digest.tokens import BadToken
from .auth import check_same_origin, current_user
from .common import html_response, latest_day, nav_links, render_page
from .feeds import MEDIA, feed_response
from .models import FEED_MEDIA, SubscriptionPending, responses
from .periods import Period
from .ratelimit import client_address, limit

router = APIRouter()
PERSONAL_FEED_DAYS = 7
CHECK_INBOX = "Check your inbox: a confirmation link is on its way. Nothing is sent until you open it."


class SubscriptionRequest(BaseModel):
    email: str = Field(..., max_length=254, description="Where the digests go.")
    frequency: str = Field("daily", description="daily (weekdays) or weekly.")
    top: int = Field(10, ge=0, le=MAX_TOP, description="Trending papers of the period per digest (0: none).")
    searches: list[str] = Field([], description="Saved searches, in the search syntax (see /search).")
    authors: list[str] = Field([], description="Author names to follow.")
    organizations: list[str] = Field([], description="Organizations to follow (handle or name).")


def _page(request: Request, template: str, status: int = 200, **context) -> Response:
    body = render_page(request, template, nav=nav_links(latest_day(request)), frequencies=FREQUENCIES, max_top=MAX_TOP, **context)
    return html_response(request, body, status)


def _message(request: Request, heading: str, message: str, status: int = 200, **context) -> Response:
    return _page(request, "subscription.html", status, view="message", heading=heading, message=message, **context)


def _renderer(request: Request) -> digest.Renderer:
    """The site's mail renderer (it holds the signing key), made on first use."""
    state = request.app.state
    if getattr(state, "renderer", None) is None:
        state.renderer = digest.renderer(state.store, state.config)
    return state.renderer


def _subscribe(request: Request, background: BackgroundTasks, email: str, preferences: dict) -> None:
    store, config = request.app.state.store, request.app.state.config
    subscriber, mail_id = store.subscribe(email, preferences)
    if mail_id is not None:
        background.add_task(_send_now, store, config, _renderer(request), mail_id)


def _send_now(store, config, renderer: digest.Renderer, mail_id: int) -> None:
    """Send one mail now, while the person waits for it; if the server is not reachable the mail stays
    in the outbox and `digest send` (or the schedule) retries it."""
    try:
        digest.Sender(store, config, renderer).run(ids=[mail_id], wait=False)
    except MailConfigError:
        pass  # the mail stays pending; `digest send` reports the settings problem


def _verified(request: Request, token: str, purpose: str) -> dict:
    """The subscriber a link was signed for; BadToken (answered by `bad_link`) if it is not valid."""
    subscriber = request.app.state.store.subscriber(_renderer(request).signer.verify(token, purpose))
    if subscriber is None:
        raise BadToken("this subscription no longer exists")
    return subscriber


def bad_link(request: Request, exc: BadToken) -> Response:
    return _message(request, "This link does not work", str(exc), 400)


def _form_preferences(form) -> dict:
    return check_preferences(
        form.get("frequency", "daily"), form.get("top") or 0, form.get("searches", ""), form.get("authors", ""),
        form.get("organizations", ""),
    )  # fmt: skip


# -- JSON --------------------------------------------------------------------------------------------


@router.post("/api/subscriptions", status_code=202, tags=["subscriptions"], summary="Subscribe an address to digests",
             responses=responses(SubscriptionPending, 413, 422, 429, status=202, description="A confirmation mail is on its way.",
                                 e422="An address or preferences that are not valid."))
def subscribe_api(request: Request, background: BackgroundTasks, body: SubscriptionRequest = Body(...)):
    """Sends a confirmation mail; nothing else is sent until its link is opened. The answer is the same
    whether or not the address was subscribed before."""
    try:
        email = check_email(body.email)
        preferences = check_preferences(body.frequency, body.top, body.searches, body.authors, body.organizations)
    except InvalidSubscription as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    limit(request, "subscribe", client_address(request))
    _subscribe(request, background, email, preferences)
    return {"status": "pending", "message": CHECK_INBOX}


# -- pages -------------------------------------------------------------------------------------------


@router.get("/subscribe", include_in_schema=False)
def subscribe_page(request: Request, q: str = "", author: str = "", org: str = ""):
    values = {"frequency": "daily", "top": 0 if (q or author or org) else 10, "searches": [q[:250]] if q.strip() else [],
              "authors": [author[:200]] if author.strip() else [], "organizations": [org[:200]] if org.strip() else []}  # fmt: skip
    return _page(request, "subscription.html", view="subscribe", values=values)


@router.post("/subscribe", include_in_schema=False)
async def subscribe_form(request: Request, background: BackgroundTasks):
    check_same_origin(request)
    form = await request.form()
    try:
        email = check_email(str(form.get("email", "")))
        preferences = _form_preferences(form)
    except InvalidSubscription as exc:
        values = {key: form.get(key, "") for key in ("email", "frequency", "top", "searches", "authors", "organizations")}
        return _page(request, "subscription.html", 422, view="subscribe", error=str(exc), values=values)
    limit(request, "subscribe", client_address(request))
    _subscribe(request, background, email, preferences)
    return _message(request, "Almost there", CHECK_INBOX)


@router.get("/subscriptions/confirm/{token}", include_in_schema=False)
def confirm(request: Request, token: str):
    subscriber = _verified(request, token, "confirm")
    store = request.app.state.store
    if not store.set_subscriber_status(subscriber["id"], "confirmed", only_from=["pending"]) and subscriber["status"] != "confirmed":
        return _message(request, "This link does not work", "this subscription was cancelled: subscribe again to get a new link", 400)
    _link_account(request, subscriber)
    manage = _renderer(request).links(subscriber["id"], subscriber["feed_token"])["manage"]
    what = "every weekday" if subscriber["frequency"] == "daily" else "every week"
    return _message(request, "You are subscribed", f"Papers will reach {subscriber['email']} {what}.", manage=manage)


@router.get("/subscriptions/manage/{token}", include_in_schema=False)
def manage_page(request: Request, token: str):
    subscriber = _verified(request, token, "manage")
    _link_account(request, subscriber)
    return _manage(request, token, subscriber)


def _link_account(request: Request, subscriber: dict) -> None:
    """Opening a mail's link while logged in to the account with that address (which the link proves the
    reader owns) puts the account's "For you" into the digests."""
    user = current_user(request)
    if user and user["email"] == subscriber["email"] and subscriber.get("user_id") != user["id"]:
        request.app.state.store.link_subscriber(subscriber["id"], user["id"])


def _manage(request: Request, token: str, subscriber: dict, status: int = 200, **context) -> Response:
    links = _renderer(request).links(subscriber["id"], subscriber["feed_token"])
    links = {name: urlsplit(url).path for name, url in links.items()}  # this site's pages, wherever it is served
    return _page(request, "subscription.html", status, view="manage", values=subscriber, token=token, links=links, **context)


@router.post("/subscriptions/manage/{token}", include_in_schema=False)
async def manage_save(request: Request, token: str):
    check_same_origin(request)
    subscriber = _verified(request, token, "manage")
    form = await request.form()
    try:
        preferences = _form_preferences(form)
    except InvalidSubscription as exc:
        typed = {key: form.get(key, "") for key in ("frequency", "top", "searches", "authors", "organizations")}
        return _manage(request, token, {**subscriber, **typed}, 422, error=str(exc))
    store = request.app.state.store
    store.update_preferences(subscriber["id"], preferences)
    store.set_subscriber_status(subscriber["id"], "confirmed", only_from=["unsubscribed"])
    return _manage(request, token, store.subscriber(subscriber["id"]), saved=True)


@router.api_route("/unsubscribe/{token}", methods=["GET", "POST"], include_in_schema=False)
def unsubscribe(request: Request, token: str):
    """The visible link (GET) and RFC 8058 one-click (POST) both unsubscribe at once."""
    subscriber = _verified(request, token, "unsubscribe")
    store = request.app.state.store
    store.set_subscriber_status(subscriber["id"], "unsubscribed", only_from=["pending", "confirmed"])
    manage = _renderer(request).links(subscriber["id"], subscriber["feed_token"])["manage"]
    return _message(request, "You are unsubscribed", f"No more mail will be sent to {subscriber['email']}.", manage=manage,
                    resubscribe=True)  # fmt: skip


@router.get("/feeds/personal/{token}.{fmt}", tags=["feeds"], summary="A subscriber's personal feed (the link is in every digest)",
            response_class=Response,
            responses=responses(None, 404, 422, media=FEED_MEDIA, description="RSS 2.0 (`.rss`) or Atom (`.atom`).",
                                e404="No such feed: an unknown token, or a format other than rss and atom."))
def personal_feed(request: Request, token: str, fmt: str):
    """What the subscriber's digest holds for the last week of the feed, sent or not."""
    store = request.app.state.store
    subscriber = store.subscriber_by_feed_token(token) if fmt in MEDIA else None
    if subscriber is None:
        return JSONResponse({"error": "no such feed"}, status_code=404)

    def render() -> tuple:
        last = date.fromisoformat(latest_day(request) or date.today().isoformat())
        period = Period("week", last - timedelta(days=PERSONAL_FEED_DAYS - 1), last)
        sections = Composer(store, request.app.state.search, period, exclude_sent=False).sections(subscriber)
        papers = list({p["id"]: p for _, found in sections for p in found}.values())
        config = request.app.state.config  # the title leaves the address out: feed readers may share titles
        return f"{config.site_name}: your papers", f"{config.site_url}/", papers, "your digest's papers"

    return feed_response(request, fmt, ("feed:personal", subscriber["id"], tuple(map(str, subscriber.values()))), render)
