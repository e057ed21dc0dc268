"""arXiv OAI-PMH harvesting: ListRecords in the `arXiv` metadata format, page by page.

Each page is followed by a `Checkpoint` holding the resumption token that continues after it, so an
interrupted harvest resumes where it stopped. A token the server no longer accepts (they expire)
restarts the harvest from its first request, which is safe because ingesting a record twice is a no-op.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import date

from ..records import InvalidRecord, PaperRecord, iso_datetime, iso_day
from .http import FetchError, PoliteClient
from .latex import decode_accents
from .items import Checkpoint, Skipped

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
MAX_RESTARTS = 3


def _text(parent: ET.Element | None, tag: str) -> str | None:
    element = parent.find(ARXIV + tag) if parent is not None else None
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def _author(element: ET.Element) -> str:
    parts = (_text(element, "forenames"), _text(element, "keyname"), _text(element, "suffix"))
    return decode_accents(" ".join(" ".join(p for p in parts if p).split()))


def parse_record(record: ET.Element) -> PaperRecord:
    """One OAI `<record>` whose metadata is in the `arXiv` format."""
    header = record.find(OAI + "header")
    meta = record.find(f"{OAI}metadata/{ARXIV}arXiv")
    if header is None or meta is None:
        raise InvalidRecord("no header or no arXiv metadata")
    ident = _text(meta, "id")
    if not ident:
        raise InvalidRecord("no id")
    datestamp = header.findtext(OAI + "datestamp") or _text(meta, "updated") or _text(meta, "created")
    authors = [_author(a) for a in meta.iterfind(f"{ARXIV}authors/{ARXIV}author")]
    categories = (_text(meta, "categories") or "").split()
    return PaperRecord(
        id=ident,
        source="arxiv",
        observed=iso_day(datestamp),
        title=decode_accents(_text(meta, "title")),
        abstract=_text(meta, "abstract"),
        authors=[{"name": a} for a in authors if a] or None,
        categories=categories or None,
        published_at=iso_datetime(_text(meta, "created")),
        updated_at=iso_datetime(_text(meta, "updated")),
        comment=_text(meta, "comments"),
        journal_ref=_text(meta, "journal-ref"),
        doi=_text(meta, "doi"),
        report_no=_text(meta, "report-no"),
        license=_text(meta, "license"),
    )


def _fetch(client: PoliteClient, base_url: str, params: dict) -> ET.Element:
    response = client.get(base_url, params=params)
    if response.status_code != 200:
        raise FetchError(f"HTTP {response.status_code} from {base_url}")
    try:
        return ET.fromstring(response.content)
    except ET.ParseError as exc:
        raise FetchError(f"malformed XML from {base_url}: {exc}") from None


def _page_items(listing: ET.Element, page: int) -> Iterator[PaperRecord | Skipped]:
    for n, record in enumerate(listing.iterfind(OAI + "record"), 1):
        header = record.find(OAI + "header")
        where = (record.findtext(f"{OAI}header/{OAI}identifier") or "").strip() or f"page {page} record {n}"
        if header is not None and header.get("status") == "deleted":
            yield Skipped(where, "deleted record")
            continue
        try:
            yield parse_record(record)
        except InvalidRecord as exc:
            yield Skipped(where, str(exc))
        except (TypeError, ValueError, AttributeError) as exc:
            yield Skipped(where, f"malformed record: {exc}")


def harvest(client: PoliteClient, base_url: str, *, set_spec: str, from_day: date, until_day: date | None = None,
            resume: dict | None = None, log: Callable[[str], None] = print,
            ) -> Iterator[PaperRecord | Skipped | Checkpoint]:  # fmt: skip
    """Every record of `set_spec` with a datestamp in [from_day, until_day], then a Checkpoint per page."""
    initial = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": set_spec, "from": from_day.isoformat()}
    if until_day:
        initial["until"] = until_day.isoformat()
    token = (resume or {}).get("token")
    if token:
        log(f"resuming at token {token}")
    page = restarts = 0
    while True:
        root = _fetch(client, base_url, {"verb": "ListRecords", "resumptionToken": token} if token else initial)
        error = root.find(OAI + "error")
        if error is not None:
            code, message = error.get("code"), " ".join((error.text or "").split())
            if code == "noRecordsMatch":
                return
            if code == "badResumptionToken" and token and restarts < MAX_RESTARTS:
                log(f"resumption token {token} refused ({message}); starting over from {from_day}")
                token, restarts = None, restarts + 1
                continue
            raise FetchError(f"OAI-PMH error {code}: {message}")
        listing = root.find(OAI + "ListRecords")
        if listing is None:
            raise FetchError(f"no ListRecords in the response from {base_url}")
        page += 1
        yield from _page_items(listing, page)
        resumption = listing.find(OAI + "resumptionToken")
        token = (resumption.text or "").strip() if resumption is not None else ""
        position = {k: resumption.get(k) for k in ("cursor", "completeListSize")} if resumption is not None else {}
        yield Checkpoint({"token": token or None, "cursor": position.get("cursor"),
                          "complete_list_size": position.get("completeListSize")})  # fmt: skip
        if not token:
            return
