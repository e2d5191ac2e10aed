"""The service desk and families (issue 21): tickets and their threads, lesson ratings, surveys and
responses, notification templates, opt-outs and the outbox, the portal's codes, failures and
passwords, the knowledge base; e-mail addresses on students and guardians

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
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
    with op.batch_alter_table("students") as batch:
        batch.add_column(sa.Column("email", sa.String(200)))
    with op.batch_alter_table("guardians") as batch:
        batch.add_column(sa.Column("email", sa.String(200)))
    op.create_table(
        "tickets", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("student_id", sa.String(ID)),
        sa.Column("lead_id", sa.String(ID)),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("assignee_id", sa.String(ID)),
        sa.Column("opened_by", sa.String(ID)),
        sa.Column("contact_phone", sa.String(20)),
        sa.Column("respond_by", sa.String(32), nullable=False),
        sa.Column("responded_at", sa.String(32)),
        sa.Column("resolved_at", sa.String(32)),
        sa.Column("closed_at", sa.String(32)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("tickets"),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_number")),
    )
    op.create_index("ix_tickets_student_id", "tickets", ["student_id"])
    op.create_index("ix_tickets_lead_id", "tickets", ["lead_id"])
    op.create_index("ix_tickets_campus_status", "tickets", ["campus_id", "status"])
    op.create_table(
        "ticket_events", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("ticket_id", sa.String(ID), nullable=False),
        sa.Column("student_id", sa.String(ID)),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("body", sa.Text()),
        sa.Column("from_status", sa.String(12)),
        sa.Column("to_status", sa.String(12)),
        sa.Column("assignee_id", sa.String(ID)),
        sa.Column("by_user_id", sa.String(ID)),
        sa.Column("by_family", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(32), nullable=False),
        _pk("ticket_events"),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])
    op.create_table(
        "lesson_ratings", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("lesson_id", sa.String(ID), nullable=False),
        sa.Column("student_id", sa.String(ID), nullable=False),
        sa.Column("class_id", sa.String(ID)),
        sa.Column("teacher_id", sa.String(ID)),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("created_at", sa.String(32), nullable=False),
        _pk("lesson_ratings"),
    )
    op.create_index("ix_lesson_ratings_lesson_id", "lesson_ratings", ["lesson_id"])
    op.create_index("ix_lesson_ratings_student_id", "lesson_ratings", ["student_id"])
    op.create_table(
        "surveys", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("for_families", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("created_by", sa.String(ID)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("surveys"),
    )
    op.create_table(
        "survey_responses", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("survey_id", sa.String(ID), nullable=False),
        sa.Column("student_id", sa.String(ID), nullable=False),
        sa.Column("class_id", sa.String(ID)),
        sa.Column("teacher_id", sa.String(ID)),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("rating_x100", sa.Integer()),
        sa.Column("lowest_rating", sa.Integer()),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("by_user_id", sa.String(ID)),
        sa.Column("created_at", sa.String(32), nullable=False),
        _pk("survey_responses"),
    )
    op.create_index("ix_survey_responses_survey_id", "survey_responses", ["survey_id"])
    op.create_index("ix_survey_responses_student_id", "survey_responses", ["student_id"])
    op.create_table(
        "notification_templates", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(ID)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("notification_templates"),
    )
    op.create_table(
        "notification_optouts", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("student_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("notification_optouts"),
    )
    op.create_index("ix_notification_optouts_student_id", "notification_optouts", ["student_id"])
    op.create_table(
        "outbox", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("student_id", sa.String(ID)),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("dedupe_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("not_before", sa.String(32), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("provider_ref", sa.String(200)),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("sent_at", sa.String(32)),
        _pk("outbox"),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    op.create_index("ix_outbox_recipient_sent_at", "outbox", ["recipient", "sent_at"])
    op.create_table(
        "portal_codes", _id(),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_at", sa.String(32)),
        _pk("portal_codes"),
    )
    op.create_index("ix_portal_codes_phone", "portal_codes", ["phone"])
    op.create_table(
        "portal_failures", _id(),
        sa.Column("login_key", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        _pk("portal_failures"),
    )
    op.create_index("ix_portal_failures_login_key_at", "portal_failures", ["login_key", "at"])
    op.create_table(
        "portal_passwords", _id(),
        sa.Column("campus_id", sa.String(ID), nullable=False),
        sa.Column("student_id", sa.String(ID), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("set_at", sa.String(32), nullable=False),
        _deleted(), _pk("portal_passwords"),
        sa.UniqueConstraint("student_id", name=op.f("uq_portal_passwords_student_id")),
    )
    op.create_table(
        "kb_categories", _id(),
        sa.Column("parent_id", sa.String(ID)),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("kb_categories"),
    )
    op.create_table(
        "kb_articles", _id(),
        sa.Column("category_id", sa.String(ID), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.String(200)),
        sa.Column("updated_by", sa.String(ID)),
        sa.Column("updated_at", sa.String(32), nullable=False),
        _deleted(), _pk("kb_articles"),
    )
    op.create_index("ix_kb_articles_category_id", "kb_articles", ["category_id"])


def downgrade() -> None:
    for table in ("kb_articles", "kb_categories", "portal_passwords", "portal_failures", "portal_codes", "outbox",
                  "notification_optouts", "notification_templates", "survey_responses", "surveys",
                  "lesson_ratings", "ticket_events", "tickets"):
        op.drop_table(table)
    with op.batch_alter_table("guardians") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("students") as batch:
        batch.drop_column("email")
