"""Papers' metadata from the arXiv query API (`/api/query?id_list=...`), for papers users submit or import.

The API answers in Atom. Both the current backend and the legacy one (inline namespace declarations,
multi-line titles) are read. arXiv reports a bad request as a feed whose one entry is the error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence

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


def _query(client: PoliteClient, url: str, ids: Sequence[str]) -> Iterator[PaperRecord]:
    """The records arXiv answers for `ids` (any of them, in its order); ArxivApiError if it does not answer."""
    try:
        response = client.get(url, params={"id_list": ",".join(ids), "max_results": len(ids)})
    except (FetchError, httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ArxivApiError(f"arXiv did not answer: {exc}") from None
    for entry in _feed(response).iterfind(ATOM + "entry"):
        try:
            yield parse_entry(entry)
        except InvalidRecord as exc:
            raise ArxivApiError(f"arXiv sent a record that cannot be read: {exc}") from None


def fetch_paper(arxiv_id: str, *, url: str = API_URL, client: PoliteClient | None = None) -> PaperRecord | None:
    """The paper's metadata from the arXiv API, or None if arXiv has no such paper.

    `arxiv_id` may carry a version or be an abs/pdf URL; the latest version is fetched. An id that is
    not an arXiv id raises InvalidRecord before any request.
    """
    wanted, _ = parse_arxiv_id(arxiv_id)
    own = client is None
    client = client or PoliteClient(min_interval=0, max_retries=2, timeout=20)
    try:
        # Another paper in the answer must not be stored as the one the user submitted.
        return next((record for record in _query(client, url, [wanted]) if record.id == wanted), None)
    finally:
        if own:
            client.close()


def fetch_papers(arxiv_ids: Sequence[str], *, url: str = API_URL, client: PoliteClient | None = None,
                 batch: int = 100, progress: Callable[[int], object] | None = None,
                 ) -> tuple[list[PaperRecord], list[str]]:  # fmt: skip
    """(records arXiv has, in the order asked; the ids it does not know), one request per `batch` ids.

    Ids may carry versions or be abs/pdf URLs, and are asked once each, without version; one that is not
    an arXiv id raises InvalidRecord before any request. Only records of ids asked for are returned.
    Requests go through `client`, which spaces them (the default one as arXiv asks: one every 3 s).
    `progress(n)` is called after each batch with the number of ids it held. ArxivApiError as fetch_paper.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    wanted = list(dict.fromkeys(parse_arxiv_id(i)[0] for i in arxiv_ids))
    own = client is None
    client = client or PoliteClient(min_interval=3.0, max_retries=2, timeout=60)
    found: dict[str, PaperRecord] = {}
    try:
        for start in range(0, len(wanted), batch):
            ids = wanted[start : start + batch]
            asked = set(ids)
            for record in _query(client, url, ids):
                if record.id in asked:
                    found.setdefault(record.id, record)
            if progress:
                progress(len(ids))
    finally:
        if own:
            client.close()
    return [found[i] for i in wanted if i in found], [i for i in wanted if i not in found]
