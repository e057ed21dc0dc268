"""The keyword index: tantivy (BM25) over title, authors and abstract, in a folder beside the database.

It is derived data. `refresh` catches it up with papers whose `seq` is above the last indexed one, in
batches: each batch is committed to the index, then its watermark is written into the index folder.
A crash between the two re-indexes that batch on the next refresh, which is harmless: documents are
replaced by `pk`. The folder also records which database (and schema) it belongs to, so an index left
over from a deleted database is rebuilt rather than mixed in, and a deleted folder is simply rebuilt.
User text is parsed by search/query.py and reaches tantivy only as quoted words, so tantivy's own query
syntax is never reachable. `bench/keyword_engines.py` has the figures that chose tantivy over FTS5.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import NamedTuple

import tantivy

from .folder import DerivedFolder
from .query import Query, parse

# Words are searched in "text" (title and abstract as one field: one BM25 length normalization for the
# whole paper, as classic BM25 scores a document), in the title once more, and in the authors.
# So title > authors > abstract: a title word scores in "text" and in "title"; an author's name, in a
# field of a few words, scores high there, hence its lower weight (at 0.3 it fell below a word said once
# in an abstract, at 0.8 above the title: tests/test_search.py). The title's extra weight is mild:
# SciFact's nDCG@10 (`dailypapers eval`, train / test split) was 0.663 / 0.659 with title, authors and
# abstract as three fields (weights 1.2, 1.1, 1.0) and is 0.700 / 0.701 this way; a title weight of
# 0.5 scores lower, and a separate title field's own BM25 at weight 4 fell to 0.57.
FIELDS = ("text", "title", "authors")
PHRASE_FIELDS = ["text", "authors"]  # where "exact phrases" (and excluded ones) are looked for
BOOSTS = {"text": 1.0, "title": 0.3, "authors": 0.6}
SORTS = ("relevance", "date", "upvotes")
SCHEMA_VERSION = 3  # a folder written with another version is rebuilt
# Distinct words a search ranks by (each a term in three fields): enough for a pasted paragraph, whose last
# sentences count too. Cutting queries at 32 words lost them, and nDCG@10 against bm25s on long queries.
MAX_TERMS = 64
WRITER_HEAP = 256_000_000
WRITER_THREADS = min(os.cpu_count() or 1, 4)
_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common in abstracts to say what a paper is about: left out of related-paper queries, and
# of a search's free words unless it has no others (SciFact nDCG@10 +0.002 train, +0.005 test; phrases keep them).
STOP_WORDS = ("a an and are as at be based by can for from in into is it its of on or our than that the these "
              "this those to use using via we which with").split()  # fmt: skip
_STOP_SET = frozenset(STOP_WORDS)
_OWNER_FILE = "store_id"


class IndexDoc(NamedTuple):
    pk: int
    title: str
    authors: str
    abstract: str
    categories: list[str] = []
    organization: str = ""  # handle and full name
    published: int = 0  # YYYYMMDD
    upvotes: int = 0


def query_terms(text: str) -> list[str]:
    """The plain words of `text`.

    Any word may match and BM25 ranks papers matching more (and rarer) words first. Requiring every
    word was measured on SciFact: nDCG@10 0.045 against 0.666 (reference bm25s: 0.662), because
    people also type sentences."""
    return _WORD.findall(text or "")


def ranked_words(words: list[str]) -> list[str]:
    """Those of a query's free words that rank papers: the common ones only when there are no others."""
    return [w for w in words if w.lower() not in _STOP_SET] or words


def authors_text(authors: list[dict] | None) -> str:
    return ", ".join(a["name"] for a in authors or [])


def day_number(value: str | date | None) -> int:
    """YYYYMMDD as an integer (0 if unknown): what date bounds and date sorting compare."""
    if not value:
        return 0
    text = value.isoformat() if isinstance(value, date) else str(value)
    return int(text[:10].replace("-", "")) if len(text) >= 10 else 0


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("pk", stored=True, indexed=True, fast=True)
    for name in FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name="en_stem")  # "text" holds [title, abstract]
    builder.add_text_field("categories", stored=False, tokenizer_name="raw")
    builder.add_text_field("organization", stored=False, tokenizer_name="default")
    builder.add_integer_field("published", stored=False, indexed=True, fast=True)
    builder.add_integer_field("upvotes", stored=False, indexed=True, fast=True)
    return builder.build()


class KeywordIndex(DerivedFolder):
    """One tantivy index; safe to search from many threads, written by one process at a time."""

    def __init__(self, folder: Path, store_id: str):
        self.claim(folder, f"{store_id} schema {SCHEMA_VERSION}", _OWNER_FILE)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        self._lock = threading.Lock()

    def is_empty(self) -> bool:
        return self._searcher().num_docs == 0

    def replace(self, docs: list[IndexDoc], *, known_new: bool = False) -> None:
        """Add or replace documents and commit. `known_new` skips looking for older versions (an empty
        index has none)."""
        writer = self._writer()
        try:
            for doc in docs:
                if not known_new:
                    writer.delete_documents_by_term("pk", doc.pk)
                writer.add_document(tantivy.Document(
                    pk=doc.pk, text=[doc.title, doc.abstract], title=doc.title, authors=doc.authors,
                    categories=[c.lower() for c in doc.categories] or [""], organization=doc.organization,
                    published=doc.published, upvotes=doc.upvotes,
                ))  # fmt: skip
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise

    def _writer(self, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.index.writer(heap_size=WRITER_HEAP, num_threads=WRITER_THREADS)
            except ValueError:  # another process holds the writer lock
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def search(self, query: Query | str, limit: int, offset: int = 0, sort: str = "relevance") -> list[int]:
        """pks of the papers matching `query` (text in the search syntax, or parsed), best first."""
        if isinstance(query, str):
            query = parse(query)
        if sort == "relevance" and query.has_text:
            return [pk for pk, _ in self.scored(query, limit, offset)]
        if query.is_empty:
            return []
        # by date, by upvotes, or filters alone (newest first)
        field = "upvotes" if sort == "upvotes" else "published"
        searcher = self._searcher()
        hits = searcher.search(self._build(query), limit, offset=offset, order_by_field=field, order=tantivy.Order.Desc).hits
        return [searcher.doc(address)["pk"][0] for _, address in hits]

    def scored(self, query: Query, limit: int, offset: int = 0) -> list[tuple[int, float]]:
        """(pk, BM25 score) of the papers matching `query`'s words and conditions, best first."""
        if query.is_empty:
            return []
        searcher = self._searcher()
        # Equal scores are common (a title word found once in each of several short titles). Every host's
        # index must rank them alike, whatever order its segments hold them in: ties go by pk.
        hits = searcher.search(self._build(query), offset + limit + TIE_MARGIN).hits
        ranked = sorted(((score, searcher.doc(address)["pk"][0]) for score, address in hits), key=_best_then_pk)
        return [(pk, score) for score, pk in ranked[offset : offset + limit]]

    def _searcher(self):
        with self._lock:
            self.index.reload()  # see what other processes committed
            return self.index.searcher()

    def satisfying(self, query: Query, pks: list[int]) -> set[int]:
        """Those of `pks` that meet `query`'s conditions (phrases, exclusions, author, category, ...),
        its free words aside: how semantic results honour the search syntax."""
        conditions = Query(**{**vars(query), "words": []})
        if conditions.is_empty or not pks:
            return set(pks)
        built = tantivy.Query.boolean_query([
            (tantivy.Occur.Must, self._build(conditions)),
            (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "pk", list(pks))),
        ])  # fmt: skip
        searcher = self._searcher()
        return {searcher.doc(address)["pk"][0] for _, address in searcher.search(built, len(pks)).hits}

    def similar(self, pk: int, title: str, abstract: str, limit: int) -> list[int]:
        """pks of the papers whose text is most like this one's (BM25 more-like-this), itself left out."""
        like = tantivy.Query.more_like_this_document_fields_query(
            self.schema, {"text": [title, abstract]}, min_doc_frequency=2, min_term_frequency=1,
            max_query_terms=30, min_word_length=3, stop_words=STOP_WORDS,
        )  # fmt: skip
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, like), (tantivy.Occur.MustNot, tantivy.Query.term_query(self.schema, "pk", pk))]
        )
        searcher = self._searcher()
        return [searcher.doc(address)["pk"][0] for _, address in searcher.search(query, limit).hits]

    def _text(self, words: list[str], fields: list[str], boosts: dict | None = None) -> tantivy.Query:
        """Any of `words` in `fields`, one flat disjunction of (boosted) per-field terms: BM25 sums the
        same scores as a nested query, and tantivy ranks a flat one faster (12 -> 8.4 ms at 1M papers).
        A word said n times counts n times, as in BM25's sum over the query's words, but is one term
        boosted by n. Each word is quoted, so no query syntax gets through."""
        terms = []
        for word, times in list(Counter(w.lower() for w in words).items())[:MAX_TERMS]:
            for name in fields:
                term = self.index.parse_query(f'"{word}"', [name])
                boost = (boosts or {}).get(name, 1.0) * times
                terms.append((tantivy.Occur.Should, tantivy.Query.boost_query(term, boost) if boost != 1.0 else term))
        return tantivy.Query.boolean_query(terms)

    def _phrase(self, words: list[str], fields: list[str]) -> tantivy.Query:
        return self.index.parse_query('"' + " ".join(words) + '"', fields)

    def _build(self, query: Query) -> tantivy.Query:
        Occur = tantivy.Occur  # noqa: N806
        clauses = []
        if query.words:
            clauses.append((Occur.Must, self._text(ranked_words(query.words), list(FIELDS), BOOSTS)))
        clauses += [(Occur.Must, self._phrase(words, PHRASE_FIELDS)) for words in query.phrases]
        clauses += [(Occur.MustNot, self._phrase(words, PHRASE_FIELDS)) for words in query.excluded]
        clauses += [(Occur.Must, self._phrase(words, ["authors"])) for words in query.authors]
        clauses += [(Occur.Must, self._phrase(words, ["organization"])) for words in query.organizations]
        if query.categories:
            categories = [tantivy.Query.term_query(self.schema, "categories", c) for c in query.categories]
            clauses.append((Occur.Must, tantivy.Query.boolean_query([(Occur.Should, c) for c in categories])))
        if query.published_from or query.published_to:
            clauses.append((Occur.Must, tantivy.Query.range_query(
                self.schema, "published", tantivy.FieldType.Integer,
                day_number(query.published_from) or 0, day_number(query.published_to) or 99991231,
            )))  # fmt: skip
        if not any(occur == Occur.Must for occur, _ in clauses):
            clauses.append((Occur.Must, tantivy.Query.all_query()))  # only exclusions: everything but those
        if len(clauses) == 1 and query.words:
            return clauses[0][1]  # words alone: the flat disjunction itself, which tantivy ranks fastest
        return tantivy.Query.boolean_query(clauses)


def as_document(row) -> IndexDoc:
    """A row of `Store.changed_since` as the index stores it."""
    return IndexDoc(
        row.pk, row.title, authors_text(row.authors), row.abstract or "", row.categories or [],
        " ".join(filter(None, (row.organization, row.org_fullname))), day_number(row.published_at or row.first_day),
        row.upvotes or 0,
    )  # fmt: skip


TIE_MARGIN = 16  # hits read past the page, so that papers tied at its edge are ordered by pk too


def _best_then_pk(hit: tuple[float, int]) -> tuple[float, int]:
    return -hit[0], hit[1]


def refresh(store, index: KeywordIndex, progress=None, batch: int = 20_000) -> int:
    """Index every paper changed since the index's watermark, `batch` at a time."""
    known_new = index.is_empty()
    total = 0
    while rows := store.changed_since(index.indexed_seq, batch):
        index.replace([as_document(r) for r in rows], known_new=known_new)
        index.indexed_seq = rows[-1].seq
        total += len(rows)
        if progress:
            progress(len(rows))
    return total
