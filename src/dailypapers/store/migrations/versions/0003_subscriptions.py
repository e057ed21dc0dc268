"""Email digests: subscribers, the outbox of mails, and the papers each subscriber was sent.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String, nullable=False, unique=True),
        sa.Column("frequency", sa.String, nullable=False),
        sa.Column("top", sa.Integer, nullable=False),
        sa.Column("searches", sa.JSON, nullable=False),
        sa.Column("authors", sa.JSON, nullable=False),
        sa.Column("organizations", sa.JSON, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("feed_token", sa.String, nullable=False, unique=True),
        sa.Column("created_at", sa.String, nullable=False),
        sa.Column("confirmed_at", sa.String),
        sa.Column("unsubscribed_at", sa.String),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("period", sa.String, nullable=False),
        sa.Column("papers", sa.JSON, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.String, nullable=False),
        sa.Column("claimed_until", sa.String),
        sa.Column("claimed_by", sa.String),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.String, nullable=False),
        sa.Column("sent_at", sa.String),
        sa.UniqueConstraint("subscriber_id", "kind", "period", name="uq_outbox_mail"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "sent_papers",
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), primary_key=True),
        sa.Column("paper_id", sa.String, primary_key=True),
        sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id"), nullable=False),
    )
    op.create_index("ix_sent_papers_outbox_id", "sent_papers", ["outbox_id"])


def downgrade():
    op.drop_table("sent_papers")
    op.drop_table("outbox")
    op.drop_table("subscribers")
