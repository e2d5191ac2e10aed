"""hub books: journal lines, roll-ups and eliminations the hub maintains as it merges facts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "hub_journal_lines",
        sa.Column("entry_id", sa.String(ID), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("entry_date", sa.String(10), nullable=False),
        sa.Column("account", sa.String(24), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.Column("counterpart_campus_id", sa.String(ID)),
        sa.Column("contract_id", sa.String(ID)),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("source_table", sa.String(40), nullable=False),
        sa.Column("source_id", sa.String(ID), nullable=False),
        sa.Column("origin_period", sa.String(7)),
        sa.PrimaryKeyConstraint("entry_id", "line_no", name="pk_hub_journal_lines"),
    )
    op.create_index("ix_hub_journal_lines_campus_period", "hub_journal_lines", ["campus_id", "period"])
    op.create_table(
        "hub_book_rollups",
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("account", sa.String(24), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campus_id", "period", "account", name="pk_hub_book_rollups"),
    )
    op.create_table(
        "hub_book_eliminations",
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("account", sa.String(24), nullable=False),
        sa.Column("counterpart_campus_id", sa.String(ID), nullable=False),
        sa.Column("debit_fen", sa.BigInteger(), nullable=False),
        sa.Column("credit_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campus_id", "period", "account", "counterpart_campus_id",
                                name="pk_hub_book_eliminations"),
    )
    op.create_table(
        "hub_books_marks",
        sa.Column("node_id", sa.String(ID), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name="pk_hub_books_marks"),
    )


def downgrade() -> None:
    op.drop_index("ix_hub_journal_lines_campus_period", table_name="hub_journal_lines")
    for table in ("hub_books_marks", "hub_book_eliminations", "hub_book_rollups", "hub_journal_lines"):
        op.drop_table(table)
