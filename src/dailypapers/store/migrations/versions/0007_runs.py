"""Rounds of `dailypapers sync`, and finished ingest runs.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sync_rounds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", sa.String, nullable=False),
        sa.Column("finished_at", sa.String),
        sa.Column("claimer", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
    )
    running = sa.text("status = 'running'")
    op.create_index("ux_sync_rounds_running", "sync_rounds", ["status"], unique=True, sqlite_where=running,
                    postgresql_where=running)  # fmt: skip


    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("finished_at", sa.String, nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False) for name in ("read", "inserted", "updated", "unchanged", "skipped")),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_index("ix_ingest_runs_source", "ingest_runs", ["source", "id"])


def downgrade():
    op.drop_table("ingest_runs")
    op.drop_table("sync_rounds")
