"""hub books: covering indexes for the balances the group statements read

The trial balance and the balance sheet group ``hub_book_rollups`` and ``hub_book_eliminations``
by campus and account over every month up to the last one shown. Keyed by (campus, period,
account), SQLite sorted every roll-up row in a temporary B-tree for that and looked each one up in
the table; an index on (campus, account, period, debit, credit) holds the rows already in that
order with the amounts, so the grouping streams off the index alone.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

COLUMNS = ["campus_id", "account", "period", "debit_fen", "credit_fen"]


def upgrade() -> None:
    op.create_index("ix_hub_book_rollups_balances", "hub_book_rollups", COLUMNS)
    op.create_index("ix_hub_book_eliminations_balances", "hub_book_eliminations", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_hub_book_eliminations_balances", table_name="hub_book_eliminations")
    op.drop_index("ix_hub_book_rollups_balances", table_name="hub_book_rollups")
