"""The paper catalog: papers, featured days, organizations, ingest checkpoints.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "organizations",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("fullname", sa.String),
        sa.Column("avatar", sa.String),
        sa.Column("observed", sa.String),
    )
    op.create_table(
        "papers",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("id", sa.String, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("abstract", sa.Text),
        sa.Column("authors", sa.JSON),
        sa.Column("categories", sa.JSON),
        sa.Column("published_at", sa.String),
        sa.Column("updated_at", sa.String),
        sa.Column("versions", sa.JSON),
        sa.Column("comment", sa.Text),
        sa.Column("journal_ref", sa.Text),
        sa.Column("doi", sa.String),
        sa.Column("report_no", sa.String),
        sa.Column("license", sa.String),
        sa.Column("arxiv_submitter", sa.String),
        sa.Column("submitted_at", sa.String),
        sa.Column("submitter", sa.String, index=True),
        sa.Column("submitted_by", sa.JSON),
        sa.Column("upvotes", sa.Integer, nullable=False),
        sa.Column("num_comments", sa.Integer, nullable=False),
        sa.Column("organization", sa.String, sa.ForeignKey("organizations.name"), index=True),
        sa.Column("github_repo", sa.String),
        sa.Column("github_stars", sa.Integer),
        sa.Column("project_page", sa.String),
        sa.Column("ai_summary", sa.Text),
        sa.Column("ai_keywords", sa.JSON),
        sa.Column("thumbnail", sa.String),
        sa.Column("discussion_id", sa.String),
        sa.Column("bib_rank", sa.Integer, nullable=False),
        sa.Column("bib_observed", sa.String, nullable=False),
        sa.Column("daily_observed", sa.String),
        sa.Column("seq", sa.Integer, nullable=False, index=True),
    )
    op.create_table(
        "featured",
        sa.Column("paper_id", sa.String, sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
    )
    op.create_index("ix_featured_day", "featured", ["day"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("value", sa.String, nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("source", sa.String, primary_key=True),
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("state", sa.JSON, nullable=False),
    )


def downgrade():
    for table in ("checkpoints", "meta", "featured", "papers", "organizations"):
        op.drop_table(table)
