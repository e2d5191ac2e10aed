"""feed acceptance time, for the sync monitor's lag in seconds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_feed", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accepted_at_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_feed", schema=None) as batch_op:
        batch_op.drop_column("accepted_at_ms")
