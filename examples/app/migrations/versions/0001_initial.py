"""visits, workers and ticks

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("host", sa.Text),
        sa.Column("release", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_table(
        "workers",
        sa.Column("host", sa.Text, primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "ticks",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("ticks")
    op.drop_table("workers")
    op.drop_table("visits")
