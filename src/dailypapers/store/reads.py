"""Read queries: feeds, papers, what derived indexes need. Mixed into `Store`."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..rank import trending
from .schema import comments, featured, meta, organizations, papers, votes

SORTS = ("upvotes", "publishedAt", "trending")

# A paper's upvotes: its source's count (Hugging Face's, as last ingested) plus this site's own votes.
UPVOTES = (papers.c.upvotes + sa.select(sa.func.count()).where(votes.c.paper_id == papers.c.id).scalar_subquery()).label("upvotes")
# Its comments likewise: the source's count plus the comments written here that no moderator hid.
NUM_COMMENTS = (
    papers.c.num_comments
    + sa.select(sa.func.count()).where(comments.c.paper_id == papers.c.id, comments.c.hidden_at.is_(None)).scalar_subquery()
).label("num_comments")
_COUNTED = {"upvotes": UPVOTES, "num_comments": NUM_COMMENTS}
_PAPER_COLUMNS = [_COUNTED.get(c.name, c) for c in papers.c if c.name not in ("bib_rank", "bib_observed", "daily_observed")]
_PAPER_SELECT = sa.select(
    *_PAPER_COLUMNS, organizations.c.fullname.label("org_fullname"), organizations.c.avatar.label("org_avatar")
).select_from(papers.outerjoin(organizations, papers.c.organization == organizations.c.name))


def _paper_dict(mapping) -> dict:
    row = dict(mapping)
    name, fullname, avatar = row.pop("organization"), row.pop("org_fullname"), row.pop("org_avatar")
    row["organization"] = {"name": name, "fullname": fullname, "avatar": avatar} if name else None
    row["authors"] = row["authors"] or []
    return row


class ReadQueries:
    engine: sa.Engine

    def generation(self) -> int:
        """A number that changes whenever the catalog changes (for caches)."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(meta.c.value).where(meta.c.key == "seq")).scalar() or 0)

    def latest_day(self) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(featured.c.day))).scalar()

    def neighbor_days(self, start: str, end: str | None = None) -> tuple[str | None, str | None]:
        """The closest days with papers before `start` and after `end`."""
        with self.engine.connect() as conn:
            before = conn.execute(sa.select(sa.func.max(featured.c.day)).where(featured.c.day < start)).scalar()
            after = conn.execute(sa.select(sa.func.min(featured.c.day)).where(featured.c.day > (end or start))).scalar()
        return before, after

    def feed(
        self, start: date, end: date, *, sort: str = "upvotes", submitter: str | None = None,
        offset: int = 0, limit: int = 50,
    ) -> tuple[list[dict], int]:  # fmt: skip
        """Papers featured between `start` and `end` (inclusive), sorted, one page; and the total count.

        Each paper carries `day`, the first day it was featured in the period.
        """
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}")
        day = sa.func.min(featured.c.day).label("day")
        query = (
            sa.select(papers.c.pk, papers.c.id, UPVOTES, papers.c.submitted_at, day)
            .select_from(featured.join(papers, papers.c.id == featured.c.paper_id))
            .where(featured.c.day.between(start.isoformat(), end.isoformat()))
            .group_by(papers.c.pk)
        )
        if submitter:
            query = query.where(papers.c.submitter == submitter)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            rows.sort(key=lambda r: r.id)
            if sort == "upvotes":
                rows.sort(key=lambda r: (r.upvotes, r.day), reverse=True)
            elif sort == "publishedAt":
                rows.sort(key=lambda r: (r.day, r.submitted_at or ""), reverse=True)
            else:
                reference = trending.reference_time(end)
                rows.sort(key=lambda r: (trending.score(r.upvotes, r.day, reference), r.upvotes), reverse=True)
            page = rows[offset : offset + limit]
            days = {r.pk: r.day for r in page}
            items = self._papers_by_pk(conn, [r.pk for r in page])
        for item in items:
            item["day"] = days[item["pk"]]
        return items, len(rows)

    def _papers_by_pk(self, conn, pks: list[int]) -> list[dict]:
        if not pks:
            return []
        found = {m["pk"]: _paper_dict(m) for m in conn.execute(_PAPER_SELECT.where(papers.c.pk.in_(pks))).mappings()}
        return [found[pk] for pk in pks if pk in found]

    def paper(self, paper_id: str) -> dict | None:
        """One paper with `featured_on`, the days it was on the daily feed."""
        with self.engine.connect() as conn:
            mapping = conn.execute(_PAPER_SELECT.where(papers.c.id == paper_id)).mappings().first()
            if mapping is None:
                return None
            item = _paper_dict(mapping)
            item["featured_on"] = list(
                conn.execute(sa.select(featured.c.day).where(featured.c.paper_id == paper_id).order_by(featured.c.day)).scalars()
            )
        return item

    def paper_pk(self, paper_id: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(papers.c.pk).where(papers.c.id == paper_id)).scalar()

    def papers_by_ids(self, paper_ids: list[str]) -> list[dict]:
        """Papers by arXiv id, in no particular order; unknown ids are left out."""
        with self.engine.connect() as conn:
            query = _PAPER_SELECT.where(papers.c.id.in_(paper_ids))
            return [_paper_dict(m) for m in conn.execute(query).mappings()]

    def papers_by_pk(self, pks: list[int]) -> list[dict]:
        """Papers in the order of `pks` (keys a derived index returned); unknown keys are left out."""
        with self.engine.connect() as conn:
            return self._papers_by_pk(conn, pks)

    def changed_since(self, seq: int, limit: int) -> list:
        """What derived indexes need of the papers changed after `seq`, in `seq` order: pk, seq, title,
        authors, abstract, categories, organization (name and full name), published_at, upvotes and
        the first featured day."""
        first_day = (
            sa.select(sa.func.min(featured.c.day)).where(featured.c.paper_id == papers.c.id).scalar_subquery().label("first_day")
        )
        query = (
            sa.select(papers.c.pk, papers.c.seq, papers.c.title, papers.c.authors, papers.c.abstract, papers.c.categories,
                      papers.c.organization, organizations.c.fullname.label("org_fullname"), papers.c.published_at,
                      UPVOTES, first_day)  # fmt: skip
            .select_from(papers.outerjoin(organizations, papers.c.organization == organizations.c.name))
            .where(papers.c.seq > seq)
            .order_by(papers.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).all()

    def count_changed_since(self, seq: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(papers).where(papers.c.seq > seq)).scalar()

    def papers_page(self, after: str | None, limit: int) -> list[dict]:
        """All papers in id order, `limit` at a time after the id `after` (cursor pagination)."""
        query = _PAPER_SELECT.order_by(papers.c.id).limit(limit)
        if after:
            query = query.where(papers.c.id > after)
        with self.engine.connect() as conn:
            return [_paper_dict(m) for m in conn.execute(query).mappings()]

    def featured_ids(self, since: str | None = None) -> list[str]:
        """The featured papers' ids (of those featured on day `since` or later), the most recently featured first."""
        last = sa.func.max(featured.c.day)
        query = sa.select(featured.c.paper_id).group_by(featured.c.paper_id).order_by(last.desc(), featured.c.paper_id)
        if since:
            query = query.having(last >= since)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar()

    def stats(self) -> dict:
        with self.engine.connect() as conn:
            return {
                "papers": conn.execute(sa.select(sa.func.count()).select_from(papers)).scalar(),
                "featured_papers": conn.execute(sa.select(sa.func.count(sa.distinct(featured.c.paper_id)))).scalar(),
                "days": conn.execute(sa.select(sa.func.count(sa.distinct(featured.c.day)))).scalar(),
                "first_day": conn.execute(sa.select(sa.func.min(featured.c.day))).scalar(),
                "last_day": conn.execute(sa.select(sa.func.max(featured.c.day))).scalar(),
                "organizations": conn.execute(sa.select(sa.func.count()).select_from(organizations)).scalar(),
            }
