"""campaigns.starts_on/ends_on (the period a campaign runs) and reminder_dismissals (reminders a
user marked done, kept at the node)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("starts_on", sa.String(10)))
        batch.add_column(sa.Column("ends_on", sa.String(10)))
    op.create_table(
        "reminder_dismissals",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("reminder_key", sa.String(120), nullable=False),
        sa.Column("done_at", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_dismissals")),
        sa.UniqueConstraint("user_id", "reminder_key", name=op.f("uq_reminder_dismissals_user_id_reminder_key")),
    )


def downgrade() -> None:
    op.drop_table("reminder_dismissals")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
