"""`dailypapers sync`: one round of what a live site needs, from where the last round got to.

1. Hugging Face daily papers of every day since the last round, and again the last `sync_refresh_days`
   days (their upvotes and comments keep changing);
2. arXiv OAI-PMH for each set of `sync_sets`, from the day of the last harvest;
3. embedding what changed (when the model is installed) and bringing the search indexes up to date;
4. with sync_thumbnails on, the thumbnails of the papers featured on the days fetched, and the missing
   organizations' logos (ingest/thumbnails.py). A failure there is noted, and never fails the round.

Each source runs through the ingest runner, so it is polite (the clients' request spacing and retries),
idempotent and resumable: a round killed part-way is marked interrupted by the next one, which fetches the
same days again and resumes from the runner's checkpoints. A source that fails is recorded with the reason
and the round goes on with the others. A first round on an empty site goes back `sync_first_days` days.
"""

from __future__ import annotations

import functools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from rich.console import Console

from ..config import Config
from ..store import Store
from . import arxiv_oai, hf_daily
from .blocks import UnreadableFile
from .http import FetchError, PoliteClient
from .runner import Runner, embed_with_progress, refresh_index_with_progress

HF = "hf-daily"
INDEX = "index"  # the step that embeds and indexes, recorded beside the sources
THUMBNAILS = "thumbnails"  # the step that makes thumbnails and fetches logos (sync_thumbnails)


def oai_source(set_spec: str) -> str:
    return f"arxiv-oai:{set_spec}"


@dataclass
class Round:
    id: int
    sources: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        return [name for name, done in self.sources.items() if done.get("status") == "failed"]

    def summary(self) -> str:
        parts = []
        for name, done in self.sources.items():
            if done.get("status") == "failed":
                parts.append(f"{name} FAILED: {done.get('error')}")
            elif name == INDEX:
                parts.append(f"{done.get('embedded', 0):,} embedded, {done.get('indexed', 0):,} indexed")
            elif name == THUMBNAILS:
                parts.append(done.get("note") or done["summary"])
            else:
                parts.append(f"{name} {done['since']}..{done['through']}: {done['new']:,} new, {done['updated']:,} updated"
                             + (f", {done['skipped']:,} skipped" if done.get("skipped") else ""))  # fmt: skip
        return f"sync round {self.id}: " + "; ".join(parts) + f" ({self.seconds:.1f} s)"


def today_utc() -> date:
    return datetime.now(UTC).date()


@dataclass
class _Job:
    store: Store
    config: Config
    until: date
    since: date | None  # None: from where the last round got to
    console: Console
    show_progress: bool
    featured_since: date | None = None  # the first day whose featured papers this round fetched


def sync_round(store: Store, config: Config, *, until: date | None = None, since: date | None = None,
               console: Console | None = None, show_progress: bool = True) -> Round:  # fmt: skip
    """Run one round (SyncRunning if another process runs one); see the module's docstring."""
    job = _Job(store, config, until or today_utc(), since, console or Console(stderr=True), show_progress)
    steps = [(HF, _hf_daily), *((oai_source(s), functools.partial(_arxiv_oai, set_spec=s)) for s in _sets(config)),
             (INDEX, _embed_and_index), *([(THUMBNAILS, _thumbnails)] if config.sync_thumbnails else [])]  # fmt: skip
    started = time.perf_counter()
    round_ = Round(store.begin_sync_round())
    try:
        for name, step in steps:
            try:
                round_.sources[name] = {"status": "ok", **step(job)}
            except (FetchError, UnreadableFile, OSError) as exc:
                round_.sources[name] = {"status": "failed", "error": str(exc) or type(exc).__name__}
            store.record_sync_source(round_.id, round_.sources)
    except BaseException:
        store.finish_sync_round(round_.id, "interrupted", round_.sources)
        raise
    round_.seconds = time.perf_counter() - started
    store.finish_sync_round(round_.id, "failed" if round_.failed else "ok", round_.sources)
    return round_


def _sets(config: Config) -> list[str]:
    return [s.strip() for s in config.sync_sets.split(",") if s.strip()]


def _days_back(days: int, until: date) -> date:
    return until - timedelta(days=max(days, 1) - 1)


def _counts(runner: Runner, since: date, through: date) -> dict:
    report = runner.report
    return {"since": since.isoformat(), "through": through.isoformat(), "read": report.read,
            "new": report.result.inserted, "updated": report.result.updated, "skipped": report.skipped_total}  # fmt: skip


def _hf_daily(job: _Job) -> dict:
    last = job.store.last_synced(HF)
    if job.since is not None:
        first = job.since
    elif last is None:
        first = _days_back(job.config.sync_first_days, job.until)
    else:  # the days after the last round, and the last few days again for their counters
        first = min(date.fromisoformat(last) + timedelta(days=1), _days_back(job.config.sync_refresh_days, job.until))
    base = job.config.hf_base_url
    with _fetching(job, "hf-daily", f"sync|{base}|{first}|{job.until}", job.config.hf_min_interval) as (runner, client):
        start = (runner.resume_state() or {}).get("position", 0)
        runner.run(hf_daily.fetch_days(client, base, hf_daily.days_between(first, job.until), start), refresh_index=False)
    job.featured_since = first
    return _counts(runner, first, job.until)


def _arxiv_oai(job: _Job, set_spec: str) -> dict:
    # OAI-PMH datestamps are days: the last harvest's day is harvested again, for what came later that day
    last = job.store.last_synced(oai_source(set_spec))
    if job.since is not None:
        first = job.since
    else:
        first = min(date.fromisoformat(last), job.until) if last else _days_back(job.config.sync_first_days, job.until)
    base = job.config.oai_base_url
    key = f"sync|{base}|{set_spec}|{first}|{job.until}"
    with _fetching(job, "arxiv-oai", key, job.config.arxiv_min_interval) as (runner, client):
        items = arxiv_oai.harvest(client, base, set_spec=set_spec, from_day=first, until_day=job.until,
                                  resume=runner.resume_state(), log=job.console.print)  # fmt: skip
        runner.run(items, refresh_index=False)
    return _counts(runner, first, job.until)


@contextmanager
def _fetching(job: _Job, source: str, key: str, min_interval: float):
    """A runner for `source` that resumes from `key`'s checkpoint, and a polite client for its requests."""
    runner = Runner(job.store, source, key, console=job.console, show_progress=job.show_progress)
    client = PoliteClient(min_interval=min_interval, max_retries=job.config.http_retries, log=job.console.print)
    try:
        yield runner, client
    finally:
        client.close()


def _embed_and_index(job: _Job) -> dict:
    from ..search import Search
    from ..search.encoder import ModelUnavailable, load_encoder

    try:
        encoder, note = load_encoder(), None
    except ModelUnavailable as exc:
        encoder, note = None, f"not embedded: {exc}"
    embedded = embed_with_progress(job.store, encoder, job.console, show=job.show_progress) if encoder else 0
    search = Search(job.store, job.config.index_dir or None, encoder=encoder)
    indexed = refresh_index_with_progress(search, job.console, job.show_progress)
    return {"embedded": embedded, "indexed": indexed, **({"note": note} if note else {})}


def _thumbnails(job: _Job) -> dict:
    """Thumbnails of the papers featured on the days fetched (the last sync_refresh_days if that failed)
    and missing logos; whatever goes wrong is a note: a thumbnail never fails a round."""
    from .thumbnails import make_media

    since = job.featured_since or _days_back(job.config.sync_refresh_days, job.until)
    try:
        reports = make_media(job.store, job.config, since=since.isoformat(), log=job.console.print)
    except Exception as exc:  # noqa: BLE001  (missing libraries, arXiv away, a full disk: the next round tries again)
        return {"summary": "", "note": f"thumbnails not made: {exc}"}
    return {"summary": "; ".join(report.line() for report in reports)}


def schedule_seconds(text: str) -> float | None:
    """`sync_schedule` in seconds ("90s", "30m", "1h", "1d"; empty: None), or ValueError."""
    text = text.strip().lower()
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = text[:-1], text[-1]
    if unit not in units or not number.replace(".", "", 1).isdigit() or float(number) * units[unit] < 1:
        raise ValueError(f"sync_schedule {text!r} is not a duration such as 30m, 1h or 1d")
    return float(number) * units[unit]


def run_on_schedule(config: Config, interval: float, stop) -> None:
    """Sync rounds every `interval` seconds until `stop` (a threading.Event) is set; for `serve`."""
    import logging

    from ..store.sync import SyncRunning

    log = logging.getLogger("dailypapers.sync")
    while not stop.wait(interval):
        store = Store(config.db, timeout=config.db_timeout)
        try:
            round_ = sync_round(store, config, console=Console(stderr=True, quiet=True), show_progress=False)
            (log.warning if round_.failed else log.info)(round_.summary())
        except SyncRunning as exc:
            log.info("scheduled sync skipped: %s", exc)
        except Exception:
            log.exception("scheduled sync failed")
        finally:
            store.close()
