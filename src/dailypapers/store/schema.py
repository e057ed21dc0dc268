"""Tables, in SQLAlchemy Core so that the same code runs on SQLite and PostgreSQL.

The migrations under ``migrations/versions`` create exactly these tables; a test checks they agree.
"""

from sqlalchemy import (
                        JSON,
                        Boolean,
                        Column,
                        Float,
                        ForeignKey,
                        Index,
                        Integer,
                        LargeBinary,
                        MetaData,
                        String,
                        Table,
                        Text,
                        UniqueConstraint,
                        text,
)

metadata = MetaData()


def _not_null(column: str):
    return text(f"{column} IS NOT NULL")


organizations = Table(
    "organizations",
    metadata,
    Column("name", String, primary_key=True),  # the Hugging Face handle, e.g. "NeoteAIEmbodied"
    Column("fullname", String),
    Column("avatar", String),
    Column("observed", String),  # day of the observation these details come from; the latest wins
)

papers = Table(
    "papers",
    metadata,
    # An integer key for the derived indexes (full text, vectors); everything else uses `id`.
    Column("pk", Integer, primary_key=True),
    Column("id", String, nullable=False, unique=True),  # arXiv id without version
    Column("title", Text, nullable=False),
    Column("abstract", Text),
    Column("authors", JSON),  # NULL when no source has named them
    Column("categories", JSON),
    Column("published_at", String),
    Column("updated_at", String),
    Column("versions", JSON),
    Column("comment", Text),
    Column("journal_ref", Text),
    Column("doi", String),
    Column("report_no", String),
    Column("license", String),
    Column("arxiv_submitter", String),
    Column("submitted_at", String),
    Column("submitter", String),  # username of the daily-feed submitter
    Column("submitted_by", JSON),
    Column("upvotes", Integer, nullable=False, default=0),
    Column("num_comments", Integer, nullable=False, default=0),
    Column("organization", String, ForeignKey("organizations.name")),
    Column("github_repo", String),
    Column("github_stars", Integer),
    Column("project_page", String),
    Column("ai_summary", Text),
    Column("ai_keywords", JSON),
    Column("thumbnail", String),
    Column("discussion_id", String),
    # Merge bookkeeping (see store/merge.py).
    Column("bib_rank", Integer, nullable=False),
    Column("bib_observed", String, nullable=False),
    Column("daily_observed", String),
    # Bumped to a new value from `meta.seq` whenever the row's content changes; derived indexes catch up from it.
    Column("seq", Integer, nullable=False, index=True),
    # Partial: most papers were never on the daily feed, and leaving their NULLs out of these indexes
    # made a bulk import's inserts ~13% cheaper. A query for `submitter = ?` still uses them.
    *(Index(f"ix_papers_{name}", name, sqlite_where=_not_null(name), postgresql_where=_not_null(name))
      for name in ("submitter", "organization")),  # fmt: skip
)

featured = Table(
    "featured",
    metadata,
    Column("paper_id", String, ForeignKey("papers.id"), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD the paper was on the daily feed
    Index("ix_featured_day", "day"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

# Where an interrupted ingest stopped: a file's committed line count, or an OAI-PMH resumption token.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("source", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("state", JSON, nullable=False),
)

# A paper's sentence embedding (search/embed.py): one per paper, for the model named. Changing the model
# re-embeds every paper rather than mixing two models' vector spaces.
embeddings = Table(
    "embeddings",
    metadata,
    Column("paper_pk", Integer, ForeignKey("papers.pk"), primary_key=True),
    Column("model", String, nullable=False),  # name@version
    Column("text_hash", String, nullable=False),  # of the text embedded: unchanged text is not re-embedded
    Column("vector", LargeBinary, nullable=False),  # int8, scaled per vector by `scale`
    Column("scale", Float, nullable=False),
    Column("seq", Integer, nullable=False, index=True),  # from `meta.seq`: the vector index catches up from it
)

# Columns of `papers` a PaperRecord maps onto one-to-one.
RECORD_COLUMNS = (
    "title", "abstract", "authors", "categories", "published_at", "updated_at", "versions", "comment",
    "journal_ref", "doi", "report_no", "license", "arxiv_submitter", "submitted_at", "submitted_by",
    "upvotes", "num_comments", "github_repo", "github_stars", "project_page", "ai_summary", "ai_keywords",
    "thumbnail", "discussion_id",
)  # fmt: skip

# -- email digests (digest/) --------------------------------------------------------------------------

# Someone who asked for digests. Nobody is mailed a digest before `status` is "confirmed" (double opt-in).
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String, nullable=False, unique=True),  # normalized by email-validator, lower-cased
    Column("frequency", String, nullable=False),  # "daily" (weekdays) or "weekly"
    Column("top", Integer, nullable=False),  # trending papers per digest (0: none)
    Column("searches", JSON, nullable=False),  # saved searches, in the search syntax
    Column("authors", JSON, nullable=False),  # followed author names
    Column("organizations", JSON, nullable=False),  # followed organization handles or names
    Column("status", String, nullable=False),  # "pending", "confirmed" or "unsubscribed"
    Column("feed_token", String, nullable=False, unique=True),  # secret part of the personal feed's URL
    Column("created_at", String, nullable=False),
    Column("confirmed_at", String),
    Column("unsubscribed_at", String),
    Column("user_id", Integer, ForeignKey("users.id")),  # the account whose "For you" the digests carry
)

# Every mail to send: written when composed, marked when the SMTP server took it. One digest per
# (subscriber, kind, period), so rerunning `digest send` never mails a period twice.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("kind", String, nullable=False),  # "confirm", "digest" or "notice"
    Column("period", String, nullable=False),  # e.g. "daily:2025-02-14", "weekly:2025-W07"; a stamp for others
    Column("papers", JSON, nullable=False),  # [[section title, [paper ids]], ...] for a digest
    Column("status", String, nullable=False),  # "pending", "sent" or "failed"
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", String, nullable=False),
    Column("claimed_until", String),  # a sender holds the mail until then (a crashed sender's claim lapses)
    Column("claimed_by", String),  # host:pid of that sender: a rerun on the same host takes over a dead one's mails
    Column("last_error", Text),
    Column("created_at", String, nullable=False),
    Column("sent_at", String),
    UniqueConstraint("subscriber_id", "kind", "period", name="uq_outbox_mail"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

# Papers already put in a subscriber's digest: none is sent twice.
sent_papers = Table(
    "sent_papers",
    metadata,
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), primary_key=True),
    Column("paper_id", String, primary_key=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False, index=True),
)

# -- the community (accounts, votes) --------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String, nullable=False, unique=True),  # lower-cased; letters, digits, - and _
    Column("email", String, nullable=False, unique=True),  # lower-cased
    Column("password_hash", String, nullable=False),  # argon2id
    Column("role", String, nullable=False),  # "user", "moderator" or "admin"
    Column("created_at", String, nullable=False),
)

# A logged-in browser: the cookie holds a random token, the table only its SHA-256.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String, nullable=False),  # the token every form of this session must carry
    Column("created_at", String, nullable=False),
    Column("expires_at", String, nullable=False),
)

# Personal API tokens (Authorization: Bearer ...) for the write API; only their SHA-256 is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String, nullable=False),
    Column("token_hash", String, nullable=False, unique=True),
    Column("created_at", String, nullable=False),
    Column("last_used_at", String),
    Column("revoked_at", String),
)

# One upvote per user and paper. A paper's count shown everywhere is its source's count plus these.
votes = Table(
    "votes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("paper_id", String, ForeignKey("papers.id"), primary_key=True),
    Column("created_at", String, nullable=False),
    Index("ix_votes_paper_id", "paper_id"),
)

# A single-use password reset link: the mail holds a random token, the table only its SHA-256.
password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", String, nullable=False),
    Column("expires_at", String, nullable=False),
    Column("used_at", String),
)

# A comment on a paper, in Markdown (shown through web/markdown.py, which renders and sanitizes it).
comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("paper_id", String, ForeignKey("papers.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("body", Text, nullable=False),  # Markdown, as written
    Column("created_at", String, nullable=False),
    Column("edited_at", String),
    Column("hidden_at", String),  # hidden by a moderator: not shown, not counted
    Column("hidden_by", Integer, ForeignKey("users.id")),
    Index("ix_comments_paper_id", "paper_id", "id"),
)

# Users who say they belong to an organization (shown on its page).
org_members = Table(
    "org_members",
    metadata,
    Column("organization", String, ForeignKey("organizations.name"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True, index=True),
    Column("created_at", String, nullable=False),
)

# A round of `dailypapers sync`: when it ran, and per source what it fetched (days, counts) or why it
# failed. At most one round runs at a time (the partial unique index); a round whose process died is
# marked "interrupted" by the next one.
sync_rounds = Table(
    "sync_rounds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", String, nullable=False),
    Column("finished_at", String),
    Column("claimer", String, nullable=False),  # host:pid of the process running it
    Column("status", String, nullable=False),  # "running", "ok", "failed" (a source failed), "interrupted"
    Column("sources", JSON, nullable=False),  # {source: {"status", "since", "through", "new", "updated", ...}}
    Index("ux_sync_rounds_running", "status", unique=True, sqlite_where=text("status = 'running'"),
          postgresql_where=text("status = 'running'")),  # fmt: skip
)

# A finished run of an ingest (`dailypapers ingest ...`, a source of a sync round, the demo's): what it
# read and what that did to the catalog. /metrics adds them up by source.
ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String, nullable=False),  # "hf-daily", "arxiv-snapshot", "arxiv-oai"
    Column("finished_at", String, nullable=False),
    Column("read", Integer, nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Index("ix_ingest_runs_source", "source", "id"),
)

# One row per request a rate limit counts: `bucket` names the limit and who it counts ("login-address:
# 192.0.2.1"), `at` is when (seconds since the epoch, the same clock on every host). Rows older than a
# limit's window no longer count and are deleted as they are met.
rate_hits = Table(
    "rate_hits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("bucket", String, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_rate_hits_bucket", "bucket", "at"),
    Index("ix_rate_hits_at", "at"),
)

# -- personal libraries (store/library.py) ----------------------------------------------------------------

# A reader's named collection of saved papers ("to read" is made on the first save). Private unless
# `public`; its page is found by `key`, a random string, never by the guessable id.
collections = Table(
    "collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", String, nullable=False),
    Column("key", String, nullable=False, unique=True),
    Column("public", Boolean, nullable=False),
    Column("created_at", String, nullable=False),
    UniqueConstraint("user_id", "name", name="uq_collections_name"),
)

saved = Table(
    "saved",
    metadata,
    Column("collection_id", Integer, ForeignKey("collections.id"), primary_key=True),
    Column("paper_id", String, ForeignKey("papers.id"), primary_key=True),
    Column("saved_at", String, nullable=False),
    Index("ix_saved_paper_id", "paper_id"),
)

# "Not interested": never recommended again, and a negative example for the reader's model.
dismissed = Table(
    "dismissed",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("paper_id", String, ForeignKey("papers.id"), primary_key=True),
    Column("dismissed_at", String, nullable=False),
)

# Followed authors (by name) and organizations (by handle).
follows = Table(
    "follows",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("kind", String, primary_key=True),  # "author" or "organization"
    Column("name", String, primary_key=True),
    Column("created_at", String, nullable=False),
)

# A reader's recommendation model (rank/recommend.py), retrained when the library changes: every change
# bumps `library_version`, and a model trained on an older version is stale.
readers = Table(
    "readers",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("library_version", Integer, nullable=False),
    Column("model_version", Integer),  # the library_version `model` was trained on
    Column("model", LargeBinary),
    Column("feed_token", String, unique=True),  # secret part of the personal feed's URL
)
