"""A reader's library: save papers (★) into collections, dismiss them ("not interested"), follow authors
and organizations, import references (BibTeX, Zotero CSV, a list of arXiv ids) and export BibTeX.

Every action is a plain form (no JavaScript) and an API call with a token. Collections are private; a
public one has a page and feeds at /collections/KEY, KEY being random, so that no collection can be
found by counting. Another reader's private collection is a 404, the same answer as one that does not
exist.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..ingest import arxiv_api
from ..ingest.bibliography import InvalidLibraryFile, read_library, to_bibtex
from ..ingest.http import PoliteClient
from ..store.library import DEFAULT_COLLECTION, CollectionExists
from .auth import api_user, current_user, form_user
from .common import Name, html_response, json_response, latest_day, local_path, nav_links, paper_or_404, render_page
from .feeds import MEDIA, feed_body
from .models import Collection, ImportReport, LibraryItems, responses
from .pages import card

router = APIRouter()
# Papers one import fetches from arXiv (one request per 100, one every arxiv_min_interval seconds): a
# request must not hold a worker for minutes. Importing the same file again fetches the next ones.
MAX_FETCHED = 300
CollectionName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]
FollowKind = Annotated[str, Path(pattern="^(author|organization)$")]


# -- saving, dismissing, following: forms and API ----------------------------------------------------


async def _form_action(request: Request):
    form = await request.form()
    return form, form_user(request, form)


@router.post("/papers/{paper_id:path}/save", include_in_schema=False)
async def save_form(request: Request, paper_id: str):
    form, user = await _form_action(request)
    paper = paper_or_404(request, paper_id)
    store = request.app.state.store
    if form.get("saved", "1") == "0":
        await run_in_threadpool(store.unsave_paper, user["id"], paper["id"])
    else:
        await run_in_threadpool(store.save_papers, user["id"], [paper["id"]], _collection_name(form.get("collection")))
    return RedirectResponse(local_path(str(form.get("back", "")) or f"/papers/{paper['id']}"), status_code=303)


@router.post("/papers/{paper_id:path}/dismiss", include_in_schema=False)
async def dismiss_form(request: Request, paper_id: str):
    form, user = await _form_action(request)
    paper = paper_or_404(request, paper_id)
    await run_in_threadpool(request.app.state.store.dismiss_paper, user["id"], paper["id"], form.get("dismissed", "1") != "0")
    return RedirectResponse(local_path(str(form.get("back", "")) or "/for-you"), status_code=303)


@router.post("/follows/{kind}/{name}", include_in_schema=False)
async def follow_form(request: Request, kind: FollowKind, name: Name):
    form, user = await _form_action(request)
    await run_in_threadpool(request.app.state.store.follow, user["id"], kind, name, form.get("follow", "1") != "0")
    back = f"/authors/{quote(name, safe='')}" if kind == "author" else f"/organizations/{quote(name, safe='')}"
    return RedirectResponse(local_path(str(form.get("back", "")) or back), status_code=303)


def _collection_name(value) -> str:
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
    rows = {p["id"]: p for p in store.papers_by_ids(store.collection_papers(collection["id"]))}
    ordered = [rows[i] for i in store.collection_papers(collection["id"]) if i in rows]
    feeds = [{"type": MEDIA[f], "href": f"/collections/{key}.{f}", "label": f.upper() if f == "rss" else "Atom"} for f in MEDIA]
    body = render_page(
        request, "daily.html", view="collection", section="library", kicker=f"Collection of {collection['username']}",
        title=collection["name"], heading=collection["name"], collection=collection, total=len(ordered),
        cards=[card(p, i + 1) for i, p in enumerate(ordered)], nav=nav_links(latest_day(request)),
        feeds=feeds if collection["public"] else [], search_feeds=feeds if collection["public"] else [],
    )  # fmt: skip
    return html_response(request, body)


@router.post("/library/collections", include_in_schema=False)
async def create_collection_form(request: Request):
    form, user = await _form_action(request)
    name = _collection_name(form.get("name"))
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
        name = _collection_name(form.get("name")) if form.get("name") else None
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
        shelves.append({**collection, "cards": [card(rows[i], n + 1) for n, i in enumerate(ids) if i in rows]})
    body = render_page(
        request, "library.html", title="Your library", section="library", collections=shelves,
        dismissed=[rows[i] for i in library["dismissed"] if i in rows], authors=library["authors"],
        organizations=library["organizations"], error=error, report=report, default_collection=DEFAULT_COLLECTION,
        feed_url=f"{request.app.state.config.site_url}/for-you/feed/{store.feed_token(user['id'])}.atom",
        nav=nav_links(latest_day(request)),
    )  # fmt: skip
    return html_response(request, body, status)


# -- import and export ------------------------------------------------------------------------------


@dataclass
class Report:
    """What an import did: papers already in the catalog, fetched from arXiv, found by title, and the
    entries it could not place (with why)."""

    collection: str
    matched: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    by_title: list[str] = field(default_factory=list)
    unplaced: list[dict] = field(default_factory=list)  # {"entry", "why"}
    saved: int = 0


def import_entries(request: Request, user: dict, data: bytes, filename: str | None, collection: str) -> Report:
    """Read the file, find every entry's paper (the catalog, else arXiv, else by title in the catalog),
    then save them all at once. InvalidLibraryFile before anything is stored; arXiv not answering is
    an ArxivApiError, and nothing is stored either."""
    entries = read_library(data, filename)
    store, search, config = request.app.state.store, request.app.state.search, request.app.state.config
    report = Report(collection)
    with_id = [e for e in entries if e.arxiv_id]
    known = {p["id"] for p in store.papers_by_ids([e.arxiv_id for e in with_id])} if with_id else set()
    missing = list(dict.fromkeys(e.arxiv_id for e in with_id if e.arxiv_id not in known))
    later = set(missing[MAX_FETCHED:])
    missing = missing[:MAX_FETCHED]
    fetched_records = []
    if missing:
        client = PoliteClient(min_interval=config.arxiv_min_interval, max_retries=2, timeout=30)
        try:
            fetched_records, _ = arxiv_api.fetch_papers(missing, url=config.arxiv_api_url, client=client)
        finally:
            client.close()
    fetched = {r.id for r in fetched_records}
    for entry in with_id:
        if entry.arxiv_id in known:
            report.matched.append(entry.arxiv_id)
        elif entry.arxiv_id in fetched:
            report.fetched.append(entry.arxiv_id)
        elif entry.arxiv_id in later:
            report.unplaced.append({"entry": entry.label, "why": f"not fetched yet: one import fetches at most {MAX_FETCHED} "
                                                                "papers from arXiv; import the file again for the next ones"})
        else:
            report.unplaced.append({"entry": entry.label, "why": f"arXiv has no paper {entry.arxiv_id}"})
    for entry in entries:
        if entry.arxiv_id:
            continue
        paper = search.by_title(entry.title) if entry.title else None
        if paper is not None:
            report.by_title.append(paper["id"])
        else:
            why = "no arXiv id, and no paper in the catalog has this title" if entry.title else "no arXiv id and no title"
            report.unplaced.append({"entry": entry.label, "why": why})
    if fetched_records:
        store.apply(fetched_records)
        search.catch_up_soon()
    ids = list(dict.fromkeys(report.matched + report.fetched + report.by_title))
    if ids:
        report.saved = store.save_papers(user["id"], ids, collection)
    return report


@router.post("/library/import", include_in_schema=False)
async def import_form(request: Request):
    form, user = await _form_action(request)
    upload = form.get("file")
    data, filename = (await upload.read(), upload.filename) if hasattr(upload, "read") else (b"", None)
    if not data.strip():
        data, filename = str(form.get("ids", "")).encode(), None
    collection = _collection_name(form.get("collection"))
    try:
        report = await run_in_threadpool(import_entries, request, user, data, filename, collection)
    except (InvalidLibraryFile, arxiv_api.ArxivApiError) as exc:
        return await run_in_threadpool(library_page_response, request, user, 422 if isinstance(exc, InvalidLibraryFile) else 502,
                                       f"Nothing was imported: {exc}")  # fmt: skip
    return await run_in_threadpool(library_page_response, request, user, 200, None, asdict(report))


class ImportRequest(BaseModel):
    text: str = Field(max_length=5_000_000, description="The file's content: BibTeX, a Zotero CSV export, or arXiv ids or URLs, one per line.")
    filename: str | None = Field(None, max_length=200, description="Its name, if any: `.bib`, `.csv` or `.txt` says the format.")
    collection: CollectionName = Field(DEFAULT_COLLECTION, description="The collection to save into (made if need be).")


@router.post("/api/library/import", tags=["library"], summary="Import references into your library (API token)",
             responses=responses(ImportReport, 401, 413, 422, 502, description="What was found, fetched and could not be placed.",
                                 e422="The file cannot be read: the message says where.", e502="arXiv did not answer: nothing was imported."))
def import_api(request: Request, wanted: ImportRequest, user: dict = Depends(api_user)):
    try:
        report = import_entries(request, user, wanted.text.encode(), wanted.filename, wanted.collection)
    except InvalidLibraryFile as exc:
        raise HTTPException(422, str(exc)) from None
    except arxiv_api.ArxivApiError as exc:
        raise HTTPException(502, f"nothing was imported: {exc}") from None
    return json_response(asdict(report))


def _export(request: Request, user: dict, key: str | None) -> Response:
    store = request.app.state.store
    if key is None:
        ids = store.library(user["id"])["saved"]
    else:
        collection = store.collection(key)
        if collection is None or collection["user_id"] != user["id"]:
            raise HTTPException(404, "no such collection")
        ids = store.collection_papers(collection["id"], limit=100_000)
    rows = {p["id"]: p for p in store.papers_by_ids(ids)}
    return Response(to_bibtex(rows[i] for i in ids if i in rows), media_type="application/x-bibtex; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="library.bib"'})  # fmt: skip


@router.get("/library/export.bib", include_in_schema=False)
def export_bibtex(request: Request, collection: str | None = Query(None, max_length=40)):
    """Every saved paper, or one collection's (its key), as BibTeX; for the session's reader or a token's."""
    user = api_user(request) if request.headers.get("authorization") else current_user(request)
    if user is None:
        return RedirectResponse("/login?next=/library", status_code=303)
    return _export(request, user, collection)


@router.get("/api/collections/{key}", tags=["library"], summary="A public collection, or one of yours (API token)",
            responses=responses(Collection, 401, 404, 422, description="The collection and its papers' ids, the latest saved first.",
                                e404="No such collection (or another reader's private one)."))
def collection_api(request: Request, key: CollectionKey, user: dict = Depends(api_user)):
    collection = _visible_collection(request, key, user)
    item = _collection_item(request, {**collection, "count": None})
    item["papers"] = request.app.state.store.collection_papers(collection["id"])
    return json_response({**item, "owner": collection["username"]})
