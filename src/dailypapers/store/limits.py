"""The SQL of rate limits: sliding windows counted in the database, so that every worker process and
every host sharing the database counts the same requests.

A request is counted before the work it guards is done (`take_rate_slots`): the look at the window and
the new row are one writer transaction (writers take turns, store/server.py), so a burst of simultaneous requests cannot all
see room that only one of them may have. Work that turns out not to count (a log-in that succeeds is not
a failed log-in) gives its slot back (`release_rate_slots`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from .schema import rate_hits

LONGEST_WINDOW_S = 86_400.0  # no limit looks further back: older rows are deleted by `purge_rate_hits`


@dataclass(frozen=True)
class Slot:
    bucket: str  # what is counted and for whom, e.g. "login-address:192.0.2.1"
    limit: int  # requests allowed in the window (0: no limit)
    window_s: float


class LimitQueries:
    def take_rate_slots(self, slots: list[Slot], now: float | None = None) -> tuple[list[int | None], float]:
        """Count one request in every slot's window, all or none: (the id of the row taken for each slot,
        None for a slot without limit; 0) if each window had room, else ([], the seconds until the
        fullest has room again)."""
        now = time.time() if now is None else now
        limited = sorted({s.bucket: s for s in slots if s.limit > 0}.values(), key=lambda s: s.bucket)
        if not limited:
            return [None] * len(slots), 0.0
        with self.writer.begin() as conn:
            wait = 0.0
            for slot in limited:
                conn.execute(rate_hits.delete().where(rate_hits.c.bucket == slot.bucket, rate_hits.c.at <= now - slot.window_s))
                count = conn.execute(sa.select(sa.func.count()).where(rate_hits.c.bucket == slot.bucket)).scalar()
                if count >= slot.limit:
                    # The window has room once its oldest `count - limit + 1` rows have left it.
                    leaving = conn.execute(sa.select(rate_hits.c.at).where(rate_hits.c.bucket == slot.bucket)
                                           .order_by(rate_hits.c.at).offset(count - slot.limit).limit(1)).scalar()  # fmt: skip
                    wait = max(wait, leaving + slot.window_s - now)
            if wait > 0:
                return [], wait
            taken = {s.bucket: conn.execute(rate_hits.insert().values(bucket=s.bucket, at=now)).inserted_primary_key[0]
                     for s in limited}  # fmt: skip
        return [taken.get(s.bucket) if s.limit > 0 else None for s in slots], 0.0

    def release_rate_slots(self, ids: list[int | None], clear: list[str] = ()) -> None:
        """Give back slots taken for work that did not count after all, and forget all that the buckets
        in `clear` counted (a log-in clears its address's failures), in one transaction."""
        ids = [i for i in ids if i is not None]
        if ids or clear:
            with self.writer.begin() as conn:
                conn.execute(rate_hits.delete().where(rate_hits.c.id.in_(ids) | rate_hits.c.bucket.in_(list(clear))))

    def rate_hits_in_window(self, bucket: str, window_s: float, now: float | None = None) -> int:
        now = time.time() if now is None else now
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(rate_hits.c.bucket == bucket,
                                                                 rate_hits.c.at > now - window_s)).scalar()  # fmt: skip

    def purge_rate_hits(self, now: float | None = None) -> int:
        """Delete the rows no window looks at any more (buckets seen once and never again)."""
        now = time.time() if now is None else now
        with self.writer.begin() as conn:
            return conn.execute(rate_hits.delete().where(rate_hits.c.at <= now - LONGEST_WINDOW_S)).rowcount
