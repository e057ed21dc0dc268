"""The administrators' view of the site as a service: the catalog, the search indexes' lag, the digest
outbox, and the last rounds of `dailypapers sync` (when, what each source added, what failed and why)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from .auth import current_user
from .common import error_page, html_response, latest_day, nav_links, render_page

router = APIRouter()


@router.get("/admin", include_in_schema=False)
def admin_page(request: Request):
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/admin", status_code=303)
    if user["role"] != "admin":
        return error_page(request, 403, "only administrators see this page")
    store, search = request.app.state.store, request.app.state.search
    outbox = {}
    for (kind, status), count in store.count_mails().items():
        outbox[status] = outbox.get(status, 0) + count
    body = render_page(request, "admin.html", nav=nav_links(latest_day(request)), papers=store.count_papers(),
                   latest=latest_day(request), lag=search.lag(), rounds=store.sync_rounds(20), outbox=outbox,
                   subscribers=store.count_subscribers())  # fmt: skip
    response = html_response(request, body)
    response.headers["Cache-Control"] = "private, no-store"
    return response
