"""The migrations build exactly the tables campus.schema.tables declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from campus.schema.migrate import current_revision, head_revision, upgrade
from campus.schema.tables import metadata


def test_migrated_sqlite_store_matches_the_declared_tables(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")

    upgrade(engine)

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert current_revision(conn) == head_revision()


def test_upgrading_an_up_to_date_store_changes_nothing(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    upgrade(engine)
    with engine.connect() as conn:
        before = conn.exec_driver_sql("select sql from sqlite_master order by name").all()

    upgrade(engine)

    with engine.connect() as conn:
        assert conn.exec_driver_sql("select sql from sqlite_master order by name").all() == before
