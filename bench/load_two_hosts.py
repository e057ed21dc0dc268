"""Load two web hosts on one PostgreSQL database with wrk, first alone, then while an ingest writes.

Three hosts on this machine (network namespaces joined by a bridge, tests/hosts.py): PostgreSQL on "db"
with durable settings (fsync, synchronous_commit, full_page_writes on), `dailypapers serve` on "a" and
"b", each with its own index folder. The demo catalog is built from host a. Then, for each phase, one
wrk per host, both at once and for the same time, from this (the root) namespace through the bridge,
each request the next of a mix of paths: the daily page, the latest day's page, /api/daily_papers and a
keyword search.

1. warm-up (unreported), 2. baseline: the load alone, 3. ingest: host a runs `dailypapers ingest` of real
files (by default the arXiv cs sample, then the HF API file); wrk starts once it has written its first papers.

Prints per host and for both together (latencies merged from the two hosts' percentiles): requests/s,
p50/p99, socket errors (a "timeout" is wrk giving up on a request after --timeout, 10 s) and non-2xx/3xx
responses; how many papers the ingest wrote during the window (and whether it ran through all of it). Needs root, iproute2, PostgreSQL and /usr/bin/wrk. Run by hand
from the repository root (never part of the test suite):

    .venv/bin/python bench/load_two_hosts.py [--duration 30] [--connections 32] [--workers 1]
    .venv/bin/python bench/load_two_hosts.py --ingest hf-daily ../shared/data/hf-daily-papers/hf_daily_papers_api_2024-05-27_to_2026-08-21.jsonl.gz
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests")]
import hosts  # noqa: E402  (tests/hosts.py)
import postgres  # noqa: E402  (tests/postgres.py)
from load_bench import LUA, PYTHON, WRK, run_wrk, wait_until_up  # noqa: E402

ARXIV = REPO.parent / "shared" / "data" / "arxiv-cs-daily" / "arxiv_cs_daily_2025-03-18_to_2026-07-01.jsonl.gz"
HF_API = REPO.parent / "shared" / "data" / "hf-daily-papers" / "hf_daily_papers_api_2024-05-27_to_2026-08-21.jsonl.gz"
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
PORT = 8000
# Each request is the next path of the mix; then load_bench's status counting, then a file with wrk's own
# duration, its socket errors by kind and latency percentiles on a grid, finer towards p99, to merge two
# hosts' latencies (asking wrk for its whole histogram, value by value, took seconds: each is a scan).
MIX_LUA = """
local paths = PATHS
local turn = 0
function request()
  turn = turn % #paths + 1
  return wrk.format(nil, paths[turn])
end
"""
QUANTILES_LUA = """
local count_statuses = done
function done(summary, latency, requests)
  count_statuses(summary, latency, requests)
  local out, e = io.open(FILE, "w"), summary.errors
  out:write(string.format("seconds %.2f connect %d read %d write %d timeout %d\\n", summary.duration / 1e6,
                          e.connect, e.read, e.write, e.timeout))
  for i = 1, 126 do  -- 1 to 98 %, then by 0.1 to 99.9, then by 0.01 to 99.99
    local p = i <= 98 and i or i <= 117 and 98 + (i - 98) / 10 or 99.9 + (i - 117) / 100
    out:write(string.format("%g %d\\n", p, latency:percentile(p)))
  end
  out:close()
end
"""


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process's session (uvicorn's workers, the ingest's pool too), then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def interrupted(*_) -> None:
    raise KeyboardInterrupt


def percentile(hosts: list[tuple[int, dict[float, int]]], p: float) -> float:
    """The p-th percentile in ms of several hosts' latencies together, from each host's request count and
    {percent: µs} grid: the least of the grids' latencies that at least p % of all requests took at most
    (a host's share under a latency read off its grid, rounded down). For one host, its own p-th percentile."""
    total = sum(n for n, _ in hosts)
    for us in sorted({us for _, grid in hosts for us in grid.values()}):
        if sum(n * max((q for q, v in grid.items() if v <= us), default=0) for n, grid in hosts) / total >= p:
            return us / 1000
    return float("nan")


class Bench:
    def __init__(self, args, tmp: Path, stack: contextlib.ExitStack):
        self.args, self.tmp, self.stack = args, tmp, stack
        self.net = stack.enter_context(hosts.Network(["db", "a", "b"]))
        self.pg = stack.enter_context(postgres.PostgresServer(listen=self.net.address("db"), prefix=self.net.prefix("db"),
                                                              settings=DURABLE))  # fmt: skip
        self.pg.sql('CREATE DATABASE "site"')
        self.url = self.pg.url("site")

    def dailypapers(self, host: str, *args: str) -> list[str]:
        """`dailypapers ARGS` for `host`, with that host's index folder (run it with self.net.prefix(host))."""
        return [PYTHON, "-m", "dailypapers", "--db", self.url, "--set", f"index_dir={self.tmp / host}-index", *args]

    def run(self, host: str, *args: str) -> str:
        done = subprocess.run([*self.net.prefix(host), *self.dailypapers(host, *args)], cwd=REPO, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"dailypapers {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def start(self, host: str, command: list[str], log: str) -> subprocess.Popen:
        with open(self.tmp / log, "wb") as out:  # own session: stop() ends the whole group
            process = subprocess.Popen([*self.net.prefix(host), *command], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                       env={**os.environ, "COLUMNS": "200"}, start_new_session=True)  # fmt: skip
        self.stack.callback(stop, process)
        return process

    def seq_and_papers(self) -> tuple[int, int]:
        row = self.pg.sql("SELECT (SELECT value FROM meta WHERE key = 'seq'), (SELECT count(*) FROM papers)", "site")
        seq, papers = row.strip().split("|")
        return int(seq or 0), int(papers)

    def load(self, paths: list[str], duration: int, phase: str) -> dict:
        """One wrk per host, at once; per host and merged figures."""
        lua = MIX_LUA.replace("PATHS", "{" + ", ".join(json.dumps(p) for p in paths) + "}") + LUA
        wrk_args = argparse.Namespace(threads=self.args.threads, connections=self.args.connections, duration=duration)
        scripts = {}
        for host in ("a", "b"):
            scripts[host] = self.tmp / f"{phase}-{host}.lua"
            scripts[host].write_text(lua + QUANTILES_LUA.replace("FILE", json.dumps(f"{scripts[host]}.latency")))
        started = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            futures = {h: pool.submit(run_wrk, f"http://{self.net.address(h)}:{PORT}/", wrk_args, s) for h, s in scripts.items()}
            results = {h: f.result() for h, f in futures.items()}
        self.window = (started, time.monotonic())
        for host, result in results.items():
            result["grid"], result["detail"] = {}, "no figures from the Lua script: counted as an error"
            result["errors"] += not Path(f"{scripts[host]}.latency").exists()
            with contextlib.suppress(OSError):
                first, *lines = Path(f"{scripts[host]}.latency").read_text().splitlines()
                words = first.split()
                kinds = ", ".join(f"{kind} {n}" for kind, n in zip(words[2::2], words[3::2]) if n != "0")
                result["detail"] = f"{result['codes']}  in {words[1]} s" + (f"  socket errors: {kinds}" if kinds else "")
                result["grid"] = {float(q): int(us) for q, us in (line.split() for line in lines)}
        grids = {host: [(r["requests"], r["grid"])] for host, r in results.items()}
        results["total"] = {"rps": sum(r["rps"] for r in results.values()),
                            **{k: sum(r[k] for r in results.values()) for k in ("requests", "socket", "non2xx", "errors")}}  # fmt: skip
        grids["total"] = [grid for host in ("a", "b") for grid in grids[host]]
        for host, result in results.items():
            result["p50"], result["p99"] = percentile(grids[host], 50), percentile(grids[host], 99)
        return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=30, help="seconds of each measured phase (default 30)")
    ap.add_argument("--warmup", type=int, default=3, help="unreported seconds of load first (default 3)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections per host (default 32)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads per host (default 1)")
    ap.add_argument("--timeout", type=int, default=10,
                    help="seconds wrk waits for an answer before it counts a timeout (default 10; wrk's own is 2)")
    ap.add_argument("--workers", type=int, default=1, help="serve worker processes per host (default 1)")
    ap.add_argument("--ingest", nargs=2, action="append", metavar=("KIND", "FILE"),
                    help="what host a ingests during the second phase, e.g. hf-daily FILE; repeat it for several, one "
                         "after the other (default: arxiv-snapshot of the arXiv cs sample, then hf-daily of the HF API file)")
    ap.add_argument("--search", default="language model", help="words of the search request in the mix ('' for none)")
    args = ap.parse_args()
    args.ingest = args.ingest or [["arxiv-snapshot", str(ARXIV)], ["hf-daily", str(HF_API)]]
    why = hosts.available() or postgres.available() or (None if os.access(WRK, os.X_OK) else f"{WRK} not found")
    if why:
        sys.exit(why)
    signal.signal(signal.SIGTERM, interrupted)  # clean up when killed too

    tmp = Path(tempfile.mkdtemp(prefix="dp-two-hosts-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        try:
            bench = Bench(args, tmp, stack)
            bench.run("a", "demo", "--no-serve")
            latest = re.search(r"last_day: (\S+)", bench.run("a", "stats")).group(1)
            paths = ["/", f"/papers/date/{latest}", "/api/daily_papers"]
            if args.search:
                paths.append("/api/papers/search?" + urlencode({"q": args.search, "mode": "lexical", "limit": 10}))
            for host in ("a", "b"):
                site = bench.start(host, bench.dailypapers(host, "serve", "--host", bench.net.address(host), "--port", str(PORT),
                                                           "--workers", str(args.workers)), log=f"serve-{host}.log")  # fmt: skip
                wait_until_up(site, f"http://{bench.net.address(host)}:{PORT}/api/daily_papers", tmp / f"serve-{host}.log")
            seq0, papers0 = bench.seq_and_papers()
            print(f"load_two_hosts  {time.strftime('%Y-%m-%d %H:%M')}  nproc={os.cpu_count()}  load average "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}  (the box is shared: other work may be running)")
            print(f"PostgreSQL on db ({', '.join(f'{k}={v}' for k, v in DURABLE.items())}); demo catalog of {papers0:,} "
                  f"papers; serve --workers {args.workers} on a and b; per host wrk -t{args.threads} -c{args.connections} "
                  f"-d{args.duration}s over {len(paths)} paths: {' '.join(paths)}")  # fmt: skip

            bench.load(paths, args.warmup, "warmup")
            results = {"baseline": bench.load(paths, args.duration, "baseline")}
            started = time.monotonic()  # the files one after the other, in one shell on host a
            script = " && ".join(shlex.join(bench.dailypapers("a", "ingest", kind, file)) for kind, file in args.ingest)
            ingest = bench.start("a", ["sh", "-c", script], log="ingest.log")
            ended_at: list[float] = []  # when the ingest's shell exited, as seen by a thread that waits for it
            threading.Thread(target=lambda: (ingest.wait(), ended_at.append(time.monotonic())), daemon=True).start()
            while bench.seq_and_papers()[0] == seq0 and ingest.poll() is None:  # wait for its first commit
                time.sleep(0.2)
            first_write = time.monotonic() - started
            seq1, papers1 = bench.seq_and_papers()
            results["ingest"] = bench.load(paths, args.duration, "ingest")
            seq2, papers2 = bench.seq_and_papers()  # a few ms after wrk ended: the rows of a commit or two more
            window, window_end = bench.window
            ended = ingest.poll()
            ingest_log = (tmp / "ingest.log").read_text()
        except KeyboardInterrupt:
            sys.exit("interrupted (servers and namespaces cleaned up)")

    head = f"{'phase':<9} {'host':<5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'sock err':>8} {'non2xx3xx':>9}  status codes, wrk's duration, socket errors"
    print(f"\n{head}\n{'-' * len(head)}")
    for phase, by_host in results.items():
        for host, r in by_host.items():
            print(f"{phase:<9} {host:<5} {r['rps']:>8,.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['requests']:>9,} "
                  f"{r['socket']:>8,} {r['non2xx']:>9,}  {r.get('detail', '')}")  # fmt: skip
            if r.get("raw"):
                print(f"  wrk failed or printed no figures:\n{r['raw']}")
    print(f"\ningest on host a: {', then '.join(f'{kind} {Path(file).name}' for kind, file in args.ingest)}; first commit "
          f"{first_write:.1f} s after it started ({seq1 - seq0:,} rows written before the window)")
    print(f"during the {window_end - window:.1f} s of wrk it wrote {seq2 - seq1:,} papers (inserted or updated; "
          f"{papers2 - papers1:,} new); catalog {papers0:,} -> {papers2:,} papers by the end")
    reports = [line for line in ingest_log.splitlines() if " records in " in line]
    print("its reports: " + (" | ".join(reports) if reports else "-"))
    if ended is None:
        print("it was still running when wrk ended, so it overlapped the whole window (stopped now; it would resume)")
    else:
        print(f"it ENDED (exit {ended}) {ended_at[0] - window if ended_at else float('nan'):.1f} s into the "
              f"{window_end - window:.1f} s window: it overlapped only that part of the load")
    errors = sum(by_host["total"]["errors"] for by_host in results.values()) + (1 if ended not in (None, 0) else 0)
    print(f"\nerrors: {errors}" + ("" if errors == 0 else "  (socket errors + non-2xx/3xx responses, or the ingest failed)"))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
