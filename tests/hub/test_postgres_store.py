"""The hub's store on PostgreSQL: the same schema, change log and HTTP answers as on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, select

from campus.hub import feed
from campus.hub.bootstrap import init_hub
from campus.hub.store import HubStore
from campus.schema.db import create_store_engine, sqlite_url
from campus.schema.migrate import current_revision, head_revision, upgrade
from campus.schema.tables import campuses, metadata
from campus.sync import codec
from campus.sync.changes import GENESIS_HASH, link_hash, verify_chain
from tests.conftest import ADMIN_PASSWORD
from tests.hub.store_checks import (
    CAMPUS,
    change_log_links,
    serve_hub_and_list_campuses,
    write_campus,
    write_campuses_concurrently,
)

pytestmark = pytest.mark.postgres

HUB_ID = "0190f1a2-0000-7000-8000-0000000000a1"
COMPARED_TABLES = ["campuses", "users", "change_log", "local_state", "field_versions", "hub_feed"]


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_store_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[HubStore]:
    store = HubStore(postgres_url, HUB_ID)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[HubStore]:
    store = HubStore(sqlite_url(tmp_path / "hub.sqlite"), HUB_ID)
    yield store
    store.close()


def _column_kinds(engine: Engine, table: str) -> list[tuple[str, str, bool]]:
    """``(name, python type, nullable)`` per column: what must agree, whatever each engine calls the type."""
    return [(column["name"], column["type"].python_type.__name__, column["nullable"])
            for column in inspect(engine).get_columns(table)]


def _schema_snapshot(engine: Engine) -> dict[str, object]:
    inspector = inspect(engine)
    return {table: ([(c["name"], str(c["type"]), c["nullable"], c["default"]) for c in inspector.get_columns(table)],
                    sorted(str(index) for index in inspector.get_indexes(table)))
            for table in sorted(inspector.get_table_names())}


def test_migrations_create_every_declared_table_on_postgresql(postgres_engine: Engine) -> None:
    upgrade(postgres_engine)

    assert set(inspect(postgres_engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}
    with postgres_engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_postgresql_columns_have_the_names_and_kinds_sqlite_has(postgres_engine: Engine, tmp_path: Path) -> None:
    sqlite_engine = create_store_engine(sqlite_url(tmp_path / "hub.sqlite"))
    upgrade(sqlite_engine)

    upgrade(postgres_engine)

    try:
        for table in COMPARED_TABLES:
            assert _column_kinds(postgres_engine, table) == _column_kinds(sqlite_engine, table), table
    finally:
        sqlite_engine.dispose()


def test_upgrading_an_up_to_date_postgresql_store_changes_nothing(postgres_engine: Engine) -> None:
    upgrade(postgres_engine)
    before = _schema_snapshot(postgres_engine)
    statements: list[str] = []
    event.listen(postgres_engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_rest: statements.append(statement))

    upgrade(postgres_engine)

    assert [s for s in statements if not s.lstrip().upper().startswith("SELECT")] == []
    assert _schema_snapshot(postgres_engine) == before


def test_a_migrated_postgresql_store_is_at_the_head_revision(postgres_engine: Engine) -> None:
    upgrade(postgres_engine)

    with postgres_engine.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_the_first_campus_on_postgresql_is_change_1_chained_from_genesis(postgres_store: HubStore) -> None:
    write_campus(postgres_store)

    [(seq, body, digest)] = change_log_links(postgres_store)
    assert seq == 1
    assert digest == link_hash(GENESIS_HASH, body)
    assert postgres_store.head() == (1, digest)
    assert verify_chain(change_log_links(postgres_store)) == (1, digest)


def test_postgresql_and_sqlite_record_the_same_change_for_the_same_campus(
        postgres_store: HubStore, sqlite_store: HubStore) -> None:
    write_campus(postgres_store)
    write_campus(sqlite_store)

    [(_, postgres_body, _)] = change_log_links(postgres_store)
    [(_, sqlite_body, _)] = change_log_links(sqlite_store)
    postgres_change, sqlite_change = codec.decode(postgres_body), codec.decode(sqlite_body)
    assert postgres_change.pop("hlc") > 0 and sqlite_change.pop("hlc") > 0
    assert postgres_change == sqlite_change == {
        "fields": {"code": "BJ01", "name": "北京海淀校区", "created_at": "2026-11-24T08:00:00Z", "deleted": False},
        "id": CAMPUS["id"], "node": HUB_ID, "op": "insert", "schema": postgres_change["schema"], "seq": 1,
        "table": "campuses",
    }


def test_a_hub_on_postgresql_answers_healthz_and_lists_its_campuses_over_http(
        postgres_url: str, tmp_path: Path) -> None:
    config = init_hub(tmp_path / "hub", database_url=postgres_url, admin_password=ADMIN_PASSWORD)
    store = HubStore(config.store_url, config.hub_id)
    try:
        write_campus(store)
    finally:
        store.close()

    health, campus_list = serve_hub_and_list_campuses(config.directory)

    assert health == {"status": "ok", "role": "hub"}
    assert campus_list == [CAMPUS]
    assert not (tmp_path / "hub" / "hub.sqlite").exists()


def test_concurrent_writers_on_postgresql_take_gap_free_seqs_in_one_verified_chain(
        postgres_store: HubStore) -> None:
    write_campuses_concurrently(postgres_store, writers=8, campuses_each=10)

    links = change_log_links(postgres_store)
    assert [seq for seq, _, _ in links] == list(range(1, 81))
    assert verify_chain(links) == postgres_store.head() == (80, links[-1][2])
    with postgres_store.read() as conn:
        assert [seq for _, _, _, seq in feed.listing(conn)] == list(range(1, 81))
        assert len(conn.execute(select(campuses.c.id)).all()) == 80
