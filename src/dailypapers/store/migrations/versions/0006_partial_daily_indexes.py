"""The submitter and organization indexes leave out papers that have none (most of them).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("submitter", "organization")


def upgrade():
    for column in COLUMNS:
        op.drop_index(f"ix_papers_{column}", "papers")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_papers_{column}", "papers", [column], sqlite_where=where, postgresql_where=where)


def downgrade():
    for column in COLUMNS:
        op.drop_index(f"ix_papers_{column}", "papers")
        op.create_index(f"ix_papers_{column}", "papers", [column])
