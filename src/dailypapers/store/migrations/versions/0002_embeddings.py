"""Sentence embeddings of papers, for semantic search.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "embeddings",
        sa.Column("paper_pk", sa.Integer, sa.ForeignKey("papers.pk"), primary_key=True),
        sa.Column("model", sa.String, nullable=False),
        sa.Column("text_hash", sa.String, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("scale", sa.Float, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_embeddings_seq", "embeddings", ["seq"])


def downgrade():
    op.drop_index("ix_embeddings_seq", "embeddings")
    op.drop_table("embeddings")
