"""reports: KPI targets per month per campus and person, and the hub's report roll-ups

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_targets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("user_id", sa.String(36)),
        sa.Column("metric", sa.String(24), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("set_by", sa.String(36)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_index("ix_kpi_targets_campus_period", "kpi_targets", ["campus_id", "period"])
    op.create_table(
        "hub_report_rollups",
        sa.Column("campus_id", sa.String(36), primary_key=True),
        sa.Column("period", sa.String(10), primary_key=True),
        sa.Column("metric", sa.String(24), primary_key=True),
        sa.Column("dim", sa.String(120), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_hub_report_rollups_metric", "hub_report_rollups",
                    ["metric", "period", "campus_id", "dim", "value"])
    op.create_table(
        "hub_report_marks",
        sa.Column("node_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hub_report_marks")
    op.drop_index("ix_hub_report_rollups_metric", "hub_report_rollups")
    op.drop_table("hub_report_rollups")
    op.drop_index("ix_kpi_targets_campus_period", "kpi_targets")
    op.drop_table("kpi_targets")
