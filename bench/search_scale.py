"""Search at a million papers: index build time, hybrid query latency (query embedding included) and
the serving process's peak memory.

    .venv/bin/python bench/search_scale.py --workdir /tmp/dp-scale          # build (~15-25 min) + measure
    .venv/bin/python bench/search_scale.py --workdir /tmp/dp-scale --measure-only

The corpus: the 74,728 real arXiv cs papers of ../shared/data/arxiv-cs-daily plus deterministic
synthetic papers made from them (a title of words from two real titles, an abstract of sentences from
several real abstracts), up to --papers. Vectors: --embed-real real papers are embedded with the model;
every other paper gets a mix of two or three of those vectors plus noise (the model is not run a million
times). Queries: 1,000 realistic ones, two to four consecutive words of real titles.
Measuring runs in a fresh process (`--measure-only`), so peak RSS is that of a serving process:
store + keyword index + vector index + model, after --queries hybrid searches.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
ARXIV = REPO.parent / "shared" / "data" / "arxiv-cs-daily" / "arxiv_cs_daily_2025-03-18_to_2026-07-01.jsonl.gz"
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def real_papers() -> list[dict]:
    with gzip.open(ARXIV, "rb") as fh:
        return [json.loads(line) for line in fh]


def synthetic_records(real: list[dict], count: int, seed: int = 7):
    from dailypapers.records import PaperRecord

    rng = random.Random(seed)
    sentences = [SENTENCE.split(" ".join(p["summary"].split())) for p in real]
    for n in range(count):
        a, b = rng.sample(real, 2)
        words_a, words_b = a["title"].split(), b["title"].split()
        title = " ".join(words_a[: max(2, len(words_a) // 2)] + words_b[len(words_b) // 2 :])
        picks = [rng.choice(sentences[rng.randrange(len(real))]) for _ in range(rng.randint(4, 8))]
        month, number = divmod(n, 99_999)
        yield PaperRecord(
            id=f"{3001 + month // 12 * 100 + month % 12}.{number + 1:05d}",  # YYMM.NNNNN in 2030 and later
            source="arxiv", observed="2030-01-01", title=title, abstract=" ".join(picks),
            authors=[{"name": x} for x in (a.get("authors") or [])[:3]] or None,
            categories=b.get("categories"), published_at=f"2030-{month % 12 + 1:02d}-01T00:00:00.000Z",
        )  # fmt: skip


def build(workdir: Path, papers: int, embed_real: int) -> None:
    from dailypapers.ingest import arxiv_snapshot
    from dailypapers.ingest.runner import Runner
    from dailypapers.search import Search, lexical
    from dailypapers.search.embed import model_key, paper_text, text_hash
    from dailypapers.search.encoder import Encoder
    from dailypapers.search.vectors import quantize
    from dailypapers.store import Store

    workdir.mkdir(parents=True, exist_ok=True)
    store = Store(workdir / "scale.db")
    started = time.perf_counter()
    Runner(store, "arxiv", "scale-real", show_progress=False).run(arxiv_snapshot.read_file(ARXIV), refresh_index=False)
    real = real_papers()
    batch = []
    for record in synthetic_records(real, papers - store.count_papers()):
        batch.append(record)
        if len(batch) == 5000:
            store.apply(batch)
            batch = []
    store.apply(batch)
    print(f"catalog: {store.count_papers():,} papers in {time.perf_counter() - started:.0f} s", flush=True)

    encoder = Encoder.load()
    search = Search(store, encoder=encoder)
    started = time.perf_counter()
    lexical.refresh(store, search.keyword)
    print(f"keyword index build: {time.perf_counter() - started:.0f} s", flush=True)

    model = model_key(encoder)
    rng = np.random.default_rng(11)
    rows = store.to_embed(model, limit=embed_real)
    started = time.perf_counter()
    base = encoder.encode([paper_text(r.title, r.abstract) for r in rows])
    print(f"embedded {len(rows):,} real papers in {time.perf_counter() - started:.0f} s "
          f"({len(rows) / (time.perf_counter() - started):.1f}/s)", flush=True)  # fmt: skip
    store.save_embeddings(model, [(r.pk, text_hash(paper_text(r.title, r.abstract)), *quantize(v)) for r, v in zip(rows, base)],
                          store.embedded_seq(model))  # fmt: skip
    while batch := store.to_embed(model, limit=20_000):
        rows = [r for r in batch if r.text_hash is None]  # the real papers embedded above keep their vectors
        picks = rng.integers(0, len(base), size=(len(rows), 3))
        weights = rng.dirichlet([1.0, 1.0, 0.5], size=len(rows)).astype(np.float32)
        mixed = np.einsum("nk,nkd->nd", weights, base[picks]) + rng.normal(0, 0.02, (len(rows), base.shape[1]))
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        store.save_embeddings(model, [(r.pk, "synthetic", *quantize(v.astype(np.float32))) for r, v in zip(rows, mixed)], batch[-1].seq)
    started = time.perf_counter()
    search.vectors.refresh(store)
    print(f"vector index build: {time.perf_counter() - started:.0f} s ({len(search.vectors):,} vectors)", flush=True)
    store.close()


def queries(count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    titles = [p["title"] for p in real_papers()]
    out = []
    while len(out) < count:
        words = re.findall(r"[A-Za-z][A-Za-z-]+", rng.choice(titles))
        if len(words) >= 4:
            start, size = rng.randrange(len(words) - 2), rng.randint(2, 4)
            out.append(" ".join(words[start : start + size]))
    return out


def measure(workdir: Path, count: int) -> None:
    from dailypapers.search import Search
    from dailypapers.store import Store

    started = time.perf_counter()
    search = Search(Store(workdir / "scale.db"))
    search.load_model()
    print(f"serving process ready in {time.perf_counter() - started:.1f} s "
          f"({len(search.vectors):,} vectors, exact search: {len(search.vectors) < 50_000})")  # fmt: skip
    texts = queries(count)
    for text in texts[:20]:  # warm-up: page cache, first allocations
        search.find(text, limit=20)
    modes = {}
    for mode in ("hybrid", "lexical", "semantic"):
        times = []
        for text in texts if mode == "hybrid" else texts[:300]:
            started = time.perf_counter()
            found = search.find(text, mode=mode, limit=20)
            times.append(time.perf_counter() - started)
            assert found.mode == mode, found.note
        times.sort()
        modes[mode] = times
        print(f"{mode:<8} {len(times):>5} queries  p50 {times[len(times) // 2] * 1000:6.1f} ms  "
              f"p99 {times[int(len(times) * 0.99)] * 1000:6.1f} ms  max {times[-1] * 1000:6.1f} ms")  # fmt: skip
    print(f"peak RSS of the serving process: {peak_rss_mb():,.0f} MB")


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not getrusage's ru_maxrss, which a process
    started by another inherits across fork and exec: measured right after the build, ru_maxrss
    reported the builder's 1.8 GB rather than the server's 1.4."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--papers", type=int, default=1_000_000)
    ap.add_argument("--embed-real", type=int, default=3000, help="real papers run through the model")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--measure-only", action="store_true")
    args = ap.parse_args()
    print(f"search_scale  nproc={os.cpu_count()}" + ("" if args.measure_only else f"  papers={args.papers:,}"), flush=True)
    if not args.measure_only:
        build(args.workdir, args.papers, args.embed_real)
        subprocess.run([sys.executable, __file__, "--workdir", str(args.workdir), "--queries", str(args.queries), "--measure-only"], check=True)
        return
    measure(args.workdir, args.queries)


if __name__ == "__main__":
    main()
