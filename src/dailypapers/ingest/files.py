"""Reading record files: JSON lines or a JSON list, plain or gzip, streamed with resumable positions."""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson

from ..records import InvalidRecord, PaperRecord
from .runner import Checkpoint, Skipped

CHECKPOINT_EVERY = 1000
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


def read_records(path: Path, parse: Callable[[object], PaperRecord], start: int = 0,
                 where: str = "item") -> Iterator[PaperRecord | Skipped | Checkpoint]:  # fmt: skip
    """Items for the runner from a record file, with a checkpoint every CHECKPOINT_EVERY items."""
    position = start
    for position, item in iter_json_items(path, start):
        label = f"{path.name} {where} {position + 1}"
        if isinstance(item, Exception):
            yield Skipped(label, str(item))
        else:
            try:
                yield parse(item)
            except InvalidRecord as exc:
                yield Skipped(label, str(exc))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                yield Skipped(label, f"malformed record: {type(exc).__name__} {exc}")
        if (position + 1) % CHECKPOINT_EVERY == 0:
            yield Checkpoint({"position": position + 1})


def file_size(path: Path) -> int:
    return os.path.getsize(path)
