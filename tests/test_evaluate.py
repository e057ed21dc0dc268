"""`dailypapers eval`: the metrics, and search quality on SciFact against a reference BM25."""

import json
import math

import pytest
from conftest import run_cli

from dailypapers.search.evaluate import mrr_at, ndcg_at, recall_at


def test_metrics_on_hand_checked_rankings():
    relevant = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "x"], relevant) == pytest.approx(1.0)
    assert ndcg_at(["x", "a"], relevant) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert ndcg_at(["x", "y"], relevant) == 0.0
    assert recall_at(["x", "a"], relevant) == 0.5 and recall_at(["b", "a"], relevant, k=1) == 0.5
    assert mrr_at(["x", "y", "b"], relevant) == pytest.approx(1 / 3) and mrr_at(["x"], relevant) == 0.0


def test_scifact_lexical_is_as_good_as_the_reference_bm25(scifact_dir):
    result = run_cli("eval", str(scifact_dir), "--mode", "lexical", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) == {"lexical", "reference_bm25"}
    for mode in figures.values():
        assert set(mode) == {"ndcg@10", "recall@100", "mrr@10"} and all(0 < v <= 1 for v in mode.values())
    assert figures["lexical"]["ndcg@10"] >= figures["reference_bm25"]["ndcg@10"] - 0.01


def test_a_folder_that_is_not_beir_is_a_clear_error(tmp_path):
    (tmp_path / "corpus.jsonl").write_text('{"_id": "1", "title": "t", "text": "x"}\n')
    result = run_cli("eval", str(tmp_path))
    assert result.returncode == 1 and "queries.jsonl is missing" in result.stderr
