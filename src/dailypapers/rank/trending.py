"""The trending score used by `sort=trending`.

    score = upvotes / (age_in_days + 2) ** GRAVITY

`age_in_days` is the time from the start of the day a paper was (first) featured in the period to the
reference time: the end of the period, or now if the period is not over. Within one day every paper has
the same age, so the daily feed ranks by upvotes; over a week or a month a paper that gathered its
upvotes recently outranks an older one with somewhat more. The +2 keeps brand-new papers from jumping
to the top with a handful of votes; GRAVITY = 1.5 follows the well-known Hacker News ranking.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

GRAVITY = 1.5


def reference_time(period_end: date, now: datetime | None = None) -> datetime:
    end = datetime(period_end.year, period_end.month, period_end.day, tzinfo=timezone.utc) + timedelta(days=1)
    now = now or datetime.now(timezone.utc)
    return min(end, now)


def score(upvotes: int, featured_day: str, reference: datetime) -> float:
    start = datetime.fromisoformat(featured_day).replace(tzinfo=timezone.utc)
    age_days = max((reference - start).total_seconds() / 86400.0, 0.0)
    return (upvotes or 0) / (age_days + 2.0) ** GRAVITY
