"""A PostgreSQL database per test, for the hub's PostgreSQL mode.

Each test that asks for ``postgres_url`` gets its own uniquely named database, dropped
afterwards; it skips, saying why, when no server answers on 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
CONNECT_TIMEOUT_SECONDS = 3


def postgres_store_url(database: str) -> str:
    """The SQLAlchemy URL a store opens; psycopg itself takes the same URL without ``+psycopg``."""
    return f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def _admin_connection(server_url: str) -> psycopg.Connection:
    # CREATE and DROP DATABASE cannot run inside a transaction block.
    return psycopg.connect(server_url.replace("+psycopg", ""), autocommit=True,
                           connect_timeout=CONNECT_TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The admin URL (the ``postgres`` database); skips every test that needs it when none answers."""
    server_url = postgres_store_url("postgres")
    try:
        with _admin_connection(server_url) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as error:
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        pytest.skip(f"PostgreSQL not reachable on {POSTGRES_HOST}:{POSTGRES_PORT}: {reason}")
    return server_url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test; dropped even if the test left connections open."""
    database = f"campus_test_{os.getpid()}_{secrets.token_hex(4)}"
    with _admin_connection(postgres_server_url) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        yield postgres_store_url(database)
    finally:
        with _admin_connection(postgres_server_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


