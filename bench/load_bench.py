"""Load-test the served site with wrk: the daily page, a day page and the JSON API.

Run by hand from the repository root (never part of the test suite):

    .venv/bin/python bench/load_bench.py [--duration 30] [--connections 64] [--threads 2] [--workers 1] [--week]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
WRK = "/usr/bin/wrk"
# Counts responses by status code; each wrk thread has its own Lua state, so done() sums them.
LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) codes = {} end
function response(status, headers, body) codes[status] = (codes[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %d: %d\\n", k, v)) end
end
"""
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}  # wrk's latency units, as milliseconds


def cli(db: Path, *args: str) -> str:
    done = subprocess.run([PYTHON, "-m", "dailypapers", "--db", str(db), *args], capture_output=True, text=True, cwd=REPO)
    if done.returncode:
        sys.exit(f"dailypapers {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(server: subprocess.Popen, url: str, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited ({server.returncode}):\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers, if not with 200; wrk will count the errors
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the server did not answer {url} within {seconds:.0f} s")


def ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()
    return float(value) * UNITS[unit]


def run_wrk(url: str, args, lua: Path) -> dict:
    cmd = [WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "-s", str(lua), url]
    if getattr(args, "timeout", None):  # how long wrk waits for an answer before counting a timeout (its default 2 s)
        cmd[1:1] = ["--timeout", f"{args.timeout}s"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    out = done.stdout + done.stderr
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    line = m.group(0) if (m := re.search(r"Socket errors:.*", out)) else ""
    socket_errors = sum(int(n) for n in re.findall(r"\d+", line))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    codes = {int(k): int(v) for k, v in re.findall(r"status (\d+): (\d+)", out)}
    bad_codes = sum(v for k, v in codes.items() if not 200 <= k < 400)
    failed = done.returncode != 0 or rps is None
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(m.group(1)) if (m := re.search(r"(\d+) requests in", out)) else 0,
        **{f"p{p}": ms(m.group(1)) if (m := re.search(rf"^\s+{p}%\s+(\S+)", out, re.M)) else float("nan")
           for p in (50, 90, 99)},  # fmt: skip
        "socket": socket_errors,
        "non2xx": max(non_2xx, bad_codes),
        "codes": " ".join(f"{k}:{v}" for k, v in sorted(codes.items())) or "-",
        "errors": socket_errors + max(non_2xx, bad_codes) + (1 if failed else 0),
        "raw": out if failed else "",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=30, help="seconds per target (default 30)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="server worker processes (default 1)")
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--db", type=Path, help="an existing database (default: the demo DB, built in a temp dir)")
    ap.add_argument("--week", action="store_true", help="also load /api/daily_papers?week=<latest week>")
    ap.add_argument("--warmup", type=int, default=2, help="unreported seconds of load per target first (default 2)")
    ap.add_argument("--path", action="append", default=[], help="another target path (repeatable)")
    args = ap.parse_args()
    if not os.access(WRK, os.X_OK):
        sys.exit(f"{WRK} not found (apt-get install wrk)")

    tmp = Path(tempfile.mkdtemp(prefix="dp-load-bench-"))
    db = args.db or tmp / "demo.db"
    if not db.exists():
        cli(db, "demo", "--no-serve")
    latest = re.search(r"last_day: (\S+)", cli(db, "stats")).group(1)
    year, week, _ = date.fromisoformat(latest).isocalendar()
    targets = ["/", f"/papers/date/{latest}", "/api/daily_papers"] + (
        [f"/api/daily_papers?week={year}-W{week:02d}"] if args.week else []
    ) + args.path
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    lua = tmp / "status.lua"
    lua.write_text(LUA)
    log = tmp / "server.log"
    nproc = len(os.sched_getaffinity(0))
    wrk_version = subprocess.run([WRK, "-v"], capture_output=True, text=True).stdout.split("\n")[0].split(" Copyright")[0]
    print(f"load_bench  {datetime.now():%Y-%m-%d %H:%M}  nproc={nproc}  python {platform.python_version()}  {wrk_version}")
    print(f"db {db} (latest day {latest}); server workers={args.workers}; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration}s --latency after {args.warmup} s warm-up per target (wrk and the server share the machine's cores)")  # fmt: skip

    with open(log, "wb") as log_fh:  # own session, so the whole group (uvicorn's workers too) can be killed
        server = subprocess.Popen([PYTHON, "-m", "dailypapers", "--db", str(db), "serve", "--port", str(port),
                                   "--workers", str(args.workers)], cwd=REPO, stdout=log_fh, stderr=log_fh,
                                  start_new_session=True)  # fmt: skip
    try:
        wait_until_up(server, base + "/api/daily_papers", log)
        for path in targets if args.warmup else []:  # fills every worker's caches; not reported
            run_wrk(base + path, argparse.Namespace(**{**vars(args), "duration": args.warmup}), lua)
        results = {path: run_wrk(base + path, args, lua) for path in targets}
    except KeyboardInterrupt:
        sys.exit("interrupted")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)

    width = max(len(path) for path in targets)
    head = f"{'target':<{width}} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'requests':>9} " \
           f"{'sock err':>8} {'non2xx3xx':>9}  status codes"  # fmt: skip
    print(f"\n{head}\n{'-' * len(head)}")
    for path, r in results.items():
        print(f"{path:<{width}} {r['rps']:>9,.0f} {r['p50']:>8.1f} {r['p90']:>8.1f} {r['p99']:>8.1f} {r['requests']:>9,} "
              f"{r['socket']:>8,} {r['non2xx']:>9,}  {r['codes']}")  # fmt: skip
        if r["raw"]:
            print(f"  wrk failed or printed no figures:\n{r['raw']}")
    errors = sum(r["errors"] for r in results.values())
    print(f"\nerrors: {errors}" + ("" if errors == 0 else "  (socket errors + non-2xx/3xx responses; see the table)"))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
