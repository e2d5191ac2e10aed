"""The hub's copy of every campus's journal, and the roll-ups the group statements read.

A campus's journal is never stored as truth: it is derived from the merged facts by
:func:`campus.schema.books.projection.journal`, exactly as the campus's node derives it. The hub
keeps the result as lines (``hub_journal_lines``) so that it can tell what changed: after facts
are merged, :class:`BooksKeeper` recomputes the journal of each campus those facts touch, diffs it
by entry id against the lines it holds (an entry's id is a function of its fact, rule and campus,
so the same id means the same content unless a late close moved it), deletes and inserts the
lines that differ, and adjusts ``hub_book_rollups`` (campus × month × account) and
``hub_book_eliminations`` by exactly that delta, all in one transaction. Group statements then
read a few thousand roll-up rows however long the journal grows.

The keeper runs as a background job of the hub process, so pushes are never slowed: it knows
how far it got in each node's log (``hub_books_marks``), reads the changes merged since, and
marks dirty the campuses whose books they can move (the writer's, and every campus the changed
rows name: a lesson taught at B on A's contract moves both). :func:`verify` recomputes all of it
from scratch and reports any difference.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select

from campus.hub.store import HubStore
from campus.hub.sync import iter_stored_links
from campus.schema.books import chart
from campus.schema.books.entries import read_settings
from campus.schema.books.posting import BooksSettings, JournalEntry, Line
from campus.schema.books.projection import DEFAULT_TIMEZONE, campus_codes, journal
from campus.schema.tables import (
    asset_entries,
    campuses,
    contracts,
    hub_book_eliminations,
    hub_book_rollups,
    hub_books_marks,
    hub_journal_lines,
    hub_nodes,
    metadata,
    payments,
)
from campus.sync.changes import decode_change

log = logging.getLogger("campus.hub.books")

KEEPER_INTERVAL_SECONDS = 3  # how often the hub brings its books up to the merged facts
CHUNK = 500  # ids per IN (...) list

# The replicated tables a journal is derived from (those that exist in this schema): a change to
# any other table moves no money.
_BOOK_TABLE_NAMES = ("payments", "asset_entries", "contract_events", "contracts", "book_closes", "manual_entries",
                     "expenses", "fund_releases", "refunds", "payroll_runs", "payslips")
BOOK_TABLES = frozenset(name for name in _BOOK_TABLE_NAMES if name in metadata.tables)
_CAMPUS_COLUMNS = ("campus_id", "recorded_campus_id", "counterpart_campus_id", "paid_campus_id")

LINE_COLUMNS = ("entry_id", "line_no", "campus_id", "period", "entry_date", "account", "debit_fen", "credit_fen",
                "counterpart_campus_id", "contract_id", "rule", "memo", "source_table", "source_id", "origin_period")
LineRow = tuple[Any, ...]  # the LINE_COLUMNS of one line, in order


def settings_for(conn: Connection, campus_id: str) -> tuple[BooksSettings, str]:
    """The books settings and time zone a campus derives its journal under, as its node recorded
    them (replicated ``campus_book_settings``); the defaults where it recorded none."""
    return read_settings(conn, campus_id) or (BooksSettings(), DEFAULT_TIMEZONE)


def derive(conn: Connection, campus_id: str, timezone: str | None = None) -> list[JournalEntry]:
    """The campus's journal from the facts ``conn`` reads: what its node computes from the same facts."""
    settings, zone = settings_for(conn, campus_id)
    return journal(conn, campus_id, settings=settings, timezone=timezone or zone)


# --- lines ⇄ entries ---------------------------------------------------------------------------------


def eliminated(account: str, rule: str, counterpart_campus_id: str | None) -> bool:
    """Whether consolidation eliminates a line: the current accounts between campuses (内部往来), and
    the settlement for teaching another campus's student (6401 at the contract's campus, 6001 at the
    teaching campus); never money received or paid, nor a handling fee kept."""
    if counterpart_campus_id is None:
        return False
    if chart.is_inter_campus(account):
        return True
    return rule == "teaching_settlement" and account in (chart.TUITION_REVENUE, chart.COST_OF_TEACHING)


def entry_rows(entry: JournalEntry) -> list[LineRow]:
    return [(entry.id, n, entry.campus_id, entry.period, entry.date, ln.account, ln.debit_fen, ln.credit_fen,
             entry.counterpart_campus_id, ln.contract_id, entry.rule, entry.memo, entry.source_table,
             entry.source_id, entry.origin_period) for n, ln in enumerate(entry.lines)]


def rows_to_entries(rows: Iterable[LineRow]) -> list[JournalEntry]:
    """Entries from their lines (ordered by entry, then line number)."""
    grouped: dict[str, list[LineRow]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    made = []
    for entry_id, lines in grouped.items():
        first = lines[0]
        made.append(JournalEntry(entry_id, first[2], first[4], first[3], first[10], first[11], first[12], first[13],
                                 tuple(Line(r[5], int(r[6]), int(r[7]), r[9]) for r in sorted(lines, key=lambda r: r[1])),
                                 first[8], first[14]))
    return made


def _columns() -> list[Any]:
    return [hub_journal_lines.c[name] for name in LINE_COLUMNS]


def stored_rows(conn: Connection, campus_id: str, period: str | None = None) -> dict[str, tuple[LineRow, ...]]:
    """The lines the hub holds for a campus (in one period), per entry id."""
    query = select(*_columns()).where(hub_journal_lines.c.campus_id == campus_id)
    if period is not None:
        query = query.where(hub_journal_lines.c.period == period)
    held: dict[str, list[LineRow]] = defaultdict(list)
    for row in conn.execute(query.order_by(hub_journal_lines.c.entry_id, hub_journal_lines.c.line_no)):
        held[row[0]].append(tuple(int(v) if i in (1, 6, 7) else v for i, v in enumerate(row)))
    return {entry_id: tuple(rows) for entry_id, rows in held.items()}


def stored_journal(conn: Connection, campus_id: str, period: str | None = None) -> list[JournalEntry]:
    """The campus's journal as the hub holds it, in the projection's order (campus, period, date)."""
    entries = rows_to_entries(row for rows in stored_rows(conn, campus_id, period).values() for row in rows)
    return sorted(entries, key=lambda e: (e.period, e.date, e.source_id, e.id))


# --- applying a recomputed journal ----------------------------------------------------------------------


@dataclass
class Delta:
    """What one recompute changed: lines in and out, and the roll-up movements they make."""

    inserted: int = 0
    deleted: int = 0
    rollups: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    eliminations: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, row: LineRow, sign: int) -> None:
        period, account, debit, credit, counterpart, rule = row[3], row[5], row[6], row[7], row[8], row[10]
        moved = self.rollups[(period, account)]
        moved[0] += sign * debit
        moved[1] += sign * credit
        if eliminated(account, rule, counterpart):
            moved = self.eliminations[(period, account, counterpart)]
            moved[0] += sign * debit
            moved[1] += sign * credit


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _upsert_add(conn: Connection, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> None:
    """Add each row's debit and credit to the row with its key, creating it if there is none."""
    if not rows:
        return
    dialect_insert: Callable[..., Any]  # PostgreSQL's and SQLite's both have on_conflict_do_update
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(index_elements=keys, set_={
        "debit_fen": table.c.debit_fen + statement.excluded.debit_fen,
        "credit_fen": table.c.credit_fen + statement.excluded.credit_fen})
    conn.execute(statement, rows)


def apply_journal(conn: Connection, campus_id: str, entries: Iterable[JournalEntry]) -> Delta:
    """Bring the campus's lines to ``entries`` and the roll-ups by the same delta, in ``conn``'s transaction."""
    wanted = {entry.id: tuple(entry_rows(entry)) for entry in entries}
    held = stored_rows(conn, campus_id)
    delta = Delta()
    gone = [entry_id for entry_id, rows in held.items() if wanted.get(entry_id) != rows]
    new = [entry_id for entry_id, rows in wanted.items() if held.get(entry_id) != rows]
    for entry_id in gone:
        for row in held[entry_id]:
            delta.add(row, -1)
            delta.deleted += 1
    for chunk in _chunks(gone):
        conn.execute(delete(hub_journal_lines).where(hub_journal_lines.c.entry_id.in_(chunk)))
    inserted = [dict(zip(LINE_COLUMNS, row, strict=True)) for entry_id in new for row in wanted[entry_id]]
    for line in inserted:
        delta.add(tuple(line[c] for c in LINE_COLUMNS), +1)
    for chunk in _chunks(inserted, 2000):
        conn.execute(insert(hub_journal_lines), chunk)
    delta.inserted = len(inserted)
    _upsert_add(conn, hub_book_rollups, ["campus_id", "period", "account"], [
        {"campus_id": campus_id, "period": period, "account": account, "debit_fen": d, "credit_fen": c}
        for (period, account), (d, c) in delta.rollups.items() if d or c])
    _upsert_add(conn, hub_book_eliminations, ["campus_id", "period", "account", "counterpart_campus_id"], [
        {"campus_id": campus_id, "period": period, "account": account, "counterpart_campus_id": counterpart,
         "debit_fen": d, "credit_fen": c}
        for (period, account, counterpart), (d, c) in delta.eliminations.items() if d or c])
    for table in (hub_book_rollups, hub_book_eliminations):  # a GROUP BY of the lines has no all-zero rows
        conn.execute(delete(table).where(table.c.campus_id == campus_id, table.c.debit_fen == 0,
                                         table.c.credit_fen == 0))
    return delta


# --- which campuses a merge touched -----------------------------------------------------------------------


def campuses_named(conn: Connection, touched: dict[str, set[str]]) -> set[str]:
    """The campuses whose books the rows ``touched`` (table → row ids, as merged) can move."""
    found: set[str] = set()
    contract_ids: set[str] = set()
    deposit_ids: set[str] = set()
    for name, ids in touched.items():
        table = metadata.tables[name]
        columns = [table.c[c] for c in (*_CAMPUS_COLUMNS, "contract_id", "source_payment_id") if c in table.c]
        if not columns:
            continue
        for chunk in _chunks(sorted(ids)):
            for row in conn.execute(select(*columns).where(table.c.id.in_(chunk))).mappings():
                found.update(row[c] for c in _CAMPUS_COLUMNS if row.get(c))
                if row.get("contract_id"):
                    contract_ids.add(row["contract_id"])
                if row.get("source_payment_id"):
                    deposit_ids.add(row["source_payment_id"])
        if name == "contracts":  # where a contract belongs decides where money taken on it posts
            contract_ids.update(ids)
    for chunk in _chunks(sorted(contract_ids)):
        found.update(conn.execute(select(contracts.c.campus_id).where(contracts.c.id.in_(chunk))).scalars())
        found.update(conn.execute(select(payments.c.campus_id).where(payments.c.contract_id.in_(chunk))).scalars())
        found.update(conn.execute(select(asset_entries.c.recorded_campus_id)
                                  .where(asset_entries.c.contract_id.in_(chunk))).scalars())
    for chunk in _chunks(sorted(deposit_ids)):
        found.update(conn.execute(select(payments.c.campus_id).where(payments.c.id.in_(chunk))).scalars())
    found.discard(None)
    return found


def _touched_since(conn: Connection, node_id: str, after: int, upto: int) -> dict[str, set[str]]:
    touched: dict[str, set[str]] = defaultdict(set)
    for seq, body, _digest in iter_stored_links(conn, node_id, after + 1, upto):
        if seq > upto:
            break
        change = decode_change(body)
        if change.table in BOOK_TABLES:
            touched[change.table].add(change.row_id)
    return touched


def all_campus_ids(conn: Connection) -> set[str]:
    ids = set(conn.execute(select(campuses.c.id)).scalars())
    ids.update(conn.execute(select(hub_journal_lines.c.campus_id).distinct()).scalars())
    return ids


# --- the keeper -------------------------------------------------------------------------------------------


@dataclass
class KeeperRun:
    campuses: int = 0
    inserted: int = 0
    deleted: int = 0


class BooksKeeper:
    """Brings the hub's lines and roll-ups up to the merged facts; :meth:`run_once` is the job."""

    def __init__(self, store: HubStore, timezone: str | None = None) -> None:
        self.store = store
        self.timezone = timezone
        self._codes: dict[str, str] | None = None  # campus codes as last seen: a rename moves 1221.<code>
        self._lock = threading.Lock()  # the job and a caller (tests, the CLI) never recompute at once

    def pending(self, conn: Connection) -> tuple[set[str], dict[str, int]]:
        """The campuses whose books are behind the merged facts, and each node's head to record."""
        heads = {row.node_id: (row.campus_id, int(row.head_seq))
                 for row in conn.execute(select(hub_nodes.c.node_id, hub_nodes.c.campus_id, hub_nodes.c.head_seq))}
        marks = {row.node_id: int(row.seq) for row in conn.execute(select(hub_books_marks))}
        dirty: set[str] = set()
        advanced: dict[str, int] = {}
        touched: dict[str, set[str]] = defaultdict(set)
        for node_id, (campus_id, head) in heads.items():
            mark = marks.get(node_id)
            if mark is None:  # a node the books have never seen (or books new to this hub): start over
                dirty |= all_campus_ids(conn)
                advanced[node_id] = head
            elif head > mark:
                for table, ids in _touched_since(conn, node_id, mark, head).items():
                    touched[table] |= ids
                    dirty.add(campus_id)
                advanced[node_id] = head
        dirty |= campuses_named(conn, touched)
        codes = campus_codes(conn)
        if self._codes is not None and codes != self._codes:
            dirty |= all_campus_ids(conn)
        self._codes = codes
        return dirty, advanced

    def run_once(self) -> KeeperRun:
        """Recompute the campuses whose facts changed since the last run, and apply the differences."""
        with self._lock:
            return self._run()

    def _run(self) -> KeeperRun:
        # One snapshot: the heads recorded are never ahead of the facts the journals came from.
        with self.store.read(snapshot=True) as conn:
            dirty, advanced = self.pending(conn)
            journals = {campus_id: derive(conn, campus_id, self.timezone) for campus_id in sorted(dirty)}
        run = KeeperRun(campuses=len(journals))
        if not advanced and not journals:
            return run
        with self.store.write() as conn:
            for campus_id, entries in journals.items():
                delta = apply_journal(conn, campus_id, entries)
                run.inserted += delta.inserted
                run.deleted += delta.deleted
            for node_id, seq in advanced.items():
                updated = conn.execute(hub_books_marks.update().where(hub_books_marks.c.node_id == node_id)
                                       .values(seq=seq))
                if updated.rowcount == 0:
                    conn.execute(insert(hub_books_marks).values(node_id=node_id, seq=seq))
        if journals:
            log.info("books: %d campus(es) recomputed, %d line(s) in, %d out", run.campuses, run.inserted,
                     run.deleted)
        return run

    def rebuild(self) -> KeeperRun:
        """Recompute every campus from its facts and the roll-ups from the lines (to repair what
        verify found: the roll-ups are then a GROUP BY of the lines, whatever they held before)."""
        with self._lock:
            with self.store.write() as conn:
                conn.execute(delete(hub_books_marks))
            self._codes = None
            run = self._run()
            with self.store.write() as conn:
                regroup(conn)
            return run


def regroup(conn: Connection) -> None:
    """Roll-ups and eliminations made again from scratch: a GROUP BY of every journal line."""
    line = hub_journal_lines.c
    for table, keys, where in ((hub_book_rollups, ["campus_id", "period", "account"], None),
                               (hub_book_eliminations, ["campus_id", "period", "account", "counterpart_campus_id"],
                                _eliminated_lines())):
        conn.execute(delete(table))
        grouped = select(*[line[k] for k in keys], func.sum(line.debit_fen), func.sum(line.credit_fen))
        if where is not None:
            grouped = grouped.where(where)
        conn.execute(insert(table).from_select([*keys, "debit_fen", "credit_fen"],
                                               grouped.group_by(*[line[k] for k in keys])))


# --- verification -------------------------------------------------------------------------------------------


def _grouped(conn: Connection, table: Any, keys: list[str], where: Any = None) -> dict[tuple[Any, ...], tuple[int, int]]:
    columns = [hub_journal_lines.c[k] for k in keys]
    query = select(*columns, func.sum(hub_journal_lines.c.debit_fen), func.sum(hub_journal_lines.c.credit_fen))
    if where is not None:
        query = query.where(where)
    return {tuple(row[:-2]): (int(row[-2]), int(row[-1])) for row in conn.execute(query.group_by(*columns))}


def _held(conn: Connection, table: Any, keys: list[str]) -> dict[tuple[Any, ...], tuple[int, int]]:
    return {tuple(row[:-2]): (int(row[-2]), int(row[-1]))
            for row in conn.execute(select(*[table.c[k] for k in keys], table.c.debit_fen, table.c.credit_fen))}


def _eliminated_lines() -> Any:
    line = hub_journal_lines.c
    return and_(line.counterpart_campus_id.is_not(None),
                (line.account.like(f"{chart.OTHER_RECEIVABLES}.%"))
                | (line.rule == "teaching_settlement") & line.account.in_((chart.TUITION_REVENUE,
                                                                            chart.COST_OF_TEACHING)))


def verify(store: HubStore, timezone: str | None = None) -> list[str]:
    """Every difference between what the hub holds and a recompute from scratch: each campus's lines
    against its journal derived from the facts, the roll-ups and eliminations against a GROUP BY of
    the lines. Empty when the books are right."""
    problems: list[str] = []
    with store.read(snapshot=True) as conn:
        codes = campus_codes(conn)
        for campus_id in sorted(all_campus_ids(conn)):
            name = codes.get(campus_id, campus_id)
            wanted = {e.id: tuple(entry_rows(e)) for e in derive(conn, campus_id, timezone)}
            held = stored_rows(conn, campus_id)
            for entry_id in sorted(set(wanted) - set(held)):
                problems.append(f"{name}: entry {entry_id} ({wanted[entry_id][0][10]}) is missing from the hub")
            for entry_id in sorted(set(held) - set(wanted)):
                problems.append(f"{name}: entry {entry_id} ({held[entry_id][0][10]}) is held but no fact posts it")
            for entry_id in sorted(set(held) & set(wanted)):
                if held[entry_id] != wanted[entry_id]:
                    problems.append(f"{name}: entry {entry_id} differs from its recomputation")
        for table, keys, where in (
                (hub_book_rollups, ["campus_id", "period", "account"], None),
                (hub_book_eliminations, ["campus_id", "period", "account", "counterpart_campus_id"],
                 _eliminated_lines())):
            expected, held_sums = _grouped(conn, table, keys, where), _held(conn, table, keys)
            for key in sorted(set(expected) | set(held_sums), key=str):
                if expected.get(key) != held_sums.get(key):
                    problems.append(f"{table.name} {'/'.join(str(k) for k in key)}: holds {held_sums.get(key)}, "
                                    f"the lines sum to {expected.get(key)}")
    return problems


def behind(store: HubStore) -> int:
    """How many merged changes the books have not caught up with yet (0: up to date)."""
    with store.read() as conn:
        marks = {row.node_id: int(row.seq) for row in conn.execute(select(hub_books_marks))}
        return sum(max(0, int(head) - marks.get(node_id, 0))
                   for node_id, head in conn.execute(select(hub_nodes.c.node_id, hub_nodes.c.head_seq)))
