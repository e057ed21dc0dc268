"""Papers' thumbnails and organizations' logos (made by `dailypapers thumbnails`, ingest/thumbnails.py),
served from the media folder with year-long cache headers: a file, once written, never changes.

The templates ask `media.thumbnail(id)` and `media.logo(name)` whether a file exists (a stat each, about
a microsecond: a page of 50 cards costs well under a millisecond, and rendered pages are cached). The
render cache's generation includes the folders' modification times, so that a page rendered before a
thumbnail was made is rendered again with it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from ..ingest.thumbnails import logo_file, thumbnail_file

router = APIRouter()
FOREVER = {"Cache-Control": "public, max-age=31536000, immutable"}


class Media:
    def __init__(self, folder: Path):
        self.thumbnails = folder / "thumbnails"
        self.logos = folder / "logos"

    def thumbnail_path(self, paper_id: str) -> Path | None:
        name = thumbnail_file(paper_id)
        return self.thumbnails / name if name else None

    def logo_path(self, org_name: str) -> Path | None:
        name = logo_file(org_name)
        return self.logos / name if name else None

    def thumbnail(self, paper_id: str) -> bool:
        path = self.thumbnail_path(paper_id)
        return path is not None and os.path.exists(path)

    def logo(self, org_name: str | None) -> bool:
        path = self.logo_path(org_name) if org_name else None
        return path is not None and os.path.exists(path)

    def version(self) -> tuple:
        """Changes when a file is added to (or removed from) either folder."""
        return tuple(_mtime(folder) for folder in (self.thumbnails, self.logos))


def _mtime(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0


def _file(path: Path | None, what: str):
    if not path or not path.is_file():
        return JSONResponse({"error": f"no such {what}"}, status_code=404)
    return FileResponse(path, media_type="image/webp", headers=FOREVER)


@router.api_route("/thumbnails/{name:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def thumbnail(request: Request, name: str):
    """`/thumbnails/2405.01234.webp` (an old-style id: `/thumbnails/hep-th/9901001.webp`)."""
    paper_id = name.removesuffix(".webp") if name.endswith(".webp") else None
    return _file(paper_id and request.app.state.media.thumbnail_path(paper_id), "thumbnail")


@router.api_route("/logos/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def logo(request: Request, name: str):
    org = name.removesuffix(".webp") if name.endswith(".webp") else None
    return _file(org and request.app.state.media.logo_path(org), "logo")
