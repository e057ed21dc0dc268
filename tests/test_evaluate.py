"""`dailypapers eval`: the metrics, --max-docs subsets, and search quality on SciFact against a reference BM25."""

import json
import math

import pytest
from click.testing import CliRunner
from conftest import run_cli

from dailypapers.cli import main
from dailypapers.search.evaluate import load, mrr_at, ndcg_at, recall_at


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


def write_beir(folder, doc_ids, qrels):
    """A small BEIR folder: one document per id (corpus in the order given), one query per qrels key."""
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": d, "title": f"paper {d}", "text": f"words of paper {d} about topic{d}"} for d in doc_ids]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": f"topic{q}"}) + "\n" for q in qrels))
    rows = [f"{q}\t{d}\t1\n" for q, judged in qrels.items() for d in judged]
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(rows))


def test_max_docs_keeps_the_judged_documents_and_fills_up_deterministically(tmp_path):
    ids = [str(n) for n in range(40)]
    qrels = {"7": ["7"], "30": ["30", "31"]}
    write_beir(tmp_path / "a", ids, qrels)
    write_beir(tmp_path / "b", ids[::-1], qrels)  # the same corpus in another file order
    small = load(tmp_path / "a", max_docs=10)
    assert len(small.doc_ids) == 10 and {"7", "30", "31"} <= set(small.doc_ids)
    assert small.doc_ids == sorted(small.doc_ids, key=int)  # kept in corpus order, with their own texts
    assert all(text.endswith(f"topic{d}") for d, text in zip(small.doc_ids, small.texts))
    assert set(load(tmp_path / "b", max_docs=10).doc_ids) == set(small.doc_ids)  # chosen by id, not by position
    assert set(small.doc_ids) <= set(load(tmp_path / "a", max_docs=11).doc_ids)
    # the filling is not simply the first (or last) documents of the file
    assert set(small.doc_ids) - {"7", "30", "31"} not in ({str(n) for n in range(7)}, {str(n) for n in range(33, 40)})
    assert set(load(tmp_path / "a", max_docs=2).doc_ids) == {"7", "30", "31"}  # never fewer than the judged ones
    assert load(tmp_path / "a", max_docs=40).doc_ids == ids and load(tmp_path / "a", max_docs=1000).doc_ids == ids
    assert small.queries == load(tmp_path / "a").queries


def test_eval_max_docs_on_the_command_line(tmp_path):
    write_beir(tmp_path, [str(n) for n in range(30)], {"3": ["3"], "12": ["12"]})
    result = run_cli("eval", str(tmp_path), "--mode", "lexical", "--json", "--max-docs", "5")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["lexical"]["ndcg@10"] == 1.0  # "topicN" is in paper N alone
    for bad in ("0", "-3", "many"):
        result = CliRunner().invoke(main, ["eval", str(tmp_path), "--mode", "lexical", "--max-docs", bad])
        assert result.exit_code == 2 and "Invalid value for '--max-docs'" in result.output


def test_scifact_hybrid_beats_its_better_half(scifact_dir, tmp_path):
    # A subset that keeps every judged document, so the corpus embeds in about a minute here.
    result = run_cli("eval", str(scifact_dir), "--max-docs", "1000", "--json", "--cache", str(tmp_path))
    assert result.returncode == 0, result.stderr
    figures = {mode: f["ndcg@10"] for mode, f in json.loads(result.stdout).items()}
    assert figures["hybrid"] >= max(figures["lexical"], figures["semantic"]) + 0.01, figures
    assert figures["lexical"] >= figures["reference_bm25"] - 0.005, figures
