"""all-MiniLM-L6-v2 with int8 matrix products, on onnxruntime: the site's encoder.

The model file ships in the package (search/model/minilm-int8.onnx, 23 MB, made once by
scripts/export_onnx_encoder.py from the same weights the exact numpy encoder reads). Measured against
that encoder (bench/embed_speed.py, arXiv abstracts, 2 cores): 3.0-3.8 times the abstracts per second,
SciFact semantic nDCG@10 within 0.005 (0.6547 vs 0.6527), cosine to its vectors ~0.995.

Each text runs alone, `threads` texts at a time, each on one core and its own session (a session run
releases the GIL; two texts sharing one session ran 3-4% slower than two sessions): no pad tokens, no
thread pool that spins when another process wants the cores, and a text's vector does not depend on
which texts it was encoded with (int8 activations are scaled per input), so an interrupted
`dailypapers embed` resumed in other batches stores the very same vectors.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np

from .encoder import MAX_TOKENS, ModelUnavailable

MODEL_FILE = "minilm-int8.onnx"


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxEncoder:
    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, new_session, tokenizer, version: str, threads: int):
        self.tokenizer, self.version, self.threads = tokenizer, version, threads
        self._new_session, self._idle, self._lock = new_session, queue.SimpleQueue(), threading.Lock()
        self._idle.put(new_session())  # the first at once, so that a missing or broken model fails at load
        self._sessions = 1

    @classmethod
    def load(cls, threads: int | None = None, max_tokens: int = MAX_TOKENS) -> OnnxEncoder:
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailable(f"{exc.name} is needed to run the encoder: pip install onnxruntime tokenizers") from exc
        folder = Path(str(resources.files("dailypapers.search") / "model"))
        model = folder / MODEL_FILE
        if not model.is_file():
            raise ModelUnavailable(f"{model} is missing: reinstall dailypapers")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1  # parallel across texts instead
        options.log_severity_level = 3  # its warnings are about unused initializers, not ours to fix

        def new_session():
            # The file spells the residual adds and layer norms out; fused back into SkipLayerNormalization
            # they run slower on CPU (scripts/export_onnx_encoder.py).
            return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"],
                                                disabled_optimizers=["SkipLayerNormFusion"])  # fmt: skip

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_tokens)
        tokenizer.no_padding()
        with model.open("rb") as f:
            version = f"int8-{hashlib.file_digest(f, 'sha256').hexdigest()[:12]}-{max_tokens}"
        return cls(new_session, tokenizer, version, threads or cores())

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """L2-normalized float32 embeddings, shape (len(texts), 384), in input order. (`batch_size` is
        accepted for the exact encoder's callers; texts always run one at a time.)"""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        out = np.zeros((len(ids), self.dim), np.float32)
        if len(ids) <= 1 or self.threads == 1:
            for n, seq in enumerate(ids):
                out[n] = self._one(seq)
            return out
        with ThreadPoolExecutor(min(self.threads, len(ids))) as pool:
            for n, vector in enumerate(pool.map(self._one, ids)):
                out[n] = vector
        return out

    def _session(self):
        """An idle session, or a new one while fewer than `threads` exist (a server that only answers
        queries keeps one)."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                if self._sessions < self.threads:
                    self._sessions += 1
                    return self._new_session()
            return self._idle.get()

    def _one(self, ids: list[int]) -> np.ndarray:
        tokens = np.asarray([ids], np.int64)
        session = self._session()
        try:
            (hidden,) = session.run(None, {"input_ids": tokens, "attention_mask": np.ones_like(tokens)})
        finally:
            self._idle.put(session)
        pooled = hidden[0].mean(0)  # every token is a real one: mean pooling needs no mask
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)
