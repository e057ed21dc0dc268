"""Thumbnails of papers' first pages and organizations' logos, kept as files beside the database.

`dailypapers thumbnails` (and a sync round, with sync_thumbnails on) fetches each featured paper's PDF
from `{arxiv_base_url}/pdf/{id}`, newest first, renders the top of its first page with pdfium as a
THUMB_WIDTH x THUMB_HEIGHT WebP, and each organization's avatar as a LOGO_SIZE square WebP. Requests
go one at a time through PoliteClient (arxiv_min_interval apart for arXiv, hf_min_interval for avatars).

    MEDIA/thumbnails/2405.01234.webp     (an old-style id: hep-th_9901001.webp)
    MEDIA/logos/google.webp
    MEDIA/*/failed.json                  {"2405.09999.webp": "HTTP 404", ...}: skipped until --retry-failed

A file is written under a temporary name and renamed, so one that exists is whole: an interrupted run
is resumed by running it again. A 404 or 410, or a download that cannot be read as a PDF or an image, is
a failure, recorded; a network error or any other answer (a 5xx after the client's retries, a 403 or 429
from a server that wants fewer requests) is not: the next run asks again.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin


from ..records import InvalidRecord, normalize_id
from ..store import database_url, derived_folder
from .http import PoliteClient

THUMB_WIDTH, THUMB_HEIGHT = 360, 466  # a US Letter page's proportions; an A4 page loses its foot
LOGO_SIZE = 64
WEBP_QUALITY = 60
MAX_PDF_BYTES = 100_000_000
MAX_IMAGE_BYTES = 5_000_000
FAILED = "failed.json"
GONE = {404, 410}  # answers that a later request would get again: recorded as failures
NOT_REACHED = "not reached"
INSTALL_HINT = "thumbnails need pypdfium2 and Pillow: pip install 'dailypapers[thumbnails]'"
ORG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")  # a Hugging Face handle (web/people.py HANDLE)


class MissingLibraries(RuntimeError):
    pass


class Unreadable(ValueError):
    """A download that is not a PDF (or image) we can render."""


def default_media_dir(url: str) -> Path:
    """Beside a SQLite file (`papers.db` -> `papers.db-media/`), as the search indexes (store.derived_folder)."""
    return derived_folder(url, "media")


def media_dir(config, url: str | None = None) -> Path:
    """The media_dir setting, else the default for the database at `url` (default: the db setting's)."""
    return Path(config.media_dir) if config.media_dir else default_media_dir(url or database_url(config.db))


def thumbnail_file(paper_id: str) -> str | None:
    """The file name of a paper's thumbnail, or None for what is not an arXiv id as the site writes it."""
    try:
        canonical = normalize_id(paper_id)
    except InvalidRecord:
        return None
    return f"{canonical.replace('/', '_')}.webp" if canonical == paper_id else None


def logo_file(org_name: str) -> str | None:
    return f"{org_name}.webp" if org_name and ORG_NAME.fullmatch(org_name) else None


def _imaging():
    try:
        import pypdfium2
        from PIL import Image
    except ImportError:
        raise MissingLibraries(INSTALL_HINT) from None
    return pypdfium2, Image


def check_libraries() -> None:
    """MissingLibraries (saying what to install) unless pypdfium2 and Pillow can be imported."""
    _imaging()


def _webp(image) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=6)
    return out.getvalue()


def render_thumbnail(pdf: bytes) -> bytes:
    """The top of the PDF's first page, THUMB_WIDTH wide and THUMB_HEIGHT high, as WebP."""
    pdfium, Image = _imaging()
    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"not a readable PDF ({exc})") from None
    try:
        if len(document) == 0:
            raise Unreadable("a PDF without pages")
        page = document[0]
        width = page.get_width()
        if not width > 0:
            raise Unreadable("the first page has no width")
        scale = THUMB_WIDTH / width
        crop_bottom = max(page.get_height() * scale - THUMB_HEIGHT, 0) / scale  # in PDF points
        rendered = page.render(scale=scale, crop=(0, 0, 0, crop_bottom)).to_pil().convert("RGB")
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"cannot render its first page ({exc})") from None
    finally:
        document.close()
    canvas = Image.new("RGB", (THUMB_WIDTH, THUMB_HEIGHT), "white")  # a landscape page: white below it
    canvas.paste(rendered.crop((0, 0, THUMB_WIDTH, min(rendered.height, THUMB_HEIGHT))))
    return _webp(canvas)


def render_logo(data: bytes) -> bytes:
    """An image scaled to fit a LOGO_SIZE square (transparent around it), as WebP."""
    _, Image = _imaging()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((LOGO_SIZE, LOGO_SIZE))  # decodes at most what the box needs
            image = image.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise Unreadable(f"not a readable image ({exc})") from None
    square = Image.new("RGBA", (LOGO_SIZE, LOGO_SIZE), (0, 0, 0, 0))
    square.paste(image, ((LOGO_SIZE - image.width) // 2, (LOGO_SIZE - image.height) // 2))
    return _webp(square)


def write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:  # a full disk, Ctrl-C: no half-written file left behind
        temporary.unlink(missing_ok=True)
        raise


def read_failures(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / FAILED).read_text())
    except (FileNotFoundError, ValueError):
        return {}


@dataclass
class Report:
    what: str  # "thumbnails", "logos"
    made: int = 0
    skipped: int = 0  # there already, or failed before
    failed: int = 0  # recorded in failed.json
    errors: int = 0  # not reached (a 5xx, 403, 429): asked again next run

    def line(self) -> str:
        text = f"{self.what}: {self.made:,} made, {self.skipped:,} skipped, {self.failed:,} failed"
        return text + (f", {self.errors:,} not reached (run again later)" if self.errors else "")


@dataclass
class Job:
    name: str  # the file's name in `folder`, also the key in failed.json
    url: str


def fetch_all(folder: Path, jobs: list[Job], render: Callable[[bytes], bytes], client: PoliteClient, report: Report, *,
              max_bytes: int, retry_failed: bool = False, limit: int | None = None, progress=None) -> Report:  # fmt: skip
    """Make each job's file that is missing (and did not fail before, unless `retry_failed`), at most `limit`.
    `progress(total)` returns what to call after each job. FetchError when the server cannot be reached."""
    folder.mkdir(parents=True, exist_ok=True)
    failures = read_failures(folder)
    todo = [job for job in jobs if not (folder / job.name).exists() and (retry_failed or job.name not in failures)]
    report.skipped += len(jobs) - len(todo)
    todo = todo[:limit] if limit is not None else todo
    advance = progress(len(todo)) if progress else lambda: None
    for job in todo:
        failure = _make(folder / job.name, client.get(job.url), render, max_bytes)
        if failure == NOT_REACHED:
            report.errors += 1
        elif failure:
            report.failed += 1
            failures[job.name] = failure
            _save_failures(folder, failures)
        else:
            report.made += 1
            if failures.pop(job.name, None):  # a retry that worked leaves the list
                _save_failures(folder, failures)
        advance()
    return report


def _save_failures(folder: Path, failures: dict[str, str]) -> None:
    write_atomically(folder / FAILED, json.dumps(failures, indent=1, sort_keys=True).encode())


def _make(path: Path, response, render: Callable[[bytes], bytes], max_bytes: int) -> str | None:
    """Write `path` from the response; None, or why not."""
    if response.status_code in GONE:
        return f"HTTP {response.status_code}"
    if response.status_code != 200:
        return NOT_REACHED
    if len(response.content) > max_bytes:
        return f"{len(response.content):,} bytes, more than {max_bytes:,}"
    try:
        write_atomically(path, render(response.content))
    except Unreadable as exc:
        return str(exc)
    return None


def thumbnail_jobs(paper_ids: list[str], arxiv_base: str) -> list[Job]:
    return [Job(name, f"{arxiv_base.rstrip('/')}/pdf/{pid}") for pid in paper_ids if (name := thumbnail_file(pid))]


def logo_jobs(store, hf_base: str) -> list[Job]:
    """Every organization with an avatar (a relative avatar URL is on Hugging Face)."""
    jobs = [Job(name, urljoin(hf_base.rstrip("/") + "/", avatar)) for org, avatar in store.organization_avatars() if (name := logo_file(org))]
    return [job for job in jobs if job.url.startswith(("http://", "https://"))]


def make_media(store, config, *, ids: list[str] | None = None, since: str | None = None, limit: int | None = None, retry_failed: bool = False,
               logos: bool = True, progress=None, log=None, reports: list[Report] | None = None) -> list[Report]:  # fmt: skip
    """The missing thumbnails of featured papers (featured since `since`, or the papers `ids`), then the missing logos of
    organizations: a Report of each, added to `reports` as it goes (so that they are there after an
    exception). `progress(what, total)` returns what to call after each item. MissingLibraries, FetchError."""
    check_libraries()
    folder = media_dir(config, store.url)
    kinds = [("thumbnails", render_thumbnail, MAX_PDF_BYTES, config.arxiv_min_interval)]
    if logos:
        kinds.append(("logos", render_logo, MAX_IMAGE_BYTES, config.hf_min_interval))
    reports = [] if reports is None else reports
    for what, render, max_bytes, interval in kinds:
        if what == "thumbnails":
            jobs = thumbnail_jobs(store.featured_ids(since) if ids is None else ids, config.arxiv_base_url)
        else:
            jobs = logo_jobs(store, config.hf_base_url)
        reports.append(report := Report(what))
        client = PoliteClient(min_interval=interval, max_retries=config.http_retries, log=log)
        try:
            fetch_all(folder / what, jobs, render, client, report, max_bytes=max_bytes, retry_failed=retry_failed,
                      limit=limit, progress=progress and (lambda total, what=what: progress(what, total)))  # fmt: skip
        finally:
            client.close()
    return reports

