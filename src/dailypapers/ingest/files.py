"""Reading record files: JSON lines or a JSON list, plain or gzip, streamed with resumable positions."""

from __future__ import annotations

import gc
import gzip
import itertools
import multiprocessing
import os
import re
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from ..records import InvalidRecord, PaperRecord
from ..store.staging import StagedBatch, stage
from .runner import Checkpoint, Skipped

CHECKPOINT_EVERY = 1000
PARALLEL_MIN_BYTES = 4_000_000  # smaller files are parsed in-process: starting workers costs more
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def open_bytes(path: Path):
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def file_key(path: Path) -> str:
    """Identifies a file's content well enough to resume reading it: path, size and mtime."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"


def day_in_name(path: Path) -> str | None:
    match = _DAY_IN_NAME.search(path.name)
    return match.group(1) if match else None


def iter_json_items(path: Path, start: int = 0) -> Iterator[tuple[int, object]]:
    """(position, parsed item or the exception) for each JSON line, or each element of a JSON list file.

    Lines before `start` are skipped without being parsed.
    """
    with open_bytes(path) as fh:
        first = fh.readline()
        while first and not first.strip():
            first = fh.readline()
        if first.lstrip().startswith(b"[") or not _parses(first):
            document = orjson.loads(first + fh.read())
            if isinstance(document, dict):  # {"date": ..., "data": [...]} / {"papers": [...]} wrappers
                document = document.get("data") or document.get("papers") or [document]
            for position, item in enumerate(document):
                if position >= start:
                    yield position, item
            return
        for position, line in enumerate(_chain(first, fh)):
            if position < start:
                continue
            if not line.strip():
                yield position, InvalidRecord("empty line")
                continue
            try:
                yield position, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield position, InvalidRecord(f"invalid JSON: {exc}")


def _chain(first: bytes, fh):
    if first:
        yield first
    yield from fh


def _parses(line: bytes) -> bool:
    """Whether a file's first line is a whole JSON value (JSON lines) rather than the start of one document."""
    try:
        orjson.loads(line)
        return True
    except orjson.JSONDecodeError:
        return False


def _parse_one(parse: Callable, label: str, item) -> PaperRecord | Skipped:
    if isinstance(item, Exception):
        return Skipped(label, str(item))
    try:
        return parse(item)
    except InvalidRecord as exc:
        return Skipped(label, str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Skipped(label, f"malformed record: {type(exc).__name__} {exc}")


def _stage_lines(parse: Callable, name: str, where: str, first: int, lines: list[bytes]) -> tuple[list[Skipped], bytes, int]:
    """Parse a chunk of JSON lines (in a worker process): the lines skipped, and the others' records
    staged for the store (see store/staging.py) by their position in the chunk."""
    skipped, records = [], []
    for offset, line in enumerate(lines):
        try:
            item = orjson.loads(line) if line.strip() else InvalidRecord("empty line")
        except orjson.JSONDecodeError as exc:
            item = InvalidRecord(f"invalid JSON: {exc}")
        rec = _parse_one(parse, f"{name} {where} {first + offset + 1}", item)
        (records if isinstance(rec, PaperRecord) else skipped).append((offset, rec))
    return [rec for _, rec in skipped], *stage(records)


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    gc.disable()  # a worker's objects die with their chunk; cycle collection only cost time (measured ~2x)


def read_records(path: Path, parse: Callable[[object], PaperRecord], start: int = 0, where: str = "item",
                 workers: int | None = None, parallel_min_bytes: int = PARALLEL_MIN_BYTES) -> Iterator[PaperRecord | StagedBatch | Skipped | Checkpoint]:  # fmt: skip
    """Items for the runner from a record file, with a checkpoint every CHECKPOINT_EVERY items.

    Large JSON-lines files are parsed, and their records staged for the store, by `workers` processes
    (default: one per CPU; this process decompresses and writes, which takes less than half of the
    work); a bounded window of chunks keeps memory flat however large the file. `workers=0` parses in
    this process.
    `parse` must be picklable (a module-level function or a functools.partial of one).
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers > 0 and file_size(path) >= parallel_min_bytes and _is_json_lines(path):
        yield from _read_lines_parallel(path, parse, start, where, workers)
        return
    for position, item in iter_json_items(path, start):
        yield _parse_one(parse, f"{path.name} {where} {position + 1}", item)
        if (position + 1) % CHECKPOINT_EVERY == 0:
            yield Checkpoint({"position": position + 1})


def _is_json_lines(path: Path) -> bool:
    with open_bytes(path) as fh:
        first = fh.readline()
    return not first.lstrip().startswith(b"[") and _parses(first)


def _read_lines_parallel(path: Path, parse: Callable, start: int, where: str, workers: int):
    context = multiprocessing.get_context("fork")  # workers only compute: no locks, no database handles
    with (
        open_bytes(path) as fh,
        ThreadPoolExecutor(1) as reader,  # decompresses ahead while this thread merges (zlib frees the GIL)
        ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker) as pool,
    ):
        for _ in itertools.islice(fh, start):
            pass

        def read_chunk() -> list[bytes]:
            return list(itertools.islice(fh, CHECKPOINT_EVERY))

        ahead = reader.submit(read_chunk)
        window: deque = deque()
        position = start
        try:
            while True:
                lines = ahead.result()
                if lines:
                    ahead = reader.submit(read_chunk)
                    future = pool.submit(_stage_lines, parse, path.name, where, position, lines)
                    window.append((position + len(lines), lines, future))
                    position += len(lines)
                if not window:
                    return
                if lines and len(window) < workers * 3:
                    continue
                end, chunk, future = window.popleft()
                skipped, rows, size = future.result()
                yield from skipped
                yield StagedBatch(rows, size, chunk, parse)
                yield Checkpoint({"position": end})
        finally:
            for _, _, future in window:
                future.cancel()


def file_size(path: Path) -> int:
    return os.path.getsize(path)
