"""attendance terminals (ZKTeco PUSH): registrations, command queues, what each terminal holds,
PINs, punches and their photos

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance_devices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("serial", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("charset", sa.String(8), nullable=False),
        sa.Column("pinned_address", sa.String(64)),
        sa.Column("push_version", sa.String(16)),
        sa.Column("language", sa.String(8)),
        sa.Column("first_address", sa.String(64)),
        sa.Column("last_address", sa.String(64)),
        sa.Column("attlog_stamp", sa.String(20), nullable=False, server_default="0"),
        sa.Column("operlog_stamp", sa.String(20), nullable=False, server_default="0"),
        sa.Column("photo_stamp", sa.String(20), nullable=False, server_default="0"),
        sa.Column("info", sa.Text()),
        sa.Column("malformed_lines", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_malformed", sa.Text()),
        sa.Column("last_contact_at", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("approved_at", sa.String(32)),
        sa.Column("revoked_at", sa.String(32)),
        sa.UniqueConstraint("serial", name="uq_attendance_devices_serial"),
    )
    op.create_table(
        "device_commands",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("pin", sa.String(24)),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("queued_at", sa.String(32), nullable=False),
        sa.Column("queued_by", sa.String(64)),
        sa.Column("sent_at", sa.String(32)),
        sa.Column("sent_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("answered_at", sa.String(32)),
        sa.Column("return_code", sa.Integer()),
        sa.Column("result", sa.Text()),
    )
    op.create_index("ix_device_commands_device_id_state", "device_commands", ["device_id", "state"])
    op.create_table(
        "device_users",
        sa.Column("device_id", sa.String(36), primary_key=True),
        sa.Column("pin", sa.String(24), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("person_id", sa.String(36)),
        sa.Column("name", sa.String(100)),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("origin", sa.String(6), nullable=False),
        sa.Column("command_id", sa.BigInteger()),
        sa.Column("reported_name", sa.String(100)),
        sa.Column("privilege", sa.Integer()),
        sa.Column("fingerprints", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("faces", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "device_pins",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("pin", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("student_id", sa.String(36)),
        sa.Column("user_id", sa.String(36)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default="0"),
        sa.UniqueConstraint("campus_id", "pin", name="uq_device_pins_campus_id_pin"),
    )
    op.create_index("ix_device_pins_campus_student", "device_pins", ["campus_id", "student_id"])
    op.create_index("ix_device_pins_campus_user", "device_pins", ["campus_id", "user_id"])
    op.create_table(
        "device_punches",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("campus_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("serial", sa.String(32), nullable=False),
        sa.Column("pin", sa.String(24), nullable=False),
        sa.Column("punched_at", sa.String(32), nullable=False),
        sa.Column("local_time", sa.String(19), nullable=False),
        sa.Column("status", sa.String(8)),
        sa.Column("verify", sa.String(8)),
        sa.Column("workcode", sa.String(16)),
        sa.Column("extra", sa.Text()),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("student_id", sa.String(36)),
        sa.Column("user_id", sa.String(36)),
        sa.Column("mark_id", sa.String(36)),
        sa.Column("received_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_device_punches_campus_punched", "device_punches", ["campus_id", "punched_at"])
    op.create_index("ix_device_punches_device_punched", "device_punches", ["device_id", "punched_at"])
    op.create_table(
        "device_photos",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("device_id", sa.String(36), nullable=False),
        sa.Column("pin", sa.String(24)),
        sa.Column("file_name", sa.String(64), nullable=False),
        sa.Column("taken_at", sa.String(32)),
        sa.Column("punch_id", sa.String(36)),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.UniqueConstraint("device_id", "file_name", name="uq_device_photos_device_id_file_name"),
    )
    op.create_index("ix_device_photos_punch_id", "device_photos", ["punch_id"])


def downgrade() -> None:
    op.drop_index("ix_device_photos_punch_id", table_name="device_photos")
    op.drop_table("device_photos")
    op.drop_index("ix_device_punches_device_punched", table_name="device_punches")
    op.drop_index("ix_device_punches_campus_punched", table_name="device_punches")
    op.drop_table("device_punches")
    op.drop_index("ix_device_pins_campus_user", table_name="device_pins")
    op.drop_index("ix_device_pins_campus_student", table_name="device_pins")
    op.drop_table("device_pins")
    op.drop_table("device_users")
    op.drop_index("ix_device_commands_device_id_state", table_name="device_commands")
    op.drop_table("device_commands")
    op.drop_table("attendance_devices")
