"""refunds: policies as data, the request-to-payout workflow, and refund-risk alerts

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refund_policies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("product_id", sa.String(36)),
        sa.Column("subject", sa.String(32)),
        sa.Column("is_default", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("tiers", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
        sa.UniqueConstraint("code", name="uq_refund_policies_code"),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("contract_campus_id", sa.String(36), nullable=False),
        sa.Column("student_id", sa.String(36), nullable=False),
        sa.Column("consultant_id", sa.String(36)),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.String(36)),
        sa.Column("calculation", sa.Text(), nullable=False),
        sa.Column("refundable_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("materials_fen", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("value_fen", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("stage", sa.String(12), nullable=False),
        sa.Column("reason_category", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("requested_by", sa.String(36)),
        sa.Column("requested_at", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.String(36)),
        sa.Column("decided_at", sa.String(32)),
        sa.Column("decision_reason", sa.Text()),
        sa.Column("due_on", sa.String(10)),
        sa.Column("fund_account", sa.String(16)),
        sa.Column("paid_by", sa.String(36)),
        sa.Column("paid_at", sa.String(32)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
        sa.UniqueConstraint("number", name="uq_refunds_number"),
    )
    op.create_index("ix_refunds_contract_id", "refunds", ["contract_id"])
    op.create_index("ix_refunds_student_id", "refunds", ["student_id"])
    op.create_table(
        "risk_alerts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("student_id", sa.String(36), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("factors", sa.Text(), nullable=False),
        sa.Column("notified", sa.Text()),
        sa.Column("raised_on", sa.String(10), nullable=False),
        sa.Column("raised_at", sa.String(32), nullable=False),
        sa.Column("cleared_at", sa.String(32)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_index("ix_risk_alerts_student_id", "risk_alerts", ["student_id"])


def downgrade() -> None:
    op.drop_index("ix_risk_alerts_student_id", table_name="risk_alerts")
    op.drop_table("risk_alerts")
    op.drop_index("ix_refunds_student_id", table_name="refunds")
    op.drop_index("ix_refunds_contract_id", table_name="refunds")
    op.drop_table("refunds")
    op.drop_table("refund_policies")
