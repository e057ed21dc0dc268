"""Hugging Face Daily Papers: `/api/daily_papers` JSON (files or live) and the older page-scrape records."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from ..records import InvalidRecord, PaperRecord, iso_datetime, iso_day
from .files import day_in_name, read_records
from .http import FetchError, PoliteClient
from .items import Checkpoint, Skipped

PAGE_SIZE = 100


def _user(value: dict | None) -> dict | None:
    """An HF user object reduced to what we show: username, full name, avatar."""
    if not isinstance(value, dict):
        return None
    username = value.get("user") or value.get("name")
    if not username:
        return None
    return {"user": username, "fullname": value.get("fullname") or username, "avatarUrl": value.get("avatarUrl")}


def _organization(value: dict | None) -> dict | None:
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return {
        "name": value["name"],
        "fullname": value.get("fullname") or value["name"],
        "avatar": value.get("avatar") or value.get("avatarUrl"),
    }


def _authors(values) -> list[dict]:
    authors = []
    for value in values or ():
        if isinstance(value, str):
            name, user = value, None
        else:
            name, user = value.get("name"), value.get("user")
            user = user and _user(user)  # most authors have no account
        if name and (name := " ".join(name.split())):
            authors.append({"name": name, "user": user} if user else {"name": name})
    return authors


def _int(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidRecord(f"not a count: {value!r}")
    return int(value)


def parse_item(item: dict, featured_day: str | None = None) -> PaperRecord:
    """One item of `/api/daily_papers` (or of a page scrape) as a PaperRecord.

    The featured day is the item's own `daily_date` if it has one, else `featured_day`, else the day of
    `paper.submittedOnDailyAt`; items with none of these (e.g. search results) are not marked featured.
    """
    if not isinstance(item, dict):
        raise InvalidRecord(f"expected an object, got {type(item).__name__}")
    day = item.get("daily_date") or featured_day
    if "paper" not in item and "arxiv_id" in item:  # page scrape: flat, names only, upvotes near final
        day = iso_day(day) if day else None
        return PaperRecord(
            id=item["arxiv_id"], source="hf-scrape", observed=day or "", title=item.get("title"),
            abstract=item.get("abstract"), authors=_authors(item.get("authors")) or None,
            featured_on=[day] if day else [], upvotes=_int(item.get("upvotes")),
        )  # fmt: skip
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else item
    if not paper.get("id"):
        raise InvalidRecord("no paper id")
    day = day or paper.get("submittedOnDailyAt")
    day = iso_day(day) if day else None
    submitted_at = paper.get("submittedOnDailyAt") or (item.get("publishedAt") if item is not paper else None)
    return PaperRecord(
        id=paper["id"],
        source="hf",
        observed=day or iso_day(paper.get("publishedAt") or "1970-01-01"),
        title=paper.get("title") or item.get("title"),
        abstract=paper.get("summary") or item.get("summary"),
        authors=_authors(paper.get("authors")) or None,
        published_at=iso_datetime(paper.get("publishedAt")),
        featured_on=[day] if day else [],
        submitted_at=iso_datetime(submitted_at) if day else None,
        submitted_by=_user(item.get("submittedBy")) or _user(paper.get("submittedOnDailyBy")),
        upvotes=_int(paper.get("upvotes")),
        num_comments=_int(item.get("numComments")),
        organization=_organization(item.get("organization")) or _organization(paper.get("organization")),
        github_repo=paper.get("githubRepo") or item.get("githubRepo"),
        github_stars=_int(paper.get("githubStars")),
        project_page=paper.get("projectPage") or item.get("projectPage"),
        ai_summary=paper.get("ai_summary") or item.get("ai_summary"),
        ai_keywords=paper.get("ai_keywords") or item.get("ai_keywords"),
        thumbnail=item.get("thumbnail") or item.get("mediaUrl"),
        discussion_id=paper.get("discussionId"),
    )


def read_file(path: Path, start: int = 0, featured_day: str | None = None):
    """Records from a saved response (a JSON list for one day) or a JSON-lines archive."""
    day = featured_day or day_in_name(path)
    return read_records(path, functools.partial(parse_item, featured_day=day), start)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def fetch_days(client: PoliteClient, base_url: str, days: list[date],
               start: int = 0) -> Iterator[PaperRecord | Skipped | Checkpoint]:  # fmt: skip
    """Records from the live API for each day (every page of it), checkpointing after each day."""
    url = base_url.rstrip("/") + "/api/daily_papers"
    for index in range(start, len(days)):
        day = days[index].isoformat()
        for page in range(1000):
            response = client.get(url, params={"date": day, "limit": PAGE_SIZE, "p": page})
            if response.status_code == 404:
                break
            if response.status_code >= 500:  # still, after the client's retries: the source is down
                raise FetchError(f"HTTP {response.status_code} from {url} for {day}")
            if response.status_code != 200:
                yield Skipped(f"{day} page {page}", f"HTTP {response.status_code} from {url}")
                break
            try:
                items = response.json()
            except ValueError:
                yield Skipped(f"{day} page {page}", "response is not JSON")
                break
            if not isinstance(items, list):
                yield Skipped(f"{day} page {page}", "response is not a JSON list")
                break
            for n, item in enumerate(items):
                try:
                    yield parse_item(item, day)
                except InvalidRecord as exc:
                    yield Skipped(f"{day} item {page * PAGE_SIZE + n + 1}", str(exc))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    yield Skipped(f"{day} item {page * PAGE_SIZE + n + 1}", f"malformed record: {exc}")
            if len(items) < PAGE_SIZE:
                break
        yield Checkpoint({"position": index + 1})
