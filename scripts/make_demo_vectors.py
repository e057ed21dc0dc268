"""Embed the bundled demo sample with the bundled model, so the demo's semantic search works at once.

    python scripts/make_demo_vectors.py      # a few minutes on 2 CPU cores

Loads the sample as `dailypapers demo` does (ingest/demo.py: the Hugging Face records, then the arXiv
records that merge with them) into a temporary database and embeds each paper's text as stored there.
Writes src/dailypapers/data/demo_vectors.npz: arXiv ids, int8 vectors with their scales, the hash of
the text each was made from, and the model's name@version. `dailypapers demo` loads the vectors whose
model and text still match and leaves the rest to `dailypapers embed`.
"""

import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from dailypapers.ingest import demo
from dailypapers.search.embed import model_key, paper_text, text_hash
from dailypapers.search.encoder import load_encoder
from dailypapers.search.vectors import quantize
from dailypapers.store import Store

DATA = Path(__file__).resolve().parents[1] / "src/dailypapers/data"


def demo_texts(model: str) -> dict[str, str]:
    """Each paper's embedded text (title and abstract) after the demo's ingest, by arXiv id."""
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "demo.db")
        loaded = demo.load(store, Console(stderr=True), show_progress=False)
        rows = store.to_embed(model, limit=loaded.papers + 1)
        store.close()
    return {row.id: paper_text(row.title, row.abstract) for row in rows}


def main() -> None:
    encoder = load_encoder()
    papers = demo_texts(model_key(encoder))
    ids = sorted(papers)
    texts = [papers[i] for i in ids]
    started = time.perf_counter()
    vectors = np.concatenate([encoder.encode(texts[n : n + 128]) for n in range(0, len(texts), 128)])
    print(f"{len(texts)} papers embedded in {time.perf_counter() - started:.0f} s")
    quantized = [quantize(v) for v in vectors]
    np.savez_compressed(
        DATA / demo.VECTORS,
        ids=np.array(ids),
        vectors=np.stack([np.frombuffer(data, dtype=np.int8) for data, _ in quantized]),
        scales=np.array([scale for _, scale in quantized], dtype=np.float32),
        text_hashes=np.array([text_hash(t) for t in texts]),
        model=np.array(model_key(encoder)),
    )


if __name__ == "__main__":
    main()
