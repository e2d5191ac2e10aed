"""The migrations build exactly the tables campus.schema.tables declares."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, func, insert, select, text

from campus.schema.migrate import alembic_config, current_revision, head_revision, upgrade
from campus.schema.search import declared_only
from campus.schema.tables import hub_feed, hub_feed_students, metadata, node_batches


def test_migrated_sqlite_store_matches_the_declared_tables(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")

    upgrade(engine)

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": declared_only}), metadata) == []
        assert current_revision(conn) == head_revision()


def test_upgrading_an_up_to_date_store_changes_nothing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade(engine)
    with engine.connect() as conn:
        before = conn.exec_driver_sql("select sql from sqlite_master order by name").all()

    upgrade(engine)

    with engine.connect() as conn:
        assert conn.exec_driver_sql("select sql from sqlite_master order by name").all() == before


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_hub_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    return request.getfixturevalue("postgres_url")


def test_hub_logs_and_feed_carry_over_into_batches_and_segments(any_hub_url: str) -> None:
    """0013: per-change log rows become whole batches, feed rows one-change segments with the
    same feed_seq (the nodes' pull cursors stay valid), and a student's rows are indexed."""
    engine = create_engine(any_hub_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0012")
        for seq in (1, 2, 3):
            conn.execute(text("insert into node_logs (node_id, seq, body, hash) values ('n1', :seq, :body, :hash)"),
                         {"seq": seq, "body": f"change {seq}".encode(), "hash": bytes([seq]) * 32})
        conn.execute(text("insert into students (id, number, name, home_campus_id, status, created_at, "
                             "deleted) values ('s1', 'BJ01-S-1', '张三', 'c1', 'active', '2026-11-24', false)"))
        conn.execute(text("insert into guardians (id, student_id, home_campus_id, name, phone, relation, created_at, deleted) "
                             "values ('g1', 's1', 'c1', '张父', '13800000000', 'father', '2026-11-24', false)"))
        for feed_seq, table, row_id in ((7, "students", "s1"), (9, "guardians", "g1"), (12, "leads", "l1")):
            conn.execute(text(
                "insert into hub_feed (feed_seq, origin_node, origin_seq, table_name, row_id, campus_id, body, "
                "accepted_at_ms) values (:seq, 'n1', :seq, :table, :row, 'c1', :body, 1000)"),
                {"seq": feed_seq, "table": table, "row": row_id, "body": f"body {feed_seq}".encode()})

    upgrade(engine)

    with engine.begin() as conn:
        batches = conn.execute(select(node_batches)).mappings().all()
        assert [(b["node_id"], b["first_seq"], b["last_seq"], b["last_hash"]) for b in batches] == [
            ("n1", 1, 3, bytes([3]) * 32)]
        assert msgspec.msgpack.decode(batches[0]["links"]) == [
            [seq, f"change {seq}".encode(), bytes([seq]) * 32] for seq in (1, 2, 3)]
        segments = conn.execute(select(hub_feed.c.feed_seq, hub_feed.c.count, hub_feed.c.bodies)
                                .order_by(hub_feed.c.feed_seq)).all()
        assert [(s.feed_seq, s.count, msgspec.msgpack.decode(s.bodies)) for s in segments] == [
            (7, 1, [b"body 7"]), (9, 1, [b"body 9"]), (12, 1, [b"body 12"])]
        assert conn.execute(select(hub_feed_students.c.student_id, hub_feed_students.c.feed_seq)
                            .order_by(hub_feed_students.c.feed_seq)).all() == [("s1", 7), ("s1", 9)]
        conn.execute(insert(hub_feed).values(origin_node="n1", first_origin_seq=13, last_origin_seq=13, count=1,
                                             bodies=b"\x90"))
        assert conn.execute(select(func.max(hub_feed.c.feed_seq))).scalar() == 13
    engine.dispose()
