"""hub feed entries name their row, so a row's history can be sent to a campus that starts to need it

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_feed", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_hub_feed_row", ["table_name", "row_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_feed", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_feed_row")
        batch_op.drop_column("row_id")
