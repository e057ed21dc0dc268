"""Who is asking: sessions for browsers, API tokens for programs, and the CSRF rules for forms.

- A browser logs in and gets a session cookie (HttpOnly, SameSite=Lax, Secure when `secure_cookies`).
- Every state-changing form is checked twice: its Origin (or Referer) must be this site, and a
  logged-in user's form must carry the session's CSRF token.
- JSON writes take only `Authorization: Bearer <token>`, never the cookie, so no other site can make a
  browser send one.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ..accounts import secret_hash

SESSION_COOKIE = "dp_session"


def current_user(request: Request) -> dict | None:
    """The logged-in user (with the session's `csrf` token), or None. Looked up once per request."""
    if "user" not in request.state._state:
        token = request.cookies.get(SESSION_COOKIE)
        request.state.user = request.app.state.store.session_user(secret_hash(token)) if token else None
    return request.state.user


def _own_origin(request: Request) -> set[str]:
    here = f"{request.url.scheme}://{request.url.netloc}"
    public = request.app.state.config.site_url
    return {here, f"{urlsplit(public).scheme}://{urlsplit(public).netloc}"}


def check_same_origin(request: Request) -> None:
    """403 unless the form was sent from one of this site's pages (Origin, or else Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source:
        parts = urlsplit(source)
        if f"{parts.scheme}://{parts.netloc}" in _own_origin(request):
            return
    raise HTTPException(403, "this form must be sent from this site's own pages")


def form_user(request: Request, form) -> dict:
    """The logged-in user sending `form` from this site with the session's CSRF token; else 403/401."""
    check_same_origin(request)
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "log in first")
    if not hmac.compare_digest(str(form.get("csrf", "")), user["csrf"]):
        raise HTTPException(403, "this form has expired: reload the page and try again")
    return user


# The Bearer scheme in the OpenAPI document, on every operation that depends on api_user. It checks
# nothing itself (auto_error=False): api_user reads the header and answers 401 in the site's shape.
bearer = HTTPBearer(auto_error=False, description="A personal API token: create one in Settings.")


def api_user(request: Request, _scheme: HTTPAuthorizationCredentials | None = Depends(bearer)) -> dict:
    """The owner of the request's Bearer token; 401 otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    user = request.app.state.store.token_user(secret_hash(token.strip())) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        raise HTTPException(401, "a valid API token is needed: Authorization: Bearer <token> (create one in Settings)",
                            headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    return user


async def password_work(request: Request, work, *args):
    """An argon2 hash or check, off the event loop, and at most `password_hashes_at_once` at a time in
    this worker: each holds 64 MiB while it runs, so a burst of log-ins waits its turn instead of taking
    gigabytes. Waiting here costs a coroutine, not one of the thread pool's threads."""
    async with request.app.state.password_slots:
        return await run_in_threadpool(work, *args)
