"""The SQL of the runs that fill the catalog: rounds of `dailypapers sync` (one at a time, and where each
source got to) and finished ingest runs."""

from __future__ import annotations

import sqlalchemy as sa

from .schema import ingest_runs, sync_rounds
from .subscriptions import claimer, claimer_is_dead, stamp

RECENT_ROUNDS = 200  # how far back a source's last good round is looked for


class SyncRunning(RuntimeError):
    """Another process is running a round."""


def _round_dict(row) -> dict:
    return {k: row._mapping[k] for k in ("id", "started_at", "finished_at", "claimer", "status", "sources")}


class SyncQueries:
    def begin_sync_round(self) -> int:
        """A new round, or SyncRunning if a live process runs one. A round left running by a process that
        died (on this host) is marked interrupted first."""
        try:
            with self.writer.begin() as conn:
                running = conn.execute(sa.select(sync_rounds.c.id, sync_rounds.c.claimer, sync_rounds.c.started_at)
                                       .where(sync_rounds.c.status == "running")).first()  # fmt: skip
                if running is not None:
                    if not claimer_is_dead(running.claimer):
                        raise SyncRunning(f"a sync round is already running (started {running.started_at} by {running.claimer})")
                    conn.execute(sync_rounds.update().where(sync_rounds.c.id == running.id)
                                 .values(status="interrupted", finished_at=stamp()))  # fmt: skip
                return conn.execute(sync_rounds.insert().values(started_at=stamp(), claimer=claimer(), status="running",
                                                                sources={})).inserted_primary_key[0]  # fmt: skip
        except sa.exc.IntegrityError:  # another process began one between our look and our insert
            raise SyncRunning("a sync round is already running") from None

    def record_sync_source(self, round_id: int, sources: dict) -> None:
        """What the round has done so far, per source (kept if the process dies before the end)."""
        with self.writer.begin() as conn:
            conn.execute(sync_rounds.update().where(sync_rounds.c.id == round_id).values(sources=sources))

    def finish_sync_round(self, round_id: int, status: str, sources: dict) -> None:
        with self.writer.begin() as conn:
            conn.execute(sync_rounds.update().where(sync_rounds.c.id == round_id)
                         .values(status=status, sources=sources, finished_at=stamp()))  # fmt: skip

    def sync_rounds(self, limit: int = 10) -> list[dict]:
        """The latest rounds, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sync_rounds).order_by(sync_rounds.c.id.desc()).limit(limit))
            return [_round_dict(row) for row in rows]

    def last_synced(self, source: str) -> str | None:
        """The last day a round fetched `source` through without failing, or None."""
        for round_ in self.sync_rounds(RECENT_ROUNDS):
            done = round_["sources"].get(source) or {}
            if done.get("status") == "ok" and done.get("through"):
                return done["through"]
        return None

    def record_ingest_run(self, source: str, *, read: int, inserted: int, updated: int, unchanged: int, skipped: int,
                          seconds: float) -> None:  # fmt: skip
        with self.writer.begin() as conn:
            conn.execute(ingest_runs.insert().values(source=source, finished_at=stamp(), read=read, inserted=inserted,
                                                     updated=updated, unchanged=unchanged, skipped=skipped, seconds=seconds))  # fmt: skip

    def ingest_totals(self) -> dict[str, dict]:
        """By source: finished runs, papers read, new, updated and skipped in all, and when the last one finished."""
        columns = [ingest_runs.c[name] for name in ("read", "inserted", "updated", "skipped")]
        query = sa.select(ingest_runs.c.source, sa.func.count(), sa.func.max(ingest_runs.c.finished_at),
                          *(sa.func.sum(c) for c in columns)).group_by(ingest_runs.c.source)  # fmt: skip
        with self.engine.connect() as conn:
            return {source: {"runs": runs, "last_finished_at": last, **dict(zip(("read", "inserted", "updated", "skipped"), sums))}
                    for source, runs, last, *sums in conn.execute(query)}  # fmt: skip
