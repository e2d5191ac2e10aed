"""The one shape of a searchable, paged list: a filter, a name/phone/number search, a count and
a page in a chosen order (newest first by default: ids are UUIDv7, so they sort by time).

Leads and students are searched through trigram indexes (``leads_search``, ``students_search``,
FTS5 tables made by migration 0027 and kept in step by triggers, replicated rows included): a term
of three characters or more (a name, the last four digits of a phone, a piece of a number) is
looked up in the index, so a search costs the rows it finds, not the table. A shorter term (a
two-character name, 张伟) is matched with LIKE over the rows the filter leaves. Every term must
match. Other tables, and a PostgreSQL hub, use LIKE alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, func, literal_column, or_, select, text

INDEXED = frozenset({"leads", "students"})
MAX_TERMS = 6
TRIGRAM = 3
_PHONE_FRAGMENT = re.compile(r"^[\d\-()（）.+]+$")
_PHONE_SEPARATORS = re.compile(r"[\-()（）.+]")


def search_terms(query: str | None) -> list[str]:
    """The terms of a typed search: full-width characters folded, a phone fragment's separators
    dropped (138-1234 finds 13812345678, as phones are stored as digits), each term once."""
    if not query:
        return []
    terms = []
    for term in unicodedata.normalize("NFKC", query).split():
        if _PHONE_FRAGMENT.match(term) and any(c.isdigit() for c in term):
            term = _PHONE_SEPARATORS.sub("", term)
        if term:
            terms.append(term)
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def has_index(conn: Connection, table: Table) -> bool:
    if table.name not in INDEXED or conn.dialect.name != "sqlite":
        return False
    return conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (f"{table.name}_search",)).first() is not None


def matching(conn: Connection, table: Table, query: str | None,
             searched: tuple[str, ...] = ("name", "phone", "number")) -> ColumnElement[bool] | None:
    """The condition that ``table``'s rows match every term of ``query`` (None: no search)."""
    terms = search_terms(query)
    if not terms:
        return None
    indexed = has_index(conn, table) and set(searched) <= {"name", "phone", "number"}
    conditions: list[ColumnElement[bool]] = []
    long_terms = [t for t in terms if len(t) >= TRIGRAM] if indexed else []
    if long_terms:
        index = f"{table.name}_search"
        found = text(f"SELECT rowid FROM {index} WHERE {index} MATCH :match").bindparams(
            match=" AND ".join(_phrase(t) for t in long_terms))
        conditions.append(literal_column(f"{table.name}.rowid").in_(found.columns(literal_column("rowid"))))
    for term in terms:
        if term not in long_terms:
            conditions.append(or_(*(table.c[name].like(_like(term), escape="\\") for name in searched)))
    return and_(*conditions)


def search_page(conn: Connection, table: Table, where: ColumnElement[bool], query: str | None, limit: int,
                offset: int, searched: tuple[str, ...] = ("name", "phone", "number"),
                order: Sequence[ColumnElement[Any]] | None = None) -> tuple[int, list[dict[str, Any]]]:
    """``(total, rows)`` of ``table`` matching ``where`` and, when given, every term of ``query``
    in the ``searched`` columns; ``order`` by default newest first."""
    matched = matching(conn, table, query, searched)
    if matched is not None:
        where = where & matched
    total = conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
    ordering = list(order) if order else [table.c.id.desc()]
    if order:
        ordering.append(table.c.id.desc())  # a stable order across pages
    rows = conn.execute(select(table).where(where).order_by(*ordering).limit(limit).offset(offset))
    return total, [dict(r) for r in rows.mappings()]


def is_search_index(table_name: str) -> bool:
    """Whether ``table_name`` is one of the derived search indexes (or their FTS5 shadow tables),
    which the declared tables do not list."""
    return any(table_name == f"{t}_search" or table_name.startswith(f"{t}_search_") for t in INDEXED)


def declared_only(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's ``include_name``: compare the declared tables, not the search indexes."""
    return not (type_ == "table" and name is not None and is_search_index(name))
