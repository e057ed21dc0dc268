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
import os
import signal
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from ..processes import end_with_parent
from ..store import ApplyResult, Store
from .files import LineChunk
from .items import Skipped

CHECKPOINT_INTERVAL = 0.2  # seconds between WAL checkpoints while workers write
CHECKPOINT_EVERY_CHUNKS = 4  # and a worker checkpoints after every this many, in its turn
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
                                         initargs=(os.getpid(), url, source, key, self._turn, self._turn_changed))  # fmt: skip
        self._window: deque[Future] = deque()
        self._submitted = 0
        self._most_in_flight = workers * 3
        self._store = Store(url, migrate=False)
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_wal, name="wal-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoint_wal(self) -> None:
        """Workers commit without copying the WAL into the database (SQLite would do all of that in
        whichever commit crossed 1,000 pages, inside that worker's turn, while the others wait); this
        thread copies it beside them, a few times a second. SQLite can only start the WAL over, rather
        than let it grow, when it is copied to the end between one commit and the next, so every
        CHECKPOINT_EVERY_CHUNKS chunks the worker in turn copies the little that is left."""
        while not self._stop.wait(CHECKPOINT_INTERVAL):
            self._store.checkpoint_wal()

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
        self._stop.set()
        self._checkpointer.join()
        self._store.checkpoint_wal()
        self._store.close()


_worker: dict = {}


def _start_worker(parent: int, url: str, source: str, key: str, turn, turn_changed) -> None:
    end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.freeze()  # what the fork inherited is never garbage; collections then only look at new objects
    gc.disable()  # parsing allocates many objects and no cycles: collecting as usual cost ~2x (measured)
    store = Store(url, migrate=False, wal_autocheckpoint=False)  # see ChunkWriter._checkpoint_wal
    _worker.update(store=store, source=source, key=key, turn=turn, turn_changed=turn_changed)


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
        if index % CHECKPOINT_EVERY_CHUNKS == CHECKPOINT_EVERY_CHUNKS - 1:
            store.checkpoint_wal()  # what the reading process has not copied yet: little (see ChunkWriter)
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
