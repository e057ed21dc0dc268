"""The SQL of the community: users, sessions, API tokens, password resets and upvotes.

Secrets (session cookies, API tokens, password reset links) are stored as their SHA-256 only: a copy of
the database does not let anyone in. A reset link works once: using it also uses up the user's other
links and ends all the user's sessions, in one transaction. An upvote is a row (one per user and paper,
by the primary key), so the count is always the number of rows however many vote at once; voting also
gives the paper a new `seq`, so caches and the search index see the new count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .schema import api_tokens, papers, password_resets, sessions, users, votes
from .subscriptions import stamp

ROLES = ("user", "moderator", "admin")
_USER_COLUMNS = (users.c.id, users.c.username, users.c.email, users.c.role, users.c.created_at)


class UserExists(ValueError):
    pass


def _open_reset(token_hash: str, now: str) -> tuple:
    """Where a password reset link is still good: known, unused, unexpired."""
    c = password_resets.c
    return c.token_hash == token_hash, c.used_at.is_(None), c.expires_at > now


class AccountQueries:
    # -- users ----------------------------------------------------------------------------------------
    def create_user(self, username: str, email: str, password_hash: str, role: str = "user") -> dict:
        """UserExists if the username or the email is taken."""
        assert role in ROLES
        try:
            with self.writer.begin() as conn:
                user_id = conn.execute(users.insert().values(
                    username=username, email=email, password_hash=password_hash, role=role, created_at=stamp(),
                )).inserted_primary_key[0]  # fmt: skip
        except IntegrityError:
            raise UserExists("that username or email address is taken") from None
        return self.user(user_id)

    def user(self, user_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
        return dict(row._mapping) if row else None

    def login_candidate(self, name_or_email: str) -> tuple[dict, str] | None:
        """(user, password hash) for a username or an email address."""
        column = users.c.email if "@" in name_or_email else users.c.username
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_USER_COLUMNS, users.c.password_hash).where(column == name_or_email.lower())).first()
        if row is None:
            return None
        user = dict(row._mapping)
        return user, user.pop("password_hash")

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.writer.begin() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))

    def set_role(self, username: str, role: str) -> bool:
        """Whether there is such an account (its sessions have the new role at their next request)."""
        assert role in ROLES
        with self.writer.begin() as conn:
            return bool(conn.execute(users.update().where(users.c.username == username).values(role=role)).rowcount)

    def count_users(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(users)).scalar()

    # -- sessions -------------------------------------------------------------------------------------
    def create_session(self, user_id: int, token_hash: str, csrf: str, expires: datetime) -> None:
        with self.writer.begin() as conn:
            conn.execute(sessions.insert().values(token_hash=token_hash, user_id=user_id, csrf=csrf, created_at=stamp(),
                                                  expires_at=stamp(expires)))  # fmt: skip

    def session_user(self, token_hash: str) -> dict | None:
        """The user of a session that has not expired, with the session's `csrf` token."""
        query = (
            sa.select(*_USER_COLUMNS, sessions.c.csrf)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.token_hash == token_hash, sessions.c.expires_at > stamp())
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def end_session(self, token_hash: str) -> None:
        with self.writer.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
            conn.execute(sessions.delete().where(sessions.c.expires_at <= stamp()))  # tidy up expired ones

    # -- password resets ------------------------------------------------------------------------------
    def create_password_reset(self, user_id: int, token_hash: str, expires: datetime) -> None:
        with self.writer.begin() as conn:
            conn.execute(password_resets.delete().where(password_resets.c.user_id == user_id,
                                                        password_resets.c.expires_at <= stamp()))  # fmt: skip
            conn.execute(password_resets.insert().values(token_hash=token_hash, user_id=user_id, created_at=stamp(),
                                                         expires_at=stamp(expires)))  # fmt: skip

    def password_reset_user(self, token_hash: str) -> dict | None:
        """The user of a reset link that is unused and unexpired, else None."""
        query = sa.select(*_USER_COLUMNS).join(users, users.c.id == password_resets.c.user_id).where(*_open_reset(token_hash, stamp()))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return dict(row._mapping) if row else None

    def use_password_reset(self, token_hash: str, password_hash: str) -> dict | None:
        """Set a new password with a reset link, once: the link and every other open link of the user are
        used up and all the user's sessions end. The user, or None if the link is unknown, used or expired."""
        now = stamp()
        with self.writer.begin() as conn:
            user_id = conn.execute(sa.select(password_resets.c.user_id).where(*_open_reset(token_hash, now))).scalar()
            if user_id is None:
                return None
            conn.execute(password_resets.update().where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
                         .values(used_at=now))  # fmt: skip
            conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))
            conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
            row = conn.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id)).first()
        return dict(row._mapping)

    # -- API tokens -----------------------------------------------------------------------------------
    def create_api_token(self, user_id: int, name: str, token_hash: str) -> int:
        with self.writer.begin() as conn:
            return conn.execute(api_tokens.insert().values(user_id=user_id, name=name, token_hash=token_hash,
                                                           created_at=stamp())).inserted_primary_key[0]  # fmt: skip

    def api_tokens(self, user_id: int) -> list[dict]:
        query = (
            sa.select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.created_at, api_tokens.c.last_used_at)
            .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .order_by(api_tokens.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def revoke_api_token(self, user_id: int, token_id: int) -> bool:
        """Only the token's owner can revoke it; whether a token was revoked."""
        with self.writer.begin() as conn:
            return bool(conn.execute(
                api_tokens.update()
                .where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=stamp())
            ).rowcount)  # fmt: skip

    def token_user(self, token_hash: str) -> dict | None:
        """The user of a live API token (and the token is marked used)."""
        query = (
            sa.select(*_USER_COLUMNS, api_tokens.c.id.label("token_id"))
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        with self.writer.begin() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.id == row.token_id).values(last_used_at=stamp()))
        return dict(row._mapping)

    # -- upvotes --------------------------------------------------------------------------------------
    def set_vote(self, user_id: int, paper_id: str, up: bool) -> bool | None:
        """Upvote (or take the upvote back); whether anything changed, None if there is no such paper."""
        with self.writer.begin() as conn:
            if conn.execute(sa.select(papers.c.pk).where(papers.c.id == paper_id)).first() is None:
                return None
            if up:
                exists = conn.execute(sa.select(votes.c.user_id).where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)).first()
                changed = exists is None
                if changed:
                    conn.execute(votes.insert().values(user_id=user_id, paper_id=paper_id, created_at=stamp()))
            else:
                changed = bool(conn.execute(votes.delete().where(votes.c.user_id == user_id, votes.c.paper_id == paper_id)).rowcount)
            if changed:  # the paper changed: caches and the search index catch up from its new seq
                conn.execute(papers.update().where(papers.c.id == paper_id).values(seq=self._next_seq(conn, 1)))
        return changed

    def voted(self, user_id: int, paper_ids: Sequence[str]) -> set[str]:
        """Which of these papers the user upvoted."""
        query = sa.select(votes.c.paper_id).where(votes.c.user_id == user_id, votes.c.paper_id.in_(list(paper_ids)))
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())
