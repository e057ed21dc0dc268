"""Reading record files: JSON lines or a JSON list, plain or gzip, streamed with resumable positions."""

from __future__ import annotations

import gzip
import itertools
import os
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from ..records import InvalidRecord, PaperRecord
from .blocks import GZIP_MAGIC, UnreadableFile, line_blocks
from .items import Checkpoint, Skipped

CHECKPOINT_EVERY = 1000  # items between checkpoints, when read here
# Decompressed bytes of lines per chunk for the workers: about 2,000 arXiv records. 3 MB beat 1.5 and 6 MB:
# fewer chunks cost less per chunk (each worker re-reads the pages the others changed), larger ones are
# slower to start the pipeline and to drain it.
CHUNK_BYTES = 3_000_000
CHUNK_MIN_BYTES = 4_000_000  # smaller files are parsed in-process: starting workers costs more
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


def open_bytes(path: Path):
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == GZIP_MAGIC
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
            if position >= start:
                yield position, _load_line(line)


def _load_line(line: bytes):
    """A JSON line's value, or an InvalidRecord saying why it has none."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return InvalidRecord(f"invalid JSON: {exc}" if line.strip() else "empty line")


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


def _parse_one(parse: Callable, item, label: str, number: int) -> PaperRecord | Skipped:
    """The record from `item`, or why the item numbered `number` (as "<label> <number>") is skipped."""
    try:
        if isinstance(item, Exception):
            raise item
        return parse(item)
    except InvalidRecord as exc:
        return Skipped(f"{label} {number}", str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Skipped(f"{label} {number}", f"malformed record: {type(exc).__name__} {exc}")


@dataclass
class LineChunk:
    """Consecutive whole lines of a JSON-lines file, not yet split or parsed: the runner parses and
    writes them, in worker processes for a large file (see ingest/parallel.py). One block of bytes
    rather than a list of lines, because the reading process then only decompresses and copies."""

    first: int  # the position (0-based line number) of the first line
    data: bytes  # the lines, each ending in b"\n" but perhaps the file's last one
    count: int  # how many lines `data` holds
    parse: Callable[[object], PaperRecord]  # picklable: a module-level function or a partial of one
    label: str  # how a skipped line is named, e.g. "file.jsonl line"

    @property
    def end(self) -> int:
        return self.first + self.count

    def parsed(self) -> tuple[list[PaperRecord], list[Skipped]]:
        records, skipped = [], []
        parse, loads = self.parse, orjson.loads
        for offset, line in enumerate(itertools.islice(self.data.split(b"\n"), self.count)):
            try:
                records.append(parse(loads(line)))
            except Exception:  # _parse_one says why, or raises what is not the record's fault
                rec = _parse_one(parse, _load_line(line), self.label, self.first + offset + 1)
                (records if isinstance(rec, PaperRecord) else skipped).append(rec)
        return records, skipped


def read_records(path: Path, parse: Callable[[object], PaperRecord], start: int = 0, where: str = "item",
                 chunk_min_bytes: int = CHUNK_MIN_BYTES) -> Iterator[PaperRecord | LineChunk | Skipped | Checkpoint]:  # fmt: skip
    """Items for the runner from a record file, with a checkpoint every CHECKPOINT_EVERY items.

    A JSON-lines file of `chunk_min_bytes` or more comes as unparsed `LineChunk`s of about CHUNK_BYTES,
    each its own checkpoint, which the runner parses in worker processes; the file is decompressed a
    chunk ahead, in a thread (zlib works without the GIL). Anything smaller is parsed here.
    `parse` must be picklable (a module-level function or a functools.partial of one).
    """
    try:
        if file_size(path) >= chunk_min_bytes and _is_json_lines(path):
            yield from _read_line_chunks(path, parse, start, f"{path.name} {where}")
            return
        for position, item in iter_json_items(path, start):
            yield _parse_one(parse, item, f"{path.name} {where}", position + 1)
            if (position + 1) % CHECKPOINT_EVERY == 0:
                yield Checkpoint({"position": position + 1})
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # from gzip.GzipFile; line_blocks says it itself
        raise UnreadableFile(f"{path.name} is damaged or truncated: {exc}") from None


def _is_json_lines(path: Path) -> bool:
    with open_bytes(path) as fh:
        first = fh.readline()
    return not first.lstrip().startswith(b"[") and _parses(first)


def _read_line_chunks(path: Path, parse: Callable, start: int, label: str) -> Iterator[LineChunk]:
    blocks = line_blocks(path, CHUNK_BYTES, start)
    with ThreadPoolExecutor(1) as reader:
        position = start
        ahead = reader.submit(next, blocks, None)
        while (block := ahead.result()) is not None:
            ahead = reader.submit(next, blocks, None)
            data, count = block
            yield LineChunk(position, data, count, parse, label)
            position += count


def file_size(path: Path) -> int:
    return os.path.getsize(path)
