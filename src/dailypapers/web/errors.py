"""How the site answers when a request fails: JSON `{"error": ...}` for the API and feeds, an HTML page for
pages. `install(app)` registers every handler."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..digest.tokens import BadToken
from .periods import PeriodError


def install(app: FastAPI) -> None:
    from . import subscriptions

    app.add_exception_handler(BadToken, subscriptions.bad_link)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(PeriodError, period_error)
    app.add_exception_handler(RequestValidationError, validation_error)


async def http_error(request: Request, exc: StarletteHTTPException):
    """Refusals (401, 403, 429) say why in the usual shape; other API errors keep FastAPI's."""
    if is_api(request) and exc.status_code not in (401, 403, 429):
        return await http_exception_handler(request, exc)
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


def is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/feeds/", "/openapi")) or request.url.path.endswith(".md")


def error_response(request: Request, status: int, message: str):
    """JSON for the API and feeds, an HTML page for pages."""
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)
