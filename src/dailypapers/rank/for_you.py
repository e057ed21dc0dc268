""""For you": a reader's papers, ranked by their own model (rank/recommend.py), each with why.

The model is trained when the library changes, not per request: the store keeps it with the library
version it learned from, and the first ranking after a change retrains and saves it (store/library.py).
A ranking scores candidates only, never the whole catalog:

- `feed`: the papers featured in a period (a day's feed is a few dozen).
- `catalog`: recent papers beyond the feed, found through the indexes: the nearest neighbours of the
  reader's model vector and of their latest saved papers (vector index), the papers matching the terms
  that weigh most in their model (keyword index), and the latest papers of the authors and
  organizations they follow. A few hundred candidates whatever the catalog's size.

Saved and dismissed papers are never recommended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .recommend import Library, Paper, ReaderModel, Reasons, train

BACKGROUND = 2000  # random catalog papers the model learns to tell the reader's from
NEIGHBOURS_OF_SAVED = 5  # latest saved papers whose nearest neighbours are candidates, NEIGHBOURS each
NEIGHBOURS = 30
BY_FOLLOW = 10  # the latest papers of each followed author and organization
CANDIDATES_PER_SOURCE = 100  # from the model vector and from its heaviest words
RECENT_DAYS = 365  # the catalog view: papers published in the last year of the catalog


@dataclass
class Recommendation:
    paper: dict  # the store's paper
    score: float
    reasons: Reasons


class NoLibrary(Exception):
    """The reader has saved nothing yet: there is nothing to learn from."""


def as_paper(row: dict, vector: np.ndarray | None = None) -> Paper:
    organization = row.get("organization")
    if isinstance(organization, dict):
        organization = organization.get("name")
    authors = [a["name"] for a in row.get("authors") or [] if a.get("name")]
    return Paper(row["id"], row["title"] or "", row.get("abstract"), authors, organization, vector)


class Recommender:
    """Rankings for the readers of one store, through one Search (its indexes find the candidates)."""

    def __init__(self, store, search):
        self.store, self.search = store, search

    def _vectors(self, rows: list[dict]) -> list[np.ndarray | None]:
        vectors = self.search.vectors if self.search.encoder is not None else None
        return [vectors.vector_of(row["pk"]) if vectors is not None else None for row in rows]

    def _papers(self, rows: list[dict]) -> list[Paper]:
        return [as_paper(row, vector) for row, vector in zip(rows, self._vectors(rows))]

    def model(self, user_id: int) -> tuple[ReaderModel, dict]:
        """The reader's model, retrained first if their library changed since; and the library."""
        reader = self.store.reader(user_id)
        library = self.store.library(user_id)
        if not library["saved"]:
            raise NoLibrary("save a paper (★) or import your library to get recommendations")
        if reader and reader["model"] is not None and reader["model_version"] == reader["library_version"]:
            return ReaderModel.from_bytes(reader["model"]), library
        saved = self._papers(self.store.papers_by_ids(library["saved"]))
        dismissed = self._papers(self.store.papers_by_ids(library["dismissed"]))
        mine = set(library["saved"]) | set(library["dismissed"])
        # the same sample for every reader: its words, cut once (rank/recommend.py), serve them all
        background_ids = [i for i in self.store.random_paper_ids(BACKGROUND) if i not in mine]
        background = self._papers(self.store.papers_by_ids(background_ids))
        model = train(Library(saved, dismissed, frozenset(library["authors"]), frozenset(library["organizations"])), background)
        if reader is not None:
            self.store.save_model(user_id, reader["library_version"], model.to_bytes())
        return model, library

    def rank(self, user_id: int, candidates: list[dict], limit: int) -> list[Recommendation]:
        return self._rank(*self.model(user_id), candidates, limit)

    def _rank(self, model: ReaderModel, library: dict, candidates: list[dict], limit: int) -> list[Recommendation]:
        mine = set(library["saved"]) | set(library["dismissed"])
        rows = [row for row in {row["id"]: row for row in candidates}.values() if row["id"] not in mine]
        if not rows:
            return []
        return [Recommendation(rows[i], score, why) for i, score, why in model.rank(self._papers(rows), limit)]

    def feed(self, user_id: int, start: date, end: date, limit: int = 50) -> list[Recommendation]:
        """The papers featured from `start` to `end`, ranked for the reader."""
        rows, _ = self.store.feed(start, end, offset=0, limit=500)
        return self.rank(user_id, rows, limit)

    def catalog(self, user_id: int, limit: int = 50) -> list[Recommendation]:
        """Recent papers from the whole catalog, ranked for the reader (see the module's docstring)."""
        model, library = self.model(user_id)
        pks: list[int] = []
        since = self._recent_since()
        if self.search.encoder is not None and self.search.vectors is not None:
            targets = [(model.query_vector(), CANDIDATES_PER_SOURCE)]
            saved_rows = self.store.papers_by_ids(library["saved"][:NEIGHBOURS_OF_SAVED])
            targets += [(vector, NEIGHBOURS) for vector in self._vectors(saved_rows)]
            for vector, count in targets:
                if vector is not None:
                    pks += [pk for pk, _ in self.search.vectors.search(vector, count)]
        terms = model.query_terms()
        if terms:
            found = self.search.find(" ".join(terms), mode="lexical", limit=CANDIDATES_PER_SOURCE,
                                     published_from=since)  # fmt: skip
            pks += [paper["pk"] for paper in found.papers]
        for name in library["authors"]:
            pks += [p["pk"] for p in self.search.find("", mode="lexical", sort="date", limit=BY_FOLLOW, author=name).papers]
        for name in library["organizations"]:
            pks += [p["pk"] for p in self.search.find("", mode="lexical", sort="date", limit=BY_FOLLOW, organization=name).papers]
        rows = [row for row in self.store.papers_by_pk(list(dict.fromkeys(pks)))
                if since is None or (row.get("published_at") or "")[:10] >= since]  # fmt: skip
        return self._rank(model, library, rows, limit)

    def _recent_since(self) -> str | None:
        latest = self.store.latest_day()
        return (date.fromisoformat(latest) - timedelta(days=RECENT_DAYS)).isoformat() if latest else None
