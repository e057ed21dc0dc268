"""Importing references into a reader's library (a BibTeX file, a Zotero CSV export, arXiv ids or links),
with a report of what was found where, and exporting it as BibTeX.

An entry's paper is looked for in the catalog by arXiv id, else fetched from the arXiv API (at most
MAX_FETCHED an import), else, without an id, matched by title. Everything is read and fetched before
anything is saved: a file that cannot be read, or arXiv not answering, saves nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..ingest import arxiv_api
from ..ingest.bibliography import InvalidLibraryFile, read_library, to_bibtex
from ..ingest.http import PoliteClient
from ..store.library import DEFAULT_COLLECTION
from .auth import api_user, current_user, form_user
from .common import json_response
from .library import CollectionName, collection_name, library_page_response
from .models import ImportReport, responses

router = APIRouter()
# Papers one import fetches from arXiv (one request per 100, one every arxiv_min_interval seconds): a
# request must not hold a worker for minutes. Importing the same file again fetches the next ones.
MAX_FETCHED = 300


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
    form = await request.form()
    user = form_user(request, form)
    upload = form.get("file")
    data, filename = (await upload.read(), upload.filename) if hasattr(upload, "read") else (b"", None)
    if not data.strip():
        data, filename = str(form.get("ids", "")).encode(), None
    collection = collection_name(form.get("collection"))
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
