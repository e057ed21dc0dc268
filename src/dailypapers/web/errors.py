"""How the site answers when a request fails: `{"error": "<message>"}` (application/json) for the API, the
feeds, the Markdown pages and the other machine-read paths (`is_api`), whatever the status (404, 405, 409,
413, 422, 429, ...), with the exception's headers (Allow, Retry-After, WWW-Authenticate); an HTML page for
pages. The OpenAPI document describes that shape as `Error` (web/models.py). `install(app)` registers
every handler."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.utils import is_body_allowed_for_status_code
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..digest.tokens import BadToken
from ..store.errors import storage_unavailable
from .periods import PeriodError
from .server import RefusedRequest, refused

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    from sqlalchemy.exc import DBAPIError

    from . import subscriptions

    app.add_exception_handler(BadToken, subscriptions.bad_link)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(PeriodError, period_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DBAPIError, storage_error)  # a full or failing database: 503 (store/errors.py)
    app.add_exception_handler(RefusedRequest, refused)


async def http_error(request: Request, exc: StarletteHTTPException):
    """Every HTTPException, the router's 404 and 405 included, says why in the one shape."""
    if isinstance(exc.__cause__, RefusedRequest):  # FastAPI reports a body it failed to read as a 400
        return refused(request, exc.__cause__)
    if not is_body_allowed_for_status_code(exc.status_code):  # 204, 304: no body to say it in
        return Response(status_code=exc.status_code, headers=exc.headers)
    response = error_response(request, exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


async def period_error(request: Request, exc: PeriodError):
    return error_response(request, 422, str(exc))


async def validation_error(request: Request, exc: RequestValidationError):
    messages = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
        messages.append(f"{where}: {error.get('msg', 'invalid')}")
    return error_response(request, 422, "; ".join(messages) or "invalid request")


MACHINE_PATHS = frozenset({"/api", "/healthz", "/metrics"})


def is_api(request: Request) -> bool:
    """Read by programs, not people: answered in JSON when it fails."""
    path = request.url.path
    return path.startswith(("/api/", "/feeds/", "/openapi")) or path.endswith(".md") or path in MACHINE_PATHS


def error_response(request: Request, status: int, message: str):
    """`{"error": message}` for the API, feeds and Markdown pages; an HTML page for pages."""
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)


async def storage_error(request: Request, exc: Exception):
    """The database cannot store anything now (full, failing storage, locked too long: store/errors.py):
    503 saying so, with Retry-After, and one line in the log with the database's own words (never the SQL
    and its values). Nothing stored is lost: the write was a transaction, rolled back. Any other database
    error stays what it was, a 500 with its traceback in the log."""
    problem = storage_unavailable(exc)
    if problem is None:
        raise exc
    log.error("%s %s answered 503: %s", request.method, request.url.path,
                                                      problem.summary)  # fmt: skip
    response = error_response(request, 503, problem.public_message)
    response.headers["Retry-After"] = str(problem.retry_after)
    return response
