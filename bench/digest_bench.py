"""Digests for 10,000 confirmed subscribers, composed and delivered to a local SMTP server.

    .venv/bin/python bench/digest_bench.py [--subscribers 10000] [--distinct-searches 2000] [--connections 2] [--workdir DIR]

The store is the demo database (`dailypapers demo --no-serve`, built in the work folder). Half the
subscribers get the trending digest (top 10), half one saved search drawn from a pool of realistic
queries (2-4 consecutive words of real titles), so popular searches are shared as they would be.
The SMTP server (aiosmtpd, discarding what it receives) runs in its own process.
Prints: the time to queue the digests (choosing papers: searches, trending, what each was already
sent), the time to render and send them, mails per second, and the share of time spent composing
(choosing + rendering) as opposed to talking SMTP and recording each mail as sent.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SMTP_SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
class Sink:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
print(Sink.count, flush=True)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queries(titles: list[str], count: int, rng: random.Random) -> list[str]:
    out = []
    while len(out) < count:
        words = re.findall(r"[A-Za-z][A-Za-z-]+", rng.choice(titles))
        if len(words) >= 4:
            start = rng.randrange(len(words) - 2)
            out.append(" ".join(words[start : start + rng.randint(2, 4)]))
    return out


def add_subscribers(store, count: int, distinct: int, seed: int = 5) -> None:
    """Confirmed subscribers written in bulk (a benchmark's shortcut past double opt-in)."""
    from dailypapers.store.schema import subscribers
    from dailypapers.store.subscriptions import stamp

    rng = random.Random(seed)
    latest = store.latest_day()
    titles = [p["title"] for p in store.papers_page(None, 100)] + [p["title"] for p in store.feed(
        *[__import__("datetime").date.fromisoformat(latest)] * 2, limit=100)[0]]  # fmt: skip
    pool = queries(titles, distinct, rng)
    now = stamp()
    rows = []
    for n in range(count):
        search = n % 2 == 1
        rows.append({"email": f"reader{n}@example.org", "frequency": "daily", "top": 0 if search else 10,
                     "searches": [rng.choice(pool)] if search else [], "authors": [], "organizations": [],
                     "status": "confirmed", "feed_token": secrets.token_urlsafe(24), "created_at": now,
                     "confirmed_at": now})  # fmt: skip
    with store.writer.begin() as conn:
        conn.execute(subscribers.insert(), rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--distinct-searches", type=int, default=2_000)
    ap.add_argument("--connections", type=int, default=2, help="SMTP connections at once (setting smtp_connections)")
    ap.add_argument("--workdir", type=Path)
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dp-digest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "demo.db"
    for leftover in workdir.glob("demo.db*"):
        subprocess.run(["rm", "-rf", str(leftover)], check=True)
    subprocess.run([sys.executable, "-m", "dailypapers", "--db", str(db), "demo", "--no-serve"], check=True, capture_output=True)

    from dailypapers import digest
    from dailypapers.config import Config
    from dailypapers.search import Search
    from dailypapers.store import Store

    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SMTP_SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    config = Config({"db": str(db), "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_connections": args.connections},
                    environ={})  # fmt: skip
    store = Store(db)
    add_subscribers(store, args.subscribers, args.distinct_searches)
    search = Search(store, encoder=None)
    targets = digest.parse_periods("daily", store.latest_day())
    print(f"{args.subscribers:,} confirmed subscribers (half trending top 10, half one of {args.distinct_searches:,} saved "
          f"searches); period {targets[0][1].label}; {args.connections} SMTP connections; nproc {os.cpu_count()}", flush=True)  # fmt: skip

    started = time.perf_counter()
    runs = digest.queue(store, search, targets)
    queued_s = time.perf_counter() - started
    report = digest.Sender(store, config, digest.renderer(store, config)).run()
    total_s = time.perf_counter() - started
    sink.stdin.close()
    received = int(sink.stdout.readline())
    queued = sum(r.queued for r in runs)
    send_s = total_s - queued_s
    print(f"queued {queued:,} digests in {queued_s:.1f} s ({args.subscribers - queued:,} had nothing new: not sent)")
    print(f"rendered and sent {report.sent:,} in {send_s:.1f} s (rendering {report.render_s:.1f} s); server received {received:,}")
    print(f"total {total_s:.1f} s: {report.sent / total_s:,.0f} mails/s; composing (choosing + rendering) "
          f"{(queued_s + report.render_s) / total_s:.0%} of the time, SMTP and bookkeeping {(send_s - report.render_s) / total_s:.0%}")  # fmt: skip
    store.close()


if __name__ == "__main__":
    main()
