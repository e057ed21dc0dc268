"""Copying a live SQLite database: the online backup API (as `dailypapers backup` runs it) vs VACUUM INTO.

Run by hand from the repository root (never part of the test suite), on a large database, e.g. the one
`bench/import_bench.py` builds or any `dailypapers ingest` of the shared data (~160 MB):

    .venv/bin/python bench/backup_bench.py DB [--repeat 5]

The database is first copied to a temporary folder; a writer process then commits one small UPDATE
every 5 ms to that copy (as votes on a live site do) while each method copies it. For each method it
prints the copy's seconds (median and range over the repeats), the writer's commits during the copy and
the longest of them against the longest before it: a method that blocked writers would show no
commits, or one as long as the copy.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

GIVE_UP_S = 30.0


def writer(db: str, stop, out) -> None:
    con = sqlite3.connect(db, timeout=60, isolation_level=None)
    log, n = [], 0
    while not stop.is_set():
        started = time.monotonic()
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE papers SET upvotes = upvotes + 1 WHERE pk = ?", (n % 1000 + 1,))
        con.execute("COMMIT")
        log.append((started, time.monotonic() - started))
        n += 1
        time.sleep(0.005)
    out.put(log)


def backup_api(pages: int, hold_snapshot: bool):
    def copy(db: str, target: str) -> str:
        src = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        dst = sqlite3.connect(target)
        steps, deadline = 0, time.monotonic() + GIVE_UP_S

        def progress(status, remaining, total):
            nonlocal steps
            steps += 1
            if time.monotonic() > deadline:
                raise TimeoutError

        if hold_snapshot:
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        try:
            src.backup(dst, pages=pages, progress=progress)
        except TimeoutError:
            return f"gave up after {GIVE_UP_S:.0f} s and {steps:,} steps (restarted by every commit)"
        finally:
            dst.close()
            src.close()
        return f"{steps:,} steps"

    return copy


def vacuum_into(db: str, target: str) -> str:
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    src.execute("VACUUM INTO ?", (target,))
    src.close()
    return ""


def dailypapers_backup(db: str, target: str) -> str:
    from dailypapers.store.backup import backup

    copied = backup(db, target)
    return f"{copied.pages:,} pages, integrity_check included"


METHODS = {
    "dailypapers backup: backup API, one read transaction, 256 pages a step, each flushed": dailypapers_backup,
    "backup API, one read transaction, 256 pages a step, flushed once at the end": backup_api(256, True),
    "backup API, all pages in one step": backup_api(-1, False),
    "VACUUM INTO": vacuum_into,
    "backup API, 256 pages a step, no held transaction": backup_api(256, False),
}


def measure(db: str, folder: Path, copy) -> dict:
    target = folder / "copy.db"
    target.unlink(missing_ok=True)
    stop, out = multiprocessing.Event(), multiprocessing.Queue()
    process = multiprocessing.Process(target=writer, args=(db, stop, out))
    process.start()
    time.sleep(1.0)
    started = time.monotonic()
    note = copy(db, str(target))
    ended = time.monotonic()
    time.sleep(0.2)
    stop.set()
    log = out.get()
    process.join()
    during = [took for at, took in log if at + took >= started and at <= ended]
    before = [took for at, took in log if at + took < started]
    size = target.stat().st_size if target.exists() else 0
    return {"seconds": ended - started, "note": note, "commits": len(during), "longest": max(during, default=0),
            "longest_before": max(before, default=0), "mb": size / 1e6}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "live.db"
        source = sqlite3.connect(f"file:{args.db.resolve()}?mode=ro", uri=True)
        source.backup(sqlite3.connect(db))
        source.close()
        con = sqlite3.connect(db)
        con.execute("PRAGMA journal_mode=WAL")
        con.close()
        print(f"{args.db}: {os.path.getsize(db) / 1e6:.0f} MB, {args.repeat} repeats, writer committing every 5 ms")
        for name, copy in METHODS.items():
            runs = [measure(str(db), folder, copy) for _ in range(args.repeat if "no held" not in name else 1)]
            seconds = [r["seconds"] for r in runs]
            print(f"{name}:\n  {statistics.median(seconds):.2f} s (range {min(seconds):.2f}–{max(seconds):.2f}), "
                  f"{runs[0]['mb']:.0f} MB, {runs[0]['note']}; writer: {min(r['commits'] for r in runs)}–"
                  f"{max(r['commits'] for r in runs)} commits during the copy, longest "
                  f"{max(r['longest'] for r in runs) * 1000:.0f} ms (before it: "
                  f"{max(r['longest_before'] for r in runs) * 1000:.0f} ms)", flush=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
