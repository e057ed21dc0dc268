"""Embed the bundled demo sample with the bundled model, so the demo's semantic search works at once.

    python scripts/make_demo_vectors.py      # a few minutes on 2 CPU cores

Writes src/dailypapers/data/demo_vectors.npz: arXiv ids, int8 vectors with their scales, the hash of
the text each was made from, and the model's name@version. `dailypapers demo` loads the vectors whose
model and text still match and leaves the rest to `dailypapers embed`.
"""

import gzip
import json
import time
from pathlib import Path

import numpy as np

from dailypapers.records import clean_abstract, clean_title, normalize_id
from dailypapers.search.embed import model_key, paper_text, text_hash
from dailypapers.search.encoder import Encoder
from dailypapers.search.vectors import quantize

DATA = Path(__file__).resolve().parents[1] / "src/dailypapers/data"


def main() -> None:
    papers = {}
    with gzip.open(DATA / "demo_sample.jsonl.gz", "rt") as fh:
        for line in fh:
            paper = json.loads(line)["paper"]
            papers[normalize_id(paper["id"])] = paper_text(clean_title(paper["title"]), clean_abstract(paper.get("summary")))
    ids = sorted(papers)
    texts = [papers[i] for i in ids]
    encoder = Encoder.load()
    started = time.perf_counter()
    vectors = np.concatenate([encoder.encode(texts[n : n + 128]) for n in range(0, len(texts), 128)])
    print(f"{len(texts)} papers embedded in {time.perf_counter() - started:.0f} s")
    quantized = [quantize(v) for v in vectors]
    np.savez_compressed(
        DATA / "demo_vectors.npz",
        ids=np.array(ids),
        vectors=np.stack([np.frombuffer(data, dtype=np.int8) for data, _ in quantized]),
        scales=np.array([scale for _, scale in quantized], dtype=np.float32),
        text_hashes=np.array([text_hash(t) for t in texts]),
        model=np.array(model_key(encoder)),
    )


if __name__ == "__main__":
    main()
