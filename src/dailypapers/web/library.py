"""A reader's library: save papers (★) into collections, dismiss them ("not interested"), follow authors
and organizations (imports and exports: web/imports.py).

Every action is a plain form (no JavaScript) and an API call with a token. Collections are private; a
public one has a page and feeds at /collections/KEY, KEY being random, so that no collection can be
found by counting. Another reader's private collection is a 404, the same answer as one that does not
exist.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..store.library import DEFAULT_COLLECTION, CollectionExists
from .auth import api_user, current_user, form_user
from .common import Name, html_response, json_response, latest_day, local_path, nav_links, paper_or_404, render_page
from .feeds import MEDIA, feed_body
from .models import Collection, LibraryItems, responses
from .pages import card

router = APIRouter()
CollectionName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]
FollowKind = Annotated[str, Path(pattern="^(author|organization)$")]


# -- saving, dismissing, following: forms and API ----------------------------------------------------


async def _form_action(request: Request):
    form = await request.form()
    return form, form_user(request, form)


@router.post("/papers/{paper_id:path}/save", include_in_schema=False)
async def save_form(request: Request, paper_id: str):
    form, user = await _form_action(request)
    paper = await run_in_threadpool(paper_or_404, request, paper_id)
    store = request.app.state.store
    if form.get("saved", "1") == "0":
        await run_in_threadpool(store.unsave_paper, user["id"], paper["id"])
    else:
        await run_in_threadpool(store.save_papers, user["id"], [paper["id"]], collection_name(form.get("collection")))
    return RedirectResponse(local_path(str(form.get("back", "")) or f"/papers/{paper['id']}"), status_code=303)


@router.post("/papers/{paper_id:path}/dismiss", include_in_schema=False)
async def dismiss_form(request: Request, paper_id: str):
    form, user = await _form_action(request)
    paper = await run_in_threadpool(paper_or_404, request, paper_id)
    await run_in_threadpool(request.app.state.store.dismiss_paper, user["id"], paper["id"], form.get("dismissed", "1") != "0")
    return RedirectResponse(local_path(str(form.get("back", "")) or "/for-you"), status_code=303)


@router.post("/follows/{kind}/{name}", include_in_schema=False)
async def follow_form(request: Request, kind: FollowKind, name: Name):
    form, user = await _form_action(request)
    await run_in_threadpool(request.app.state.store.follow, user["id"], kind, name, form.get("follow", "1") != "0")
    back = f"/authors/{quote(name, safe='')}" if kind == "author" else f"/organizations/{quote(name, safe='')}"
    return RedirectResponse(local_path(str(form.get("back", "")) or back), status_code=303)


def collection_name(value) -> str:
    name = " ".join(str(value or "").split())[:80]
    return name or DEFAULT_COLLECTION


class SaveRequest(BaseModel):
    collection: CollectionName = Field(DEFAULT_COLLECTION, description='The collection to save into (made if need be).')


@router.get("/api/library", tags=["library"], summary="Your library (API token)",
            responses=responses(LibraryItems, 401, description="Your collections, dismissed papers and follows."))
def library_api(request: Request, user: dict = Depends(api_user)):
    store = request.app.state.store
    library = store.library(user["id"])
    return json_response({
        "collections": [_collection_item(request, c) for c in store.collections_of(user["id"])],
        "saved": library["saved"], "dismissed": library["dismissed"],
        "authors": library["authors"], "organizations": library["organizations"],
    })  # fmt: skip


@router.put("/api/library/saved/{paper_id:path}", tags=["library"], summary="Save a paper (API token)",
            responses=responses(LibraryItems, 401, 404, 413, 422, description="Your library now.", e404="No such paper."))
def save_api(request: Request, paper_id: str, wanted: SaveRequest | None = Body(None), user: dict = Depends(api_user)):
    paper = paper_or_404(request, paper_id)
    request.app.state.store.save_papers(user["id"], [paper["id"]], (wanted or SaveRequest()).collection)
    return library_api(request, user)


@router.delete("/api/library/saved/{paper_id:path}", tags=["library"], summary="Take a paper out of all your collections (API token)",
               responses=responses(LibraryItems, 401, 404, 422, description="Your library now.", e404="No such paper."))
def unsave_api(request: Request, paper_id: str, user: dict = Depends(api_user)):
    paper = paper_or_404(request, paper_id)
    request.app.state.store.unsave_paper(user["id"], paper["id"])
    return library_api(request, user)


@router.put("/api/library/dismissed/{paper_id:path}", tags=["library"], summary='Mark a paper "not interested" (API token)',
            responses=responses(LibraryItems, 401, 404, 422, description="Your library now.", e404="No such paper."))
def dismiss_api(request: Request, paper_id: str, user: dict = Depends(api_user)):
    paper = paper_or_404(request, paper_id)
    request.app.state.store.dismiss_paper(user["id"], paper["id"])
    return library_api(request, user)


@router.delete("/api/library/dismissed/{paper_id:path}", tags=["library"], summary='Take back "not interested" (API token)',
               responses=responses(LibraryItems, 401, 404, 422, description="Your library now.", e404="No such paper."))
def undismiss_api(request: Request, paper_id: str, user: dict = Depends(api_user)):
    paper = paper_or_404(request, paper_id)
    request.app.state.store.dismiss_paper(user["id"], paper["id"], dismiss=False)
    return library_api(request, user)


@router.put("/api/library/follows/{kind}/{name}", tags=["library"], summary="Follow an author or an organization (API token)",
            responses=responses(LibraryItems, 401, 422, description="Your library now."))
def follow_api(request: Request, kind: FollowKind, name: Name, user: dict = Depends(api_user)):
    request.app.state.store.follow(user["id"], kind, name)
    return library_api(request, user)


@router.delete("/api/library/follows/{kind}/{name}", tags=["library"], summary="Stop following (API token)",
               responses=responses(LibraryItems, 401, 422, description="Your library now."))
def unfollow_api(request: Request, kind: FollowKind, name: Name, user: dict = Depends(api_user)):
    request.app.state.store.follow(user["id"], kind, name, follow=False)
    return library_api(request, user)


# -- collections ------------------------------------------------------------------------------------


def _collection_item(request: Request, collection: dict) -> dict:
    site = request.app.state.config.site_url
    return {
        "name": collection["name"], "key": collection["key"], "public": bool(collection["public"]),
        "papers": collection.get("count", 0), "url": f"{site}/collections/{collection['key']}",
    }  # fmt: skip


def _visible_collection(request: Request, key: str, user: dict | None) -> dict:
    """A collection its owner, or anyone if it is public, may see; 404 otherwise (the same answer as none)."""
    collection = request.app.state.store.collection(key)
    if collection is None or not (collection["public"] or (user and user["id"] == collection["user_id"])):
        raise HTTPException(404, "no such collection")
    return collection


CollectionKey = Annotated[str, Path(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/collections/{key}.{fmt}", include_in_schema=False)
def collection_feed(request: Request, key: CollectionKey, fmt: str):
    collection = request.app.state.store.collection(key)
    if fmt not in MEDIA or collection is None or not collection["public"]:  # feed readers carry no session
        raise HTTPException(404, "no such feed")
    store, site = request.app.state.store, request.app.state.config.site_url
    ids = store.collection_papers(collection["id"], limit=50)
    rows = {p["id"]: p for p in store.papers_by_ids(ids)}
    title = f"{request.app.state.config.site_name}: {collection['name']} ({collection['username']})"
    body = feed_body(request, fmt, title, f"{site}/collections/{key}", [rows[i] for i in ids if i in rows], "the latest saved first")
    return Response(body, media_type=f"{MEDIA[fmt]}; charset=utf-8")


@router.api_route("/collections/{key}", methods=["GET", "HEAD"], include_in_schema=False)
def collection_page(request: Request, key: CollectionKey):
    collection = _visible_collection(request, key, current_user(request))
    store = request.app.state.store
    ids = store.collection_papers(collection["id"])
    rows = {p["id"]: p for p in store.papers_by_ids(ids)}
    ordered = [rows[i] for i in ids if i in rows]
    feeds = [{"type": MEDIA[f], "href": f"/collections/{key}.{f}", "label": f.upper() if f == "rss" else "Atom"} for f in MEDIA]
    body = render_page(
        request, "daily.html", view="collection", section="library", kicker=f"Collection of {collection['username']}",
        title=collection["name"], heading=collection["name"], collection=collection, total=len(ordered),
        cards=[card(p) for p in ordered], nav=nav_links(latest_day(request)),
        feeds=feeds if collection["public"] else [], search_feeds=feeds if collection["public"] else [],
    )  # fmt: skip
    return html_response(request, body)


@router.post("/library/collections", include_in_schema=False)
async def create_collection_form(request: Request):
    form, user = await _form_action(request)
    name = collection_name(form.get("name"))
    try:
        await run_in_threadpool(request.app.state.store.create_collection, user["id"], name, form.get("public") == "1")
    except CollectionExists as exc:
        return await run_in_threadpool(library_page_response, request, user, 422, str(exc))
    return RedirectResponse("/library", status_code=303)


@router.post("/library/collections/{key}", include_in_schema=False)
async def update_collection_form(request: Request, key: CollectionKey):
    """Make it public or private (`public`), rename it (`name`), or delete it (`delete=1`)."""
    form, user = await _form_action(request)
    store = request.app.state.store
    if form.get("delete") == "1":
        found = await run_in_threadpool(store.delete_collection, user["id"], key)
    else:
        name = collection_name(form.get("name")) if form.get("name") else None
        public = {"1": True, "0": False}.get(str(form.get("public", "")))
        try:
            found = await run_in_threadpool(lambda: store.update_collection(user["id"], key, name=name, public=public))
        except CollectionExists as exc:
            return await run_in_threadpool(library_page_response, request, user, 422, str(exc))
    if not found:
        raise HTTPException(404, "no such collection")
    return RedirectResponse("/library", status_code=303)


# -- the library page -------------------------------------------------------------------------------


@router.get("/library", include_in_schema=False)
def library_page(request: Request):
    user = current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/library", status_code=303)
    return library_page_response(request, user)


def library_page_response(request: Request, user: dict, status: int = 200, error: str | None = None,
                          report: dict | None = None) -> Response:  # fmt: skip
    store = request.app.state.store
    collections = store.collections_of(user["id"])
    library = store.library(user["id"])
    rows = {p["id"]: p for p in store.papers_by_ids(library["saved"] + library["dismissed"])}
    shelves = []
    for collection in collections:
        ids = store.collection_papers(collection["id"], limit=200)
        shelves.append({**collection, "cards": [card(rows[i]) for i in ids if i in rows]})
    body = render_page(
        request, "library.html", title="Your library", section="library", collections=shelves,
        dismissed=[rows[i] for i in library["dismissed"] if i in rows], authors=library["authors"],
        organizations=library["organizations"], error=error, report=report, default_collection=DEFAULT_COLLECTION,
        feed_url=f"{request.app.state.config.site_url}/for-you/feed/{store.feed_token(user['id'])}.atom",
        nav=nav_links(latest_day(request)),
    )  # fmt: skip
    return html_response(request, body, status)


@router.get("/api/collections/{key}", tags=["library"], summary="A public collection, or one of yours (API token)",
            responses=responses(Collection, 401, 404, 422, description="The collection and its papers' ids, the latest saved first.",
                                e404="No such collection (or another reader's private one)."))
def collection_api(request: Request, key: CollectionKey, user: dict = Depends(api_user)):
    collection = _visible_collection(request, key, user)
    item = _collection_item(request, {**collection, "count": None})
    item["papers"] = request.app.state.store.collection_papers(collection["id"])
    return json_response({**item, "owner": collection["username"]})
