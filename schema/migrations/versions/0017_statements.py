"""reconciliation: statement formats (columns mapped once) and imported statement lines

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statement_formats",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("fund_account", sa.String(16), nullable=False),
        sa.Column("date_column", sa.String(64), nullable=False),
        sa.Column("amount_column", sa.String(64), nullable=False),
        sa.Column("reference_column", sa.String(64)),
        sa.Column("counterparty_column", sa.String(64)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_table(
        "statement_lines",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("format_id", sa.String(36), nullable=False),
        sa.Column("fund_account", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("booked_on", sa.String(10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("counterparty", sa.String(200)),
        sa.Column("matched_payment_id", sa.String(36)),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("by_user_id", sa.String(36)),
    )
    op.create_index("ix_statement_lines_matched_payment_id", "statement_lines", ["matched_payment_id"])


def downgrade() -> None:
    op.drop_index("ix_statement_lines_matched_payment_id", table_name="statement_lines")
    op.drop_table("statement_lines")
    op.drop_table("statement_formats")
