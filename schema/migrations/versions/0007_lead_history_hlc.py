"""lead history moves carry their HLC

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lead_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hlc", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lead_history", schema=None) as batch_op:
        batch_op.drop_column("hlc")
