"""Stores made by earlier releases (tests/data/stores: each release that changed the schema ran its
own demo, see build.py there) open with today's code, migrate to today's schema and keep every row:
every row of every table they had, with every value of every column that still exists, and the
change logs chain as before. Before migration 0013 the hub kept nodes' logs one row per change in
``node_logs``; since, a push whole in ``node_batches``: there every old link must be found again."""

from __future__ import annotations

from pathlib import Path

import pytest

from campus.hub.store import HubStore
from campus.hub.sync.ingest import iter_stored_links
from campus.node.store import NodeStore
from campus.schema.db import LoggedStore, sqlite_url
from campus.schema.tables import SCHEMA_VERSION, change_log
from campus.sync.changes import verify_chain
from tests.ops.stores import fixtures, made_by, read_rows, unpack_store

RESTRUCTURED = {"node_logs", "alembic_version"}  # checked below / the migration revision itself


@pytest.mark.parametrize(("revision", "role"), fixtures(), ids=[f"{r}-{role}" for r, role in fixtures()])
def test_a_store_an_earlier_release_made_migrates_and_keeps_every_row(revision: str, role: str,
                                                                      tmp_path: Path) -> None:
    database = unpack_store(revision, role, tmp_path / f"{role}.sqlite")
    before = read_rows(database)

    store: LoggedStore = NodeStore(database, "upgrade-test") if role == "node" else \
        HubStore(sqlite_url(database), "upgrade-test")
    try:
        with store.read() as conn:
            assert conn.exec_driver_sql("select version_num from alembic_version").scalar_one() == \
                f"{SCHEMA_VERSION:04d}", f"made by {made_by(revision)}"
            links = [(s, b, h) for s, b, h in conn.execute(change_log.select().with_only_columns(
                change_log.c.seq, change_log.c.body, change_log.c.hash).order_by(change_log.c.seq))]
            assert verify_chain(links) == store.head()
            if "node_logs" in before and before["node_logs"]:
                for node_id in {row["node_id"] for row in before["node_logs"].values()}:
                    kept = [(s, bytes(b), bytes(h)) for s, b, h in iter_stored_links(conn, node_id)]
                    old = sorted((r["seq"], r["body"], r["hash"]) for r in before["node_logs"].values()
                                 if r["node_id"] == node_id)
                    assert kept == old
    finally:
        store.close()

    after = read_rows(database)
    for table, rows in before.items():
        if table in RESTRUCTURED:
            continue
        assert table in after, f"{table} is gone"
        assert rows.keys() <= after[table].keys(), f"rows of {table} lost"
        for key, row in rows.items():
            now = after[table][key]
            assert {c: v for c, v in row.items() if c in now} == {c: now[c] for c in row if c in now}, (table, key)
    assert sum(len(rows) for rows in before.values()) > 0
