"""Feed periods: a day, an ISO week (2025-W09) or a month (2025-02), as inclusive day ranges."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    kind: str  # "day", "week" or "month"
    start: date
    end: date

    @property
    def label(self) -> str:
        """The canonical name: 2025-03-04, 2025-W10, 2025-03."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.strftime("%Y-%m")

    @property
    def title(self) -> str:
        if self.kind == "day":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            return f"Week {self.label[-2:]} of {self.start.isocalendar()[0]} ({self.start:%b %-d} – {self.end:%b %-d})"
        return self.start.strftime("%B %Y")

    def shifted(self, steps: int) -> Period:
        """The previous (-1) or next (+1) period of the same kind."""
        if self.kind == "day":
            return day(self.start + timedelta(days=steps))
        if self.kind == "week":
            return week_of(self.start + timedelta(weeks=steps))
        month_index = self.start.year * 12 + self.start.month - 1 + steps
        return month(f"{month_index // 12:04d}-{month_index % 12 + 1:02d}")


def day(value: str | date) -> Period:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            value = None
        if value is None:
            raise PeriodError("date must be a real day written YYYY-MM-DD")
    return Period("day", value, value)


def week_of(some_day: date) -> Period:
    start = some_day - timedelta(days=some_day.weekday())
    return Period("week", start, start + timedelta(days=6))


def week(value: str) -> Period:
    match = _WEEK.match(value or "")
    if not match:
        raise PeriodError("week must be an ISO week written YYYY-Www, e.g. 2025-W09")
    year, number = int(match[1]), int(match[2])
    try:
        start = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise PeriodError(f"{value} is not a week: {year} has no week {number}") from None
    return Period("week", start, start + timedelta(days=6))


def month(value: str) -> Period:
    match = _MONTH.match(value or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise PeriodError("month must be written YYYY-MM with a month from 01 to 12, e.g. 2025-02")
    year, number = int(match[1]), int(match[2])
    return Period("month", date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1]))


def parse(kind: str, value: str) -> Period:
    return {"day": day, "date": day, "week": week, "month": month}[kind](value)
