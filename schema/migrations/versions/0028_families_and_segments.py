"""tickets.awaiting_staff_since (the family wrote last), students.locale (the family's language),
surveys.target/version/replaces_id (whose families see a survey; its versions), marketing_templates,
staff_addresses (where staff get messages to them) and portal_code_requests (a limit per address)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

ID = 36


def _id() -> sa.Column:
    return sa.Column("id", sa.String(ID), nullable=False)


def _deleted() -> sa.Column:
    return sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0")


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("awaiting_staff_since", sa.String(32)))
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("locale", sa.String(8)))
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("target", sa.Text()))
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("replaces_id", sa.String(ID)))
    op.create_table(
        "marketing_templates", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("subject_zh", sa.String(200)),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("subject_en", sa.String(200)),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(ID)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("marketing_templates"),
    )
    op.create_table(
        "staff_addresses", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("user_id", sa.String(ID), nullable=False),
        sa.Column("phone", sa.String(20)),
        sa.Column("email", sa.String(200)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("staff_addresses"),
    )
    op.create_index("ix_staff_addresses_user_id", "staff_addresses", ["user_id"])
    op.create_table(
        "portal_code_requests", _id(),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        _pk("portal_code_requests"),
    )
    op.create_index("ix_portal_code_requests_client_ip_at", "portal_code_requests", ["client_ip", "at"])


def downgrade() -> None:
    op.drop_index("ix_portal_code_requests_client_ip_at", "portal_code_requests")
    op.drop_table("portal_code_requests")
    op.drop_index("ix_staff_addresses_user_id", "staff_addresses")
    op.drop_table("staff_addresses")
    op.drop_table("marketing_templates")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("replaces_id")
        batch.drop_column("version")
        batch.drop_column("target")
    with op.batch_alter_table("students") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("awaiting_staff_since")
