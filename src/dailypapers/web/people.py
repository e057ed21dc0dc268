"""Who the papers come from: a page per organization (its papers and members) and per author name.

Administrators attach a paper to an organization (made on first use); any reader with an account may
say they are a member of one. An author page lists every paper whose author list has that name, from
the keyword index, newest first.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from .common import Name, error_page, feed_links, html_response, json_response, latest_day, nav_links, paper_or_404, render_page
from .auth import api_user, current_user, form_user
from .models import PaperItem, responses
from .pages import PER_PAGE, BadRequest, card, page_number, pager
from .serialize import hf_item

router = APIRouter()
HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


class Attachment(BaseModel):
    organization: str = Field(max_length=96, description="The organization's handle, e.g. `google`.")
    fullname: str | None = Field(None, max_length=200, description="Its full name, if it is new.")


def org_url(name: str) -> str:
    return f"/organizations/{quote(name, safe='')}"


def author_url(name: str) -> str:
    return f"/authors/{quote(name, safe='')}"


def _feeds(kind: str, name: str, label: str) -> list[dict]:
    return feed_links(f"/feeds/{kind}/{quote(name, safe='')}", label)


def _list(request: Request, p: str, render) -> Response:
    try:
        page = page_number(p)
    except BadRequest as exc:
        return error_page(request, 422, str(exc))
    try:
        return html_response(request, render(page))
    except HTTPException as exc:
        return error_page(request, exc.status_code, str(exc.detail))


# -- organizations ----------------------------------------------------------------------------------------


ORGS_PER_PAGE = 90


@router.api_route("/organizations", methods=["GET", "HEAD"], include_in_schema=False)
def organizations_page(request: Request, p: str = "0", q: str = Query("", max_length=100)):
    def render(page: int) -> str:
        orgs = request.app.state.store.organizations_by_papers(q)
        pages = -(-len(orgs) // ORGS_PER_PAGE)
        if page and page >= pages:
            raise HTTPException(404, f"there are {pages} page{'s' if pages != 1 else ''} of organizations")
        base = "/organizations?" + (f"q={quote(q.strip())}&" if q.strip() else "")
        return render_page(
            request, "organizations.html", title="Organizations", orgs=orgs[page * ORGS_PER_PAGE:(page + 1) * ORGS_PER_PAGE],
            total=len(orgs), org_q=q.strip(), pager=pager(lambda n: base + f"p={n}" if n else base.rstrip("?&"), page, pages),
            nav=nav_links(latest_day(request)),
        )  # fmt: skip

    return _list(request, p, render)


@router.api_route("/organizations/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def organization_page(request: Request, name: Name, p: str = "0"):
    def render(page: int) -> str:
        store, user = request.app.state.store, current_user(request)
        org = store.organization(name)
        if org is None:
            raise HTTPException(404, f"no organization {name!r}")
        items, total = store.organization_papers(org["name"], page * PER_PAGE, PER_PAGE)
        base = org_url(org["name"])
        return render_page(
            request, "daily.html", view="organization", section="organization", kicker="Organization",
            title=org["fullname"], heading=org["fullname"], org=org, canonical=base,
            is_member=bool(user) and user["username"] in org["members"], follow=_follow(store, user, "organization", org["name"]),
            cards=[card(item) for item in items], total=total,  # newest first: no ranks
            pager=pager(lambda n: base + (f"?p={n}" if n else ""), page, -(-total // PER_PAGE)), first_page=base,
            nav=nav_links(latest_day(request)), feeds=(feeds := _feeds("organizations", org["name"], f"papers of {org['fullname']}")),
            search_feeds=feeds,
        )  # fmt: skip

    return _list(request, p, render)


@router.post("/organizations/{name}/membership", include_in_schema=False)
async def membership(request: Request, name: Name):
    form = await request.form()
    user = form_user(request, form)
    org = request.app.state.store.organization(name)
    if org is None:
        raise HTTPException(404, f"no organization {name!r}")
    await run_in_threadpool(request.app.state.store.set_membership, org["name"], user["id"], form.get("member", "1") != "0")
    return RedirectResponse(org_url(org["name"]), status_code=303)


def attach(request: Request, user: dict, paper_id: str, handle: str, fullname: str | None) -> dict:
    if user["role"] != "admin":
        raise HTTPException(403, "only administrators attach papers to organizations")
    handle, fullname = handle.strip(), " ".join((fullname or "").split())[:200] or None
    if not HANDLE.match(handle):
        raise HTTPException(422, "an organization's handle has 1 to 96 letters, digits, '.', '_' or '-', starting with a letter or digit")
    paper = paper_or_404(request, paper_id)
    request.app.state.store.attach_organization(paper["id"], handle, fullname)
    request.app.state.cache.changed()
    request.app.state.search.catch_up_soon()
    return request.app.state.store.paper(paper["id"])


@router.post("/papers/{paper_id:path}/organization", include_in_schema=False)
async def attach_form(request: Request, paper_id: str):
    form = await request.form()
    user = form_user(request, form)
    paper = await run_in_threadpool(attach, request, user, paper_id, str(form.get("organization", "")), str(form.get("fullname", "")))
    return RedirectResponse(f"/papers/{paper['id']}", status_code=303)


@router.put("/api/papers/{paper_id:path}/organization", tags=["community"], summary="Attach a paper to an organization (administrators)",
            responses=responses(PaperItem, 401, 403, 404, 413, 422, description="The paper.", e403="Only administrators attach papers.",
                                e404="No such paper."))
def attach_api(request: Request, paper_id: str, attachment: Attachment, user: dict = Depends(api_user)):
    """The organization is made if it does not exist yet. Answers the paper."""
    return json_response(hf_item(attach(request, user, paper_id, attachment.organization, attachment.fullname)))


def _follow(store, user: dict | None, kind: str, name: str) -> dict:
    """The Follow button's state for the reader."""
    return {"kind": kind, "name": name, "on": bool(user) and store.follows(user["id"], kind, name)}


# -- authors ------------------------------------------------------------------------------------------------


@router.api_route("/authors/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def author_page(request: Request, name: Name, p: str = "0"):
    def render(page: int) -> str:
        wanted = " ".join(name.split())
        found = request.app.state.search.papers("", author=wanted, sort="date", limit=PER_PAGE + 1, offset=page * PER_PAGE)
        if not found and page == 0:
            raise HTTPException(404, f"no papers by {wanted!r}")
        base = author_url(wanted)
        more = len(found) > PER_PAGE
        return render_page(
            request, "daily.html", view="author", section="author", kicker="Author", title=wanted, heading=wanted,
            canonical=base, cards=[card(item) for item in found[:PER_PAGE]],  # newest first: no ranks
            total=len(found[:PER_PAGE]), more=more,
            pager=pager(lambda n: base + (f"?p={n}" if n else ""), page, page + 2 if more else page + 1), first_page=base,
            nav=nav_links(latest_day(request)), feeds=(feeds := _feeds("authors", wanted, f"papers by {wanted}")), search_feeds=feeds,
            follow=_follow(request.app.state.store, current_user(request), "author", wanted),
        )  # fmt: skip

    return _list(request, p, render)
