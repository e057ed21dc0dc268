"""A reader's recommendation model: what they saved, against what the catalog usually holds.

Like arxiv-sanity-lite, a linear model over TF-IDF words that can show its weights, but a nearest-centroid
one (Rocchio): the term weights are the mean of the saved papers' TF-IDF rows, less the mean of random
catalog papers (the background) and of dismissed papers. On the 303 test days of 49 readers of
`eval-recs` it ranks as well as a logistic regression trained on the same rows (MRR 0.610 vs 0.614,
content only; arxiv-sanity's SVM 0.582) and costs one pass; nearest saved paper (0.54) and the plain
centroid (0.55) do worse. The same is done with the sentence embeddings of the papers that have one (their
query is what finds candidates in the vector index). Each part's score is put on the background's scale
(z-score), so that the parts add up whatever the library's size.

The words: title and abstract with the title counted twice, plurals stemmed, idf ** 1.5 (content only,
303 tests: 0.612 -> 0.616 each for title, stemming and idf ** 1.5); and a candidate linking to a code or
model home a saved paper links to (github.com/owner, owner.github.io, huggingface.co/owner) scores
LINK_WEIGHT per shared one (0.612 -> 0.627; all together 0.631). Tried and left out: contrast against the
day's candidates, nearest saved paper mixed in, clipping negative weights, version-less model names.

Authors weigh most: a candidate scores, for each of its authors, the share of the saved papers that author
is on (a reader's own name is on nearly all), plus one per followed author. Researchers mostly save their
own and their colleagues' papers; content breaks ties and carries readers who save other people's work.
First and last authors lead a paper; a middle author of a long list had a smaller part in it, so their
share counts sqrt(FULL_CREDIT_AUTHORS / authors) there. On the 303 tests: 0.946 -> 0.950; on the 186 days
of `scripts/make_recs_profile_days.py`, which the constants were not chosen on: 0.937 -> 0.943 (the same
for FULL_CREDIT_AUTHORS from 4 to 6). Tried and left out: a lower weight for every middle author
(better on the tests, worse on those days), the size of the teams whose papers a reader saves as a
feature (the same), and each author's shares counted by their place in the saved papers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import orjson

from .features import Rows, Vocabulary, author_key, links, stemmed_terms

AUTHOR_WEIGHT = 10.0  # per saved-paper share of an author, in background standard deviations of content
FOLLOW_WEIGHT = 10.0  # a followed author or organization counts as an author on every saved paper
DISMISSED_WEIGHT = 1.0  # the dismissed papers' centroid is subtracted with this weight
VECTOR_WEIGHT = 1.0  # the embeddings' part against the words' part, when a paper has a vector
MIN_DF = 3  # rarer background terms weigh as unseen ones (and are not stored)
IDF_POWER = 1.5  # idf ** 1.5: a rare shared term (a method's or a model's name) says more than a common one
LINK_WEIGHT = 5.0  # per code or model home (github.com/owner, owner.github.io) a saved paper links to too
SKETCH = 32  # terms kept per saved paper, to name the closest saved papers
FULL_CREDIT_AUTHORS = 5  # up to this many authors, each counts fully; beyond, middle authors count less


@dataclass
class Paper:
    id: str
    title: str
    abstract: str | None
    authors: list[str]
    organization: str | None = None
    vector: np.ndarray | None = None  # unit float32 (384,), the stored embedding, if any


@dataclass
class Library:
    saved: list[Paper]
    dismissed: Sequence[Paper] = ()
    authors: frozenset[str] = frozenset()  # followed author names
    organizations: frozenset[str] = frozenset()  # followed organization handles


@dataclass
class Reasons:
    closest: list[tuple[str, float]]  # (saved paper id, similarity)
    authors: list[str]  # followed authors it has, then authors it shares with saved papers
    organization: str | None  # a followed organization it belongs to
    terms: list[str]  # the words that weigh most for it


def paper_terms(paper: Paper):
    """Title and abstract, the title counted twice (it names the work), words stemmed (plurals)."""
    return _text_terms(paper.title, paper.abstract)


def paper_links(paper: Paper) -> set[str]:
    return _text_links(paper.title, paper.abstract)


# Every reader's ranking of a day reads the same few dozen papers: their words are cut once per process.
@lru_cache(maxsize=20_000)
def _text_terms(title: str, abstract: str | None):
    return stemmed_terms(f"{title}. {abstract or ''}") + stemmed_terms(title)


@lru_cache(maxsize=20_000)
def _text_links(title: str, abstract: str | None) -> frozenset[str]:
    return frozenset(links(f"{title} {abstract or ''}"))


def _centroid(vectors: list[np.ndarray], dim: int) -> np.ndarray:
    return np.mean(vectors, axis=0).astype(np.float32) if vectors else np.zeros(dim, np.float32)


def _scale(scores: np.ndarray) -> tuple[float, float]:
    return (float(scores.mean()), float(scores.std()) or 1.0) if len(scores) else (0.0, 1.0)


def _author_keys(paper: Paper) -> list[str]:
    """The paper's authors as compared across papers, in order, each once."""
    return list(dict.fromkeys(author_key(a) for a in paper.authors))


def train(library: Library, background: Sequence[Paper]) -> ReaderModel:
    """`background`: a sample of catalog papers, the reader's implicit negatives; it also gives the words'
    document frequencies. Deterministic: the same library and background give the same model."""
    own = {p.id for p in library.saved} | {p.id for p in library.dismissed}
    background = [p for p in background if p.id not in own]
    saved_docs = [paper_terms(p) for p in library.saved]
    dismissed_docs = [paper_terms(p) for p in library.dismissed]
    background_docs = [paper_terms(p) for p in background]
    vocab = Vocabulary(background_docs + saved_docs + dismissed_docs, min_df=MIN_DF, idf_power=IDF_POWER,
                       always={t for doc in saved_docs + dismissed_docs for t in doc})  # fmt: skip
    saved, dismissed, rest = vocab.rows(saved_docs), vocab.rows(dismissed_docs), vocab.rows(background_docs)

    def mean(rows: Rows) -> np.ndarray:
        return rows.tdot(np.ones(len(rows), np.float32)) / max(len(rows), 1)

    weights = mean(saved) - mean(rest) - DISMISSED_WEIGHT * mean(dismissed)
    text = dict(terms=vocab.terms, idf=vocab.idf, weights=weights, unseen_idf=vocab.unseen_idf)
    text_mean, text_std = _scale(rest.dot(weights))

    query, saved_vectors = None, None
    vector_mean, vector_std, both_mean, both_std = 0.0, 1.0, 0.0, 1.0
    with_vector = [p.vector for p in library.saved if p.vector is not None]
    background_vectors = [p.vector for p in background if p.vector is not None]
    if with_vector and background_vectors:
        dim = len(with_vector[0])
        dismissed_vectors = [p.vector for p in library.dismissed if p.vector is not None]
        query = (_centroid(with_vector, dim) - _centroid(background_vectors, dim)
                 - DISMISSED_WEIGHT * _centroid(dismissed_vectors, dim))  # fmt: skip
        vector_mean, vector_std = _scale(np.asarray(background_vectors, np.float32) @ query)
        # the words' and the embeddings' z-scores added, put back on the background's scale
        has = [n for n, p in enumerate(background) if p.vector is not None]
        both = ((rest.dot(weights)[has] - text_mean) / text_std
                + VECTOR_WEIGHT * (np.asarray(background_vectors, np.float32) @ query - vector_mean) / vector_std)  # fmt: skip
        both_mean, both_std = _scale(both)
        zero = np.zeros(dim, np.float32)
        saved_vectors = np.asarray([zero if p.vector is None else p.vector for p in library.saved], np.float32)

    shares: dict[str, float] = {}
    for paper in library.saved:
        for name in _author_keys(paper):
            shares[name] = shares.get(name, 0.0) + 1 / len(library.saved)
    sketches = []  # each saved paper's heaviest terms, enough to say which saved papers a paper is close to
    for n in range(len(saved)):
        ids, values = saved.row(n)
        top = np.argsort(-values, kind="stable")[:SKETCH]
        sketches.append((ids[top].tolist(), values[top].tolist()))
    return ReaderModel(
        text=text, scales=[text_mean, text_std, vector_mean, vector_std, both_mean, both_std], query=query,
        author_shares=shares, followed_authors=sorted(library.authors), followed_organizations=sorted(library.organizations),
        saved_ids=[p.id for p in library.saved], saved_rows=sketches, saved_vectors=saved_vectors,
        links=sorted(set().union(*(paper_links(p) for p in library.saved))),
    )  # fmt: skip


@dataclass
class ReaderModel:
    text: dict  # terms, idf, weights (arrays over the kept terms), unseen_idf
    scales: list[float]  # background mean and std of the words' score, the vectors' score, and their sum
    query: np.ndarray | None  # the embeddings' weights (None when no saved paper had a vector)
    author_shares: dict[str, float]  # author key -> share of the saved papers they are on
    followed_authors: list[str]
    followed_organizations: list[str]
    saved_ids: list[str]
    saved_rows: list[tuple[list[int], list[float]]]  # the saved papers' TF-IDF rows, to say which are closest
    saved_vectors: np.ndarray | None = None
    links: list[str] = field(default_factory=list)  # code and model homes the saved papers link to
    _vocab: Vocabulary | None = field(default=None, repr=False, compare=False)

    @property
    def vocab(self) -> Vocabulary:
        if self._vocab is None:
            self._vocab = Vocabulary.from_arrays(self.text["terms"], self.text["idf"], self.text["unseen_idf"])
        return self._vocab

    def _rows(self, papers: Sequence[Paper]) -> Rows:
        return self.vocab.rows([paper_terms(p) for p in papers])

    def _author_score(self, paper: Paper, followed_keys: set[str]) -> float:
        names = _author_keys(paper)
        followed = len(set(names) & followed_keys)
        followed += paper.organization is not None and paper.organization in self.followed_organizations
        middle = min(1.0, math.sqrt(FULL_CREDIT_AUTHORS / len(names))) if names else 1.0
        shared = sum(self.author_shares.get(name, 0.0) * (1.0 if n in (0, len(names) - 1) else middle)
                     for n, name in enumerate(names))  # fmt: skip
        return AUTHOR_WEIGHT * shared + FOLLOW_WEIGHT * followed

    def rank(self, papers: Sequence[Paper], limit: int) -> list[tuple[int, float, Reasons]]:
        """The `limit` best papers as (index in `papers`, score, why), best first: one pass over their words."""
        rows = self._rows(papers)
        scores = self.score(papers, rows)
        order = np.argsort(-scores, kind="stable")[:limit].tolist()
        reasons = self.explain_all([papers[i] for i in order], rows=rows.take(order))
        return [(i, float(scores[i]), why) for i, why in zip(order, reasons)]

    def score(self, papers: Sequence[Paper], rows: Rows | None = None) -> np.ndarray:
        """`rows`: the papers' words as `_rows` makes them, if already made."""
        text_mean, text_std, vector_mean, vector_std, both_mean, both_std = self.scales
        rows = self._rows(papers) if rows is None else rows
        content = (rows.dot(np.asarray(self.text["weights"], np.float32)) - text_mean) / text_std
        if self.query is not None:
            has = [n for n, p in enumerate(papers) if p.vector is not None]
            if has:
                vectors = np.asarray([papers[n].vector for n in has], np.float32)
                z = (vectors @ self.query - vector_mean) / vector_std
                content[has] = (content[has] + VECTOR_WEIGHT * z - both_mean) / both_std
        followed_keys, own_links = {author_key(a) for a in self.followed_authors}, set(self.links)
        links = np.array([len(paper_links(p) & own_links) for p in papers], np.float32)
        return content + LINK_WEIGHT * links + np.array([self._author_score(p, followed_keys) for p in papers], np.float32)

    def explain(self, paper: Paper, top: int = 3) -> Reasons:
        return self.explain_all([paper], top)[0]

    def explain_all(self, papers: Sequence[Paper], top: int = 3, rows: Rows | None = None) -> list[Reasons]:
        """Why each paper ranks where it does: the closest saved papers (by embedding, else by words), the
        followed and shared authors, a followed organization, and the words that weigh most for it."""
        rows = self._rows(papers) if rows is None else rows
        by_words = None
        if any(self.query is None or p.vector is None for p in papers):
            saved = Rows.of(self.saved_rows, rows.width)
            by_words = saved.gram(rows) if len(saved) else np.zeros((0, len(papers)), np.float32)
        weights = np.asarray(self.text["weights"], np.float32)
        followed_keys = {author_key(a) for a in self.followed_authors}
        reasons = []
        for n, paper in enumerate(papers):
            if self.query is not None and paper.vector is not None:
                similarity = self.saved_vectors @ paper.vector
            else:
                similarity = by_words[:, n]
            order = np.argsort(-similarity, kind="stable")[:top]
            closest = [(self.saved_ids[i], round(float(similarity[i]), 3)) for i in order if similarity[i] > 0]
            names = {author_key(a): a for a in paper.authors}
            followed = [a for k, a in names.items() if k in followed_keys]
            shared = sorted((a for k, a in names.items() if k in self.author_shares and k not in followed_keys),
                            key=lambda a: -self.author_shares[author_key(a)])  # fmt: skip
            organization = paper.organization if paper.organization in self.followed_organizations else None
            ids, values = rows.row(n)
            contribution = values * weights[ids]
            best = [i for i in np.argsort(-contribution, kind="stable")[:top] if contribution[i] > 0]
            reasons.append(Reasons(closest, followed + shared, organization, [self.vocab.terms[ids[i]] for i in best]))
        return reasons

    def query_vector(self) -> np.ndarray | None:
        if self.query is None or not np.any(self.query):
            return None
        return (self.query / np.linalg.norm(self.query)).astype(np.float32)

    def query_terms(self, n: int = 12) -> list[str]:
        weights = np.asarray(self.text["weights"])
        return [self.text["terms"][i] for i in np.argsort(-weights, kind="stable")[:n] if weights[i] > 0]

    def to_bytes(self) -> bytes:
        meta = dict(terms=self.text["terms"], unseen_idf=self.text["unseen_idf"], scales=self.scales,
                    author_shares=self.author_shares, followed_authors=self.followed_authors,
                    followed_organizations=self.followed_organizations, saved_ids=self.saved_ids,
                    saved_row_lengths=[len(i) for i, _ in self.saved_rows], links=self.links)  # fmt: skip
        arrays = dict(
            meta=np.frombuffer(orjson.dumps(meta), np.uint8),
            idf=np.asarray(self.text["idf"], np.float32), weights=np.asarray(self.text["weights"], np.float32),
            saved_ids=np.asarray([i for ids, _ in self.saved_rows for i in ids], np.int32),
            saved_weights=np.asarray([w for _, ws in self.saved_rows for w in ws], np.float32),
        )
        if self.query is not None:
            arrays["query"] = self.query.astype(np.float32)
            arrays["saved_vectors"] = self.saved_vectors.astype(np.float16)
        out = io.BytesIO()
        np.savez_compressed(out, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReaderModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            a = {name: archive[name] for name in archive.files}
        meta = orjson.loads(a["meta"].tobytes())
        bounds = np.cumsum([0] + meta["saved_row_lengths"])
        rows = [(a["saved_ids"][s:e].tolist(), a["saved_weights"][s:e].tolist()) for s, e in zip(bounds, bounds[1:])]
        return cls(
            text=dict(terms=meta["terms"], idf=a["idf"], weights=a["weights"], unseen_idf=meta["unseen_idf"]),
            scales=meta["scales"], query=a.get("query"), author_shares=meta["author_shares"],
            followed_authors=meta["followed_authors"], followed_organizations=meta["followed_organizations"],
            saved_ids=meta["saved_ids"], saved_rows=rows,
            saved_vectors=a["saved_vectors"].astype(np.float32) if "saved_vectors" in a else None,
            links=meta.get("links", []),
        )  # fmt: skip
