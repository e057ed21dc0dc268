"""The vector index: papers' sentence embeddings in a usearch index, in a folder beside the database.

Like the keyword index it is derived data, caught up from the store (`refresh`) by the `seq` of saved
vectors, and rebuilt when it belongs to another database or another model. Below EXACT_BELOW vectors
every query is compared with every vector (usearch's SIMD brute force: exact, and as fast at that
size); above it the HNSW graph answers approximately. Vectors are kept as float16 in the index and as
int8 in the database.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import onnxruntime  # noqa: F401  (before usearch: loaded after it, onnxruntime crashes creating a session)
from usearch.index import Index

from .folder import DerivedFolder, unique_temporary

EXACT_BELOW = 50_000
_OWNER_FILE = "owner"
_INDEX_FILE = "vectors.usearch"


def quantize(vector: np.ndarray) -> tuple[bytes, float]:
    """A float vector as int8 bytes and the scale that restores it (cosine to the original ≈ 0.9999)."""
    peak = float(np.abs(vector).max()) or 1.0
    return np.round(vector / peak * 127).astype(np.int8).tobytes(), peak / 127


def dequantize(data: bytes, scale: float) -> np.ndarray:
    return np.frombuffer(data, dtype=np.int8).astype(np.float32) * scale


class VectorIndex(DerivedFolder):
    def __init__(self, folder: Path, store_id: str, model: str, dim: int):
        self.claim(folder, f"{store_id} {model} {dim}", _OWNER_FILE)
        self.model = model
        self.dim = dim
        self._lock = threading.Lock()
        self._loaded_mtime = None
        self._writable = True  # an empty index in memory, until a saved one is opened
        self.index = Index(ndim=dim, metric="cos", dtype="f16")
        self._reload()

    def _reload(self, writable: bool = False) -> None:
        """Open the saved index if another process (`dailypapers embed`) saved a newer one. Searching
        memory-maps it (a million vectors are ~0.9 GB, of which a search touches little); only a
        refresh, which adds vectors, reads it all into memory."""
        path = self.folder / _INDEX_FILE
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime != self._loaded_mtime or (writable and not self._writable):
            index = Index(ndim=self.dim, metric="cos", dtype="f16")
            if writable:
                index.load(str(path))
            else:
                index.view(str(path))
            self.index, self._loaded_mtime, self._writable = index, mtime, writable

    def __len__(self) -> int:
        return len(self.index)

    def search(self, vector: np.ndarray, limit: int, exclude: int | None = None) -> list[tuple[int, float]]:
        """(pk, cosine similarity) of the `limit` nearest papers, nearest first."""
        with self._lock:
            self._reload()
            index = self.index
        if len(index) == 0 or limit <= 0:
            return []
        count = min(limit + (exclude is not None), len(index))
        found = index.search(np.asarray(vector, dtype=np.float32), count, exact=len(index) < EXACT_BELOW)
        hits = [(int(k), 1.0 - float(d)) for k, d in zip(found.keys, found.distances)]
        return [(pk, score) for pk, score in hits if pk != exclude][:limit]

    def vector_of(self, pk: int) -> np.ndarray | None:
        with self._lock:
            self._reload()
            index = self.index
        if not index.contains(pk):
            return None
        return np.asarray(index.get(pk), dtype=np.float32)

    def refresh(self, store, progress=None, batch: int = 20_000) -> int:
        """Add the vectors saved since the watermark (replacing a paper's older one); save; move the
        watermark. Resumable: a crash before the watermark moves re-adds that batch next time."""
        total = 0
        with self._lock, self.writing():  # another Search in this process or another may refresh it too
            while rows := store.vectors_since(self.model, self.indexed_seq, batch):
                # Only new vectors read the index whole; with nothing new (a vote, a comment) it stays mapped.
                self._reload(writable=True)
                keys = np.array([r.paper_pk for r in rows], dtype=np.uint64)
                vectors = np.stack([dequantize(r.vector, r.scale) for r in rows])
                present = self.index.contains(keys)
                if np.any(present):
                    self.index.remove(keys[present])
                self.index.add(keys, vectors)
                path = self.folder / _INDEX_FILE
                temporary = unique_temporary(path)
                self.index.save(str(temporary))
                os.replace(temporary, path)
                self._loaded_mtime = path.stat().st_mtime_ns
                self.indexed_seq = rows[-1].seq
                total += len(rows)
                if progress:
                    progress(len(rows))
        return total
