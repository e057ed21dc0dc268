"""Backups: `dailypapers backup` of a database an ingest is writing, `restore` and the serving lock, and
the backup a migration takes first. Real files, real processes, a real server."""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import sqlite3
import subprocess
import threading
import time
from importlib import resources
from pathlib import Path

import httpx
import pytest

from conftest import PATIENCE, LiveServer, ServeProcess, dailypapers_cmd, free_port, on_sqlite_only, run_cli


def _wait_for(condition, what: str):
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.05)


def _integrity(path: Path) -> str:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def _one_row(path: Path, sql: str):
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=PATIENCE)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def _one_line_error(result, *words: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def _sample_days() -> dict[str, list[dict]]:
    """The bundled demo sample's Hugging Face items by featured day."""
    days: dict[str, list[dict]] = {}
    with resources.as_file(resources.files("dailypapers.data") / "demo_sample.jsonl.gz") as sample:
        with gzip.open(sample, "rt") as lines:
            for line in lines:
                item = json.loads(line)
                days.setdefault(item["daily_date"], []).append(item)
    return days


@on_sqlite_only
def test_a_backup_taken_during_an_ingest_is_consistent_and_serves(tmp_path, replay_server):
    """`ingest hf-daily` fetches the sample day by day from a local server, committing a checkpoint after
    each; the request for the middle day waits until the backup is done, so the backup is taken while
    the ingest runs, and must hold exactly the days before it."""
    days = _sample_days()
    order = sorted(days)
    held_day = order[len(order) // 2]
    reached, release = threading.Event(), threading.Event()

    def daily_papers(query: dict):
        if query["date"] == held_day and not release.is_set():
            reached.set()
            release.wait(PATIENCE)
        items = days.get(query["date"], []) if query.get("p", "0") == "0" else []
        return 200, {"Content-Type": "application/json"}, json.dumps(items).encode()

    server = replay_server({"/api/daily_papers": daily_papers})
    db, copy = tmp_path / "live.db", tmp_path / "backups" / "copy.db"
    copy.parent.mkdir()
    ingest = subprocess.Popen([*dailypapers_cmd(), "--db", str(db), "ingest", "hf-daily", "--since", order[0],
                               "--until", order[-1], "--base-url", server.url], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "DAILYPAPERS_HF_MIN_INTERVAL": "0"})  # fmt: skip
    try:
        _wait_for(lambda: reached.is_set() or ingest.poll() is not None, "the ingest reaching the held day")
        assert ingest.poll() is None, ingest.stderr.read()
        checkpoint = json.loads(_one_row(db, "SELECT state FROM checkpoints WHERE source = 'hf-daily'")[0])
        result = run_cli("--db", str(db), "backup", str(copy))
    finally:
        release.set()
    _, errors = ingest.communicate(timeout=PATIENCE)
    assert ingest.returncode == 0, errors
    assert result.returncode == 0, result.stderr
    assert f"to {copy}" in result.stderr and "MB" in result.stderr and "pages" in result.stderr

    # the ingest had committed every day before the held one (one checkpoint per calendar day); the
    # backup holds exactly those
    committed = {"position": _days_between(order[0], held_day)}
    assert checkpoint == committed
    before = {item["paper"]["id"] for day in order if day < held_day for item in days[day]}
    assert _integrity(copy) == "ok"
    assert _one_row(copy, "SELECT count(*) FROM papers")[0] == len(before)
    assert json.loads(_one_row(copy, "SELECT state FROM checkpoints")[0]) == committed
    assert _one_row(db, "SELECT count(*) FROM papers")[0] == len({i["paper"]["id"] for d in order for i in days[d]})
    assert not [p for p in copy.parent.iterdir() if p.name != copy.name], "only the backup is left in its folder"

    with LiveServer(copy) as site:
        answer = httpx.get(f"{site.url}/api/daily_papers", timeout=PATIENCE)
    assert answer.status_code == 200 and answer.json()
    latest = max(day for day in order if day < held_day)
    assert {p["paper"]["id"] for p in answer.json()} <= {item["paper"]["id"] for item in days[latest]}


def _days_between(first: str, last: str) -> int:
    from datetime import date

    return (date.fromisoformat(last) - date.fromisoformat(first)).days


@on_sqlite_only
def test_bad_input_is_one_line_and_nothing_is_overwritten(demo_copy, tmp_path):
    target = tmp_path / "taken.db"
    target.write_bytes(b"keep me")
    _one_line_error(run_cli("--db", str(demo_copy), "backup", str(target)), "exists", "--force")
    assert target.read_bytes() == b"keep me"
    _one_line_error(run_cli("--db", str(tmp_path / "missing.db"), "backup", str(tmp_path / "b.db")), "no database at")
    assert not (tmp_path / "missing.db").exists(), "a backup never creates the database it was asked to copy"
    _one_line_error(run_cli("--db", str(target), "backup", str(tmp_path / "b.db")), "not a SQLite database")
    _one_line_error(run_cli("--db", str(demo_copy), "backup", str(demo_copy), "--force"), "the database itself")
    _one_line_error(run_cli("--db", str(demo_copy), "backup", str(tmp_path / "nowhere" / "b.db")), "no folder")

    _one_line_error(run_cli("--db", str(demo_copy), "restore", str(tmp_path / "missing.db")), "no backup file")
    _one_line_error(run_cli("--db", str(demo_copy), "restore", str(target)), "not a SQLite database")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (body TEXT)").connection.commit()
    _one_line_error(run_cli("--db", str(demo_copy), "restore", str(other)), "not one of dailypapers")
    assert _integrity(demo_copy) == "ok" and not list(tmp_path.glob("demo.db.replaced-*"))

    result = run_cli("--db", str(demo_copy), "backup", str(target), "--force")
    assert result.returncode == 0, result.stderr
    assert _integrity(target) == "ok" and not list(tmp_path.glob(".*partial"))


def test_postgresql_gets_the_pg_dump_command_line(tmp_path):
    url = "postgresql+psycopg://papers:secret@db.example.org:5432/dailypapers"
    result = run_cli("--db", url, "backup", str(tmp_path / "b.dump"))
    _one_line_error(result, "pg_dump --format=custom --file=FILE postgresql://papers@db.example.org:5432/dailypapers",
                    "PGPASSWORD")  # fmt: skip
    assert "secret" not in result.stderr
    _one_line_error(run_cli("--db", url, "restore", str(tmp_path / "b.dump")), "pg_restore", "--dbname=postgresql://papers@")


@on_sqlite_only
def test_an_interrupted_backup_leaves_no_file(demo_copy, tmp_path):
    from dailypapers.store.backup import backup

    def interrupt(done, total):
        raise KeyboardInterrupt

    target = tmp_path / "backups" / "b.db"
    target.parent.mkdir()
    with pytest.raises(KeyboardInterrupt):
        backup(demo_copy, target, progress=interrupt)
    assert list(target.parent.iterdir()) == []


@on_sqlite_only
def test_restore_refuses_while_served_and_works_with_force_or_once_the_server_is_gone(demo_copy, tmp_path):
    from dailypapers.store.backup import is_served

    backup_file = tmp_path / "nightly.db"
    papers = _one_row(demo_copy, "SELECT count(*) FROM papers")[0]
    site = ServeProcess("--db", str(demo_copy), "serve")
    with site:
        assert is_served(demo_copy)
        second = run_cli("--db", str(demo_copy), "serve", "--port", str(free_port()))
        _one_line_error(second, "another server serves", str(demo_copy.resolve()))
        assert run_cli("--db", str(demo_copy), "backup", str(backup_file)).returncode == 0  # while it serves

        refused = run_cli("--db", str(demo_copy), "restore", str(backup_file))
        _one_line_error(refused, "a server is serving", "--force")
        assert not list(tmp_path.glob("demo.db.replaced-*"))

        forced = run_cli("--db", str(demo_copy), "restore", str(backup_file), "--force")
        assert forced.returncode == 0, forced.stderr
        assert len(list(tmp_path.glob("demo.db.replaced-*.bak"))) == 1

        os.killpg(site.process.pid, signal.SIGKILL)  # the lock goes with the process, however it ends
        site.process.wait(timeout=PATIENCE)
    assert not is_served(demo_copy)
    restored = run_cli("--db", str(demo_copy), "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert "Restored" in restored.stderr and "replaced" in restored.stderr
    assert _integrity(demo_copy) == "ok" and _one_row(demo_copy, "SELECT count(*) FROM papers")[0] == papers
    assert not Path(f"{demo_copy}-wal").exists() or Path(f"{demo_copy}-wal").stat().st_size == 0

    # the restored file has a store id of its own, so the index beside it is rebuilt, not trusted
    assert _store_id(demo_copy) != _store_id(backup_file)
    indexed = run_cli("--db", str(demo_copy), "index")
    assert indexed.returncode == 0 and f"{papers:,} papers indexed" in indexed.stderr, indexed.stderr
    with LiveServer(demo_copy) as site:
        found = httpx.get(f"{site.url}/api/papers/search", params={"q": "language models", "mode": "lexical"},
                          timeout=PATIENCE)  # fmt: skip
    assert found.status_code == 200 and found.json()


def _store_id(db: Path) -> str:
    return _one_row(db, "SELECT value FROM meta WHERE key = 'store_id'")[0]


@on_sqlite_only
def test_the_serving_lock(tmp_path):
    from dailypapers.store.backup import AlreadyServed, hold_serving_lock, is_served

    db = tmp_path / "site.db"
    assert not is_served(db)
    handle = hold_serving_lock(db)
    assert is_served(db) and is_served(str(db.resolve()))
    with pytest.raises(AlreadyServed, match=str(os.getpid())):
        hold_serving_lock(db)
    handle.close()
    assert not is_served(db)
    assert hold_serving_lock("postgresql://papers@localhost/papers") is None


# -- migrations -----------------------------------------------------------------------------------------


def _one_revision_back(db: Path) -> tuple[str, str]:
    """Downgrade `db` by one schema revision; (the revision it is at now, the head)."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from dailypapers.store.migrate import _config

    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        config = _config(conn)
        command.downgrade(config, "-1")
        conn.commit()
        older = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return older, ScriptDirectory.from_config(config).get_current_head()


def _revision(db: Path) -> str:
    return _one_row(db, "SELECT version_num FROM alembic_version")[0]


@on_sqlite_only
def test_a_migration_backs_the_file_up_first(demo_copy, caplog):
    from dailypapers.store import Store

    older, head = _one_revision_back(demo_copy)
    assert older != head
    papers = _one_row(demo_copy, "SELECT count(*) FROM papers")[0]
    with caplog.at_level(logging.WARNING, logger="dailypapers.store.migrate"):
        Store(demo_copy).close()
    saved = demo_copy.with_name(f"{demo_copy.name}.pre-{head}.bak")
    assert _revision(demo_copy) == head
    assert _revision(saved) == older and _integrity(saved) == "ok"
    assert _one_row(saved, "SELECT count(*) FROM papers")[0] == papers
    assert f"backed up {demo_copy} to {saved}" in caplog.text

    Store(demo_copy).close()  # at the head: nothing to migrate, no further backup
    assert len(list(demo_copy.parent.glob("*.bak"))) == 1


@on_sqlite_only
def test_a_new_database_is_not_backed_up(tmp_path):
    from dailypapers.store import Store

    Store(tmp_path / "new.db").close()
    assert not list(tmp_path.glob("*.bak"))


@on_sqlite_only
def test_no_backup_no_migration(demo_copy, monkeypatch):
    from dailypapers.store import Store, backup
    from dailypapers.store.migrate import MigrationError

    older, _ = _one_revision_back(demo_copy)

    def failing(*args, **kwargs):
        raise backup.BackupError("disk full")

    monkeypatch.setattr(backup, "backup", failing)
    with pytest.raises(MigrationError, match="disk full"):
        Store(demo_copy)
    assert _revision(demo_copy) == older
    result = run_cli("--db", str(demo_copy), "stats")  # a process whose backup works: backed up, then migrated
    assert result.returncode == 0 and _revision(demo_copy) != older
