"""The arXiv bulk metadata snapshot (Kaggle's arxiv-metadata-oai-snapshot.json), and the cs-daily crawl.

Both are JSON lines, one paper each. Read streaming, so memory stays flat for the 2.6M-line file.
"""

from __future__ import annotations

from pathlib import Path

from ..records import InvalidRecord, PaperRecord, iso_datetime, iso_day, single_spaced
from .files import read_records
from .latex import decode_accents


def _name(parts: list[str]) -> str:
    last, first, *rest = [*parts, "", ""][:3]
    return " ".join(p.strip() for p in (first, last, *rest) if p and p.strip())


def _authors(item: dict) -> list[dict]:
    parsed = item.get("authors_parsed")
    if parsed:
        names = [_name(parts) for parts in parsed]
    elif isinstance(item.get("authors"), list):
        names = item["authors"]
    else:
        names = [n.strip() for n in str(item.get("authors") or "").replace(" and ", ", ").split(",")]
    try:
        joined = " ".join(names)
    except TypeError:  # a name that is not a string
        joined = ""
    if joined and "\\" not in joined and "{" not in joined and single_spaced(joined):
        return [{"name": n} for n in names]  # the common case: every name is clean already
    return [{"name": decode_accents(" ".join(n.split()))} for n in names if n and n.strip()]


def _categories(value) -> list[str] | None:
    if isinstance(value, str):
        value = value.split()
    return [c for c in value if c] or None if value else None


def parse_item(item: dict) -> PaperRecord:
    if not isinstance(item, dict):
        raise InvalidRecord(f"expected an object, got {type(item).__name__}")
    if not item.get("id"):
        raise InvalidRecord("no id")
    versions = [
        {"version": v["version"], "created": iso_datetime(v.get("created"))}
        for v in item.get("versions") or []
        if isinstance(v, dict) and v.get("version")
    ]
    listed = iso_day(item["listing_date"]) if item.get("listing_date") else None
    published = versions[0]["created"] if versions else listed and f"{listed}T00:00:00.000Z"
    updated = versions[-1]["created"] if versions else None
    observed = item.get("update_date") or updated or listed
    if not observed:
        raise InvalidRecord("no date (update_date, versions or listing_date)")
    return PaperRecord(
        id=str(item["id"]),
        source="arxiv",
        observed=observed if observed is listed else iso_day(observed),
        title=decode_accents(item.get("title")),
        abstract=item.get("abstract") or item.get("summary"),
        authors=_authors(item) or None,
        categories=_categories(item.get("categories")),
        published_at=published,
        updated_at=updated,
        versions=versions or None,
        comment=item.get("comments") or item.get("comment"),
        journal_ref=item.get("journal-ref"),
        doi=item.get("doi"),
        report_no=item.get("report-no"),
        license=item.get("license"),
        arxiv_submitter=item.get("submitter"),
    )


def read_file(path: Path, start: int = 0):
    return read_records(path, parse_item, start, where="line")
