"""The SQL of email digests: subscribers, the outbox of mails to send, and the papers already sent.

A mail is a row of `outbox` before it is a message: composing writes the row (and, for a digest, the
papers it holds into `sent_papers`, so none goes out twice), sending claims due rows for a while
(`claimed_until`), and marks each sent or failed as soon as the SMTP server answered. A sender that
dies holding a claim loses it when the claim lapses, and the mail is tried again.
Times are UTC ISO strings with milliseconds, which sort as they compare.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from .schema import meta, outbox, sent_papers, subscribers

_SUBSCRIBERS = sa.bindparam("subscribers", expanding=True)
_SENT_AMONG = sa.select(sent_papers.c.subscriber_id, sent_papers.c.paper_id).where(
    sent_papers.c.subscriber_id.in_(_SUBSCRIBERS), sent_papers.c.paper_id.in_(sa.bindparam("papers", expanding=True)))
_DIGESTS_OF = (outbox.c.kind == "digest", outbox.c.subscriber_id.in_(_SUBSCRIBERS),
               outbox.c.period.in_(sa.bindparam("periods", expanding=True)))  # fmt: skip
_QUEUED = sa.select(outbox.c.subscriber_id, outbox.c.period).where(*_DIGESTS_OF)
_QUEUED_IDS = sa.select(outbox.c.subscriber_id, outbox.c.period, outbox.c.id).where(*_DIGESTS_OF)
# Built once: one of these runs for every mail sent.
_MAIL = outbox.update().where(outbox.c.id == sa.bindparam("mail_id"))
_MARK_SENT = _MAIL.values(status="sent", sent_at=sa.bindparam("at"), claimed_until=None, attempts=outbox.c.attempts + 1)
_MARK_RETRY = _MAIL.values(attempts=outbox.c.attempts + 1, last_error=sa.bindparam("error"), next_attempt_at=sa.bindparam("at"),
                           claimed_until=None)  # fmt: skip
_MARK_FAILED = _MAIL.values(status="failed", attempts=outbox.c.attempts + 1, last_error=sa.bindparam("error"), claimed_until=None)
PREFERENCES = ("frequency", "top", "searches", "authors", "organizations")
RESEND_AFTER = timedelta(minutes=10)  # a second confirmation request within this gets no second mail


def claimer() -> str:
    """This process, as a claim names it (host:pid); outbox mails and sync rounds are claimed so."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claimer_is_dead(who: str) -> bool:
    host, _, pid = who.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's sender: wait for its claim to lapse
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")


def _subscriber_dict(row) -> dict:
    return dict(row._mapping)


class SubscriptionQueries:
    # -- subscribers --------------------------------------------------------------------------------
    def subscribe(self, email: str, preferences: dict, now: datetime | None = None) -> tuple[dict, int | None]:
        """Record a request to subscribe; returns the subscriber and the outbox id of the mail it needs
        (None if one went out moments ago).

        A new or unsubscribed address becomes pending with these preferences and is sent a confirmation.
        A pending one gets the new preferences and a fresh confirmation. A confirmed one keeps its
        preferences (whoever typed the address may not own it) and is sent a link to manage them."""
        moment = stamp(now)
        with self.writer.begin() as conn:
            row = conn.execute(sa.select(subscribers).where(subscribers.c.email == email)).first()
            values = {key: preferences[key] for key in PREFERENCES}
            if row is None:
                subscriber_id = conn.execute(subscribers.insert().values(
                    email=email, status="pending", feed_token=secrets.token_urlsafe(24), created_at=moment, **values,
                )).inserted_primary_key[0]  # fmt: skip
                kind = "confirm"
            elif row.status == "confirmed":
                subscriber_id, kind = row.id, "notice"
            else:
                subscriber_id, kind = row.id, "confirm"
                conn.execute(subscribers.update().where(subscribers.c.id == row.id).values(status="pending", **values))
            recent = conn.execute(
                sa.select(outbox.c.id).where(outbox.c.subscriber_id == subscriber_id, outbox.c.kind == kind,
                                             outbox.c.created_at > stamp((now or datetime.now(UTC)) - RESEND_AFTER))  # fmt: skip
            ).first()
            mail_id = None if recent else self._queue(conn, subscriber_id, kind, f"{kind}:{moment}", [], moment)
            subscriber = _subscriber_dict(conn.execute(sa.select(subscribers).where(subscribers.c.id == subscriber_id)).one())
        return subscriber, mail_id

    def subscriber(self, subscriber_id: int) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(subscribers).where(subscribers.c.id == subscriber_id)).first()
        return _subscriber_dict(row) if row else None

    def subscriber_by_feed_token(self, token: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(subscribers).where(subscribers.c.feed_token == token)).first()
        return _subscriber_dict(row) if row else None

    def set_subscriber_status(self, subscriber_id: int, status: str, *, only_from: Iterable[str]) -> bool:
        """Move a subscriber to `status` if it is in one of `only_from`; whether it moved."""
        moment = stamp()
        stamps = {"confirmed": {"confirmed_at": moment}, "unsubscribed": {"unsubscribed_at": moment}}.get(status, {})
        with self.writer.begin() as conn:
            changed = conn.execute(
                subscribers.update()
                .where(subscribers.c.id == subscriber_id, subscribers.c.status.in_(list(only_from)))
                .values(status=status, **stamps)
            ).rowcount
        return bool(changed)

    def update_preferences(self, subscriber_id: int, preferences: dict) -> None:
        with self.writer.begin() as conn:
            values = {key: preferences[key] for key in PREFERENCES}
            conn.execute(subscribers.update().where(subscribers.c.id == subscriber_id).values(**values))

    def subscribers_without(self, frequency: str, kind: str, period: str) -> list[dict]:
        """Confirmed subscribers of `frequency` who have no `kind` mail for `period` yet."""
        queued = sa.select(outbox.c.subscriber_id).where(outbox.c.kind == kind, outbox.c.period == period)
        query = (
            sa.select(subscribers)
            .where(subscribers.c.status == "confirmed", subscribers.c.frequency == frequency, subscribers.c.id.not_in(queued))
            .order_by(subscribers.c.id)
        )
        with self.engine.connect() as conn:
            return [_subscriber_dict(row) for row in conn.execute(query)]

    def count_subscribers(self) -> dict[str, int]:
        query = sa.select(subscribers.c.status, sa.func.count()).group_by(subscribers.c.status)
        with self.engine.connect() as conn:
            return dict(conn.execute(query).all())

    # -- the outbox -----------------------------------------------------------------------------------
    def already_sent(self, subscriber_ids: Sequence[int], paper_ids: Sequence[str]) -> dict[int, set[str]]:
        """Which of `paper_ids` each subscriber was already sent."""
        found: dict[int, set[str]] = {}
        if subscriber_ids and paper_ids:
            with self.engine.connect() as conn:
                for subscriber_id, paper_id in conn.execute(_SENT_AMONG, {"subscribers": list(subscriber_ids), "papers": list(paper_ids)}):
                    found.setdefault(subscriber_id, set()).add(paper_id)
        return found

    def queue_digests(self, digests: Sequence[tuple[int, str, list]], now: datetime | None = None) -> int:
        """Queue (subscriber id, period, sections) digests, sections being [title, [paper ids]] pairs, and
        record their papers as sent, in one transaction. A digest already queued for the subscriber and
        period, or holding a paper the subscriber was already sent (a sender running alongside), is
        skipped; returns how many were queued."""
        moment = stamp(now)
        digests = [d for d in digests if any(ids for _, ids in d[2])]
        if not digests:
            return 0
        subscriber_ids = [subscriber_id for subscriber_id, _, _ in digests]
        paper_ids = list({paper_id for _, _, sections in digests for _, ids in sections for paper_id in ids})
        with self.writer.begin() as conn:
            queued = set(conn.execute(_QUEUED, {"subscribers": subscriber_ids, "periods": list({p for _, p, _ in digests})}).all())
            sent = {row.subscriber_id for row in conn.execute(_SENT_AMONG, {"subscribers": subscriber_ids, "papers": paper_ids})}
            fresh = [d for d in digests if (d[0], d[1]) not in queued and d[0] not in sent]
            if not fresh:
                return 0
            conn.execute(outbox.insert(), [
                {"subscriber_id": subscriber_id, "kind": "digest", "period": period, "papers": sections, "status": "pending",
                 "attempts": 0, "next_attempt_at": moment, "created_at": moment}
                for subscriber_id, period, sections in fresh
            ])  # fmt: skip
            ids = {(r.subscriber_id, r.period): r.id for r in conn.execute(_QUEUED_IDS, {
                "subscribers": [d[0] for d in fresh], "periods": list({d[1] for d in fresh})})}  # fmt: skip
            conn.execute(sent_papers.insert(), [
                {"subscriber_id": subscriber_id, "paper_id": paper_id, "outbox_id": ids[subscriber_id, period]}
                for subscriber_id, period, sections in fresh for _, paper_ids in sections for paper_id in paper_ids
            ])  # fmt: skip
        return len(fresh)

    def _queue(self, conn, subscriber_id: int, kind: str, period: str, sections: list, moment: str) -> int:
        return conn.execute(outbox.insert().values(
            subscriber_id=subscriber_id, kind=kind, period=period, papers=sections, status="pending", attempts=0,
            next_attempt_at=moment, created_at=moment,
        )).inserted_primary_key[0]  # fmt: skip

    def claim_mails(self, limit: int, hold: timedelta, now: datetime | None = None, ids: Sequence[int] | None = None) -> list[dict]:
        """Claim up to `limit` due mails for `hold` (the mails with `ids` only, if given): outbox rows with
        their subscriber's email, status and tokens. Digests to people who unsubscribed meanwhile are
        cancelled rather than claimed."""
        now = now or datetime.now(UTC)
        moment = stamp(now)
        free = sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < moment,
                      outbox.c.claimed_by.in_(self._dead_claimers(moment)))  # fmt: skip
        query = (
            sa.select(outbox, subscribers.c.email, subscribers.c.status.label("subscriber_status"),
                      subscribers.c.feed_token, subscribers.c.frequency)  # fmt: skip
            .join(subscribers, subscribers.c.id == outbox.c.subscriber_id)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= moment, free)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
        )
        if ids is not None:
            query = query.where(outbox.c.id.in_(list(ids)))
        with self.writer.begin() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
            cancelled = [r["id"] for r in rows if r["kind"] == "digest" and r["subscriber_status"] != "confirmed"]
            if cancelled:
                conn.execute(outbox.update().where(outbox.c.id.in_(cancelled)).values(status="cancelled"))
                conn.execute(sent_papers.delete().where(sent_papers.c.outbox_id.in_(cancelled)))
            rows = [r for r in rows if r["id"] not in set(cancelled)]
            if rows:
                conn.execute(outbox.update().where(outbox.c.id.in_([r["id"] for r in rows]))
                             .values(claimed_until=stamp(now + hold), claimed_by=claimer()))  # fmt: skip
        return rows

    def _dead_claimers(self, moment: str) -> list[str]:
        """Senders on this host holding live claims whose process is gone (killed, crashed)."""
        query = sa.select(outbox.c.claimed_by).where(outbox.c.status == "pending", outbox.c.claimed_until >= moment).distinct()
        with self.engine.connect() as conn:
            claimers = conn.execute(query).scalars().all()
        return [c for c in claimers if c and c != claimer() and claimer_is_dead(c)]

    def release_mails(self, mail_ids: Sequence[int]) -> None:
        """Give claimed mails back untried (the sender has to stop)."""
        with self.writer.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id.in_(list(mail_ids))).values(claimed_until=None))

    def mark_sent(self, mail_id: int, now: datetime | None = None) -> None:
        with self.writer.begin() as conn:
            conn.execute(_MARK_SENT, {"mail_id": mail_id, "at": stamp(now)})

    def mark_retry(self, mail_id: int, error: str, at: datetime) -> None:
        with self.writer.begin() as conn:
            conn.execute(_MARK_RETRY, {"mail_id": mail_id, "error": error[:1000], "at": stamp(at)})

    def mark_failed(self, mail_id: int, error: str) -> None:
        """Give up on a mail; its papers may go out in a later digest."""
        with self.writer.begin() as conn:
            conn.execute(_MARK_FAILED, {"mail_id": mail_id, "error": error[:1000]})
            conn.execute(sent_papers.delete().where(sent_papers.c.outbox_id == mail_id))

    def next_mail_due(self) -> datetime | None:
        """When the earliest pending mail is due (a claimed one: when its claim lapses); None if none is pending."""
        claimed = outbox.c.claimed_until
        due = sa.case((claimed > outbox.c.next_attempt_at, claimed), else_=outbox.c.next_attempt_at)
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(sa.func.min(due)).where(outbox.c.status == "pending")).scalar()
        return datetime.fromisoformat(value) if value else None

    def count_mails(self) -> dict[tuple[str, str], int]:
        """(kind, status) -> number of mails."""
        query = sa.select(outbox.c.kind, outbox.c.status, sa.func.count()).group_by(outbox.c.kind, outbox.c.status)
        with self.engine.connect() as conn:
            return {(kind, status): n for kind, status, n in conn.execute(query)}

    def mails(self, subscriber_id: int | None = None) -> list[dict]:
        query = sa.select(outbox).order_by(outbox.c.id)
        if subscriber_id is not None:
            query = query.where(outbox.c.subscriber_id == subscriber_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- the key that signs links ---------------------------------------------------------------------
    def signing_key(self) -> str:
        """A random key made once per database (used when no `secret_key` is configured)."""
        with self.writer.begin() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "signing_key")).scalar()
            if value is None:
                value = secrets.token_hex(32)
                conn.execute(meta.insert().values(key="signing_key", value=value))
        return value
