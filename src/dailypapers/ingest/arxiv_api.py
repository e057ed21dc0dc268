"""One paper's metadata from the arXiv query API (`/api/query?id_list=...`), for papers users submit.

The API answers in Atom. Both the current backend and the legacy one (inline namespace declarations,
multi-line titles) are read. arXiv reports a bad request as a feed whose one entry is the error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from ..records import InvalidRecord, PaperRecord, iso_datetime, iso_day, parse_arxiv_id
from .http import FetchError, PoliteClient
from .latex import decode_accents

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
API_URL = "https://export.arxiv.org/api/query"


class ArxivApiError(RuntimeError):
    """arXiv refused the request or did not answer; the message is meant for a user."""


def _text(parent: ET.Element, tag: str) -> str | None:
    element = parent.find(tag)
    text = (element.text or "").strip() if element is not None else ""
    return text or None


def parse_entry(entry: ET.Element) -> PaperRecord:
    """One Atom `<entry>` of the query API."""
    ident, version = parse_arxiv_id(_text(entry, ATOM + "id") or "")
    published = iso_datetime(_text(entry, ATOM + "published"))
    updated = iso_datetime(_text(entry, ATOM + "updated"))  # of the latest version, the one in the entry id
    primary = entry.find(ARXIV + "primary_category")
    terms = [primary.get("term")] if primary is not None else []
    terms += [c.get("term") for c in entry.iterfind(ATOM + "category")]
    categories = list(dict.fromkeys(t.strip() for t in terms if t and t.strip()))
    names = [" ".join((_text(a, ATOM + "name") or "").split()) for a in entry.iterfind(ATOM + "author")]
    versions = {"v1": published} if published else {}  # <published> is the date of v1
    if version and updated:
        versions[version] = updated
    return PaperRecord(
        id=ident,
        source="arxiv",
        observed=iso_day(updated or published),
        title=decode_accents(_text(entry, ATOM + "title")),
        abstract=_text(entry, ATOM + "summary"),
        authors=[{"name": decode_accents(n)} for n in names if n] or None,
        categories=categories or None,
        published_at=published,
        updated_at=updated,
        versions=[{"version": v, "created": c} for v, c in versions.items()] or None,
        comment=_text(entry, ARXIV + "comment"),
        journal_ref=_text(entry, ARXIV + "journal_ref"),
        doi=_text(entry, ARXIV + "doi"),
    )


def _feed(response: httpx.Response) -> ET.Element:
    """The response's Atom feed; raises ArxivApiError for an error feed, a refusal or a body that is not a feed."""
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError:
        root = None
    for entry in root.iterfind(ATOM + "entry") if root is not None else ():
        if "/api/errors" in (_text(entry, ATOM + "id") or ""):
            reason = " ".join((_text(entry, ATOM + "summary") or "an unexplained error").split())
            raise ArxivApiError(f"arXiv says: {reason}")
    if response.status_code != 200:
        what = "refused the request" if 400 <= response.status_code < 500 else "did not answer"
        raise ArxivApiError(f"arXiv {what}: HTTP {response.status_code}")
    if root is None or root.tag != ATOM + "feed":
        raise ArxivApiError("arXiv did not answer: the response is not an Atom feed")
    return root


def fetch_paper(arxiv_id: str, *, url: str = API_URL, client: PoliteClient | None = None) -> PaperRecord | None:
    """The paper's metadata from the arXiv API, or None if arXiv has no such paper.

    `arxiv_id` may carry a version or be an abs/pdf URL; the latest version is fetched. An id that is
    not an arXiv id raises InvalidRecord before any request.
    """
    wanted, _ = parse_arxiv_id(arxiv_id)
    own = client is None
    client = client or PoliteClient(min_interval=0, max_retries=2, timeout=20)
    try:
        response = client.get(url, params={"id_list": wanted, "max_results": 1})
    except (FetchError, httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ArxivApiError(f"arXiv did not answer: {exc}") from None
    finally:
        if own:
            client.close()
    for entry in _feed(response).iterfind(ATOM + "entry"):
        try:
            record = parse_entry(entry)
        except InvalidRecord as exc:
            raise ArxivApiError(f"arXiv sent a record that cannot be read: {exc}") from None
        # Another paper in the answer must not be stored as the one the user submitted.
        if record.id == wanted:
            return record
    return None
