"""Email digests: "get trending papers in your email inbox".

    preferences.py  what a subscriber may ask for, checked
    tokens.py       signed links (confirm, manage, unsubscribe)
    compose.py      the papers of each digest; queueing digests in the outbox
    render.py       mails as multipart messages with their links and headers
    send.py         the outbox over SMTP, with rate, retries and back-off
    schedule.py     `serve` sending the digests itself at a set time

`dailypapers digest send` = queue every confirmed subscriber's digest for the period (once per
subscriber and period), then send the outbox. Both halves can be interrupted and rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .compose import Composer, compose, digest_period, period_key, queue_digests
from .render import Renderer
from .send import Sender, SendReport
from .tokens import Signer

FREQUENCIES = ("daily", "weekly")


def signer(store, config) -> Signer:
    return Signer(config.secret_key or store.signing_key())


def renderer(store, config) -> Renderer:
    return Renderer(config.site_url, config.site_name, config.mail_from, signer(store, config), config.confirm_hours)


@dataclass
class DigestRun:
    frequency: str
    period: str  # e.g. "daily:2025-02-14"
    queued: int


def parse_periods(value: str | None, latest_day: str | None, today: date | None = None) -> list[tuple[str, object]]:
    """`--period` as (frequency, period) pairs: "daily", "weekly", "daily:2025-02-14", "weekly:2025-W07",
    or None for both frequencies' default periods. PeriodError/ValueError for anything else."""
    if not value:
        return [(f, digest_period(f, None, latest_day, today)) for f in FREQUENCIES]
    frequency, _, label = value.partition(":")
    if frequency not in FREQUENCIES:
        raise ValueError(f"period must be daily or weekly, optionally with :YYYY-MM-DD or :YYYY-Www, not {value!r}")
    return [(frequency, digest_period(frequency, label or None, latest_day, today))]


def queue(store, search, targets, progress=None) -> list[DigestRun]:
    return [DigestRun(f, period_key(f, p), queue_digests(store, search, f, p, progress)) for f, p in targets]


def send(store, search, config, targets, *, wait: bool = True, progress=None) -> tuple[list[DigestRun], SendReport]:
    """Queue the targets' digests, then send the outbox: what `dailypapers digest send` and the schedule do."""
    search.refresh()  # saved searches see the papers ingested since the index last caught up
    runs = queue(store, search, targets)
    return runs, Sender(store, config, renderer(store, config)).run(wait=wait, progress=progress)


def preview(store, search, targets) -> list[tuple[dict, str, list]]:
    """What `queue` would queue, queueing nothing: (subscriber, period key, sections)."""
    return [(subscriber, period_key(frequency, period), sections)
            for frequency, period in targets
            for composed, _ in compose(store, search, frequency, period)
            for subscriber, sections in composed]  # fmt: skip


__all__ = ["Composer", "DigestRun", "Renderer", "SendReport", "Sender", "Signer", "parse_periods", "preview", "queue",
           "renderer", "send", "signer"]  # fmt: skip
