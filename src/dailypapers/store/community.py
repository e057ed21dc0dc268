"""The SQL of what the community adds to the catalog: submissions to the daily feed, comments, and
organizations (papers attached by administrators, members).

Every change a reader can see (a new featured day, a comment's count, an organization) gives the paper
a new `seq`, so caches and the search index catch up, as for votes.
"""

from __future__ import annotations

import sqlalchemy as sa

from .schema import comments, featured, org_members, organizations, papers, users
from .subscriptions import stamp

_COMMENT_COLUMNS = (
    comments.c.id, comments.c.paper_id, comments.c.user_id, users.c.username, comments.c.body,
    comments.c.created_at, comments.c.edited_at, comments.c.hidden_at,
)  # fmt: skip


class AlreadyFeatured(ValueError):
    def __init__(self, paper_id: str, day: str):
        super().__init__(f"{paper_id} was already featured on {day}: it cannot be submitted again")
        self.day = day


class CommunityQueries:
    def _touch(self, conn, paper_id: str) -> None:
        conn.execute(papers.update().where(papers.c.id == paper_id).values(seq=self._next_seq(conn, 1)))

    # -- submissions ----------------------------------------------------------------------------------
    def feature_submission(self, paper_id: str, day: str, username: str) -> None:
        """Put a paper on `day`'s daily feed, submitted by `username`; AlreadyFeatured if it has been on
        the feed before (checked in the same transaction, so two submitters cannot both succeed)."""
        with self.writer.begin() as conn:
            first = conn.execute(sa.select(sa.func.min(featured.c.day)).where(featured.c.paper_id == paper_id)).scalar()
            if first is not None:
                raise AlreadyFeatured(paper_id, first)
            conn.execute(featured.insert().values(paper_id=paper_id, day=day))
            conn.execute(papers.update().where(papers.c.id == paper_id).values(
                submitter=username, submitted_by={"user": username, "fullname": username, "local": True},
                submitted_at=stamp(),
            ))  # fmt: skip
            self._touch(conn, paper_id)

    # -- comments -------------------------------------------------------------------------------------
    def add_comment(self, paper_id: str, user_id: int, body: str) -> int:
        with self.writer.begin() as conn:
            comment_id = conn.execute(comments.insert().values(
                paper_id=paper_id, user_id=user_id, body=body, created_at=stamp(),
            )).inserted_primary_key[0]  # fmt: skip
            self._touch(conn, paper_id)
        return comment_id

    def comments_of(self, paper_id: str, *, hidden: bool = False) -> list[dict]:
        """A paper's comments, oldest first; hidden ones only if `hidden` (for moderators)."""
        query = (
            sa.select(*_COMMENT_COLUMNS).join(users, users.c.id == comments.c.user_id)
            .where(comments.c.paper_id == paper_id).order_by(comments.c.id)
        )  # fmt: skip
        if not hidden:
            query = query.where(comments.c.hidden_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def comment(self, comment_id: int) -> dict | None:
        query = sa.select(*_COMMENT_COLUMNS).join(users, users.c.id == comments.c.user_id).where(comments.c.id == comment_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def edit_comment(self, comment_id: int, user_id: int, body: str) -> bool:
        """Only its author edits a comment (and not once a moderator hid it); whether it was edited."""
        return self._change_comment(
            comment_id, (comments.c.user_id == user_id, comments.c.hidden_at.is_(None)), body=body, edited_at=stamp()
        )

    def delete_comment(self, comment_id: int, user_id: int) -> bool:
        """Only its author deletes a comment; whether it was deleted."""
        return self._change_comment(comment_id, (comments.c.user_id == user_id,), delete=True)

    def hide_comment(self, comment_id: int, moderator_id: int, hide: bool = True) -> bool:
        """Hide (or show again) a comment; the caller checks the moderator's role."""
        values = {"hidden_at": stamp(), "hidden_by": moderator_id} if hide else {"hidden_at": None, "hidden_by": None}
        return self._change_comment(comment_id, (), **values)

    def _change_comment(self, comment_id: int, conditions: tuple, delete: bool = False, **values) -> bool:
        with self.writer.begin() as conn:
            paper_id = conn.execute(sa.select(comments.c.paper_id).where(comments.c.id == comment_id, *conditions)).scalar()
            if paper_id is None:
                return False
            where = comments.c.id == comment_id
            conn.execute(comments.delete().where(where) if delete else comments.update().where(where).values(**values))
            self._touch(conn, paper_id)
        return True

    # -- organizations --------------------------------------------------------------------------------
    def organization(self, name: str) -> dict | None:
        """An organization by its handle (any case), with its members' usernames and its aliases (the other
        handles of the same full name)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(organizations).where(sa.func.lower(organizations.c.name) == name.lower())).first()
            if row is None:
                return None
            members = conn.execute(
                sa.select(users.c.username).join(org_members, org_members.c.user_id == users.c.id)
                .where(org_members.c.organization == row.name).order_by(users.c.username)
            ).scalars().all()  # fmt: skip
            fullname = row.fullname or row.name
            aliases = conn.execute(
                sa.select(organizations.c.name)
                .where(sa.func.lower(sa.func.coalesce(organizations.c.fullname, organizations.c.name)) == fullname.lower(),
                       organizations.c.name != row.name)
                .order_by(organizations.c.name)
            ).scalars().all()  # fmt: skip
        return {"name": row.name, "fullname": fullname, "avatar": row.avatar, "members": list(members), "aliases": list(aliases)}

    def organization_avatars(self) -> list[tuple[str, str]]:
        """(handle, avatar URL) of every organization that has an avatar, by handle."""
        query = sa.select(organizations.c.name, organizations.c.avatar).where(organizations.c.avatar.is_not(None)).order_by(organizations.c.name)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def organizations_by_papers(self, q: str = "") -> list[dict]:
        """Organizations, most papers first, then by name; one entry per full name, as several Hugging Face
        handles often stand for one lab ("zju", "ZhejiangUniversity"): fullname, papers and members summed,
        and its handles, most papers first. `q`: only names or handles containing it (any case)."""
        members = sa.select(sa.func.count()).where(org_members.c.organization == organizations.c.name).scalar_subquery()
        count = sa.func.count(papers.c.pk)
        query = (
            sa.select(organizations.c.name, organizations.c.fullname, count.label("papers"), members.label("members"))
            .select_from(organizations.outerjoin(papers, papers.c.organization == organizations.c.name))
            .group_by(organizations.c.name)
        )  # fmt: skip
        groups: dict[str, dict] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                fullname = " ".join((row.fullname or row.name).split())
                group = groups.setdefault(fullname.casefold(), {"papers": 0, "members": 0, "handles": []})
                group["papers"] += row.papers
                group["members"] += row.members
                group["handles"].append({"name": row.name, "fullname": fullname, "papers": row.papers})
        needle = q.casefold().strip()
        found = [g for key, g in groups.items() if needle in key or any(needle in h["name"].casefold() for h in g["handles"])]
        for group in found:
            group["handles"].sort(key=lambda h: (-h["papers"], h["name"].casefold()))
            group["name"], group["fullname"] = group["handles"][0]["name"], group["handles"][0]["fullname"]
        return sorted(found, key=lambda g: (-g["papers"], g["fullname"].casefold()))

    def organization_papers(self, name: str, offset: int, limit: int) -> tuple[list[dict], int]:
        """An organization's papers, most recently featured (else published) first; and how many."""
        day = sa.select(sa.func.max(featured.c.day)).where(featured.c.paper_id == papers.c.id).scalar_subquery()
        where = papers.c.organization == name
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(papers).where(where)).scalar()
            pks = conn.execute(
                sa.select(papers.c.pk).where(where)
                .order_by(sa.func.coalesce(day, sa.func.substr(papers.c.published_at, 1, 10)).desc(), papers.c.id.desc())
                .offset(offset).limit(limit)
            ).scalars().all()  # fmt: skip
            return self._papers_by_pk(conn, list(pks)), total

    def attach_organization(self, paper_id: str, name: str, fullname: str | None = None) -> bool:
        """Attach a paper to an organization (made if it does not exist yet); whether the paper exists."""
        with self.writer.begin() as conn:
            if conn.execute(sa.select(papers.c.pk).where(papers.c.id == paper_id)).first() is None:
                return False
            known = conn.execute(sa.select(organizations.c.name).where(sa.func.lower(organizations.c.name) == name.lower())).scalar()
            if known is None:
                conn.execute(organizations.insert().values(name=name, fullname=fullname or name, observed=stamp()[:10]))
            conn.execute(papers.update().where(papers.c.id == paper_id).values(organization=known or name))
            self._touch(conn, paper_id)
        return True

    def set_membership(self, organization: str, user_id: int, member: bool) -> None:
        with self.writer.begin() as conn:
            where = (org_members.c.organization == organization, org_members.c.user_id == user_id)
            if not member:
                conn.execute(org_members.delete().where(*where))
            elif conn.execute(sa.select(org_members.c.user_id).where(*where)).first() is None:
                conn.execute(org_members.insert().values(organization=organization, user_id=user_id, created_at=stamp()))
