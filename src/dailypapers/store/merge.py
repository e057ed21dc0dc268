"""How a new PaperRecord is merged into what the store already holds.

The rules make ingestion idempotent and, in practice, independent of the order sources are read in:

* Bibliographic fields (title, abstract, authors, categories, dates, versions' dates, comment, DOI, ...)
  come from the most authoritative source (arXiv > Hugging Face API > Hugging Face page scrape); between
  records of equal authority the one observed later wins. A field the winner does not supply keeps the
  value another source gave, so nothing a source supplied is dropped.
* Daily-feed fields (submitter, organization, code and project links, AI summary, ...) come from the
  latest Hugging Face observation, with the same gap-filling.
* Counters (upvotes, comments, GitHub stars) keep the highest value seen: snapshots taken on the day
  a paper was featured are lower than later ones.
* Featured days and arXiv versions are unions.
* Authors: the winning list keeps its order; a Hugging Face account linked to an author name in the
  other list is carried over to the same name.
"""

from __future__ import annotations

from collections import Counter

from ..records import SOURCE_RANK, PaperRecord

BIB_FIELDS = (
    "title", "abstract", "authors", "categories", "published_at", "updated_at", "comment", "journal_ref",
    "doi", "report_no", "license", "arxiv_submitter",
)  # fmt: skip
DAILY_FIELDS = (
    "submitted_at", "submitted_by", "organization", "github_repo", "project_page", "ai_summary",
    "ai_keywords", "thumbnail", "discussion_id",
)  # fmt: skip
COUNTERS = ("upvotes", "num_comments", "github_stars")


def record_to_row(rec: PaperRecord) -> dict:
    row = dict(rec.__dict__)  # every field of the record; `source` and `observed` are simply not stored
    row["versions"] = sorted(rec.versions, key=version_number) if rec.versions else None
    row["featured_on"] = sorted(set(rec.featured_on))
    row["bib_rank"] = SOURCE_RANK[rec.source]
    row["bib_observed"] = rec.observed
    row["daily_observed"] = rec.observed if rec.source.startswith("hf") else None
    return row


def merge(old: dict | None, rec: PaperRecord) -> dict:
    """The row that results from applying `rec` on top of `old` (None when the paper is new)."""
    new = record_to_row(rec)
    if old is None:
        return new
    merged = dict(old)

    if (new["bib_rank"], new["bib_observed"]) >= (old["bib_rank"], old["bib_observed"]):
        winner, loser = new, old
        merged["bib_rank"], merged["bib_observed"] = new["bib_rank"], new["bib_observed"]
    else:
        winner, loser = old, new
    for name in BIB_FIELDS:
        merged[name] = winner[name] if winner[name] is not None else loser[name]
    merged["authors"] = _link_accounts(merged["authors"], loser["authors"])

    if new["daily_observed"] is not None and (old["daily_observed"] or "") <= new["daily_observed"]:
        merged["daily_observed"] = new["daily_observed"]
        winner, loser = new, old
    else:
        winner, loser = old, new
    for name in DAILY_FIELDS:
        merged[name] = winner[name] if winner[name] is not None else loser[name]

    for name in COUNTERS:
        values = [v for v in (old[name], new[name]) if v is not None]
        merged[name] = max(values) if values else None

    merged["featured_on"] = sorted(set(old["featured_on"]) | set(new["featured_on"]))
    versions = {v["version"]: v for v in (old["versions"] or [])}
    for v in new["versions"] or []:
        versions.setdefault(v["version"], v)
    merged["versions"] = sorted(versions.values(), key=version_number) or None
    return merged


def version_number(v: dict) -> int:
    return int(str(v.get("version", "v0")).lstrip("v") or 0)


def _name_key(name: str) -> str:
    return " ".join(name.lower().replace(".", " ").split())


def _link_accounts(authors: list[dict] | None, other: list[dict] | None) -> list[dict] | None:
    """Give authors in `authors` the account the same name has in `other`; ambiguous names are left alone."""
    if not authors or not other or not any(a.get("user") for a in other):
        return authors
    keys = [_name_key(a["name"]) for a in authors]
    their_keys = [_name_key(a["name"]) for a in other]
    names = Counter(keys)
    names.update(their_keys)
    accounts = {key: a["user"] for key, a in zip(their_keys, other) if a.get("user") and names[key] <= 2}
    if not accounts:
        return authors
    return [
        {**author, "user": accounts[key]} if key in accounts and not author.get("user") else author
        for key, author in zip(keys, authors)
    ]
