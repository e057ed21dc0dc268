"""SQLite FTS5 against tantivy on real arXiv abstracts: index build time and query latency.

    .venv/bin/pip install tantivy
    .venv/bin/python bench/keyword_engines.py [--docs 200000] [--queries 300]

Documents are the 74,728 real papers of ../shared/data/arxiv-cs-daily; beyond that, deterministic
synthetic papers made by recombining real titles and real abstract sentences (seeded). Queries are
short phrases cut from real titles (2-4 words), the kind of thing people type. Both engines index
title, authors and abstract with BM25 and the same field weights as dailypapers (4, 2, 1), and return
the top 20. Run by hand; prints figures.
"""

from __future__ import annotations

import argparse
import gzip
import random
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
ARXIV = ROOT.parent / "shared/data/arxiv-cs-daily/arxiv_cs_daily_2025-03-18_to_2026-07-01.jsonl.gz"
WEIGHTS = (4.0, 2.0, 1.0)
TOP = 20


def real_papers() -> list[tuple[str, str, str]]:
    with gzip.open(ARXIV, "rb") as fh:
        return [(d["title"], ", ".join(d["authors"]), " ".join(d["summary"].split())) for d in map(orjson.loads, fh)]


def corpus(size: int, seed: int = 7):
    papers = real_papers()
    yield from papers[:size]
    rng = random.Random(seed)
    sentences = [s for _, _, abstract in papers for s in re.split(r"(?<=\.) ", abstract) if len(s) > 40]
    titles = [t.split() for t, _, _ in papers]
    for _ in range(max(size - len(papers), 0)):
        a, b = rng.choice(titles), rng.choice(titles)
        title = " ".join(a[: len(a) // 2] + b[len(b) // 2 :])
        yield title, rng.choice(papers)[1], " ".join(rng.choice(sentences) for _ in range(rng.randint(4, 8)))


def queries(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    words = [[w for w in re.findall(r"[A-Za-z][A-Za-z-]+", t) if len(w) > 2] for t, _, _ in real_papers()]
    words = [w for w in words if len(w) >= 4]
    out = []
    for _ in range(count):
        title = rng.choice(words)
        n = rng.randint(2, 4)
        start = rng.randint(0, len(title) - n)
        out.append(" ".join(title[start : start + n]).lower())
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(int(q * len(values)), len(values) - 1)]


def time_queries(search, texts: list[str]) -> list[float]:
    for text in texts[:20]:  # warm caches
        search(text)
    latencies = []
    for text in texts:
        started = time.perf_counter()
        search(text)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def fts5(folder: Path, docs: list[tuple[str, str, str]], texts: list[str]):
    con = sqlite3.connect(folder / "fts.db")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(title, authors, abstract, tokenize='porter unicode61 remove_diacritics 2')")
    started = time.perf_counter()
    with con:
        con.executemany("INSERT INTO f(title, authors, abstract) VALUES (?, ?, ?)", docs)
    build = time.perf_counter() - started
    sql = f"SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f, {', '.join(map(str, WEIGHTS))}) LIMIT {TOP}"

    def search(text: str):
        expression = " ".join(f'"{w}"' for w in re.findall(r"\w+", text))
        return con.execute(sql, (expression,)).fetchall()

    return build, time_queries(search, texts), sum(p.stat().st_size for p in folder.glob("fts.db*"))


def tantivy_engine(folder: Path, docs: list[tuple[str, str, str]], texts: list[str]):
    import tantivy

    builder = tantivy.SchemaBuilder()
    for name in ("title", "authors", "abstract"):
        builder.add_text_field(name, stored=False, tokenizer_name="en_stem")
    builder.add_integer_field("pk", stored=True, indexed=True, fast=True)
    schema = builder.build()
    path = folder / "tantivy"
    path.mkdir()
    index = tantivy.Index(schema, path=str(path))
    started = time.perf_counter()
    writer = index.writer(heap_size=300_000_000, num_threads=2)
    for pk, (title, authors, abstract) in enumerate(docs):
        writer.add_document(tantivy.Document(pk=pk, title=title, authors=authors, abstract=abstract))
    writer.commit()
    writer.wait_merging_threads()
    build = time.perf_counter() - started
    index.reload()
    searcher = index.searcher()
    boosts = dict(zip(("title", "authors", "abstract"), WEIGHTS))

    def search(text: str):
        words = re.findall(r"\w+", text)
        query = index.parse_query(" AND ".join(f'"{w}"' for w in words), list(boosts), field_boosts=boosts)
        return searcher.search(query, TOP).hits

    return build, time_queries(search, texts), sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    docs = list(corpus(args.docs))
    texts = queries(args.queries)
    print(f"keyword_engines  {time.strftime('%Y-%m-%d %H:%M')}  docs={len(docs):,}  queries={len(texts)}  "
          f"sqlite {sqlite3.sqlite_version}")  # fmt: skip
    print(f"{'engine':<10}{'build s':>9}{'size MB':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    for name, engine in (("fts5", fts5), ("tantivy", tantivy_engine)):
        folder = Path(tempfile.mkdtemp(prefix=f"kw-{name}-"))
        try:
            build, latencies, size = engine(folder, docs, texts)
        except ImportError as exc:
            print(f"{name:<10} skipped: {exc}")
            continue
        print(f"{name:<10}{build:>9.1f}{size / 1e6:>9.0f}{statistics.median(latencies):>9.2f}"
              f"{percentile(latencies, 0.9):>9.2f}{percentile(latencies, 0.99):>9.2f}{statistics.mean(latencies):>9.2f}")  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
