"""indexes for reports: the leads, lead moves, signings, payments and ledger entries of a span of days

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

INDEXES = (("ix_leads_campus_created", "leads", ["campus_id", "created_at"]),
           ("ix_lead_history_at", "lead_history", ["at"]),
           ("ix_contracts_campus_signed", "contracts", ["campus_id", "signed_at"]),
           ("ix_asset_entries_campus_at", "asset_entries", ["campus_id", "at"]),
           ("ix_asset_entries_recorded_at", "asset_entries", ["recorded_campus_id", "at"]),
           ("ix_payments_campus_paid", "payments", ["campus_id", "paid_at"]))


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table)
