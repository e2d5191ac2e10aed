"""payroll: staff records, commission plans as data, monthly runs, payslips and adjustments

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_records",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("position", sa.String(20), nullable=False),
        sa.Column("level", sa.String(16)),
        sa.Column("base_salary_fen", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("start_on", sa.String(10), nullable=False),
        sa.Column("end_on", sa.String(10)),
        sa.Column("bank_name", sa.String(100)),
        sa.Column("bank_account", sa.String(64)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_index("ix_staff_records_campus_user", "staff_records", ["campus_id", "user_id"])
    op.create_table(
        "commission_plans",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.String(20), nullable=False),
        sa.Column("for_campus_id", sa.String(36)),
        sa.Column("effective_from", sa.String(10), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
        sa.UniqueConstraint("code", "effective_from", name="uq_commission_plans_code_effective_from"),
    )
    op.create_table(
        "payroll_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("lesson_fees_fen", sa.BigInteger(), nullable=False),
        sa.Column("commissions_fen", sa.BigInteger(), nullable=False),
        sa.Column("other_pay_fen", sa.BigInteger(), nullable=False),
        sa.Column("facts_digest", sa.String(64), nullable=False),
        sa.Column("computed_at", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(36)),
        sa.Column("submitted_by", sa.String(36)),
        sa.Column("submitted_at", sa.String(32)),
        sa.Column("approved_by", sa.String(36)),
        sa.Column("approved_at", sa.String(32)),
        sa.Column("paid_by", sa.String(36)),
        sa.Column("paid_at", sa.String(32)),
        sa.Column("fund_account", sa.String(16)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
        sa.UniqueConstraint("campus_id", "period", name="uq_payroll_runs_campus_id_period"),
    )
    op.create_table(
        "payslips",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("positions", sa.String(100), nullable=False),
        sa.Column("base_fen", sa.BigInteger(), nullable=False),
        sa.Column("commission_fen", sa.BigInteger(), nullable=False),
        sa.Column("lesson_fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("bonus_fen", sa.BigInteger(), nullable=False),
        sa.Column("clawback_fen", sa.BigInteger(), nullable=False),
        sa.Column("adjustment_fen", sa.BigInteger(), nullable=False),
        sa.Column("carry_out_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_index("ix_payslips_run_id", "payslips", ["run_id"])
    op.create_index("ix_payslips_user_id", "payslips", ["user_id"])
    op.create_table(
        "payroll_adjustments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by_user_id", sa.String(36)),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_payroll_adjustments_run_id", "payroll_adjustments", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_payroll_adjustments_run_id", table_name="payroll_adjustments")
    op.drop_table("payroll_adjustments")
    op.drop_index("ix_payslips_user_id", table_name="payslips")
    op.drop_index("ix_payslips_run_id", table_name="payslips")
    op.drop_table("payslips")
    op.drop_table("payroll_runs")
    op.drop_table("commission_plans")
    op.drop_index("ix_staff_records_campus_user", table_name="staff_records")
    op.drop_table("staff_records")
