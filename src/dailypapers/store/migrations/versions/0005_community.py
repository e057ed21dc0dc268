"""The community, continued: password resets, comments, organization members.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "password_resets",
        sa.Column("token_hash", sa.String, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.String, nullable=False),
        sa.Column("expires_at", sa.String, nullable=False),
        sa.Column("used_at", sa.String),
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("paper_id", sa.String, sa.ForeignKey("papers.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String, nullable=False),
        sa.Column("edited_at", sa.String),
        sa.Column("hidden_at", sa.String),
        sa.Column("hidden_by", sa.Integer, sa.ForeignKey("users.id")),
    )
    op.create_index("ix_comments_user_id", "comments", ["user_id"])
    op.create_index("ix_comments_paper_id", "comments", ["paper_id", "id"])
    op.create_table(
        "org_members",
        sa.Column("organization", sa.String, sa.ForeignKey("organizations.name"), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("created_at", sa.String, nullable=False),
    )
    op.create_index("ix_org_members_user_id", "org_members", ["user_id"])


def downgrade():
    for table in ("org_members", "comments", "password_resets"):
        op.drop_table(table)
