"""Personal libraries: collections of saved papers, dismissals, follows, each reader's model; a
subscriber may be linked to an account (its "For you" goes into the digests).

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("key", sa.String, nullable=False, unique=True),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String, nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_collections_name"),
    )
    op.create_table(
        "saved",
        sa.Column("collection_id", sa.Integer, sa.ForeignKey("collections.id"), primary_key=True),
        sa.Column("paper_id", sa.String, sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column("saved_at", sa.String, nullable=False),
    )
    op.create_index("ix_saved_paper_id", "saved", ["paper_id"])
    op.create_table(
        "dismissed",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("paper_id", sa.String, sa.ForeignKey("papers.id"), primary_key=True),
        sa.Column("dismissed_at", sa.String, nullable=False),
    )
    op.create_table(
        "follows",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("kind", sa.String, primary_key=True),
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("created_at", sa.String, nullable=False),
    )
    op.create_table(
        "readers",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("library_version", sa.Integer, nullable=False),
        sa.Column("model_version", sa.Integer),
        sa.Column("model", sa.LargeBinary),
        sa.Column("feed_token", sa.String, unique=True),
    )
    with op.batch_alter_table("subscribers") as batch:  # SQLite adds a column with a key by copying the table
        batch.add_column(sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", name="fk_subscribers_user_id")))


def downgrade():
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("user_id")
    for table in ("readers", "follows", "dismissed", "saved", "collections"):
        op.drop_table(table)
