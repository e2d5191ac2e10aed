"""books: month closes, manual entries, expenses, invoices, supervised-fund releases, cash counts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "book_closes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("closed_at", sa.String(32), nullable=False),
        sa.Column("by_user_id", sa.String(ID)),
        sa.UniqueConstraint("campus_id", "period", name="uq_book_closes_campus_id_period"),
    )
    op.create_table(
        "manual_entries",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("entry_date", sa.String(10), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("reverses_id", sa.String(ID)),
        sa.Column("by_user_id", sa.String(ID)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("number", name="uq_manual_entries_number"),
    )
    op.create_table(
        "expenses",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("account", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("fund_account", sa.String(16), nullable=False),
        sa.Column("incurred_on", sa.String(10), nullable=False),
        sa.Column("campaign_id", sa.String(ID)),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("submitted_by", sa.String(ID)),
        sa.Column("decided_by", sa.String(ID)),
        sa.Column("decided_at", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
        sa.UniqueConstraint("number", name="uq_expenses_number"),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("contract_id", sa.String(ID), nullable=False),
        sa.Column("student_id", sa.String(ID)),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("red_of_id", sa.String(ID)),
        sa.Column("buyer_name", sa.String(200), nullable=False),
        sa.Column("buyer_tax_id", sa.String(32)),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("by_user_id", sa.String(ID)),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
    )
    op.create_index("ix_invoices_contract_id", "invoices", ["contract_id"])
    op.create_table(
        "fund_releases",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("fund_account", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("released_on", sa.String(10), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("by_user_id", sa.String(ID)),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "cash_counts",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("fund_account", sa.String(16), nullable=False),
        sa.Column("counted_fen", sa.BigInteger(), nullable=False),
        sa.Column("book_fen", sa.BigInteger(), nullable=False),
        sa.Column("difference_fen", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("by_user_id", sa.String(ID)),
        sa.Column("counted_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_contract_id", table_name="invoices")
    for table in ("cash_counts", "fund_releases", "invoices", "expenses", "manual_entries", "book_closes"):
        op.drop_table(table)
