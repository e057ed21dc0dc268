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
    expression = keyword.match_expression(text)
    assert expression is None or all(part.startswith('"') and part.endswith('"') for part in expression.split(" "))
