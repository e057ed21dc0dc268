"""Accounts and upvotes: sign up, log in, log out, API tokens in Settings, and voting (pages and API).

Log-in answers "wrong username or password" whether or not the account exists, and takes as long
either way (accounts.verify_password). Sign-up, log-in and voting are rate-limited (429); log-in's
scheme, which no attacker can use to lock an account's owner out, is in login_limits.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from .. import accounts
from ..store.accounts import UserExists
from .common import RowId, local_path, html_response, latest_day, nav_links, paper_or_404, render_page
from .models import Vote, responses
from .auth import SESSION_COOKIE, api_user, check_same_origin, current_user, form_user, password_work
from .login_limits import DEVICE_COOKIE, DEVICE_DAYS, device_cookie, device_of, login_limits
from .ratelimit import TooMany, client_address, limit, slot, take, too_many

router = APIRouter()
WRONG_LOGIN = "wrong username or password"


def account_page(request: Request, status: int = 200, **context) -> Response:
    return html_response(request, render_page(request, "account.html", nav=nav_links(latest_day(request)), **context), status)


def log_in(request: Request, user: dict, to: str) -> Response:
    """A new session for `user`; the browser is remembered as one that has logged in to the account."""
    config, store = request.app.state.config, request.app.state.store
    token, token_hash = accounts.new_secret()
    expires = datetime.now(UTC) + timedelta(days=config.session_days)
    store.create_session(user["id"], token_hash, accounts.new_secret()[0], expires)
    response = RedirectResponse(local_path(to), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=config.session_days * 86400, httponly=True, samesite="lax",
                        secure=config.secure_cookies, path="/")  # fmt: skip
    response.set_cookie(DEVICE_COOKIE, device_cookie(_device_key(request), user["id"]), max_age=DEVICE_DAYS * 86400,
                        httponly=True, samesite="lax", secure=config.secure_cookies, path="/")  # fmt: skip
    return response


def _device_key(request: Request) -> str:
    return request.app.state.config.secret_key or request.app.state.store.signing_key()


# -- sign up, log in, log out --------------------------------------------------------------------------


@router.get("/signup", include_in_schema=False)
def signup_page(request: Request):
    return account_page(request, view="signup")


@router.post("/signup", include_in_schema=False)
async def signup(request: Request):
    check_same_origin(request)
    form = await request.form()
    values = {"username": str(form.get("username", "")), "email": str(form.get("email", ""))}
    try:
        username = accounts.check_username(values["username"])
        email = accounts.check_account_email(values["email"])
        password = accounts.check_password(str(form.get("password", "")), username)
    except accounts.InvalidAccount as exc:
        return account_page(request, 422, view="signup", error=str(exc), values=values)
    limit(request, "signup", client_address(request))
    password_hash = await password_work(request, accounts.hash_password, password)
    try:
        user = request.app.state.store.create_user(username, email, password_hash)
    except UserExists as exc:
        return account_page(request, 422, view="signup", error=str(exc), values=values)
    return log_in(request, user, "/")


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str = "/"):
    return account_page(request, view="login", next=local_path(next))


@router.post("/login", include_in_schema=False)
async def login(request: Request):
    """The try is counted before the password is checked (web/login_limits.py says under which limits)."""
    check_same_origin(request)
    form = await request.form()
    name, password = str(form.get("username", "")).strip().lower(), str(form.get("password", ""))
    store, config = request.app.state.store, request.app.state.config
    found = await run_in_threadpool(store.login_candidate, name) if name else None
    user, password_hash = found if found else (None, None)
    account = f"user:{user['id']}" if user else f"name:{name}"  # a username and its email count as one account
    device = device_of(_device_key(request), request.cookies.get(DEVICE_COOKIE), user["id"] if user else None)
    counted = login_limits(account, client_address(request), device)
    try:
        slots = await run_in_threadpool(take, store, config, *counted)
    except TooMany as exc:
        raise too_many(exc) from None
    if not await password_work(request, accounts.verify_password, password_hash, password):
        return account_page(request, 401, view="login", error=WRONG_LOGIN, values={"username": name}, next=local_path(form.get("next")))
    failures = [slot(config, *pair).bucket for pair in counted if pair[0] == "failed_login"]
    await run_in_threadpool(store.release_rate_slots, [i for (limit, _), i in zip(counted, slots) if limit != "login"], failures)
    if accounts.needs_rehash(password_hash):
        store.set_password_hash(user["id"], await password_work(request, accounts.hash_password, password))
    return log_in(request, user, str(form.get("next", "/")))


@router.post("/logout", include_in_schema=False)
async def logout(request: Request):
    form_user(request, await request.form())
    request.app.state.store.end_session(accounts.secret_hash(request.cookies[SESSION_COOKIE]))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- settings: API tokens -------------------------------------------------------------------------------


@router.get("/settings", include_in_schema=False)
def settings_page(request: Request):
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/settings", status_code=303)
    return account_page(request, view="settings", tokens=request.app.state.store.api_tokens(user["id"]))


@router.post("/settings/tokens", include_in_schema=False)
async def create_token(request: Request):
    form = await request.form()
    user = form_user(request, form)
    name = " ".join(str(form.get("name", "")).split())[:60] or "API token"
    token, token_hash = accounts.new_secret()
    store = request.app.state.store
    store.create_api_token(user["id"], name, token_hash)
    return account_page(request, 201, view="settings", tokens=store.api_tokens(user["id"]), new_token=token, new_name=name)


@router.post("/settings/tokens/{token_id}/revoke", include_in_schema=False)
async def revoke_token(request: Request, token_id: RowId):
    user = form_user(request, await request.form())
    if not request.app.state.store.revoke_api_token(user["id"], token_id):
        raise HTTPException(404, "no such token of yours")
    return RedirectResponse("/settings", status_code=303)


# -- upvotes --------------------------------------------------------------------------------------------


def _vote(request: Request, user: dict, paper_id: str, up: bool) -> dict:
    paper = paper_or_404(request, paper_id)
    limit(request, "vote", f"user:{user['id']}")
    if request.app.state.store.set_vote(user["id"], paper["id"], up):
        request.app.state.cache.changed()  # this worker's cached pages show the new count at once
        request.app.state.search.catch_up_soon()  # and search sorted by upvotes, within moments
    return {"id": paper["id"], "upvoted": up, "upvotes": request.app.state.store.paper(paper["id"])["upvotes"]}


@router.post("/papers/{paper_id:path}/upvote", include_in_schema=False)
async def upvote_form(request: Request, paper_id: str):
    form = await request.form()
    user = form_user(request, form)
    result = await run_in_threadpool(_vote, request, user, paper_id, form.get("up", "1") != "0")
    return RedirectResponse(local_path(str(form.get("back", "")) or f"/papers/{result['id']}"), status_code=303)


@router.post("/api/papers/{paper_id:path}/upvote", tags=["community"], summary="Upvote a paper (API token)",
             responses=responses(Vote, 401, 404, 422, 429, description="The paper's upvotes now.", e404="No such paper."))
def upvote_api(request: Request, paper_id: str, user: dict = Depends(api_user)):
    """Idempotent: upvoting twice counts once. Answers the paper's new count."""
    return JSONResponse(_vote(request, user, paper_id, True))


@router.delete("/api/papers/{paper_id:path}/upvote", tags=["community"], summary="Take back an upvote (API token)",
               responses=responses(Vote, 401, 404, 422, 429, description="The paper's upvotes now.", e404="No such paper."))
def remove_upvote_api(request: Request, paper_id: str, user: dict = Depends(api_user)):
    return JSONResponse(_vote(request, user, paper_id, False))
