"""Parse and write the chunks of a large file in worker processes, committed in file order.

Each worker parses a chunk into records and works out what they change from a snapshot of the store
(`Store.plan`), then waits for its turn and writes that, with the chunk's checkpoint, in one
transaction of its own; if a paper it read has changed in between, the chunk is merged again there.
Turns follow file order, so every merge sees the records before it, exactly as in one process, and
an interrupted run leaves a checkpoint after which nothing is committed. Only the writing is done in
turn; records never cross a process boundary (sending them to one writing process had cost it more
than SQLite's own work).
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from ..store import ApplyResult, Store
from .files import LineChunk
from .items import Skipped

_FAILED = -1  # the turn after a chunk failed to commit: no later chunk may commit


@dataclass
class ChunkDone:
    result: ApplyResult
    records: int
    skipped: list[Skipped]


class ChunkWriter:
    """A pool of workers writing `LineChunk`s into the store behind `url`, with checkpoints under
    (source, key). `submit` returns the chunks finished so far, in order; a bounded window of chunks in
    flight keeps memory flat however large the file."""

    def __init__(self, url: str, source: str, key: str, workers: int):
        context = multiprocessing.get_context("fork")
        self._turn = context.RawValue("q", 0)  # the index of the chunk whose turn it is to commit
        self._turn_changed = context.Condition()
        self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                         initargs=(url, source, key, self._turn, self._turn_changed))  # fmt: skip
        self._window: deque[Future] = deque()
        self._submitted = 0
        self._most_in_flight = workers * 3

    def submit(self, chunk: LineChunk) -> list[ChunkDone]:
        self._window.append(self._pool.submit(_write_chunk, self._submitted, chunk))
        self._submitted += 1
        done = []
        while self._window and (len(self._window) > self._most_in_flight or self._window[0].done()):
            done.append(self._window.popleft().result())
        return done

    def finish(self) -> list[ChunkDone]:
        done = [future.result() for future in self._window]
        self._window.clear()
        return done

    def close(self) -> None:
        """Stop: chunks not started are dropped; those started finish (each commits or not, whole)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


_worker: dict = {}


def _start_worker(url: str, source: str, key: str, turn, turn_changed) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.freeze()  # what the fork inherited is never garbage; collections then only look at new objects
    gc.disable()  # parsing allocates many objects and no cycles: collecting as usual cost ~2x (measured)
    _worker.update(store=Store(url, migrate=False), source=source, key=key, turn=turn, turn_changed=turn_changed)


def _write_chunk(index: int, chunk: LineChunk) -> ChunkDone:
    records, skipped = chunk.parsed()
    store = _worker["store"]
    plan = store.plan(records)  # reading and merging, before taking the turn: writing is the bottleneck
    turn, turn_changed = _worker["turn"], _worker["turn_changed"]
    with turn_changed:
        turn_changed.wait_for(lambda: turn.value in (index, _FAILED))
        if turn.value == _FAILED:
            raise RuntimeError(f"not written: an earlier chunk than lines {chunk.first + 1}-{chunk.end} failed")
    try:
        result = store.apply(plan, (_worker["source"], _worker["key"], {"position": chunk.end}))
        following = index + 1
    except BaseException:
        following = _FAILED
        raise
    finally:
        with turn_changed:
            turn.value = following
            turn_changed.notify_all()
    if index % 100 == 99:
        gc.collect()  # none found in tests, but a long import should not depend on that
    return ChunkDone(result, len(records), skipped)
