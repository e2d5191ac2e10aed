"""the hub keeps each push whole and its feed in segments, instead of one row per change

A push is stored as it arrived (links and signature) in ``node_batches``; the feed nodes pull
from holds segments of change bodies (one origin, one scope) and ``hub_feed_students`` says
which segments carry a student's rows. Existing rows are carried over: every old feed entry
becomes a one-change segment with the same ``feed_seq``, so the nodes' pull cursors stay valid.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Student-scoped tables at this revision and the column naming the student.
STUDENT_TABLES = {
    "students": "id",
    "guardians": "student_id",
    "contracts": "student_id",
    "contract_lines": "student_id",
    "contract_events": "student_id",
    "asset_entries": "student_id",
    "payments": "student_id",
}
LINKS_PER_BATCH = 1000


def _seq() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "node_batches",
        sa.Column("node_id", sa.String(length=36), nullable=False),
        sa.Column("first_seq", _seq(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_from", sa.BigInteger(), nullable=True),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=True),
        sa.Column("links", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "first_seq"),
    )
    op.create_index("ix_node_batches_last", "node_batches", ["node_id", "last_seq"], unique=False)
    op.create_table(
        "hub_feed_segments",
        sa.Column("feed_seq", _seq(), autoincrement=True, nullable=False),
        sa.Column("origin_node", sa.String(length=36), nullable=False),
        sa.Column("first_origin_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_origin_seq", sa.BigInteger(), nullable=False),
        sa.Column("campus_id", sa.String(length=36), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("bodies", sa.LargeBinary(), nullable=False),
        sa.Column("accepted_at_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("feed_seq"),
    )
    op.create_table(
        "hub_feed_students",
        sa.Column("student_id", sa.String(length=36), nullable=False),
        sa.Column("feed_seq", _seq(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("student_id", "feed_seq"),
    )
    _carry_over_logs(bind)
    _carry_over_feed(bind)
    op.drop_table("node_logs")
    op.drop_table("hub_feed")
    op.rename_table("hub_feed_segments", "hub_feed")
    op.create_index("ix_hub_feed_campus", "hub_feed", ["campus_id", "feed_seq"], unique=False)


def _carry_over_logs(bind: sa.Connection) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    rows = bind.execute(sa.text("select node_id, seq, body, hash from node_logs order by node_id, seq"))
    batch: list[list] = []
    node = None

    def flush() -> None:
        if batch:
            bind.execute(sa.text(
                "insert into node_batches (node_id, first_seq, last_seq, last_hash, links, received_at) "
                "values (:node, :first, :last, :hash, :links, :at)"),
                {"node": node, "first": batch[0][0], "last": batch[-1][0], "hash": batch[-1][2],
                 "links": msgspec.msgpack.encode(batch), "at": now})
            batch.clear()

    for node_id, seq, body, digest in rows.all():
        if node_id != node or (batch and seq != batch[-1][0] + 1) or len(batch) == LINKS_PER_BATCH:
            flush()
            node = node_id
        batch.append([seq, bytes(body), bytes(digest)])
    flush()


def _carry_over_feed(bind: sa.Connection) -> None:
    for feed_seq, origin, origin_seq, campus, body, accepted in bind.execute(sa.text(
            "select feed_seq, origin_node, origin_seq, campus_id, body, accepted_at_ms from hub_feed "
            "order by feed_seq")).all():
        bind.execute(sa.text(
            "insert into hub_feed_segments (feed_seq, origin_node, first_origin_seq, last_origin_seq, campus_id, "
            "count, bodies, accepted_at_ms) values (:seq, :origin, :o, :o, :campus, 1, :bodies, :at)"),
            {"seq": feed_seq, "origin": origin, "o": origin_seq, "campus": campus,
             "bodies": msgspec.msgpack.encode([bytes(body)]), "at": accepted})
    for table, column in STUDENT_TABLES.items():
        student = "f.row_id" if column == "id" else f"t.{column}"
        join = "" if column == "id" else f"join {table} t on t.id = f.row_id"
        bind.execute(sa.text(
            f"insert into hub_feed_students (student_id, feed_seq) select distinct {student}, f.feed_seq "
            f"from hub_feed f {join} where f.table_name = :table and {student} is not null"), {"table": table})
    if bind.dialect.name == "postgresql":  # the carried-over feed_seqs were given, not drawn
        bind.execute(sa.text(
            "select setval(pg_get_serial_sequence('hub_feed_segments', 'feed_seq'), "
            "coalesce(max(feed_seq), 0) + 1, false) from hub_feed_segments"))


def downgrade() -> None:
    raise NotImplementedError("the per-change feed is not rebuilt from segments; restore a backup instead")
