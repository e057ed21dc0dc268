"""Import the real data into a fresh SQLite database and compare with merely decompressing + parsing it.

Run by hand from the repository root (never part of the test suite):

    .venv/bin/python bench/import_bench.py [--repeat 3] [--rerun] [--cli-too]
    .venv/bin/python bench/import_bench.py --postgresql [--repeat 2]

`--postgresql` instead imports every file through the CLI into a fresh SQLite file and into a fresh
database on a PostgreSQL server it starts (tests/postgres.py, with durable settings), and compares them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
DEFAULTS = {  # imported in this order, as a fresh install would
    "api": DATA / "hf-daily-papers" / "hf_daily_papers_api_2024-05-27_to_2026-08-21.jsonl.gz",
    "scrape": DATA / "hf-daily-papers" / "hf_daily_papers_pagescrape_2024-01-01_to_2024-11-10.jsonl.gz",
    "arxiv": DATA / "arxiv-cs-daily" / "arxiv_cs_daily_2025-03-18_to_2026-07-01.jsonl.gz",
}
COMMAND = {"api": "hf-daily", "scrape": "hf-daily", "arxiv": "arxiv-snapshot"}  # CLI subcommand = source name
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable


def parse_seconds(path: Path, loads, repeat: int) -> tuple[int, float]:
    """(lines, best seconds) to gzip-decompress the file and parse every non-empty line with `loads`."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        started, count = time.perf_counter(), 0
        with gzip.open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    loads(line)
                    count += 1
        best = min(best, time.perf_counter() - started)
    return count, best


def import_in_process(store, files: dict[str, Path]) -> dict[str, tuple[int, float, object]]:
    """{name: (records read, seconds, ApplyResult)} importing each file without the index refresh."""
    from dailypapers.ingest import arxiv_snapshot, hf_daily
    from dailypapers.ingest.files import file_key
    from dailypapers.ingest.runner import Runner

    out = {}
    for name, path in files.items():
        module = arxiv_snapshot if COMMAND[name] == "arxiv-snapshot" else hf_daily
        started = time.perf_counter()
        report = Runner(store, COMMAND[name], file_key(path), show_progress=False).run(
            module.read_file(path), refresh_index=False
        )
        out[name] = (report.read, time.perf_counter() - started, report.result)
    return out


def timed_refresh(store) -> tuple[int, float]:
    started = time.perf_counter()
    from dailypapers.search import Search

    indexed = Search(store).refresh()
    return indexed, time.perf_counter() - started


def import_cli(db: str | Path, files: dict[str, Path], label: str = "CLI check") -> tuple[float, float, int]:
    """Each file through the real CLI (which also refreshes the keyword index after every command):
    (total wall seconds, seconds the CLI reported importing, records read)."""
    print(f"\n{label} ({PYTHON} -m dailypapers, fresh DB):")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}  # keep rich from wrapping the report line
    total = imported = records = 0
    for name, path in files.items():
        cmd = [PYTHON, "-m", "dailypapers", "--db", str(db), "ingest", COMMAND[name], str(path)]
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
        wall = time.perf_counter() - started
        total += wall
        text = done.stdout + done.stderr
        report = re.search(r"^\S+: ([\d,]+) records in ([\d.]+) s.*$", text, re.M)
        index = re.search(r"keyword index: ([\d,]+) papers", text)
        if report:
            records, imported = records + int(report.group(1).replace(",", "")), imported + float(report.group(2))
        print(f"  {name:<7} wall {wall:6.1f} s  rc={done.returncode}  | {report.group(0) if report else text[-300:]}"
              f"  | index: {index.group(1) if index else 0}")  # fmt: skip
    print(f"  total wall {total:.1f} s (includes interpreter start-up and one index refresh per command)")
    return total, imported, records


def compare_backends(files: dict[str, Path], repeat: int) -> None:
    """The CLI import into a fresh SQLite file and into a fresh PostgreSQL database, best of `repeat` each
    (taking turns, so that both see the same load). The server runs durable, as a real one would: the test
    helper's default turns fsync, synchronous_commit and full_page_writes off. SQLite keeps its own
    settings (WAL, synchronous=NORMAL), which are the application's."""
    sys.path.insert(0, str(REPO / "tests"))
    from postgres import PostgresServer, available

    from dailypapers.store import Store

    if why := available():
        sys.exit(why)
    durable = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    with tempfile.TemporaryDirectory(prefix="dp-import-bench-") as tmp, PostgresServer(settings=durable) as server:
        os.environ["XDG_CACHE_HOME"] = tmp  # the keyword indexes of PostgreSQL databases, see search/
        settings = ", ".join(f"{key}={value}" for key, value in durable.items())
        print(f"PostgreSQL {server.sql('SHOW server_version').strip()} ({settings})")
        best: dict[str, tuple[float, float, int, int]] = {}
        for n in range(repeat):
            for backend in ("sqlite", "postgresql"):
                db = Path(tmp) / f"bench{n}.db" if backend == "sqlite" else server.create_database("bench")
                wall, imported, records = import_cli(db, files, f"{backend}, repeat {n + 1}")
                store = Store(db, migrate=False)
                papers = store.count_papers()
                store.close()
                if backend not in best or wall < best[backend][0]:
                    best[backend] = (wall, imported, records, papers)

    head = f"{'backend':<10} {'records':>8} {'papers':>7} {'import':>8} {'wall':>8} {'papers/s':>9} {'(wall)':>7}"
    print(f"\nbest of {repeat}: 'import' is what the CLI reports, 'wall' all its commands end to end; "
          f"papers/s is records read per second\n{head}\n{'-' * len(head)}")
    for backend, (wall, imported, records, papers) in best.items():
        print(f"{backend:<10} {records:>8,} {papers:>7,} {imported:>7.1f}s {wall:>7.1f}s {records / imported:>9,.0f} "
              f"{records / wall:>7,.0f}")  # fmt: skip
    (wall_s, imp_s, *_), (wall_p, imp_p, *_) = best["sqlite"], best["postgresql"]
    print(f"PostgreSQL / SQLite: {imp_p / imp_s:.2f}x import, {wall_p / wall_s:.2f}x wall (target: at most 2x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, path in DEFAULTS.items():
        ap.add_argument(f"--{name}", type=Path, default=path, help=f"default {path.relative_to(REPO.parent)}")
    ap.add_argument("--repeat", type=int, default=1, help="best of N, for the parse baseline and for the import into a fresh DB (default 1)")
    ap.add_argument("--rerun", action="store_true", help="import everything a second time into the same DB")
    ap.add_argument("--cli-too", action="store_true", help="also import through the CLI into another fresh DB")
    ap.add_argument("--postgresql", action="store_true",
                    help="only compare the CLI import into SQLite and into PostgreSQL (a server started here)")
    args = ap.parse_args()
    files = {name: getattr(args, name) for name in DEFAULTS}
    for path in files.values():
        if not path.exists():
            sys.exit(f"missing input: {path}")

    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"import_bench  {datetime.now():%Y-%m-%d %H:%M}  nproc={nproc}  python {platform.python_version()}  "
          f"sqlite {sqlite3.sqlite_version}  orjson {orjson.__version__}  parse and import best of {args.repeat}")  # fmt: skip
    if args.postgresql:
        return compare_backends(files, args.repeat)

    from dailypapers.store import Store

    # Each repeat parses, imports into a fresh database and parses again, so that both see the same load
    # on a shared machine: a repeat's ratio is its import over the mean of the orjson parses on either
    # side of it. The best of each is reported too.
    parses, after, runs = [], [], []
    for repeat in range(args.repeat):
        parses.append({name: (parse_seconds(p, orjson.loads, 1), parse_seconds(p, json.loads, 1)[1])
                       for name, p in files.items()})  # fmt: skip
        tmp = tempfile.TemporaryDirectory(prefix="dp-import-bench-")
        store = Store(Path(tmp.name) / "bench.db")
        runs.append(import_in_process(store, files))
        after.append(sum(parse_seconds(p, orjson.loads, 1)[1] for p in files.values()))
        if repeat < args.repeat - 1:
            store.close()
            tmp.cleanup()
    baseline = {name: (min((p[name][0] for p in parses), key=lambda lines_s: lines_s[1]), min(p[name][1] for p in parses))
                for name in files}  # fmt: skip
    imported = min(runs, key=lambda run: sum(seconds for _, seconds, _ in run.values()))
    print("each repeat: import total, orjson parse total before and after it, import / mean of the two parses "
          "(import / the parse before only)")
    ratios, ratios_before = [], []
    for run, p, later in zip(runs, parses, after):
        imp, before = sum(v[1] for v in run.values()), sum(p[name][0][1] for name in files)
        ratios.append(imp / ((before + later) / 2))
        ratios_before.append(imp / before)
        print(f"  {imp:.2f} s  {before:.2f} s  {later:.2f} s  {ratios[-1]:.2f}x  ({ratios_before[-1]:.2f}x)")
    print(f"median {statistics.median(ratios):.2f}x ({statistics.median(ratios_before):.2f}x), "
          f"{sum(r <= 3 for r in ratios)} of {len(ratios)} repeats at or under 3x ({sum(r <= 3 for r in ratios_before)})")
    with tmp:
        indexed, index_s = timed_refresh(store)

        head = f"{'file':<7} {'records':>8} {'parse orjson':>12} {'parse json':>10} {'import':>8} {'papers/s':>9} " \
               f"{'imp/orjson':>10} {'imp/json':>8}"  # fmt: skip
        print(f"\n{head}\n{'-' * len(head)}")
        rows = [(name, imported[name][0], baseline[name][0][1], baseline[name][1], imported[name][1]) for name in files]
        rows.append(("total", *(sum(r[i] for r in rows) for i in range(1, 5))))
        for name, records, p_or, p_js, imp in rows:
            print(f"{name:<7} {records:>8,} {p_or:>11.2f}s {p_js:>9.2f}s {imp:>7.2f}s {records / imp:>9,.0f} "
                  f"{imp / p_or:>9.1f}x {imp / p_js:>7.1f}x")  # fmt: skip
        for name in files:
            lines, read = baseline[name][0][0], imported[name][0]
            if lines != read:
                print(f"  note: {name} has {lines:,} lines, the importer read {read:,} records")
        total_import = rows[-1][4]
        print(f"\nkeyword index refresh: {index_s:.2f} s ({indexed:,} papers)")
        print(f"total incl. index:     {total_import + index_s:.2f} s  "
              f"({store.count_papers():,} papers in the DB, {(Path(tmp.name) / 'bench.db').stat().st_size / 1e6:.0f} MB)")

        if args.rerun:
            again = import_in_process(store, files)
            reindexed, reindex_s = timed_refresh(store)
            seconds = sum(v[1] for v in again.values())
            changed = sum(v[2].inserted + v[2].updated for v in again.values())
            unchanged = sum(v[2].unchanged for v in again.values())
            print(f"\nrerun (same files, same DB): {seconds:.2f} s import ({seconds / total_import:.2f}x the first), "
                  f"{changed:,} rows inserted/updated, {unchanged:,} unchanged; "
                  f"index refresh {reindex_s:.2f} s ({reindexed:,} papers)")  # fmt: skip
            print(f"idempotent: {'yes' if changed == 0 else 'NO (expected 0 rows inserted/updated)'}")
            for name, (read, secs, result) in again.items():
                print(f"  {name:<7} {read:>8,} records {secs:6.2f} s  inserted {result.inserted}, "
                      f"updated {result.updated}, unchanged {result.unchanged:,}")  # fmt: skip
        store.close()

        if args.cli_too:
            import_cli(Path(tmp.name) / "cli.db", files)


if __name__ == "__main__":
    main()
