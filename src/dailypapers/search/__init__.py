"""Finding papers: derived indexes over the store's catalog, kept in step with it.

Data flows one way: the store holds the catalog and stamps every change with a sequence number; the
indexes here catch up from it (`Search.refresh`) and answer queries with paper keys that the store
turns back into papers.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ..records import InvalidRecord, normalize_id
from ..store import Store
from . import lexical, query


def default_index_dir(store: Store) -> Path:
    """Beside a SQLite file (`papers.db` -> `papers.db-index/`); else `dailypapers-index/` here."""
    database = sa.engine.make_url(store.url).database if store.is_sqlite else None
    if database and database != ":memory:":
        return Path(f"{database}-index")
    return Path("dailypapers-index").resolve()


class Search:
    def __init__(self, store: Store, index_dir: str | Path | None = None):
        self.store = store
        folder = Path(index_dir) if index_dir else default_index_dir(store)
        self.keyword = lexical.KeywordIndex(folder / "keyword", store.store_id())

    def papers(self, text: str, *, limit: int = 20, offset: int = 0, sort: str = "relevance", **filters) -> list[dict]:
        """Papers for `text` in the search syntax (search/query.py) and the same `filters` given apart
        (author, category, organization, published_from, published_to); an exact arXiv id comes first."""
        if sort not in lexical.SORTS:
            raise ValueError(f"sort must be one of {', '.join(lexical.SORTS)}")
        pks = self.keyword.search(query.parse(text, **filters), limit, offset, sort)
        try:
            exact = self.store.paper_pk(normalize_id(text))
        except InvalidRecord:
            exact = None
        if exact is not None and offset == 0:
            pks = [exact] + [pk for pk in pks if pk != exact][: limit - 1]
        return self.store.papers_by_pk(pks)

    def similar(self, paper: dict, *, limit: int = 8) -> list[dict]:
        """Related papers: those whose title and abstract are most like `paper`'s."""
        pks = self.keyword.similar(paper["pk"], paper["title"], paper.get("abstract") or "", limit)
        return self.store.papers_by_pk(pks)

    def refresh(self, progress=None, batch: int = 20_000) -> int:
        """Bring the indexes up to date with the catalog (resumable: each batch is committed)."""
        return lexical.refresh(self.store, self.keyword, progress=progress, batch=batch)

    def lag(self) -> int:
        """How many papers changed since the indexes last caught up."""
        return self.store.count_changed_since(self.keyword.indexed_seq)
