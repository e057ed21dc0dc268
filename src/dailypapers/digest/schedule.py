"""`serve` sending the digests itself: daily digests on weekdays and the weekly one on digest_weekday,
at digest_time in digest_timezone. Each run is `dailypapers digest send` for that frequency, so a run
that overlaps cron or a restart sends nothing twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
log = logging.getLogger("dailypapers.digest")


def parse_schedule(at: str, zone: str, weekday: str) -> tuple[time, ZoneInfo, int]:
    """ValueError with a message for a bad time, zone or weekday."""
    try:
        hour, minute = (int(part) for part in at.split(":"))
        when = time(hour, minute)
    except ValueError:
        raise ValueError(f"digest_time must be HH:MM, e.g. 07:00, not {at!r}") from None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"digest_timezone {zone!r} is not a time zone (e.g. UTC, Europe/Berlin)") from None
    if weekday.lower() not in WEEKDAYS:
        raise ValueError(f"digest_weekday must be one of {', '.join(WEEKDAYS)}")
    return when, tz, WEEKDAYS.index(weekday.lower())


def next_run(now: datetime, when: time, tz: ZoneInfo, weekly_day: int) -> tuple[datetime, list[str]]:
    """The next moment after `now` when a digest is due, and which frequencies are due then."""
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(8):
        moment = datetime.combine(day, when, tz)
        due = (["daily"] if day.weekday() < 5 else []) + (["weekly"] if day.weekday() == weekly_day else [])
        if moment > local and due:
            return moment, due
        day += timedelta(days=1)
    raise AssertionError("some day of a week has a digest")


class Scheduler(threading.Thread):
    def __init__(self, config, send: Callable[[str], None]):
        super().__init__(daemon=True, name="digest-schedule")
        self.when, self.tz, self.weekly_day = parse_schedule(config.digest_time, config.digest_timezone, config.digest_weekday)
        self.send = send
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            moment, frequencies = next_run(datetime.now(self.tz), self.when, self.tz, self.weekly_day)
            log.info("next digests (%s) at %s", ", ".join(frequencies), moment.isoformat())
            if self.stopped.wait(max((moment - datetime.now(self.tz)).total_seconds(), 0)):
                return
            for frequency in frequencies:
                try:
                    self.send(frequency)
                except Exception:  # a failed run must not stop the next ones
                    log.exception("sending the %s digests failed", frequency)

    def stop(self) -> None:
        self.stopped.set()
