"""Worker processes end with the process that started them: `kill -9` of `dailypapers ingest` leaves no
process behind, and a rerun then ends with the database an uninterrupted run makes; `kill -9` of
`serve --workers 2` leaves no worker serving the port."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import BACKEND, FIXTURES, PATIENCE, ServeProcess, catalog_dump, dailypapers_cmd, free_port, run_cli, sql_rows

from dailypapers.store import database_url

SNAPSHOT_HEAD = FIXTURES / "arxiv-snapshot" / "arxivSpider_mnbvc__arxiv-metadata-oai-snapshot_first200.json"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers in /proc (Linux)"),
]


def big_snapshot(path: Path, copies: int) -> Path:
    """The 200 recorded snapshot lines `copies` times over under new ids (0.3 MB a copy): a file large
    enough that the import parses and writes it in worker processes (ingest/files.py)."""
    lines = SNAPSHOT_HEAD.read_text().splitlines()
    with open(path, "w") as out:
        for copy in range(copies):
            yymm = f"{7 + copy // 12:02d}{copy % 12 + 1:02d}"  # 0701, 0702, ...: old enough for 4-digit numbers
            for number, line in enumerate(lines, 1):
                out.write(json.dumps({**json.loads(line), "id": f"{yymm}.{number:04d}"}) + "\n")
    return path


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, from /proc; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (command) "
    return fields[0], int(fields[1]), int(fields[19])


def children(pid: int) -> dict[int, int]:
    """The live child processes of `pid`: pid -> start time (which tells a reused pid apart)."""
    found = {}
    for entry in os.listdir("/proc"):
        stat = _stat(int(entry)) if entry.isdigit() else None
        if stat and stat[1] == pid and stat[0] not in "ZX":
            found[int(entry)] = stat[2]
    return found


def alive(pid: int, start: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[2] == start and stat[0] not in "ZX"  # a zombie has ended: nobody reaps orphans here


def wait_until_gone(processes: dict[int, int], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while left := [pid for pid, start in processes.items() if alive(pid, start)]:
        if time.monotonic() > deadline:
            pytest.fail(f"{len(left)} of {len(processes)} {what} outlived the process that started them")
        time.sleep(0.05)


def kill_left(processes: dict[int, int]) -> None:
    """So that a failed run leaves nothing behind either."""
    for pid, start in processes.items():
        if alive(pid, start):
            os.kill(pid, signal.SIGKILL)


def test_kill_9_of_an_import_ends_its_workers_and_a_rerun_ends_as_an_uninterrupted_run(tmp_path, new_db):
    from dailypapers.ingest.files import CHUNK_BYTES

    big = big_snapshot(tmp_path / "big.jsonl", 84)
    assert big.stat().st_size > 8 * CHUNK_BYTES  # chunks for several workers, and more of them than one commit
    reference, db = new_db("reference"), new_db("killed")
    for target in (reference, db):  # migrated beforehand: the lock taken below never holds up the import's start
        assert run_cli("--db", str(target), "ingest", "arxiv-snapshot", str(SNAPSHOT_HEAD)).returncode == 0
    result = run_cli("--db", str(reference), "ingest", "arxiv-snapshot", str(big))
    assert result.returncode == 0, result.stderr

    log = (tmp_path / "killed.log").open("w+")
    process = subprocess.Popen([*dailypapers_cmd(), "--db", str(db), "ingest", "arxiv-snapshot", str(big)],
                               stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)  # fmt: skip
    expected = (os.cpu_count() or 1) + 1  # the import's workers by default (ingest/runner.py), all forked at once
    lock = sa.create_engine(database_url(db), isolation_level="AUTOCOMMIT").connect()
    workers: dict[int, int] = {}
    try:
        deadline = time.monotonic() + PATIENCE
        while not workers:
            assert process.poll() is None, f"the import ended before it started workers: {log.read()}"
            assert time.monotonic() < deadline, "the import started no worker processes"
            workers = children(process.pid)
            time.sleep(0.02)
        # Take the write lock at once: every chunk then waits for it (or for its turn), so the import is
        # still running, its workers all alive and waiting, when its process is killed.
        lock.exec_driver_sql("BEGIN IMMEDIATE" if BACKEND == "sqlite" else "BEGIN; LOCK TABLE papers IN EXCLUSIVE MODE")
        while len(workers) < expected:
            assert time.monotonic() < deadline, f"the import started {len(workers)} workers, not {expected}"
            time.sleep(0.02)
            workers = children(process.pid)
        assert process.poll() is None, "the import finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)  # the import's process alone, as `kill -9 PID` does
        assert process.wait() == -signal.SIGKILL
        wait_until_gone(workers, "import workers")
    finally:
        lock.close()
        kill_left(workers)
        if process.poll() is None:
            process.kill()
            process.wait()

    result = run_cli("--db", str(db), "ingest", "arxiv-snapshot", str(big))
    assert result.returncode == 0, result.stderr
    assert catalog_dump(db) == catalog_dump(reference)
    assert sql_rows(db, "SELECT count(*) FROM checkpoints") == [(0,)]
    if BACKEND == "sqlite":
        assert sql_rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_kill_9_of_serve_ends_its_web_workers(tmp_path, new_db):
    db = new_db("site")
    assert run_cli("--db", str(db), "ingest", "arxiv-snapshot", str(SNAPSHOT_HEAD)).returncode == 0
    port = free_port()
    processes: dict[int, int] = {}
    try:
        with ServeProcess("--db", str(db), "serve", "--workers", "2", port=port) as site:
            pid = site.process.pid
            deadline = time.monotonic() + PATIENCE
            while sum("spawn_main" in _command(child) for child in processes) < 2:  # uvicorn's two workers
                assert site.process.poll() is None, site.output()
                assert time.monotonic() < deadline, f"serve started no two workers: {site.output()}"
                time.sleep(0.05)
                processes = children(pid)
            os.kill(pid, signal.SIGKILL)  # the server's process alone, as `kill -9 PID` does
            assert site.process.wait() == -signal.SIGKILL
            wait_until_gone(processes, "web workers (and their helpers)")
    finally:
        kill_left(processes)
    import socket

    with socket.socket() as probe:  # nothing holds the port: a new `serve` can start
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""
