"""each campus's book settings as replicated data, so the hub derives its journal as its node does

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campus_book_settings",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("vat_rate_bp", sa.Integer(), nullable=False),
        sa.Column("expiry", sa.String(16), nullable=False),
        sa.Column("inter_campus_share_bp", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("campus_id", name="uq_campus_book_settings_campus_id"),
    )


def downgrade() -> None:
    op.drop_table("campus_book_settings")
