"""The keyword index follows the catalog incrementally and resumes after an interruption."""

import shutil

import pytest

from dailypapers.records import PaperRecord
from dailypapers.search import Search, lexical
from dailypapers.store import Store


@pytest.fixture
def search(store):
    return Search(store)


def paper(pid, title, day="2026-01-05", abstract="An abstract.", authors=("Ada Lovelace",)):
    return PaperRecord(id=pid, source="hf", observed=day, title=title, abstract=abstract,
                       authors=[{"name": a} for a in authors], featured_on=[day])  # fmt: skip


def ids(search, query):
    return [p["id"] for p in search.papers(query, limit=20)]


def test_changes_are_indexed_once_and_only_the_changed_ones(store, search):
    store.apply([paper("2601.00001", "Sparse reward exploration"), paper("2601.00002", "Dense retrieval for science")])
    assert search.lag() == 2 and search.refresh() == 2
    assert ids(search, "exploration") == ["2601.00001"]
    store.apply([paper("2601.00001", "Go-Explore for hard exploration problems", day="2026-01-06")])
    assert search.refresh() == 1
    assert ids(search, "sparse") == [] and ids(search, "hard exploration") == ["2601.00001"]
    assert sorted(ids(search, "lovelace")) == ["2601.00001", "2601.00002"]
    assert search.refresh() == 0


def test_a_deleted_or_foreign_index_folder_is_rebuilt(tmp_path):
    first = Store(tmp_path / "a.db")
    first.apply([paper("2601.00001", "Graph neural networks")])
    Search(first, tmp_path / "idx").refresh()
    other_store = Store(tmp_path / "b.db")  # another database, same folder
    other_store.apply([paper("2601.00009", "Protein folding")])
    other = Search(other_store, tmp_path / "idx")
    assert other.lag() == 1 and other.refresh() == 1
    assert ids(other, "graph") == [] and ids(other, "protein") == ["2601.00009"]

    Search(first).refresh()  # the default folder, beside the database
    shutil.rmtree(tmp_path / "a.db-index")  # deleted: rebuilt from scratch
    again = Search(first)
    assert again.lag() == 1 and again.refresh() == 1 and ids(again, "graph") == ["2601.00001"]


def test_an_interrupted_refresh_resumes_without_duplicates(store, search):
    store.apply([paper(f"2601.{n:05d}", f"Title number {n} about graphs") for n in range(1, 8)])

    def stop_after_first_batch(count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search.refresh(progress=stop_after_first_batch, batch=3)
    assert search.lag() == 4  # the first batch of 3 was committed
    assert search.refresh(batch=3) == 4
    assert sorted(ids(search, "graphs")) == [f"2601.{n:05d}" for n in range(1, 8)]


@pytest.mark.parametrize("text", ['"unbalanced', "NEAR(a b)", "a AND OR NOT", "*", "-x", "title:y", "(((", "😀", "x" * 250, ""])
def test_user_text_never_reaches_query_syntax(store, search, text):
    store.apply([paper("2601.00001", "Robust title")])
    search.refresh()
    assert isinstance(search.papers(text), list)
    assert all(term.isalnum() or "_" in term for term in lexical.query_terms(text))  # no query syntax survives


def test_any_word_matches_and_papers_matching_more_words_rank_first(store, search):
    store.apply([
        paper("2601.00001", "Exploration with sparse rewards"),
        paper("2601.00002", "Go-Explore: exploration for hard sparse reward problems"),
        paper("2601.00003", "Image segmentation", abstract="Nothing about the query."),
    ])  # fmt: skip
    search.refresh()
    found = ids(search, "go explore sparse reward exploration")
    assert found[:2] == ["2601.00002", "2601.00001"] and "2601.00003" not in found
    # a word no paper has does not empty the list
    assert sorted(ids(search, "sparse reward quantum")) == ["2601.00001", "2601.00002"]
