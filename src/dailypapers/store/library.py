"""The SQL of personal libraries: collections of saved papers, dismissals ("not interested"), followed
authors and organizations, and each reader's recommendation model.

Every change to a reader's library bumps their `library_version` in the same transaction; the model
trained on an older version is stale and is retrained on the next ranking (rank/for_you.py), so a
library change costs one training, not one per request.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .schema import collections, dismissed, follows, papers, readers, saved, subscribers, users
from .subscriptions import stamp

DEFAULT_COLLECTION = "to read"
FOLLOW_KINDS = ("author", "organization")
_COLLECTION_COLUMNS = (collections.c.id, collections.c.user_id, collections.c.name, collections.c.key,
                       collections.c.public, collections.c.created_at)  # fmt: skip


class CollectionExists(ValueError):
    def __init__(self, name: str):
        super().__init__(f"you already have a collection named {name!r}")


class LibraryQueries:
    def _bump_library(self, conn, user_id: int) -> None:
        if not conn.execute(readers.update().where(readers.c.user_id == user_id)
                            .values(library_version=readers.c.library_version + 1)).rowcount:  # fmt: skip
            conn.execute(readers.insert().values(user_id=user_id, library_version=1))

    # -- collections ----------------------------------------------------------------------------------
    def collections_of(self, user_id: int) -> list[dict]:
        """The reader's collections, oldest first, each with `count` (papers in it)."""
        count = sa.select(sa.func.count()).where(saved.c.collection_id == collections.c.id).scalar_subquery()
        query = sa.select(*_COLLECTION_COLUMNS, count.label("count")).where(collections.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query.order_by(collections.c.id))]

    def collection(self, key: str) -> dict | None:
        """A collection by its key, with its owner's username."""
        query = (sa.select(*_COLLECTION_COLUMNS, users.c.username).join(users, users.c.id == collections.c.user_id)
                 .where(collections.c.key == key))  # fmt: skip
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def create_collection(self, user_id: int, name: str, public: bool = False) -> dict:
        """CollectionExists if the reader has one of that name."""
        try:
            with self.writer.begin() as conn:
                collection_id = self._create_collection(conn, user_id, name, public)
        except IntegrityError:
            raise CollectionExists(name) from None
        return next(c for c in self.collections_of(user_id) if c["id"] == collection_id)

    def _create_collection(self, conn, user_id: int, name: str, public: bool = False) -> int:
        values = dict(user_id=user_id, name=name, key=secrets.token_urlsafe(12), public=public, created_at=stamp())
        return conn.execute(collections.insert().values(**values)).inserted_primary_key[0]

    def _collection_id(self, conn, user_id: int, name: str | None, create: bool) -> int | None:
        name = name or DEFAULT_COLLECTION
        found = conn.execute(sa.select(collections.c.id).where(collections.c.user_id == user_id,
                                                               collections.c.name == name)).scalar()  # fmt: skip
        if found is None and create:
            found = self._create_collection(conn, user_id, name)
        return found

    def update_collection(self, user_id: int, key: str, *, name: str | None = None, public: bool | None = None) -> bool:
        """Rename it or make it public or private; False if the reader has no such collection."""
        values = {k: v for k, v in (("name", name), ("public", public)) if v is not None}
        mine = (collections.c.user_id == user_id, collections.c.key == key)
        try:
            with self.writer.begin() as conn:
                if not values:
                    return conn.execute(sa.select(collections.c.id).where(*mine)).first() is not None
                done = conn.execute(collections.update().where(*mine).values(**values)).rowcount
        except IntegrityError:
            raise CollectionExists(name) from None
        return bool(done)

    def delete_collection(self, user_id: int, key: str) -> bool:
        with self.writer.begin() as conn:
            found = conn.execute(sa.select(collections.c.id).where(collections.c.user_id == user_id, collections.c.key == key)).scalar()
            if found is None:
                return False
            conn.execute(saved.delete().where(saved.c.collection_id == found))
            conn.execute(collections.delete().where(collections.c.id == found))
            self._bump_library(conn, user_id)
        return True

    def collection_papers(self, collection_id: int, limit: int = 1000, offset: int = 0) -> list[str]:
        """The ids of a collection's papers, the latest saved first."""
        query = (sa.select(saved.c.paper_id).where(saved.c.collection_id == collection_id)
                 .order_by(saved.c.saved_at.desc(), saved.c.paper_id).limit(limit).offset(offset))  # fmt: skip
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    # -- saving and dismissing --------------------------------------------------------------------------
    def save_papers(self, user_id: int, paper_ids: Sequence[str], collection: str | None = None) -> int:
        """Save papers (in the catalog) into the reader's collection named `collection` (made if need be;
        default "to read"), all or none; a saved paper is no longer dismissed. How many were new there."""
        added = 0
        with self.writer.begin() as conn:
            collection_id = self._collection_id(conn, user_id, collection, create=True)
            there = set(conn.execute(sa.select(saved.c.paper_id).where(saved.c.collection_id == collection_id,
                                                                       saved.c.paper_id.in_(paper_ids))).scalars())  # fmt: skip
            new = [pid for pid in dict.fromkeys(paper_ids) if pid not in there]
            if new:
                now = stamp()
                conn.execute(saved.insert(), [{"collection_id": collection_id, "paper_id": pid, "saved_at": now} for pid in new])
                added = len(new)
            conn.execute(dismissed.delete().where(dismissed.c.user_id == user_id, dismissed.c.paper_id.in_(paper_ids)))
            self._bump_library(conn, user_id)
        return added

    def unsave_paper(self, user_id: int, paper_id: str, collection_key: str | None = None) -> None:
        """Take the paper out of that collection, or out of all the reader's collections."""
        mine = sa.select(collections.c.id).where(collections.c.user_id == user_id)
        if collection_key is not None:
            mine = mine.where(collections.c.key == collection_key)
        with self.writer.begin() as conn:
            conn.execute(saved.delete().where(saved.c.paper_id == paper_id, saved.c.collection_id.in_(mine)))
            self._bump_library(conn, user_id)

    def dismiss_paper(self, user_id: int, paper_id: str, dismiss: bool = True) -> None:
        """Mark a paper "not interested" (it also leaves the reader's collections), or take that back."""
        with self.writer.begin() as conn:
            conn.execute(dismissed.delete().where(dismissed.c.user_id == user_id, dismissed.c.paper_id == paper_id))
            if dismiss:
                conn.execute(dismissed.insert().values(user_id=user_id, paper_id=paper_id, dismissed_at=stamp()))
                mine = sa.select(collections.c.id).where(collections.c.user_id == user_id)
                conn.execute(saved.delete().where(saved.c.paper_id == paper_id, saved.c.collection_id.in_(mine)))
            self._bump_library(conn, user_id)

    def saved_among(self, user_id: int, paper_ids: Iterable[str]) -> set[str]:
        """Which of these papers the reader has saved (for the ★ on cards)."""
        ids = list(paper_ids)
        if not ids:
            return set()
        query = (sa.select(saved.c.paper_id).join(collections, collections.c.id == saved.c.collection_id)
                 .where(collections.c.user_id == user_id, saved.c.paper_id.in_(ids)))  # fmt: skip
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def library(self, user_id: int) -> dict:
        """Everything the reader's model learns from: saved ids (each once, the latest saved first), dismissed
        ids, followed authors and organizations."""
        mine = saved.join(collections, collections.c.id == saved.c.collection_id)
        with self.engine.connect() as conn:
            saved_ids = conn.execute(sa.select(saved.c.paper_id).select_from(mine).where(collections.c.user_id == user_id)
                                     .group_by(saved.c.paper_id).order_by(sa.func.max(saved.c.saved_at).desc(), saved.c.paper_id)).scalars()  # fmt: skip
            dismissed_ids = conn.execute(sa.select(dismissed.c.paper_id).where(dismissed.c.user_id == user_id)
                                         .order_by(dismissed.c.dismissed_at.desc())).scalars()  # fmt: skip
            followed = conn.execute(sa.select(follows.c.kind, follows.c.name).where(follows.c.user_id == user_id)
                                    .order_by(follows.c.created_at)).all()  # fmt: skip
            return {
                "saved": list(saved_ids), "dismissed": list(dismissed_ids),
                "authors": [name for kind, name in followed if kind == "author"],
                "organizations": [name for kind, name in followed if kind == "organization"],
            }  # fmt: skip

    # -- follows --------------------------------------------------------------------------------------
    def follow(self, user_id: int, kind: str, name: str, follow: bool = True) -> None:
        assert kind in FOLLOW_KINDS
        with self.writer.begin() as conn:
            conn.execute(follows.delete().where(follows.c.user_id == user_id, follows.c.kind == kind, follows.c.name == name))
            if follow:
                conn.execute(follows.insert().values(user_id=user_id, kind=kind, name=name, created_at=stamp()))
            self._bump_library(conn, user_id)

    def follows(self, user_id: int, kind: str, name: str) -> bool:
        query = sa.select(follows.c.name).where(follows.c.user_id == user_id, follows.c.kind == kind, follows.c.name == name)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    # -- the reader's model ---------------------------------------------------------------------------
    def reader(self, user_id: int) -> dict | None:
        """{library_version, model_version, model, feed_token}; None before the reader's first library change."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(readers).where(readers.c.user_id == user_id)).first()
        return dict(row._mapping) if row else None

    def save_model(self, user_id: int, library_version: int, model: bytes) -> bool:
        """Keep a model trained on `library_version`, unless the library changed meanwhile (False)."""
        with self.writer.begin() as conn:
            return bool(conn.execute(readers.update().where(readers.c.user_id == user_id,
                                                            readers.c.library_version == library_version)
                                     .values(model_version=library_version, model=model)).rowcount)  # fmt: skip

    def feed_token(self, user_id: int, *, new: bool = False) -> str:
        """The secret of the reader's personal feed URL (made on first use; `new`: replace it, so that the
        old URL stops working)."""
        with self.writer.begin() as conn:
            token = conn.execute(sa.select(readers.c.feed_token).where(readers.c.user_id == user_id)).scalar()
            if token and not new:
                return token
            token = secrets.token_urlsafe(24)
            if not conn.execute(readers.update().where(readers.c.user_id == user_id).values(feed_token=token)).rowcount:
                conn.execute(readers.insert().values(user_id=user_id, library_version=0, feed_token=token))
        return token

    def feed_reader(self, token: str) -> int | None:
        """The user whose personal feed `token` opens."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(readers.c.user_id).where(readers.c.feed_token == token)).scalar()

    def random_paper_ids(self, count: int, *, seed: int = 0) -> list[str]:
        """About `count` papers drawn at random from the catalog (the same ones for the same seed and
        catalog), for a reader's model to tell their papers from: primary keys drawn in Python and read
        by key, not a sort of the whole table."""
        with self.engine.connect() as conn:
            low, high = conn.execute(sa.select(sa.func.min(papers.c.pk), sa.func.max(papers.c.pk))).one()
            if low is None:
                return []
            span = range(low, high + 1)
            pks = random.Random(seed).sample(span, min(count, len(span)))
            found = []
            for start in range(0, len(pks), 500):
                found += conn.execute(sa.select(papers.c.id).where(papers.c.pk.in_(pks[start : start + 500]))).scalars()
            return found

    # -- digests --------------------------------------------------------------------------------------
    def link_subscriber(self, subscriber_id: int, user_id: int | None) -> None:
        """Put the account's "For you" into the subscriber's digests (None: no longer)."""
        with self.writer.begin() as conn:
            conn.execute(subscribers.update().where(subscribers.c.id == subscriber_id).values(user_id=user_id))
