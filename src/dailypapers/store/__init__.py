"""The store: the only code that talks SQL. Everything else calls `Store` methods.

SQLite (one file, WAL mode) is the embedded default; PostgreSQL (a postgresql+psycopg:// URL) serves
several hosts. The tables are SQLAlchemy Core, one schema and one Alembic history for both; what differs
is kept in store/server.py (connections, the writers' lock) and store/bulk.py (COPY).

Writes go through `Store.apply`, which merges records (store/merge.py) in batches, writes only rows whose
content changed, and gives each changed row a new `seq` from a counter so that derived indexes (search/)
can catch up incrementally.
"""

from __future__ import annotations

import functools
import itertools
import operator
import os
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import sqlalchemy as sa
from sqlalchemy import event

from ..records import SOURCE_RANK, PaperRecord
from .accounts import AccountQueries
from .bulk import copy_rows
from .community import CommunityQueries
from .embeddings import EmbeddingQueries
from .library import LibraryQueries
from .limits import LimitQueries, Slot
from .merge import merge, version_number
from .reads import ReadQueries
from .schema import RECORD_COLUMNS, checkpoints, featured, meta, organizations, papers
from .server import WRITER_LOCK, server_options
from .subscriptions import SubscriptionQueries
from .sync import SyncQueries

__all__ = ["ApplyResult", "Plan", "Slot", "Store", "database_url", "derived_folder", "insert_values"]

_content_values = operator.itemgetter("id", *RECORD_COLUMNS, "featured_on", "bib_rank", "bib_observed", "daily_observed")


# Python's sqlite3 finds no adapter for None and, for every NULL it binds, looks for __adapt__ and
# __conform__ methods, raising and clearing an AttributeError each time. Imported rows are mostly NULLs:
# registering an adapter that hands None back (a C function, `{}.get`) binds the same NULL, and made
# bulk inserts measurably cheaper (about 0.5 µs per NULL, a quarter of the insert time).
sqlite3.register_adapter(type(None), {}.get)
_IDS = sa.bindparam("ids", expanding=True)
_IN_BATCH = 512  # ids per "id IN (...)" query
_ROWS_BY_ID = (
    sa.select(papers, organizations.c.fullname.label("org_fullname"), organizations.c.avatar.label("org_avatar"))
    .select_from(papers.outerjoin(organizations, papers.c.organization == organizations.c.name))
    .where(papers.c.id.in_(_IDS))
)
_SEQS_BY_ID = sa.select(papers.c.id, papers.c.seq).where(papers.c.id.in_(_IDS))
_DAYS_BY_ID = sa.select(featured.c.paper_id, featured.c.day).where(featured.c.paper_id.in_(_IDS)).order_by(featured.c.day)


def database_url(db: str | Path) -> str:
    """A SQLAlchemy URL from a path or a URL."""
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def derived_folder(url: str, kind: str) -> Path:
    """Where data derived from the database at `url` is kept (`kind`: "index", "media"): beside a SQLite
    file (`papers.db` -> `papers.db-index/`); for a database server, on this host, one folder per database in
    `$XDG_CACHE_HOME/dailypapers/` (default `~/.cache/dailypapers/`)."""
    parts = sa.engine.make_url(url)
    if parts.get_backend_name() == "sqlite":
        if parts.database and parts.database != ":memory:":
            return Path(f"{parts.database}-{kind}")
        return Path(f"dailypapers-{kind}").resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "dailypapers" / f"{parts.database}@{parts.host or 'localhost'}_{parts.port or 5432}-{kind}"


def _json_dumps(value) -> str:
    return orjson.dumps(value).decode()


@dataclass
class Plan:
    """What `Store.apply` would write for `records`, worked out from a snapshot of the store."""

    records: Sequence[PaperRecord]
    based_on: dict[str, int | None]  # the seq of each paper it read; None: not in the store then
    inserts: list[tuple] = field(default_factory=list)  # values of _WRITE_COLUMNS but seq
    # For papers in the store: (the positions in those values of the columns that changed, the values).
    updates: list[tuple[tuple[int, ...], tuple]] = field(default_factory=list)
    new_days: list[tuple[str, str]] = field(default_factory=list)  # (paper id, day) to add to `featured`
    unchanged: int = 0


@dataclass
class ApplyResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: ApplyResult):
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


class Store(ReadQueries, EmbeddingQueries, SubscriptionQueries, AccountQueries, CommunityQueries, LibraryQueries, SyncQueries,
            LimitQueries):
    def __init__(self, db: str | Path, *, migrate: bool = True, wal_autocheckpoint: bool = True, timeout: float = 30.0):
        """`timeout`: seconds to wait for the database (a lock another writer holds; on a server, to
        connect, and for an answer on a connection gone quiet) before giving up with an error that
        store/errors.py names. `wal_autocheckpoint=False`: commits leave SQLite's WAL to grow until
        someone calls `checkpoint_wal` (the import's chunk workers, whose commits take turns, leave it to
        the reading process, so that copying the WAL into the database is not part of any turn)."""
        self.url = database_url(db)
        self.is_sqlite = self.url.startswith("sqlite")
        options = dict(json_serializer=_json_dumps, json_deserializer=orjson.loads)
        if self.is_sqlite:
            path = sa.engine.make_url(self.url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"check_same_thread": False, "timeout": timeout}
        else:
            options.update(server_options(timeout))
        self.engine = sa.create_engine(self.url, **options)
        # Writes get their own engine, whose transactions run one at a time, as SQLite's do: on SQLite it
        # starts them with BEGIN IMMEDIATE, on PostgreSQL each takes the same advisory lock first. So a
        # read-then-write batch never fails half-way, or writes on a stale read, because another writer
        # (another worker, or another host) went in between.
        self.writer = sa.create_engine(self.url, **options)
        if self.is_sqlite:
            event.listen(self.engine, "connect", functools.partial(_sqlite_pragmas, timeout=timeout))
            event.listen(self.writer, "connect", functools.partial(_sqlite_pragmas, timeout=timeout))
            event.listen(self.writer, "connect", lambda dbapi, _: setattr(dbapi, "isolation_level", None))
            event.listen(self.writer, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
            if not wal_autocheckpoint:
                event.listen(self.writer, "connect", lambda dbapi, _: dbapi.execute("PRAGMA wal_autocheckpoint=0"))
        else:
            event.listen(self.writer, "begin", lambda conn: conn.exec_driver_sql(WRITER_LOCK))
        if migrate:
            self.migrate()

    # -- schema -----------------------------------------------------------------------------------
    def migrate(self) -> None:
        from .migrate import upgrade

        with self.writer.connect() as conn:
            upgrade(conn)

    def store_id(self) -> str:
        """A random id given to this database when it was created; derived indexes record it."""
        with self.writer.begin() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "store_id")).scalar()
            if value is None:
                value = uuid.uuid4().hex
                conn.execute(meta.insert().values(key="store_id", value=value))
        return value

    def checkpoint_wal(self) -> None:
        """Copy what SQLite's write-ahead log holds into the database, as far as no reader needs it
        (a passive checkpoint: it waits for no one and no one waits for it)."""
        if self.is_sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.engine.dispose()
        self.writer.dispose()

    # -- writing ----------------------------------------------------------------------------------
    def apply(self, records: Sequence[PaperRecord] | Plan, checkpoint: tuple[str, str, dict] | None = None) -> ApplyResult:
        """Merge a batch of records into the store in one transaction (with the ingest checkpoint, if any).

        Given a `Plan` made earlier (`plan`), only what it writes is done here, unless a paper it read
        has changed since, in which case the records are merged again.
        """
        with self.writer.begin() as conn:
            if not isinstance(records, Plan):
                plan = self._plan(conn, records)
            elif self._unchanged_since(conn, records):
                plan = records
            else:
                plan = self._plan(conn, records.records)
            self._upsert_organizations(conn, plan.records)
            if plan.inserts or plan.updates:
                seq = self._next_seq(conn, len(plan.inserts) + len(plan.updates))
                if plan.inserts:
                    rows = [values + (seq + n,) for n, values in enumerate(plan.inserts)]
                    _executemany(conn, _INSERT_PAPER, _WRITE_COLUMNS, rows)
                if plan.updates:
                    self._update_papers(conn, plan.updates, seq + len(plan.inserts))
                if plan.new_days:
                    _executemany(conn, _INSERT_FEATURED, ("paper_id", "day"), plan.new_days)
            if checkpoint:
                self._save_checkpoint(conn, *checkpoint)
        return ApplyResult(len(plan.inserts), len(plan.updates), plan.unchanged)

    def plan(self, records: Sequence[PaperRecord]) -> Plan:
        """Read and merge for `apply` ahead of it, from a snapshot: this may run while another process
        writes, and leaves `apply` (which must run in turn) only the writing."""
        with self.engine.connect() as conn:
            return self._plan(conn, records)

    def _plan(self, conn, records: Sequence[PaperRecord]) -> Plan:
        existing = self._load_rows(conn, {r.id for r in records})
        current: dict[str, dict | PaperRecord] = {}
        for rec in records:
            base = current.get(rec.id) or existing.get(rec.id)
            current[rec.id] = rec if base is None else merge(_as_row(base), rec)  # a paper seen once needs no merge
        plan = Plan(records, {pid: existing[pid]["seq"] if pid in existing else None for pid in current})
        for pid, row in current.items():
            old = existing.get(pid)
            if isinstance(row, PaperRecord):  # a new paper from a single record
                plan.inserts.append(insert_values(row))
                if row.featured_on:
                    plan.new_days += [(pid, d) for d in sorted(set(row.featured_on))]
            elif old is not None and _content(row) == _content(old):
                plan.unchanged += 1
            else:
                values = _serialized(dict(row))
                if old:
                    changed = tuple(itertools.compress(_UPDATABLE, map(operator.ne, values[1:], old["stored"][1:])))
                    plan.updates.append((changed, values))
                else:
                    plan.inserts.append(values)
                old_days = set(old["featured_on"]) if old else set()
                plan.new_days += [(pid, d) for d in row["featured_on"] if d not in old_days]
        return plan

    def _update_papers(self, conn, updates: list[tuple[tuple[int, ...], tuple]], seq: int) -> None:
        """Each paper's changed columns and a new seq: one statement per set of columns. A refresh of
        upvotes then rewrites two columns, not thirty, and leaves the indexes of the others alone."""
        by_columns: dict[tuple[int, ...], list[tuple]] = {}
        for n, (changed, values) in enumerate(updates):
            by_columns.setdefault(changed, []).append((*(values[i] for i in changed), seq + n, values[0]))
        for changed, rows in by_columns.items():
            _executemany(conn, _UPDATE_PAPER, (*(_WRITE_COLUMNS[i] for i in changed), "seq", "b_id"), rows)

    def _unchanged_since(self, conn, plan: Plan) -> bool:
        """Whether every paper `plan` read is as it was then (each change to a paper gives it a new seq)."""
        ids = list(plan.based_on)
        now = {}
        for start in range(0, len(ids), _IN_BATCH):
            now.update(_select_in(conn, _SEQS_BY_ID, ids[start : start + _IN_BATCH]).all())
        return all(now.get(pid) == seq for pid, seq in plan.based_on.items())

    def _load_rows(self, conn, ids: Iterable[str]) -> dict[str, dict]:
        """The stored rows of those of `ids` the store holds, as `merge` takes them."""
        ids = list(ids)
        rows: dict[str, dict] = {}
        for start in range(0, len(ids), _IN_BATCH):
            chunk = ids[start : start + _IN_BATCH]
            result = _select_in(conn, _ROWS_BY_ID, chunk)
            keys = list(result.keys())
            found = []
            for values in result.fetchall():
                row = dict(zip(keys, values))
                # As stored, to tell which columns a merge changes: JSON as text. SQLite's driver hands it
                # back as text; psycopg parses it (PostgreSQL's `json` keeps the text, so this is the same).
                text = {}
                for name in _JSON_COLUMNS:
                    value = row[name]
                    if type(value) is str:
                        text[name], row[name] = value, orjson.loads(value)
                    elif value is not None:
                        text[name] = orjson.dumps(value).decode()
                row["stored"] = _values_in_order({**row, **text})
                row["organization"] = _org_dict(row.pop("organization"), row.pop("org_fullname"), row.pop("org_avatar"))
                row["featured_on"] = []
                rows[row["id"]] = row
                found.append(row["id"])
            if found:
                for paper_id, day in _select_in(conn, _DAYS_BY_ID, found).fetchall():
                    rows[paper_id]["featured_on"].append(day)
        return rows

    def _next_seq(self, conn, count: int) -> int:
        """Reserve `count` sequence numbers; returns the first."""
        current = conn.execute(sa.select(meta.c.value).where(meta.c.key == "seq")).scalar()
        first = int(current or 0) + 1
        value = str(first + count - 1)
        if current is None:
            conn.execute(meta.insert().values(key="seq", value=value))
        else:
            conn.execute(meta.update().where(meta.c.key == "seq").values(value=value))
        return first

    def _upsert_organizations(self, conn, records: Sequence[PaperRecord]) -> None:
        """Organization details from the latest observation that names them; missing details are kept."""
        latest: dict[str, tuple[str, dict]] = {}
        for rec in sorted((r for r in records if r.organization), key=lambda r: r.observed):
            latest[rec.organization["name"]] = (rec.observed, rec.organization)
        if not latest:
            return
        known = {r.name: r for r in conn.execute(sa.select(organizations).where(organizations.c.name.in_(list(latest))))}
        inserts, updates = [], []
        for name, (observed, org) in latest.items():
            old = known.get(name)
            if old is None:
                inserts.append((name, org.get("fullname"), org.get("avatar"), observed))
            elif observed >= (old.observed or ""):
                values = (org.get("fullname") or old.fullname, org.get("avatar") or old.avatar, observed)
                if values != (old.fullname, old.avatar, old.observed):
                    updates.append((*values, name))
        columns = ("fullname", "avatar", "observed")
        if inserts:
            _executemany(conn, _INSERT_ORGANIZATION, ("name", *columns), inserts)
        if updates:
            _executemany(conn, _UPDATE_ORGANIZATION, (*columns, "b_name"), updates)

    # -- ingest checkpoints -----------------------------------------------------------------------
    def _save_checkpoint(self, conn, source: str, key: str, state: dict) -> None:
        updated = conn.execute(
            checkpoints.update().where(checkpoints.c.source == source, checkpoints.c.key == key).values(state=state)
        )
        if updated.rowcount == 0:
            conn.execute(checkpoints.insert().values(source=source, key=key, state=state))

    def checkpoint(self, source: str, key: str) -> dict | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(checkpoints.c.state).where(checkpoints.c.source == source, checkpoints.c.key == key)
            ).scalar()

    def count_checkpoints(self) -> dict[str, int]:
        """source -> ingest runs holding a checkpoint: running now, or interrupted and not resumed yet
        (a finished run clears its checkpoint)."""
        query = sa.select(checkpoints.c.source, sa.func.count()).group_by(checkpoints.c.source)
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    def clear_checkpoint(self, source: str, key: str) -> None:
        with self.writer.begin() as conn:
            conn.execute(checkpoints.delete().where(checkpoints.c.source == source, checkpoints.c.key == key))


def _sqlite_pragmas(dbapi_connection, _record, timeout: float) -> None:
    cursor = dbapi_connection.cursor()
    # Takes effect when the file is created. A paper row is ~2 KB of text: 16 KiB pages hold several,
    # and a bulk import writes a quarter of the WAL frames it writes with 4 KiB pages (~10% faster).
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    cursor.close()


def _org_dict(name, fullname, avatar) -> dict | None:
    return {"name": name, "fullname": fullname, "avatar": avatar} if name else None


def _as_row(item: dict | PaperRecord) -> dict:
    return item if isinstance(item, dict) else merge(None, item)


def _content(row: dict):
    """What decides whether a paper row changed. An organization counts by name: its details live in
    their own table, where a record that lacks an avatar does not erase the one another record gave."""
    org = row["organization"]
    return _content_values(row), org["name"] if org else None


def _executemany(conn, statement, keys: Sequence[str], rows: list[tuple]) -> None:
    """Run one INSERT/UPDATE for many rows (tuples of values for `keys`) straight through the driver.

    SQLAlchemy's per-row parameter processing costs more than SQLite's own work on bulk imports; the
    statement is still compiled by the dialect, so this stays backend-neutral. JSON values must
    already be serialized (see _serialized). Keys named "b_..." are the WHERE clause's bind parameters.
    On PostgreSQL a plain INSERT goes through COPY instead (store/bulk.py says why).
    """
    if statement.is_insert and conn.dialect.name == "postgresql":
        return copy_rows(conn, statement.table.name, keys, rows)
    sql, order = _compiled_for_rows(statement, conn.dialect, tuple(keys))
    if order is None:
        conn.exec_driver_sql(sql, [dict(zip(keys, row)) for row in rows])
        return
    if order != list(range(len(keys))):
        rows = [tuple(row[i] for i in order) for row in rows]
    conn.exec_driver_sql(sql, rows)


@functools.cache
def _compiled_for_rows(statement, dialect, keys: tuple[str, ...]) -> tuple[str, list[int] | None]:
    """(SQL, the position in `keys` of each positional parameter, or None for named parameters)."""
    compiled = statement.compile(dialect=dialect, column_keys=[k for k in keys if not k.startswith("b_")])
    return compiled.string, [keys.index(name) for name in compiled.positiontup] if compiled.positional else None


def _select_in(conn, statement, ids: Sequence[str]):
    """`statement`, whose one parameter is the expanding list "ids", run for `ids` through the driver.

    SQLAlchemy renders an expanding IN list anew on every execution, which cost more than the query
    itself when an import probes hundreds of ids at a time. Instead the list is padded to a power of two
    by repeating its last id, and the SQL is compiled once per such length.
    """
    ids = tuple(ids)
    width = 1 << (len(ids) - 1).bit_length() if ids else 0
    ids += ids[-1:] * (width - len(ids))
    sql, names = _compiled_in(statement, conn.dialect, width)
    return conn.exec_driver_sql(sql, ids if names is None else dict(zip(names, ids)))


@functools.cache
def _compiled_in(statement, dialect, count: int) -> tuple[str, list[str] | None]:
    compiled = statement.params(ids=[""] * count).compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return compiled.string, None if compiled.positional else [f"ids_{n}" for n in range(1, count + 1)]


_INSERT_PAPER = papers.insert()
_UPDATE_PAPER = papers.update().where(papers.c.id == sa.bindparam("b_id"))
_INSERT_FEATURED = featured.insert()
_INSERT_ORGANIZATION = organizations.insert()
_UPDATE_ORGANIZATION = organizations.update().where(organizations.c.name == sa.bindparam("b_name"))
_WRITE_COLUMNS = tuple(c.name for c in papers.c if c.name != "pk")  # "id" first, "seq" last
_JSON_COLUMNS = tuple(c.name for c in papers.c if isinstance(c.type, sa.JSON))
_values_in_order = operator.itemgetter(*_WRITE_COLUMNS[:-1])
_UPDATABLE = range(1, len(_WRITE_COLUMNS) - 1)  # positions in those values of all but "id" (and "seq")
assert _WRITE_COLUMNS[-1] == "seq"


def _serialized(row: dict) -> tuple:
    """A merged row, changed in place, as the values of _WRITE_COLUMNS but `seq`, JSON serialized."""
    org, by = row["organization"], row["submitted_by"]
    row["organization"] = org["name"] if org else None
    row["submitter"] = by.get("user") if by else None
    row["upvotes"] = row["upvotes"] or 0
    row["num_comments"] = row["num_comments"] or 0
    for name in _JSON_COLUMNS:
        if (value := row[name]) is not None:
            row[name] = orjson.dumps(value).decode()  # _json_dumps, inlined: imports serialize every row
    return _values_in_order(row)


def insert_values(rec: PaperRecord) -> tuple:
    """The values that insert `rec` as a new paper: `_serialized(record_to_row(rec))`, spelled out
    column by column (in `_INSERT_ORDER`) because an import makes one for nearly every record it reads,
    and building the row dict first cost twice as much."""
    by, org, versions, observed, dumps = rec.submitted_by, rec.organization, rec.versions, rec.observed, orjson.dumps
    authors, categories, keywords = rec.authors, rec.categories, rec.ai_keywords
    return (
        rec.id, rec.title, rec.abstract, None if authors is None else dumps(authors).decode(),
        None if categories is None else dumps(categories).decode(), rec.published_at, rec.updated_at,
        dumps(sorted(versions, key=version_number)).decode() if versions else None,
        rec.comment, rec.journal_ref, rec.doi, rec.report_no, rec.license, rec.arxiv_submitter, rec.submitted_at,
        by.get("user") if by else None, None if by is None else dumps(by).decode(), rec.upvotes or 0,
        rec.num_comments or 0, org["name"] if org else None, rec.github_repo, rec.github_stars, rec.project_page,
        rec.ai_summary, None if keywords is None else dumps(keywords).decode(), rec.thumbnail, rec.discussion_id,
        SOURCE_RANK[rec.source], observed, observed if rec.source.startswith("hf") else None,
    )  # fmt: skip


_INSERT_ORDER = (
    "id", "title", "abstract", "authors", "categories", "published_at", "updated_at", "versions", "comment",
    "journal_ref", "doi", "report_no", "license", "arxiv_submitter", "submitted_at", "submitter", "submitted_by",
    "upvotes", "num_comments", "organization", "github_repo", "github_stars", "project_page", "ai_summary",
    "ai_keywords", "thumbnail", "discussion_id", "bib_rank", "bib_observed", "daily_observed",
)  # fmt: skip
assert _INSERT_ORDER == _WRITE_COLUMNS[:-1], "insert_values must list the columns in the table's order"
