"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), and the favicon.

Both pages load their scripts and styles from static/vendor/ (copied from the npm packages; see the
README there), never from a CDN, so they work on a machine without internet access. Each page is made
once per app; security.py derives its Content-Security-Policy from the very HTML sent.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from .security import docs_policy

VENDOR = "/static/vendor"
FAVICON = "/static/favicon.svg"


def pages(app: FastAPI) -> dict[str, HTMLResponse]:
    """The documentation pages by path, for `app`'s OpenAPI schema."""
    title = app.title
    return {
        "/docs": get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{title}: Swagger UI", swagger_favicon_url=FAVICON,
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
        ),
        "/redoc": get_redoc_html(
            openapi_url=app.openapi_url, title=f"{title}: ReDoc", redoc_favicon_url=FAVICON,
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js", with_google_fonts=False,
        ),
    }  # fmt: skip


def install(app: FastAPI, static_dir) -> dict[str, str]:
    """Add /docs, /redoc and /favicon.ico to `app`; returns the Content-Security-Policy of each page by path."""
    documented = pages(app)
    router = APIRouter(include_in_schema=False)

    def serve(page: HTMLResponse):
        body = bytes(page.body)
        return lambda: HTMLResponse(body)

    for path, page in documented.items():
        router.add_api_route(path, serve(page), methods=["GET", "HEAD"])

    @router.api_route("/favicon.ico", methods=["GET", "HEAD"])
    def favicon():
        return FileResponse(static_dir / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip

    app.include_router(router)
    return {path: docs_policy(bytes(page.body).decode()) for path, page in documented.items()}
