"""The default hub store (``hub.sqlite`` beside ``campus.toml``): the checks PostgreSQL also passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, select

from campus.hub import feed
from campus.hub.config import HubConfig
from campus.hub.store import HubStore
from campus.schema.db import create_store_engine
from campus.schema.migrate import current_revision, head_revision, upgrade
from campus.schema.search import declared_only, is_search_index
from campus.schema.tables import campuses, metadata
from campus.sync.changes import link_hash, verify_chain
from tests.hub.store_checks import (
    CAMPUS,
    change_log_links,
    serve_hub_and_list_campuses,
    write_campus,
    write_campuses_concurrently,
)


@pytest.fixture
def hub_engine(hub_config: HubConfig) -> Iterator[Engine]:
    engine = create_store_engine(hub_config.store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def hub_store(hub_config: HubConfig) -> Iterator[HubStore]:
    store = HubStore(hub_config.store_url, hub_config.hub_id)
    yield store
    store.close()


def test_the_default_hub_keeps_its_store_in_hub_sqlite_beside_its_config(hub_config: HubConfig) -> None:
    assert hub_config.database_url == ""
    assert hub_config.store_url.startswith("sqlite:///")
    assert (hub_config.directory / "hub.sqlite").is_file()


def test_the_default_hub_store_has_every_declared_table_at_the_head_revision(hub_engine: Engine) -> None:
    assert {t for t in inspect(hub_engine).get_table_names() if not is_search_index(t)} == \
        set(metadata.tables) | {"alembic_version"}
    with hub_engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": declared_only}), metadata) == []
        assert current_revision(conn) == head_revision()


def test_upgrading_the_default_hub_store_again_changes_nothing(hub_engine: Engine) -> None:
    with hub_engine.connect() as conn:
        before = conn.exec_driver_sql("select type, name, sql from sqlite_master order by name").all()
    statements: list[str] = []
    event.listen(hub_engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, *_rest: statements.append(statement))

    upgrade(hub_engine)

    # Our own BEGIN (db.py) and Alembic's version check, nothing else.
    assert [s for s in statements if not s.lstrip().upper().startswith(("SELECT", "PRAGMA", "BEGIN"))] == []
    with hub_engine.connect() as conn:
        assert conn.exec_driver_sql("select type, name, sql from sqlite_master order by name").all() == before


def test_a_campus_on_the_default_hub_continues_the_chain_init_started(hub_store: HubStore) -> None:
    head_seq, head_hash = hub_store.head()  # init_hub already logged the first admin and their role

    write_campus(hub_store)

    links = change_log_links(hub_store)
    seq, body, digest = links[-1]
    assert head_seq > 0
    assert (seq, digest) == (head_seq + 1, link_hash(head_hash, body))
    assert verify_chain(links) == hub_store.head() == (head_seq + 1, digest)


def test_the_default_hub_answers_healthz_and_lists_its_campuses_over_http(
        hub_config: HubConfig, hub_store: HubStore) -> None:
    write_campus(hub_store)
    hub_store.close()

    health, campus_list = serve_hub_and_list_campuses(hub_config.directory)

    assert health == {"status": "ok", "role": "hub"}
    assert campus_list == [CAMPUS]


def test_concurrent_writers_on_the_default_hub_take_gap_free_seqs_in_one_verified_chain(
        hub_store: HubStore) -> None:
    head_seq, _ = hub_store.head()

    write_campuses_concurrently(hub_store, writers=8, campuses_each=10)

    links = change_log_links(hub_store)
    assert [seq for seq, _, _ in links] == list(range(1, head_seq + 81))
    assert verify_chain(links) == hub_store.head() == (head_seq + 80, links[-1][2])
    with hub_store.read() as conn:
        new_feed_seqs = [seq for _, _, _, seq in feed.listing(conn) if seq > head_seq]
        assert new_feed_seqs == list(range(head_seq + 1, head_seq + 81))
        assert len(conn.execute(select(campuses.c.id)).all()) == 80
