"""The SQL of sentence embeddings: which papers need (re-)embedding, saving vectors, reading them back.

A vector is kept per paper for one model at a time, with a hash of the text it was made from: a paper
whose title and abstract did not change (an upvote, a new featured day) keeps its vector. Each saved
vector gets a `seq` from the catalog's counter, which the vector index (search/vectors.py) catches up
from, as the keyword index does from the papers' `seq`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from .schema import embeddings, meta, papers


def _watermark_key(model: str) -> str:
    return f"embedded_seq {model}"


class EmbeddingQueries:
    def embedded_seq(self, model: str) -> int:
        """The catalog `seq` up to which every paper has a vector from `model` (or needed none)."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == _watermark_key(model))).scalar()
        return int(value or 0)

    def to_embed(self, model: str, limit: int) -> list:
        """Papers changed since `model`'s watermark, in `seq` order: pk, id, seq, title, abstract, and the
        text hash of their current vector if it is from `model` (else None)."""
        query = (
            sa.select(papers.c.pk, papers.c.id, papers.c.seq, papers.c.title, papers.c.abstract,
                      sa.case((embeddings.c.model == model, embeddings.c.text_hash)).label("text_hash"))  # fmt: skip
            .select_from(papers.outerjoin(embeddings, embeddings.c.paper_pk == papers.c.pk))
            .where(papers.c.seq > self.embedded_seq(model))
            .order_by(papers.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def count_to_embed(self, model: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(papers).where(papers.c.seq > self.embedded_seq(model))
            ).scalar()

    def save_embeddings(self, model: str, vectors: Sequence[tuple[int, str, bytes, float]], up_to_seq: int) -> None:
        """Store (paper pk, text hash, int8 vector bytes, scale) for `model`, replacing older vectors, and
        move the watermark to `up_to_seq`, in one transaction (so an interrupted `embed` resumes there)."""
        with self.writer.begin() as conn:
            if vectors:
                seq = self._next_seq(conn, len(vectors))
                pks = [v[0] for v in vectors]
                conn.execute(embeddings.delete().where(embeddings.c.paper_pk.in_(pks)))
                conn.execute(embeddings.insert(), [
                    {"paper_pk": pk, "model": model, "text_hash": text_hash, "vector": vector, "scale": scale,
                     "seq": seq + n}
                    for n, (pk, text_hash, vector, scale) in enumerate(vectors)
                ])  # fmt: skip
            key = _watermark_key(model)
            if conn.execute(meta.update().where(meta.c.key == key).values(value=str(up_to_seq))).rowcount == 0:
                conn.execute(meta.insert().values(key=key, value=str(up_to_seq)))

    def vectors_since(self, model: str, seq: int, limit: int) -> list:
        """`model`'s vectors saved after `seq`, in `seq` order: paper_pk, seq, vector, scale."""
        query = (
            sa.select(embeddings.c.paper_pk, embeddings.c.seq, embeddings.c.vector, embeddings.c.scale)
            .where(embeddings.c.model == model, embeddings.c.seq > seq)
            .order_by(embeddings.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def count_vectors_since(self, model: str, seq: int) -> int:
        """`model`'s vectors saved after `seq` (those a vector index at that watermark has yet to take)."""
        query = sa.select(sa.func.count()).select_from(embeddings).where(embeddings.c.seq > seq, embeddings.c.model == model)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def count_vectors(self, model: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(embeddings).where(embeddings.c.model == model)).scalar()
