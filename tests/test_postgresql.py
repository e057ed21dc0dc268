"""What only a database server can do to us: PostgreSQL killed (`kill -9`) in the middle of an ingest, and
URLs that lead nowhere. (The rest of the suite runs on PostgreSQL too: DAILYPAPERS_TEST_DB=postgresql.)"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

import postgres
from conftest import BACKEND, PATIENCE, catalog_dump, dailypapers_cmd, rows_if_ready, run_cli
from test_worker_death import big_snapshot

# These start PostgreSQL servers of their own, whichever backend the suite runs on: once is enough.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(BACKEND == "postgresql", reason="runs in the SQLite pass")]


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the databases' index folders, not the user's
    why = postgres.available()
    if why:
        if os.environ.get("DAILYPAPERS_REQUIRE_POSTGRES") == "1":
            pytest.fail(why)
        pytest.skip(why)
    with postgres.PostgresServer() as server:  # its own: this test kills it
        yield server


def test_postgresql_killed_during_an_ingest_then_the_rerun_ends_as_an_uninterrupted_import(server, tmp_path):
    source = big_snapshot(tmp_path / "big.jsonl", 40)
    reference, db = server.create_database("reference"), server.create_database("killed")
    assert run_cli("--db", reference, "ingest", "arxiv-snapshot", str(source)).returncode == 0

    ingest = subprocess.Popen([*dailypapers_cmd(), "--db", db, "--set", "db_timeout=5", "ingest", "arxiv-snapshot", str(source)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline, position = time.monotonic() + PATIENCE, 0
    while not position:  # some chunks committed, not all: the ingest is mid-way
        assert ingest.poll() is None, f"the ingest ended before PostgreSQL could be killed: {ingest.stderr.read()}"
        assert time.monotonic() < deadline, "the ingest committed nothing"
        rows = rows_if_ready(db, "SELECT state FROM checkpoints")
        position = rows and (rows[0][0] if isinstance(rows[0][0], dict) else json.loads(rows[0][0]))["position"]
        time.sleep(0.02)
    server.kill()
    try:
        assert ingest.wait(PATIENCE) == 1
    finally:
        ingest.kill()
    error = ingest.stderr.read()
    assert "the database is unavailable" in error and "Traceback" not in error, error
    assert error.strip().splitlines()[-1].startswith("Error:"), error

    server.start()  # PostgreSQL recovers from its write-ahead log
    rerun = run_cli("--db", db, "ingest", "arxiv-snapshot", str(source))
    assert rerun.returncode == 0, rerun.stderr
    assert catalog_dump(db) == catalog_dump(reference)
    assert rows_if_ready(db, "SELECT count(*) FROM checkpoints") == [(0,)]


def test_urls_that_lead_nowhere_are_one_line_errors(server):
    gone = server.url("no_such_database")
    result = run_cli("--db", gone, "stats")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot open database" in result.stderr and 'database "no_such_database" does not exist' in result.stderr

    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/x".replace(str(server.port), "1")
    result = run_cli("--db", nobody, "--set", "db_timeout=5", "stats")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the database is unavailable" in result.stderr and "check that the database server is running" in result.stderr
