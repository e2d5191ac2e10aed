"""Canonical digests of replicated tables: equal contents give equal digests on any store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, MetaData, Table, select

from campus.sync import codec
from campus.sync.policy import policy_of
from campus.sync.visits import visiting_rows


def replicated_tables(metadata: MetaData) -> list[Table]:
    return [t for t in metadata.sorted_tables if policy_of(t) is not None]


def table_digest(conn: Connection, table: Table, where: ColumnElement[bool] | None = None) -> str:
    """SHA-256 over every row (canonical msgpack, columns by name) in id order."""
    query = select(table).order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    digest = hashlib.sha256()
    for row in conn.execute(query).mappings():
        digest.update(codec.encode({str(name): value for name, value in row.items()}))
    return digest.hexdigest()


def store_digests(conn: Connection, tables: Iterable[Table]) -> dict[str, str]:
    return {str(table.name): table_digest(conn, table) for table in tables}


def subscription_digests(conn: Connection, metadata: MetaData, campus_id: str) -> dict[str, str]:
    """Digests of what a campus's node holds: shared tables whole, campus tables its own rows and
    the rows about students who study there."""
    digests = {}
    for table in replicated_tables(metadata):
        policy = policy_of(table)
        assert policy is not None
        column = policy.campus_column
        where = None
        if column is not None:
            where = table.c[column] == campus_id
            if policy.unscoped_rows_shared:
                where = where | table.c[column].is_(None)
            visiting = visiting_rows(metadata, table, campus_id)
            if visiting is not None:
                where = where | visiting
        digests[str(table.name)] = table_digest(conn, table, where)
    return digests
