"""A full database: the site answers 503 with a message (JSON for the API, a page for the site) and logs
the cause in one line; a command ends with one line and exit status 1; nothing stored is lost, and
everything works again once there is room.

"Full" is SQLite's own SQLITE_FULL, made without filling a disk: every connection to the file gets
`PRAGMA max_page_count` at the file's size, so a write that needs one more page fails exactly as it
does when the disk has no room left.
"""

import inspect
import itertools
import json
import logging
import os
import sqlite3
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from conftest import FIXTURES, PATIENCE, LiveServer, catalog_dump, on_sqlite_only, run_cli

SNAPSHOT_HEAD = FIXTURES / "arxiv-snapshot" / "arxivSpider_mnbvc__arxiv-metadata-oai-snapshot_first200.json"
PASSWORD = "a long enough password 42"


def cap_database(path, pages: int):
    """Every connection SQLAlchemy opens from now on to the file `path` cannot grow it past `pages`; the
    hook (for sqlalchemy.event.remove). Runs in this process, and in a command's (CAPPED)."""
    import os

    import sqlalchemy

    path = os.path.realpath(path)

    def cap(dbapi_connection, _record):
        if any(row[2] and os.path.realpath(row[2]) == path for row in dbapi_connection.execute("PRAGMA database_list")):
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "connect", cap)
    return cap


# `python -c CAPPED ARGS...`: `dailypapers ARGS...` with the database CAP_DB full at CAP_PAGES pages.
CAPPED = inspect.getsource(cap_database) + """
import os
cap_database(os.environ["CAP_DB"], int(os.environ["CAP_PAGES"]))
from dailypapers.cli import main
main(prog_name="dailypapers")
"""


def compact(db: Path) -> int:
    """VACUUM (no free page left: whatever needs a new page must grow the file); the pages it has."""
    con = sqlite3.connect(db)
    con.execute("VACUUM")
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    return pages


@contextmanager
def full(db: Path):
    """While inside, every connection this process opens to `db` finds it full at its present size."""
    hook = cap_database(db, compact(db))
    try:
        yield
    finally:
        sa.event.remove(sa.engine.Engine, "connect", hook)


def fill(operation) -> int:
    """Run operation(0), operation(1), ... until the database has no room for the next one; its number."""
    for n in itertools.count():
        try:
            operation(n)
        except sa.exc.OperationalError as exc:
            assert "database or disk is full" in str(exc.orig), exc.orig
            return n
        assert n < 100_000, "the database never filled up"


def stored(db: Path) -> dict:
    """What the site keeps that a vote or a log-in would change."""
    con = sqlite3.connect(db)
    rows = {table: con.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in ("users", "votes", "sessions")}
    con.close()
    return {**catalog_dump(db), **rows}


@pytest.mark.slow
@on_sqlite_only  # PostgreSQL's full disk: test_postgresql_disk_full_and_other_errors
def test_a_full_database_answers_503_logs_the_cause_and_loses_nothing(demo_copy, caplog):
    from dailypapers import accounts
    from dailypapers.store import Store
    from dailypapers.web.auth import SESSION_COOKIE

    store = Store(demo_copy)
    user = store.create_user("reader", "reader@example.org", accounts.hash_password(PASSWORD))
    api_token, token_hash = accounts.new_secret()
    store.create_api_token(user["id"], "tests", token_hash)
    cookie, session_hash = accounts.new_secret()
    csrf = accounts.new_secret()[0]
    expires = datetime.now(UTC) + timedelta(days=1)
    store.create_session(user["id"], session_hash, csrf, expires)
    store.close()
    con = sqlite3.connect(demo_copy)
    papers = [row[0] for row in con.execute("SELECT id FROM papers ORDER BY id")]
    con.close()

    with full(demo_copy):
        store = Store(demo_copy)  # votes, then sessions, until neither has room for one more
        unvoted = papers[fill(lambda n: store.set_vote(user["id"], papers[n], True))]
        fill(lambda n: store.create_session(user["id"], accounts.new_secret()[1], accounts.new_secret()[0], expires))
        store.close()
        before = stored(demo_copy)
        caplog.set_level(logging.INFO)
        with LiveServer(demo_copy) as site:
            origin = {"Origin": site.url}
            api = httpx.post(f"{site.url}/api/papers/{unvoted}/upvote", headers={"Authorization": f"Bearer {api_token}"},
                             timeout=PATIENCE)  # fmt: skip
            form = httpx.post(f"{site.url}/papers/{unvoted}/upvote", data={"csrf": csrf}, headers=origin,
                              cookies={SESSION_COOKIE: cookie}, timeout=PATIENCE)  # fmt: skip
            login = httpx.post(f"{site.url}/login", data={"username": "reader", "password": PASSWORD}, headers=origin,
                               timeout=PATIENCE)  # fmt: skip
        assert stored(demo_copy) == before

    assert api.status_code == 503, api.text
    assert api.headers["content-type"] == "application/json" and set(api.json()) == {"error"}
    assert "storage is full" in api.json()["error"] and "Nothing was lost" in api.json()["error"]
    for page in (form, login):
        assert page.status_code == 503, page.text
        assert page.headers["content-type"].startswith("text/html") and "storage is full" in page.text
    assert all(answer.headers["retry-after"].isdigit() for answer in (api, form, login))
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 3, [r.getMessage() for r in logged]  # one line per failed request, no traceback
    for record, path in zip(logged, (f"/api/papers/{unvoted}/upvote", f"/papers/{unvoted}/upvote", "/login")):
        message = record.getMessage()
        assert path in message and "503" in message and "database or disk is full" in message, message
        assert "\n" not in message and "INSERT" not in message and record.exc_info is None, message

    with LiveServer(demo_copy) as site:  # room again: the same requests succeed
        api = httpx.post(f"{site.url}/api/papers/{unvoted}/upvote", headers={"Authorization": f"Bearer {api_token}"},
                         timeout=PATIENCE)  # fmt: skip
        login = httpx.post(f"{site.url}/login", data={"username": "reader", "password": PASSWORD}, headers={"Origin": site.url},
                           timeout=PATIENCE)  # fmt: skip
    assert api.status_code == 200 and api.json()["upvoted"], api.text
    assert login.status_code == 303, login.text
    after = stored(demo_copy)
    assert len(after["votes"]) == len(before["votes"]) + 1 and len(after["sessions"]) == len(before["sessions"]) + 1


def big_snapshot(path: Path, copies: int) -> Path:
    """The 200 recorded snapshot lines `copies` times over under new ids (0.3 MB a copy)."""
    lines = SNAPSHOT_HEAD.read_text().splitlines()
    with open(path, "w") as out:
        for copy in range(copies):
            yymm = f"{7 + copy // 12:02d}{copy % 12 + 1:02d}"
            for number, line in enumerate(lines, 1):
                out.write(json.dumps({**json.loads(line), "id": f"{yymm}.{number:04d}"}) + "\n")
    return path


@pytest.mark.slow
@on_sqlite_only
@pytest.mark.parametrize("workers", [False, True], ids=["parsed here", "in worker processes"])
def test_an_ingest_into_a_full_database_ends_with_one_line_and_a_rerun_completes(tmp_path, new_db, workers):
    import subprocess

    from dailypapers.ingest.files import CHUNK_MIN_BYTES

    source = big_snapshot(tmp_path / "big.jsonl", 20) if workers else SNAPSHOT_HEAD
    assert (source.stat().st_size >= CHUNK_MIN_BYTES) == workers
    start = tmp_path / "start.jsonl"
    start.write_text("".join(SNAPSHOT_HEAD.read_text().splitlines(keepends=True)[:20]))
    db, reference = new_db("full"), new_db("reference")
    for target in (db, reference):
        assert run_cli("--db", str(target), "ingest", "arxiv-snapshot", str(start)).returncode == 0
    assert run_cli("--db", str(reference), "ingest", "arxiv-snapshot", str(source)).returncode == 0
    pages = compact(db)
    before = catalog_dump(db)

    result = subprocess.run([sys.executable, "-c", CAPPED, "--db", str(db), "ingest", "arxiv-snapshot", str(source)],
                            capture_output=True, text=True, timeout=PATIENCE,
                            env={**os.environ, "CAP_DB": str(db), "CAP_PAGES": str(pages)})  # fmt: skip
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "full" in line or "rror" in line]
    assert errors == [result.stderr.strip().splitlines()[-1]], result.stderr  # one line, the last
    assert errors[0] == ("Error: the database is full (database or disk is full): free space and run the command "
                         "again; nothing stored was lost"), result.stderr  # fmt: skip
    assert "Traceback" not in result.stderr and "INSERT" not in result.stderr and len(result.stderr) < 2000, result.stderr
    assert catalog_dump(db) == before
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()

    result = run_cli("--db", str(db), "ingest", "arxiv-snapshot", str(source))  # with room again
    assert result.returncode == 0, result.stderr
    assert catalog_dump(db) == catalog_dump(reference)


@pytest.mark.parametrize(("error", "kind"), [
    (sqlite3.OperationalError("database or disk is full"), "full"),
    (sqlite3.OperationalError("disk I/O error"), "io"),
    (sqlite3.OperationalError("database is locked"), "busy"),
    (OSError(28, "No space left on device"), "full"),
])  # fmt: skip
def test_storage_errors_are_named_in_one_place(error, kind):
    from dailypapers.store.errors import storage_unavailable

    wrapped = sa.exc.OperationalError("INSERT INTO papers VALUES (?)", [("a row",)], error)
    problem = storage_unavailable(wrapped)
    assert problem is not None and problem.kind == kind
    assert "INSERT" not in problem.summary and "a row" not in problem.command_message


def test_postgresql_disk_full_and_other_errors():
    from dailypapers.store.errors import storage_unavailable

    class PgError(Exception):
        def __init__(self, sqlstate, message):
            super().__init__(message)
            self.sqlstate = sqlstate

    disk_full = storage_unavailable(sa.exc.OperationalError("INSERT ...", {}, PgError("53100", "could not extend file")))
    assert disk_full.kind == "full" and disk_full.cause == "could not extend file"
    assert storage_unavailable(sa.exc.OperationalError("SELECT 1", {}, PgError("53300", "too many clients"))).kind == "resources"
    assert storage_unavailable(sa.exc.IntegrityError("INSERT ...", {}, PgError("23505", "duplicate key"))) is None
    assert storage_unavailable(sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))) is None
    assert storage_unavailable(ValueError("database or disk is full")) is None
