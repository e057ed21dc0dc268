"""Rate limits kept in the database, so that every worker and every host counts the same requests.

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("bucket", sa.String, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_rate_hits_bucket", "rate_hits", ["bucket", "at"])
    op.create_index("ix_rate_hits_at", "rate_hits", ["at"])


def downgrade():
    op.drop_table("rate_hits")
