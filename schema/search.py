"""The one shape of a searchable, paged list: a filter, a name/phone/number search, a count and
a page in a chosen order (newest first by default: ids are UUIDv7, so they sort by time).

Leads and students are searched through FTS5 indexes made by migration 0027 and kept in step with
every write, replicated rows included (triggers queue each written row, the store indexes the
queue before each commit), so a search costs the rows it finds, not the table: a whole
number (BJ01-L-000123) by the number's own unique index; a term of three characters or more (a
name, the last four digits of a phone, a piece from its middle, a piece of a number) in the
trigrams of name, phone and number (``<table>_search``); a two-character name (张伟, 小明) among
the pairs of neighbouring characters of each name (``<table>_names``). A single character, or two
digits, is matched with LIKE over the rows the filter leaves. Every term must match. Other tables,
and a PostgreSQL hub, use LIKE alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
)

INDEXED = frozenset({"leads", "students"})
MAX_TERMS = 6
TRIGRAM = 3
_PHONE_FRAGMENT = re.compile(r"^[\d\-()（）.+]+$")
_PHONE_SEPARATORS = re.compile(r"[\-()（）.+]")
_WHOLE_NUMBER = re.compile(r"^[A-Za-z0-9]+-[A-Za-z]+-\d+$")


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


def contains_pattern(term: str) -> str:
    """A LIKE pattern finding ``term`` anywhere (its % _ and \\ escaped with \\)."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def indexes_of(conn: Connection, table: Table) -> set[str]:
    """Which of ``table``'s search indexes this store has ("search", "names")."""
    if table.name not in INDEXED or conn.dialect.name != "sqlite":
        return set()
    names = {f"{table.name}_search": "search", f"{table.name}_names": "names"}
    found = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
                                 tuple(names)).scalars()
    return {names[name] for name in found}


def _in_index(table: Table, index: str, terms: list[str]) -> ColumnElement[bool]:
    virtual = f"{table.name}_{index}"
    found = text(f"SELECT rowid FROM {virtual} WHERE {virtual} MATCH :match").bindparams(
        bindparam("match", " AND ".join(_phrase(t) for t in terms), unique=True))
    return literal_column(f"{table.name}.rowid").in_(found.columns(literal_column("rowid")))


def matching(conn: Connection, table: Table, query: str | None,
             searched: tuple[str, ...] = ("name", "phone", "number")) -> ColumnElement[bool] | None:
    """The condition that ``table``'s rows match every term of ``query`` (None: no search)."""
    terms = search_terms(query)
    if not terms:
        return None
    indexes = indexes_of(conn, table) if set(searched) == {"name", "phone", "number"} else set()
    conditions: list[ColumnElement[bool]] = []
    trigrams: list[str] = []
    pairs: list[str] = []
    for term in terms:
        if indexes and _WHOLE_NUMBER.match(term):
            conditions.append(table.c.number == term.upper())
        elif "search" in indexes and len(term) >= TRIGRAM:
            trigrams.append(term)
        elif "names" in indexes and len(term) == 2 and not term.isdigit():
            pairs.append(term)
        else:
            conditions.append(or_(*(table.c[name].like(contains_pattern(term), escape="\\") for name in searched)))
    if trigrams:
        conditions.append(_in_index(table, "search", trigrams))
    if pairs:
        conditions.append(_in_index(table, "names", pairs))
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


NAME_PAIRS = 16  # as migration 0027 indexes them
_QUEUED = "SELECT row FROM search_queue WHERE table_name = '{table}'"
_with_queue: set[str] = set()  # the databases known to have the queue


def _pairs(name: str) -> str:
    return " || ' ' || ".join(f"substr({name}, {i}, 2)" for i in range(1, NAME_PAIRS + 1))


def flush_search_queue(conn: Connection) -> None:
    """Bring the search indexes up to the rows the triggers queued (every insert, edit and delete of
    a lead or student), in the caller's write transaction: the store calls it before each commit,
    so a search never misses a committed row; a writer outside the store calls it itself."""
    if conn.dialect.name != "sqlite":
        return
    key = str(conn.engine.url)
    if key not in _with_queue:
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'search_queue'").first() is None:
            return
        _with_queue.add(key)
    if conn.exec_driver_sql("SELECT 1 FROM search_queue LIMIT 1").first() is None:
        return
    for table in sorted(INDEXED):
        queued = _QUEUED.format(table=table)
        conn.exec_driver_sql(f"DELETE FROM {table}_search WHERE rowid IN ({queued})")
        conn.exec_driver_sql(f"DELETE FROM {table}_names WHERE rowid IN ({queued})")
        conn.exec_driver_sql(f"INSERT INTO {table}_search (rowid, name, phone, number) "
                             f"SELECT rowid, name, phone, number FROM {table} WHERE rowid IN ({queued})")
        conn.exec_driver_sql(f"INSERT INTO {table}_names (rowid, pairs) "
                             f"SELECT rowid, {_pairs('name')} FROM {table} WHERE rowid IN ({queued})")
    conn.exec_driver_sql("DELETE FROM search_queue")


def is_search_index(table_name: str) -> bool:
    """Whether ``table_name`` is one of the derived search indexes (or their FTS5 shadow tables, or
    the queue of rows they have still to take in), which the declared tables do not list."""
    return table_name == "search_queue" or any(table_name == f"{t}_{index}" or table_name.startswith(f"{t}_{index}_")
                                               for t in INDEXED for index in ("search", "names"))


def declared_only(name: str | None, type_: str, _parents: Any) -> bool:
    """Alembic's ``include_name``: compare the declared tables, not the search indexes."""
    return not (type_ == "table" and name is not None and is_search_index(name))


def paged(conn: Connection, query: Select[Any], order: Sequence[ColumnElement[Any]], limit: int, offset: int
          ) -> tuple[int, list[dict[str, Any]]]:
    """``(total, rows)`` of any list's ``query``: its count, and one page of it in ``order``."""
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = conn.execute(query.order_by(*order).limit(limit).offset(offset)).mappings()
    return total, [dict(r) for r in rows]


def ordered(column: ColumnElement[Any], descending: bool, *tie_breakers: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """A list's order: the chosen column in its direction, then ``tie_breakers`` (newest first) so
    that pages never overlap."""
    return [column.desc() if descending else column.asc(), *(t.desc() for t in tie_breakers)]
