"""Retrieval evaluation on a BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).

`dailypapers eval DIR` indexes the corpus with the same keyword index the site uses (in a temporary
folder) and embeds it with the site's model, runs every query of the split and prints nDCG@10,
Recall@100 and MRR@10 for lexical, semantic and hybrid (the site's fusion); in the same run it
scores a reference BM25 implementation (the `bm25s` package, if installed) on the same data, so a
change to the engine can be judged against a fixed yardstick.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from . import lexical
from .embed import model_key, paper_text, text_hash
from .fusion import fuse
from .query import Query

DEPTH = 100


@dataclass
class Benchmark:
    doc_ids: list[str]
    titles: list[str]
    texts: list[str]
    queries: dict[str, str]  # only those with relevance judgements in the split
    qrels: dict[str, dict[str, int]]


def load(folder: Path, split: str = "test", max_docs: int | None = None) -> Benchmark:
    """The split's judged queries and the corpus; with `max_docs`, a subset of it (see `subset`)."""
    qrels_file = folder / "qrels" / f"{split}.tsv"
    for needed in (folder / "corpus.jsonl", folder / "queries.jsonl", qrels_file):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing: a BEIR folder has corpus.jsonl, queries.jsonl, qrels/{split}.tsv")
    doc_ids, titles, texts = [], [], []
    with open(folder / "corpus.jsonl", "rb") as fh:
        for line in fh:
            doc = orjson.loads(line)
            doc_ids.append(str(doc["_id"]))
            titles.append(doc.get("title") or "")
            texts.append(doc.get("text") or "")
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(qrels_file) as fh:
        for number, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if number == 0 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            query_id, doc_id, score = parts
            qrels[query_id][doc_id] = int(score)
    with open(folder / "queries.jsonl", "rb") as fh:
        queries = {str(q["_id"]): q["text"] for q in map(orjson.loads, fh) if str(q["_id"]) in qrels}
    bench = Benchmark(doc_ids, titles, texts, queries, dict(qrels))
    return subset(bench, max_docs) if max_docs is not None else bench


def subset(bench: Benchmark, max_docs: int) -> Benchmark:
    """`max_docs` documents: every judged one, then the others in the order of a hash of their id, so the
    same corpus always gives the same subset whatever its file order (never fewer than the judged ones).
    The kept documents stay in corpus order."""
    if max_docs < 1:
        raise ValueError(f"max_docs must be at least 1, not {max_docs}")
    judged = {doc for relevant in bench.qrels.values() for doc in relevant} & set(bench.doc_ids)
    others = sorted(set(bench.doc_ids) - judged, key=lambda doc: (hashlib.sha256(doc.encode()).digest(), doc))
    keep = judged.union(others[: max(max_docs - len(judged), 0)])
    rows = [n for n, doc in enumerate(bench.doc_ids) if doc in keep]
    return Benchmark([bench.doc_ids[n] for n in rows], [bench.titles[n] for n in rows], [bench.texts[n] for n in rows],
                     bench.queries, bench.qrels)  # fmt: skip


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    gain = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sum(score / math.log2(rank + 2) for rank, score in enumerate(sorted(relevant.values(), reverse=True)[:k]))
    return gain / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {doc for doc, score in relevant.items() if score > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def score(bench: Benchmark, retrieve: Callable[[str], list[str]]) -> dict[str, float]:
    totals = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for query_id, text in bench.queries.items():
        ranked, relevant = retrieve(text), bench.qrels[query_id]
        totals["ndcg@10"] += ndcg_at(ranked, relevant)
        totals["recall@100"] += recall_at(ranked, relevant)
        totals["mrr@10"] += mrr_at(ranked, relevant)
    return {name: round(value / max(len(bench.queries), 1), 4) for name, value in totals.items()}


Retriever = Callable[[str], list[tuple[str, float]]]  # query -> (doc id, score), best first


def lexical_retriever(bench: Benchmark, folder: Path) -> Retriever:
    index = lexical.KeywordIndex(folder / "keyword", "evaluation")
    docs = [lexical.IndexDoc(n, title, "", text) for n, (title, text) in enumerate(zip(bench.titles, bench.texts))]
    index.replace(docs, known_new=True)
    # Benchmark queries are plain text: their quotes and dashes are not search syntax.
    return lambda text: [(bench.doc_ids[pk], score) for pk, score in index.scored(Query(words=lexical.query_terms(text)), DEPTH)]


def reference_retriever(bench: Benchmark) -> Callable[[str], list[str]] | None:
    try:
        import bm25s
    except ImportError:
        return None
    tokens = bm25s.tokenize([f"{t} {x}" for t, x in zip(bench.titles, bench.texts)], stopwords="en", show_progress=False)
    model = bm25s.BM25()
    model.index(tokens, show_progress=False)

    def retrieve(text: str) -> list[str]:
        found, _ = model.retrieve(bm25s.tokenize([text], stopwords="en", show_progress=False), k=min(DEPTH, len(bench.doc_ids)),
                                  show_progress=False)  # fmt: skip
        return [bench.doc_ids[i] for i in found[0]]

    return retrieve


def semantic_retriever(bench: Benchmark, encoder, cache: Path | None = None, progress=None) -> Retriever:
    """Nearest documents by cosine of the encoder's embeddings (title. text, as papers are embedded).

    Embedding a corpus takes minutes on a CPU: with `cache`, the vectors are kept in that folder under
    a name made of the corpus's and the model's identity, and reused."""
    texts = [paper_text(title, text) for title, text in zip(bench.titles, bench.texts)]
    key = text_hash("\n".join(texts) + model_key(encoder))
    path = cache / f"vectors-{key}.npy" if cache else None
    if path and path.exists():
        matrix = np.load(path)
    else:
        parts = []
        for start in range(0, len(texts), 256):
            parts.append(encoder.encode(texts[start : start + 256]))
            if progress:
                progress(len(parts[-1]))
        matrix = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, matrix)

    def retrieve(text: str) -> list[tuple[str, float]]:
        scores = matrix @ encoder.encode([text])[0]
        top = np.argsort(-scores, kind="stable")[:DEPTH]
        return [(bench.doc_ids[i], float(scores[i])) for i in top]

    return retrieve


MODES = ("lexical", "semantic", "hybrid")


def evaluate(folder: Path, split: str = "test", modes: tuple[str, ...] = MODES, encoder=None, cache: Path | None = None,
             progress=None, max_docs: int | None = None) -> dict[str, dict[str, float] | None]:  # fmt: skip
    """Figures per mode, plus "reference_bm25" (None when bm25s is not installed). Semantic and hybrid
    need `encoder`; hybrid fuses the lexical and semantic rankings exactly as the site does. `max_docs`
    scores on a subset of the corpus (see `subset`)."""
    bench = load(folder, split, max_docs)
    results: dict[str, dict[str, float] | None] = {}
    with tempfile.TemporaryDirectory(prefix="dailypapers-eval-") as scratch:
        scored: dict[str, Retriever] = {}
        if {"lexical", "hybrid"} & set(modes):
            scored["lexical"] = lexical_retriever(bench, Path(scratch))
        if {"semantic", "hybrid"} & set(modes):
            scored["semantic"] = semantic_retriever(bench, encoder, cache, progress)
        retrievers = {mode: (lambda text, r=r: [doc for doc, _ in r(text)]) for mode, r in scored.items()}
        if "hybrid" in modes:
            retrievers["hybrid"] = lambda text: fuse(scored["lexical"](text), scored["semantic"](text))
        for mode in modes:
            results[mode] = score(bench, retrievers[mode])
    reference = reference_retriever(bench)
    results["reference_bm25"] = score(bench, reference) if reference else None
    return results
