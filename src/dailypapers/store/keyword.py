"""The keyword index: SQLite FTS5 with BM25 over title, authors and abstract.

It is derived data. `refresh` catches it up with papers whose `seq` is above the last indexed one, in
batches that each commit with their watermark, so an interrupted refresh resumes where it stopped.
User text never reaches FTS5's query syntax: it is cut into words and each word is quoted.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from .schema import meta, papers

# bm25() weights per column, in the table's column order: title, authors, abstract.
WEIGHTS = (4.0, 2.0, 1.0)
MAX_TERMS = 32
_WORD = re.compile(r"\w+", re.UNICODE)
_WATERMARK = "keyword_seq"


def match_expression(text: str) -> str | None:
    """An FTS5 query that matches documents containing every word of `text` (None if it has no words)."""
    words = _WORD.findall(text or "")[:MAX_TERMS]
    return " ".join(f'"{w}"' for w in words) or None


def authors_text(authors: list[dict] | None) -> str:
    return ", ".join(a["name"] for a in authors or [])


def _watermark(conn) -> int:
    return int(conn.execute(sa.select(meta.c.value).where(meta.c.key == _WATERMARK)).scalar() or 0)


def lag(store) -> int:
    if not store.is_sqlite:
        return 0
    with store.engine.connect() as conn:
        done = _watermark(conn)
        return conn.execute(sa.select(sa.func.count()).select_from(papers).where(papers.c.seq > done)).scalar()


def refresh(store, progress=None, batch: int = 5000) -> int:
    if not store.is_sqlite:
        return 0
    total = 0
    while True:
        with store.writer.begin() as conn:
            done = _watermark(conn)
            rows = conn.execute(
                sa.select(papers.c.pk, papers.c.seq, papers.c.title, papers.c.authors, papers.c.abstract)
                .where(papers.c.seq > done)
                .order_by(papers.c.seq)
                .limit(batch)
            ).all()
            if not rows:
                return total
            raw = conn.connection.driver_connection
            raw.executemany("DELETE FROM paper_fts WHERE rowid = ?", [(r.pk,) for r in rows])
            raw.executemany(
                "INSERT INTO paper_fts(rowid, title, authors, abstract) VALUES (?, ?, ?, ?)",
                [(r.pk, r.title, authors_text(r.authors), r.abstract or "") for r in rows],
            )
            value = str(rows[-1].seq)
            if conn.execute(meta.update().where(meta.c.key == _WATERMARK).values(value=value)).rowcount == 0:
                conn.execute(meta.insert().values(key=_WATERMARK, value=value))
        total += len(rows)
        if progress:
            progress(len(rows))


def search_pks(conn, text: str, limit: int, offset: int = 0) -> list[int]:
    expression = match_expression(text)
    if expression is None:
        return []
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = conn.exec_driver_sql(
        f"SELECT rowid FROM paper_fts WHERE paper_fts MATCH ? ORDER BY bm25(paper_fts, {weights}) LIMIT ? OFFSET ?",
        (expression, limit, offset),
    )
    return [r[0] for r in rows]
