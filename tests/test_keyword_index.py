"""The keyword index follows the catalog incrementally and resumes after an interruption."""

import pytest

from dailypapers.records import PaperRecord
from dailypapers.store import keyword


def paper(pid, title, day="2026-01-05", abstract="An abstract.", authors=("Ada Lovelace",)):
    return PaperRecord(id=pid, source="hf", observed=day, title=title, abstract=abstract,
                       authors=[{"name": a} for a in authors], featured_on=[day])  # fmt: skip


def ids(store, query):
    return [p["id"] for p in store.search(query, limit=20)]


def test_changes_are_indexed_once_and_only_the_changed_ones(store):
    store.apply([paper("2601.00001", "Sparse reward exploration"), paper("2601.00002", "Dense retrieval for science")])
    assert store.keyword_index_lag() == 2 and store.refresh_keyword_index() == 2
    assert ids(store, "exploration") == ["2601.00001"]
    store.apply([paper("2601.00001", "Go-Explore for hard exploration problems", day="2026-01-06")])
    assert store.refresh_keyword_index() == 1
    assert ids(store, "sparse") == [] and ids(store, "hard exploration") == ["2601.00001"]
    assert sorted(ids(store, "lovelace")) == ["2601.00001", "2601.00002"]
    assert store.refresh_keyword_index() == 0


def test_a_deleted_or_foreign_index_folder_is_rebuilt(tmp_path):
    from dailypapers.store import Store

    first = Store(tmp_path / "a.db", index_dir=tmp_path / "idx")
    first.apply([paper("2601.00001", "Graph neural networks")])
    first.refresh_keyword_index()
    other = Store(tmp_path / "b.db", index_dir=tmp_path / "idx")  # another database, same folder
    other.apply([paper("2601.00009", "Protein folding")])
    assert other.keyword_index_lag() == 1 and other.refresh_keyword_index() == 1
    assert ids(other, "graph") == [] and ids(other, "protein") == ["2601.00009"]


def test_an_interrupted_refresh_resumes_without_duplicates(store):
    store.apply([paper(f"2601.{n:05d}", f"Title number {n} about graphs") for n in range(1, 8)])

    def stop_after_first_batch(count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.refresh_keyword_index(progress=stop_after_first_batch, batch=3)
    assert store.keyword_index_lag() == 4  # the first batch of 3 was committed
    assert store.refresh_keyword_index(batch=3) == 4
    assert sorted(ids(store, "graphs")) == [f"2601.{n:05d}" for n in range(1, 8)]


@pytest.mark.parametrize("text", ['"unbalanced', "NEAR(a b)", "a AND OR NOT", "*", "-x", "title:y", "(((", "😀", "x" * 250, ""])
def test_user_text_never_reaches_fts5_syntax(store, text):
    store.apply([paper("2601.00001", "Robust title")])
    store.refresh_keyword_index()
    assert isinstance(store.search(text), list)
    assert all(term.isalnum() or "_" in term for term in keyword.query_terms(text))  # no query syntax survives


def test_any_word_matches_and_papers_matching_more_words_rank_first(store):
    store.apply([
        paper("2601.00001", "Exploration with sparse rewards"),
        paper("2601.00002", "Go-Explore: exploration for hard sparse reward problems"),
        paper("2601.00003", "Image segmentation", abstract="Nothing about the query."),
    ])  # fmt: skip
    store.refresh_keyword_index()
    found = ids(store, "go explore sparse reward exploration")
    assert found[:2] == ["2601.00002", "2601.00001"] and "2601.00003" not in found
    # a word no paper has does not empty the list
    assert sorted(ids(store, "sparse reward quantum")) == ["2601.00001", "2601.00002"]
