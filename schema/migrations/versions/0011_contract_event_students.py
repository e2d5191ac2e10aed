"""contract changes name their student, so they reach every campus where the student studies

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contract_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("student_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contract_events", schema=None) as batch_op:
        batch_op.drop_column("student_id")
