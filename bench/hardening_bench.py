"""What a burst of log-ins, a burst of guesses and a huge request body cost a `serve --workers 2`.

The memory parts run the server twice in one go, once as the code was before (no bound on the hashes at
once, no body limit: those settings set to 0) and once with the defaults, and print both:

- guesses: 80 wrong passwords at one account from one address at once (default limits): how many were
  evaluated (401) and refused unevaluated (429) (before: 54 of 80 evaluated, measured with the test
  tests/test_login_limits.py run against the code before);
- login burst: 120 log-ins at once at 120 accounts (rate limits off, so every one is hashed): the
  workers' resident memory before and at its peak (sampled every 20 ms), and how long the burst took;
- large body: a 100 MB JSON comment sent without a token: the answer, how long it took, and the
  workers' memory after it.

Run by hand from the repository root (never part of the test suite):

    .venv/bin/python bench/hardening_bench.py
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from dailypapers import accounts
from dailypapers.store import Store

REPO = Path(__file__).resolve().parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
PASSWORD = "correct horse battery"
NO_LIMITS = ["logins_per_hour=0", "failed_logins=0", "account_failed_logins_per_day=0", "signups_per_hour=0"]


def cli(db: Path, *args: str) -> None:
    done = subprocess.run([PYTHON, "-m", "dailypapers", "--db", str(db), *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"dailypapers {' '.join(args)} failed:\n{done.stderr}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db: Path, settings: list[str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        sets = [arg for setting in settings for arg in ("--set", setting)]
        self.process = subprocess.Popen([PYTHON, "-m", "dailypapers", "--db", str(db), *sets, "serve", "--workers", "2",
                                         "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{self.url}/api/daily_papers?limit=1", timeout=10).status_code == 200 and len(self.workers()) == 2:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                sys.exit("the server did not start")
            time.sleep(0.2)

    def workers(self) -> list[int]:
        """uvicorn's worker processes (the children running the app, not multiprocessing's helpers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def rss_mb(self) -> float:
        total = 0
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total / 1024

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=120)


class PeakRSS:
    def __init__(self, server: Server):
        self.server, self.peak, self._stop = server, server.rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss_mb())
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def log_in(url: str, name: str, password: str, address: str | None = None) -> int:
    headers = {"Origin": url, **({"X-Forwarded-For": address} if address else {})}
    return httpx.post(f"{url}/login", data={"username": name, "password": password}, headers=headers, timeout=600).status_code


def guesses(db: Path, label: str, settings: list[str]) -> None:
    server = Server(db, [*settings, "forwarded_allow_ips=127.0.0.1"])
    try:
        with ThreadPoolExecutor(80) as pool:
            answers = Counter(pool.map(lambda _: log_in(server.url, "user0", "wrong password", "203.0.113.7"), range(80)))
        print(f"  {label:<28} evaluated (401): {answers[401]:>3}   refused (429): {answers[429]:>3}")
    finally:
        server.stop()


def login_burst(db: Path, label: str, settings: list[str]) -> None:
    server = Server(db, [*settings, *NO_LIMITS])
    try:
        before = server.rss_mb()
        started = time.monotonic()
        with PeakRSS(server) as peak, ThreadPoolExecutor(120) as pool:
            answers = Counter(pool.map(lambda i: log_in(server.url, f"user{i}", PASSWORD), range(120)))
        took = time.monotonic() - started
        time.sleep(1)
        print(f"  {label:<28} workers {before:>6.0f} MB before, peak {peak.peak:>6.0f} MB, {server.rss_mb():>6.0f} MB after;"
              f" {took:5.1f} s; answers {dict(answers)}")  # fmt: skip
    finally:
        server.stop()


def large_body(db: Path, label: str, settings: list[str]) -> None:
    server = Server(db, settings)
    try:
        paper = httpx.get(f"{server.url}/api/daily_papers?limit=1").json()[0]["paper"]["id"]
        before = server.rss_mb()
        body = b'{"body": "' + b"x" * 100_000_000 + b'"}'
        started = time.monotonic()
        try:
            answer = httpx.post(f"{server.url}/api/papers/{paper}/comments", content=body,
                                headers={"Content-Type": "application/json"}, timeout=600)  # fmt: skip
            status = answer.status_code
        except httpx.TransportError as exc:  # the server answered and closed before taking it all
            status = type(exc).__name__
        took = time.monotonic() - started
        time.sleep(1)
        print(f"  {label:<28} answer {status}, {took:5.2f} s; workers {before:>6.0f} MB before, {server.rss_mb():>6.0f} MB after")
    finally:
        server.stop()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="hardening-bench-"))
    try:
        db = folder / "demo.db"
        cli(db, "demo", "--no-serve")
        store, password_hash = Store(db), accounts.hash_password(PASSWORD)
        for i in range(120):
            store.create_user(f"user{i}", f"user{i}@example.org", password_hash)
        store.close()
        print("80 concurrent guesses at one account from one address (default limits):")
        guesses(db, "now", [])
        print("120 concurrent log-ins at 120 accounts (rate limits off):")
        login_burst(db, "hashes at once: unbounded", ["password_hashes_at_once=0"])
        login_burst(db, "hashes at once: 2 (default)", [])
        print("a 100 MB JSON comment without a token:")
        large_body(db, "no body limit", ["max_body_bytes=0"])
        large_body(db, "max_body_bytes 1 MB (default)", [])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
