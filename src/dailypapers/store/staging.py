"""New papers prepared outside the writing process, handed over as a small SQLite database.

An import worker turns a chunk of records into the rows that insert them as new papers and writes
those rows into an in-memory SQLite database (`stage`). The writing process attaches its bytes and
copies the rows in with one INSERT ... SELECT (`Store.apply`), so the values never become Python
objects there: receiving them as Python tuples had cost the writer more than SQLite's own work.
A staged paper the store already holds is rebuilt from its source text and merged as usual.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from ..records import PaperRecord
from .merge import record_to_row
from .schema import papers

WRITE_COLUMNS = tuple(c.name for c in papers.c if c.name != "pk")  # "id" first, "seq" last
assert WRITE_COLUMNS[-1] == "seq"
JSON_COLUMNS = tuple(c.name for c in papers.c if isinstance(c.type, sa.JSON))
_values_in_order = operator.itemgetter(*WRITE_COLUMNS[:-1])

# The staged table: a paper's values but `seq`, by its position in the chunk, with what the writer
# needs besides: its featured days and the organization details it saw (JSON), and when it saw them.
STAGED_COLUMNS = WRITE_COLUMNS[:-1]
_CREATE = f"CREATE TABLE staged (pos INTEGER PRIMARY KEY, {', '.join(STAGED_COLUMNS)}, featured_on, org_detail, observed)"
_INSERT = f"INSERT INTO staged VALUES ({', '.join('?' * (len(STAGED_COLUMNS) + 4))})"


def json_text(value) -> str:
    return orjson.dumps(value).decode()


def serialized(row: dict) -> tuple:
    """A merged row, changed in place, as the values of WRITE_COLUMNS but `seq`, JSON serialized."""
    org = row["organization"]
    row["organization"] = org["name"] if org else None
    row["submitter"] = (row["submitted_by"] or {}).get("user")
    row["upvotes"] = row["upvotes"] or 0
    row["num_comments"] = row["num_comments"] or 0
    for name in JSON_COLUMNS:
        if row[name] is not None:
            row[name] = json_text(row[name])
    return _values_in_order(row)


def insert_values(rec: PaperRecord) -> tuple:
    """The values that insert `rec` as a new paper."""
    return serialized(record_to_row(rec))


def stage(records: Iterable[tuple[int, PaperRecord]]) -> tuple[bytes, int]:
    """(a serialized SQLite database holding the staged table, its row count) for (position, record) pairs."""
    rows = [
        (pos, *insert_values(rec), json_text(sorted(set(rec.featured_on))),
         json_text(rec.organization) if rec.organization else None, rec.observed)
        for pos, rec in records
    ]  # fmt: skip
    con = sqlite3.connect(":memory:")
    try:
        con.execute("PRAGMA page_size=16384")  # fewer pages to copy for rows of a few KB
        con.execute(_CREATE)
        con.executemany(_INSERT, rows)
        con.commit()
        return con.serialize(), len(rows)
    finally:
        con.close()


@dataclass
class StagedBatch:
    """A chunk of records staged by a worker; the writing process still holds their source text."""

    rows: bytes  # from `stage`
    size: int  # records staged
    lines: list[bytes]  # the source text (one JSON value) of each position
    parse: Callable[[object], PaperRecord]

    def record(self, pos: int) -> PaperRecord:
        return self.parse(orjson.loads(self.lines[pos]))

    def records(self) -> list[PaperRecord]:
        """Every staged record, rebuilt from its source text (for a backend that cannot attach the rows)."""
        con = sqlite3.connect(":memory:")
        try:
            con.deserialize(self.rows)
            return [self.record(pos) for (pos,) in con.execute("SELECT pos FROM staged ORDER BY pos")]
        finally:
            con.close()
