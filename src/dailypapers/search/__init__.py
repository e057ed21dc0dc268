"""Finding papers: derived indexes over the store's catalog, kept in step with it.

Data flows one way: the store holds the catalog and stamps every change with a sequence number; the
indexes here catch up from it (`Search.refresh`) and answer queries with paper keys that the store
turns back into papers.

Three modes. `lexical`: BM25 over title, authors and abstract (search/lexical.py). `semantic`: the
papers whose embedding is nearest to the query's (search/vectors.py), within the query's conditions.
`hybrid` (the default): the top 50 of each fused by score, leaning on the side whose best paper stands
out from the rest (search/fusion.py). An exact arXiv id or an exact title is pinned first in every mode.
When the model is not installed, its vectors are not built yet, or embedding the query takes longer than
the query budget (the setting `query_embed_timeout`), the results are lexical and `Found.note` says why.

The model loads and is warmed up (one query embedded) in the background when a `Search` is made, so a
server is ready before its first search; a search that comes while it still loads waits for it, up to
MODEL_LOAD_WAIT_S, rather than quietly answering by words alone.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..records import InvalidRecord, normalize_id
from ..store import Store, derived_folder
from . import lexical, query
from .embed import embed_pending, model_key
from .fusion import FUSE_DEPTH, fuse

MODES = ("hybrid", "lexical", "semantic")
QUERY_BUDGET_S = 1.0  # seconds to embed a query (the default of query_embed_timeout)
MODEL_LOAD_WAIT_S = 60.0
_WORD = re.compile(r"\w+", re.UNICODE)


def _title_key(text: str) -> str:
    """A title as compared with another: its words, lower-cased (punctuation and spacing aside)."""
    return " ".join(_WORD.findall(text.lower()))


def default_index_dir(url: str) -> Path:
    """The indexes belong to this host, not to the database: a cache, rebuilt from the store."""
    return derived_folder(url, "index")


CATCH_UP_EMBED = 200  # papers the server embeds itself after a change made on the site


# Why a semantic or hybrid search answered by words alone, as `Found.fallback` names it (`note` says it in words).
FALLBACKS = ("sorted", "no_words", "model_loading", "model_unavailable", "not_embedded", "embed_timeout")


@dataclass
class Found:
    papers: list[dict]
    mode: str  # the mode that produced them
    note: str | None = None  # why the mode differs from the one asked for
    why: dict[int, dict] = field(default_factory=dict)  # pk -> {"lexical_rank", "semantic_score", "terms"}
    fallback: str | None = None  # that reason, one of FALLBACKS


class Search:
    def __init__(self, store: Store, index_dir: str | Path | None = None, *, encoder="auto",
                 query_budget: float = QUERY_BUDGET_S):  # fmt: skip
        """`encoder`: an encoder (search/encoder.py), None for lexical only, or "auto": the bundled model if
        it is installed, loaded and warmed up in the background (`load_model` waits for it).
        `query_budget`: seconds a hybrid or semantic search waits for its query's embedding."""
        self.store = store
        self.query_budget = query_budget
        self.folder = Path(index_dir) if index_dir else default_index_dir(store.url)
        self.keyword = lexical.KeywordIndex(self.folder / "keyword", store.store_id())
        self.encoder = None
        self.vectors = None
        self.model_problem: str | None = "no sentence-embedding model is configured" if encoder is None else None
        self._ready = threading.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="query-embedding")
        self._catch_up_lock = threading.Lock()
        self._catch_up_wanted = self._catch_up_running = False
        # Called with the mode asked for and each search's Found (the web site counts searches with it).
        self.on_find: Callable[[str, Found], None] | None = None
        if encoder == "auto":
            # Not a daemon: a process that ends while onnxruntime builds its session aborts ("terminate called
            # without an active exception"), so the process waits for the load (about a second) instead.
            threading.Thread(target=self._load_model, daemon=False, name="load-model").start()
        elif encoder is None:
            self._ready.set()
        else:
            self._load_model(encoder)

    def _load_model(self, encoder=None) -> None:
        from .encoder import ModelUnavailable, load_encoder
        from .vectors import VectorIndex

        try:
            encoder = encoder or load_encoder()
            encoder.encode(["warming up the model"])  # the first call is several times slower than the next
            self.vectors = VectorIndex(self.folder / "vectors", self.store.store_id(), model_key(encoder), encoder.dim)
            self.encoder = encoder
            self._embed_query = lru_cache(maxsize=1024)(lambda text: encoder.encode([text])[0])
        except ModelUnavailable as exc:
            self.model_problem = str(exc)
        except Exception as exc:  # e.g. the database went away meanwhile: searches say why they are lexical
            logging.getLogger(__name__).exception("loading the language model failed")
            self.model_problem = f"loading the model failed: {exc}"
        finally:
            self._ready.set()

    def load_model(self, timeout: float | None = None) -> bool:
        """Wait for the model; whether semantic search can run."""
        self._ready.wait(timeout)
        return self.encoder is not None

    # -- queries --------------------------------------------------------------------------------------
    def find(self, text: str, *, mode: str = "hybrid", limit: int = 20, offset: int = 0, sort: str = "relevance",
             **filters) -> Found:  # fmt: skip
        """Papers for `text` in the search syntax (search/query.py) with the same `filters` given apart
        (author, category, organization, published_from, published_to)."""
        if sort not in lexical.SORTS:
            raise ValueError(f"sort must be one of {', '.join(lexical.SORTS)}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        parsed = query.parse(text, **filters)
        asked, note, fallback, pending = mode, None, None, None
        if mode != "lexical":
            if sort != "relevance":
                note, fallback = f"sorted by {sort}: results are lexical", "sorted"
            elif not parsed.has_text:
                note, fallback = "no words to compare meaning with: results are lexical", "no_words"
            else:  # embedding the query runs while the keyword index is searched
                pending, (fallback, note) = self._embed_soon(" ".join(parsed.words + [w for p in parsed.phrases for w in p]))
        depth = max(FUSE_DEPTH, offset + limit)
        lexical_hits = self.keyword.scored(parsed, depth) if pending else []  # pending: sorted by relevance
        lexical_pks = [pk for pk, _ in lexical_hits]
        vector, (fallback, note) = self._vector(pending) if pending else (None, (fallback, note))
        if vector is None:
            mode = "lexical"
            # the search above went from 0 to at least offset + limit: its page is the lexical answer
            lexical_pks = lexical_pks[offset : offset + limit] if pending else self.keyword.search(parsed, limit, offset, sort)
        why: dict[int, dict] = {}
        for rank, pk in enumerate(lexical_pks, start=1 + (offset if mode == "lexical" else 0)):
            why[pk] = {"lexical_rank": rank}
        if mode == "lexical":
            ranked = lexical_pks
        else:
            hits = self.vectors.search(vector, depth * 10 if parsed.has_filters else depth)  # conditions drop some
            allowed = self.keyword.satisfying(parsed, [pk for pk, _ in hits])
            semantic = [(pk, score) for pk, score in hits if pk in allowed][:depth]
            for pk, score in semantic:
                why.setdefault(pk, {})["semantic_score"] = round(score, 4)
            if mode == "semantic":
                ranked = [pk for pk, _ in semantic]
            else:
                ranked = fuse(lexical_hits, semantic)  # both `depth` long
            ranked = ranked[offset : offset + limit]
        papers = self.store.papers_by_pk(self._pin_exact(text, ranked, lexical_pks, limit) if offset == 0 else ranked)
        terms = {w.lower() for w in lexical.ranked_words(parsed.words) + [w for p in parsed.phrases for w in p]}
        for paper in papers:
            found_terms = terms & {w.lower() for w in _WORD.findall(f"{paper['title']} {paper.get('abstract') or ''}")}
            why.setdefault(paper["pk"], {})["terms"] = sorted(found_terms)
        found = Found(papers, mode, note, {p["pk"]: why.get(p["pk"], {}) for p in papers}, fallback)
        if self.on_find is not None:
            self.on_find(asked, found)
        return found

    def papers(self, text: str, **options) -> list[dict]:
        return self.find(text, **options).papers

    def _embed_soon(self, text: str):
        """(a future of the query's vector, (None, None)), or (None, (fallback, why there will be none))."""
        if not self._ready.wait(MODEL_LOAD_WAIT_S):
            return None, ("model_loading", "the language model is still loading: results are lexical")
        if self.encoder is None:
            return None, ("model_unavailable", f"semantic search is unavailable ({self.model_problem}): results are lexical")
        if len(self.vectors) == 0:
            return None, ("not_embedded", "no paper has been embedded yet (run `dailypapers embed`): results are lexical")
        return (time.monotonic(), self._pool.submit(self._embed_query, text)), (None, None)

    def _vector(self, pending):
        """(the query's vector, (None, None)), or (None, (fallback, why not)) if it took more than the query budget."""
        submitted, future = pending
        try:
            return future.result(timeout=max(self.query_budget - (time.monotonic() - submitted), 0)), (None, None)
        except FutureTimeout:
            return None, ("embed_timeout", f"embedding the query took over {self.query_budget:g} s: results are lexical")

    def _pin_exact(self, text: str, ranked: list[int], lexical_pks: list[int], limit: int) -> list[int]:
        """An exact arXiv id, or else a title equal to the query, goes first."""
        try:
            exact = self.store.paper_pk(normalize_id(text))
        except InvalidRecord:
            exact = None
        if exact is None and lexical_pks:
            wanted = _title_key(text)
            for paper in self.store.papers_by_pk(lexical_pks[:3]):
                if wanted and _title_key(paper["title"]) == wanted:
                    exact = paper["pk"]
                    break
        if exact is None:
            return ranked
        return [exact] + [pk for pk in ranked if pk != exact][: limit - 1]

    def by_title(self, title: str) -> dict | None:
        """The paper whose title is `title` (the same words, case aside), found through the keyword index."""
        wanted = _title_key(title)
        if not wanted:
            return None
        pks = self.keyword.search(query.parse(wanted), 5, 0, "relevance")
        return next((p for p in self.store.papers_by_pk(pks) if _title_key(p["title"]) == wanted), None)

    def similar(self, paper: dict, *, limit: int = 8) -> list[dict]:
        """Related papers: the nearest embeddings when the model has embedded this paper; else those
        whose title and abstract share the most telling words (BM25 more-like-this)."""
        vector = self.vectors.vector_of(paper["pk"]) if self.encoder is not None and self._ready.is_set() else None
        if vector is not None:
            pks = [pk for pk, _ in self.vectors.search(vector, limit, exclude=paper["pk"])]
        else:
            pks = self.keyword.similar(paper["pk"], paper["title"], paper.get("abstract") or "", limit)
        return self.store.papers_by_pk(pks)

    # -- keeping up with the catalog ------------------------------------------------------------------
    def refresh(self, progress=None, batch: int = 20_000) -> int:
        """Bring the keyword index (and the vector index, if the model is here) up to date with the
        catalog (resumable: each batch is committed)."""
        total = lexical.refresh(self.store, self.keyword, progress=progress, batch=batch)
        if self.load_model():
            self.vectors.refresh(self.store)
        return total

    def catch_up_soon(self) -> None:
        """After a change made on the site (a submitted paper, a vote, an organization), bring the
        indexes up to date in the background: embed what changed (a paper or two), then refresh.
        Changes that come while a catch-up runs are taken by one more run after it."""
        with self._catch_up_lock:
            self._catch_up_wanted = True
            if self._catch_up_running:
                return
            self._catch_up_running = True
        threading.Thread(target=self._catch_up, daemon=True, name="index-catch-up").start()

    def _catch_up(self) -> None:
        while True:
            with self._catch_up_lock:
                if not self._catch_up_wanted:
                    self._catch_up_running = False
                    return
                self._catch_up_wanted = False
            try:
                lexical.refresh(self.store, self.keyword)
                # A paper or two is embedded here; a backlog (an ingest run without embedding) is left to
                # `dailypapers embed` rather than taking the server's CPU for minutes.
                if self._ready.is_set() and self.encoder is not None:
                    if len(self.store.to_embed(model_key(self.encoder), CATCH_UP_EMBED + 1)) <= CATCH_UP_EMBED:
                        embed_pending(self.store, self.encoder)
                    self.vectors.refresh(self.store)
            except Exception:  # the next catch-up, or `dailypapers index`, retries
                logging.getLogger(__name__).exception("catching the search indexes up failed")

    def lag(self) -> int:
        """How many papers changed since the keyword index last caught up."""
        return self.store.count_changed_since(self.keyword.indexed_seq)
