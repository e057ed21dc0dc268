"""The keyword index: tantivy (BM25) over title, authors and abstract, in a folder beside the database.

It is derived data. `refresh` catches it up with papers whose `seq` is above the last indexed one, in
batches: each batch is committed to the index, then its watermark is written into the index folder.
A crash between the two re-indexes that batch on the next refresh, which is harmless: documents are
replaced by `pk`. The folder also records which database it belongs to, so an index left over from a
deleted database is rebuilt rather than mixed in, and a deleted folder is simply rebuilt. User text never reaches tantivy's query syntax: it is cut into words and
each word is quoted. `bench/keyword_engines.py` has the figures that chose tantivy over SQLite FTS5.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

import tantivy

FIELDS = ("title", "authors", "abstract")
# Title > authors > abstract, but mildly: on SciFact (`dailypapers eval`) nDCG@10 falls from 0.666 with
# equal weights to 0.646 at a title weight of 1.5 and 0.570 at 4 (the reference BM25 scores 0.662).
BOOSTS = {"title": 1.2, "authors": 1.1, "abstract": 1.0}
MAX_TERMS = 32
WRITER_HEAP = 256_000_000
WRITER_THREADS = min(os.cpu_count() or 1, 4)
_WORD = re.compile(r"\w+", re.UNICODE)
_OWNER_FILE = "store_id"
_WATERMARK_FILE = "indexed_seq"


def query_terms(text: str) -> list[str]:
    """The words of `text` that the index is searched for.

    Any word may match and BM25 ranks papers matching more (and rarer) words first. Requiring every
    word was measured on SciFact: nDCG@10 0.045 against 0.666 (reference bm25s: 0.662), because
    people also type sentences."""
    return _WORD.findall(text or "")[:MAX_TERMS]


def authors_text(authors: list[dict] | None) -> str:
    return ", ".join(a["name"] for a in authors or [])


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("pk", stored=True, indexed=True, fast=True)
    for name in FIELDS:
        builder.add_text_field(name, stored=False, tokenizer_name="en_stem")
    return builder.build()


class KeywordIndex:
    """One tantivy index; safe to search from many threads, written by one process at a time."""

    def __init__(self, folder: Path, store_id: str):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        owner = folder / _OWNER_FILE
        if owner.exists() and owner.read_text().strip() != store_id:
            shutil.rmtree(folder)  # left over from another database: its pks mean other papers
            folder.mkdir(parents=True)
        self.index = tantivy.Index(_schema(), path=str(folder), reuse=True)
        owner.write_text(store_id)
        self._lock = threading.Lock()

    @property
    def indexed_seq(self) -> int:
        """The highest catalog `seq` this index holds everything up to."""
        try:
            return int((self.folder / _WATERMARK_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return 0

    @indexed_seq.setter
    def indexed_seq(self, seq: int) -> None:
        temporary = self.folder / f"{_WATERMARK_FILE}.tmp"
        temporary.write_text(str(seq))
        os.replace(temporary, self.folder / _WATERMARK_FILE)

    def is_empty(self) -> bool:
        with self._lock:
            self.index.reload()
            return self.index.searcher().num_docs == 0

    def replace(self, docs: list[tuple[int, str, str, str]], *, known_new: bool = False) -> None:
        """Add or replace documents (pk, title, authors, abstract) and commit.
        `known_new` skips looking for older versions (an empty index has none)."""
        writer = self._writer()
        try:
            for pk, title, authors, abstract in docs:
                if not known_new:
                    writer.delete_documents_by_term("pk", pk)
                writer.add_document(tantivy.Document(pk=pk, title=title, authors=authors, abstract=abstract))
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

    def search(self, text: str, limit: int, offset: int = 0) -> list[int]:
        terms = query_terms(text)
        if not terms:
            return []
        query = self.index.parse_query(
            " ".join(f'"{t}"' for t in terms), list(FIELDS), field_boosts=BOOSTS, conjunction_by_default=False
        )
        with self._lock:
            self.index.reload()  # see what other processes committed
            searcher = self.index.searcher()
        hits = searcher.search(query, limit, offset=offset).hits
        return [searcher.doc(address)["pk"][0] for _, address in hits]


def refresh(store, index: KeywordIndex, progress=None, batch: int = 20_000) -> int:
    """Index every paper changed since the index's watermark, `batch` at a time."""
    known_new = index.is_empty()
    total = 0
    while rows := store.changed_since(index.indexed_seq, batch):
        index.replace([(r.pk, r.title, authors_text(r.authors), r.abstract or "") for r in rows], known_new=known_new)
        index.indexed_seq = rows[-1].seq
        total += len(rows)
        if progress:
            progress(len(rows))
    return total
