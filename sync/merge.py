"""Applying changes to a store by each table's policy: idempotent and order-independent.

* append-only: insert if absent; the same id with other content is a conflict, never an overwrite;
* last-writer-wins: per field, the write with the greater ``(hlc, node id)`` wins, so two offline
  edits of different fields both survive; an edit that arrives before its row's insert is kept
  as a pending value and folded in when the insert arrives;
* ownership (enforced where authority matters, at the hub): hub-owned tables take changes only
  from the hub, campus-owned rows only from their campus.

A batch is merged in memory: the rows and versions it touches are read in bulk, every change
is folded in by the pure :func:`merge_change`, and the outcome is written back with a few
``executemany`` calls. That is what lets the hub ingest tens of thousands of changes a second.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Connection, MetaData, Table
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from campus.sync import codec
from campus.sync.bulk import existing_ids, insert_tuples, select_rows, update_tuples
from campus.sync.changes import INSERT, Change
from campus.sync.policy import Merge, Owner, SyncPolicy, policy_of, scope_of
from campus.sync.versions import (
    ROW_VERSION,
    StoredVersion,
    Version,
    select_versions,
    upsert_version_tuples,
)

READ_CHUNK = 500
# Enum members as plain names: reading ``Owner.HUB`` costs a descriptor call per change on Python 3.11.
APPEND_ONLY_MERGE = Merge.APPEND_ONLY
HUB_OWNER = Owner.HUB
CAMPUS_OWNER = Owner.CAMPUS
ANY_OWNER = Owner.ANY
LWW_MERGE = Merge.LAST_WRITER_WINS


@dataclass(frozen=True)
class LostWrite:
    """A value that lost to another write: kept so a person can restore it."""

    table: str
    row_id: str
    field: str | None
    kept_value: Any
    kept_version: Version | None
    lost_value: Any
    lost_version: Version
    kind: str
    detail: str


class MergeResult:
    """What became of one change: the fields it set, the writes that lost, why it was refused
    (``rejection``), and the row's campus after the merge (``scope``) if its table has one.
    A plain slotted class: one is made per change, and a dataclass's default factories cost."""

    __slots__ = ("applied_fields", "lost", "rejection", "scope")

    def __init__(self, applied_fields: dict[str, Any] | None = None, lost: list[LostWrite] | None = None,
                 rejection: str | None = None, scope: str | None = None) -> None:
        self.applied_fields = applied_fields if applied_fields is not None else {}
        self.lost = lost if lost is not None else []
        self.rejection = rejection
        self.scope = scope


class RowState:
    """One row as the merge sees it: its values (None while absent) and its field versions.

    A stored last-writer-wins row is loaded with only the columns the merge always needs (its
    campus); ``stored`` reads any other column, for the rare write that loses and must be kept."""

    __slots__ = ("values", "versions", "in_store", "dirty_fields", "dirty_versions", "stored")

    def __init__(self, values: dict[str, Any] | None, versions: dict[str, StoredVersion], in_store: bool,
                 stored: Callable[[str], Any] | None = None) -> None:
        self.values = values
        self.versions = versions
        self.in_store = in_store
        self.dirty_fields: set[str] = set()
        self.dirty_versions: set[str] = set()
        self.stored = stored

    def value(self, name: str) -> Any:
        """The row's current value of ``name`` (the row must exist)."""
        assert self.values is not None
        if name not in self.values and self.stored is not None:
            self.values[name] = self.stored(name)
        return self.values.get(name)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def merge_change(state: RowState, change: Change, policy: SyncPolicy,
                 defaults: dict[str, Any] | None = None) -> MergeResult:
    """Fold one change into one row's state; pure apart from mutating ``state``.

    Last-writer-wins rows rank writes by kind, then by ``(hlc, node)``: an edit always beats
    what an insert wrote. Edits of a row come after its insert anyway; the rank matters when
    two places insert one id (the conflict detectors do), so that the insert arriving second
    never wipes an edit, whatever the order of arrival."""
    if policy.merge is APPEND_ONLY_MERGE:
        if state.values is None:
            state.values = dict(change.fields)
            state.dirty_fields.update(change.fields)
            return MergeResult(applied_fields=dict(change.fields))
        differing = {k: v for k, v in change.fields.items() if state.values.get(k) != v}
        if not differing:
            return MergeResult()
        return MergeResult(lost=[LostWrite(
            table=change.table, row_id=change.row_id, field=None,
            kept_value={k: state.values.get(k) for k in differing}, kept_version=None,
            lost_value=differing, lost_version=Version(change.hlc, change.node), kind="append_only_mismatch",
            detail=f"{change.table}/{change.row_id} already exists with other content; the first one is kept")])

    incoming = Version(change.hlc, change.node)
    if change.op == INSERT:
        return _merge_insert(state, change, incoming, defaults or {})
    result = MergeResult()
    winners: dict[str, Any] = {}
    base = change.base
    for name, value in change.fields.items():
        entry = state.versions.get(name)  # an edit's version; what an insert wrote ranks below any edit
        version = entry.version if entry is not None else None
        if version is None or incoming > version:
            winners[name] = value
            seen = base.get(name) if base is not None and state.values is not None and version is not None else None
            if seen is not None and version is not None and Version(*seen) < version and version.node_id != change.node \
                    and name not in policy.quiet_fields and state.value(name) != value:
                # Its writer never saw the value it replaces: that value was written at the same
                # time somewhere else, and is kept for a person to restore.
                result.lost.append(LostWrite(
                    table=change.table, row_id=change.row_id, field=name, kept_value=value, kept_version=incoming,
                    lost_value=state.value(name), lost_version=version, kind="concurrent_edit",
                    detail=f"{change.table}.{name} was edited at two places; the later edit is kept"))
        elif incoming < version:
            kept = state.value(name) if state.values is not None else _pending(state.versions, name)
            if kept != value and version.node_id != change.node and name not in policy.quiet_fields:
                result.lost.append(LostWrite(
                    table=change.table, row_id=change.row_id, field=name, kept_value=kept,
                    kept_version=version, lost_value=value, lost_version=incoming, kind="concurrent_edit",
                    detail=f"{change.table}.{name} was edited at two places; the later edit is kept"))
    if state.values is not None:
        state.values.update(winners)
        state.dirty_fields.update(winners)
        for name in winners:
            state.versions[name] = StoredVersion(incoming, None)
            state.dirty_versions.add(name)
    else:  # the row's insert has not arrived: keep the edit until it does
        for name, value in winners.items():
            state.versions[name] = StoredVersion(incoming, codec.encode(value))
            state.dirty_versions.add(name)
    result.applied_fields = winners
    return result


def _merge_insert(state: RowState, change: Change, incoming: Version, defaults: dict[str, Any]) -> MergeResult:
    """An insert of a last-writer-wins row. Its values sit under the row's ``*`` version; the
    columns it leaves out take their ``defaults``. Edits (kept pending if they came first, or
    stored with versions of their own) stay: they rank above any insert."""
    edited = {name for name in state.versions if name != ROW_VERSION}
    if state.values is None:
        pending = {name: codec.decode(entry.pending_value) for name, entry in state.versions.items()
                   if name != ROW_VERSION and entry.pending_value is not None}
        state.values = {**change.fields, **pending}
        state.dirty_fields.update(state.values)
        for name in edited:
            state.versions[name] = StoredVersion(state.versions[name].version, None)
            state.dirty_versions.add(name)
        state.versions[ROW_VERSION] = StoredVersion(incoming, None)
        state.dirty_versions.add(ROW_VERSION)
        return MergeResult(applied_fields=dict(state.values))
    # The row exists: another place inserted this id too (the same fact noticed twice), or this
    # insert comes again. The later insert's values stand for every column no one has edited.
    row = state.versions.get(ROW_VERSION)
    if row is not None and incoming <= row.version:
        return MergeResult()
    winners = {name: value for name, value in {**defaults, **change.fields}.items() if name not in edited}
    state.values.update(winners)
    state.dirty_fields.update(winners)
    state.versions[ROW_VERSION] = StoredVersion(incoming, None)
    state.dirty_versions.add(ROW_VERSION)
    return MergeResult(applied_fields=winners)


def _pending(versions: dict[str, StoredVersion], name: str) -> Any:
    entry = versions.get(name)
    return codec.decode(entry.pending_value) if entry and entry.pending_value is not None else None


class Merger:
    def __init__(self, metadata: MetaData, versions: Table) -> None:
        self._metadata = metadata
        self._versions = versions

    @staticmethod
    @cache
    def _columns(table: Table) -> frozenset[str]:
        return frozenset(column.name for column in table.c if column.name != "id")

    @staticmethod
    @cache
    def _defaults(table: Table) -> dict[str, Any]:
        """Every column but the id with the value a row gets when an insert leaves it out."""
        return {column.name: cast(ScalarElementColumnDefault, column.default).arg
                if column.default is not None and column.default.is_scalar else None
                for column in table.c if column.name != "id"}

    def apply_batch(self, conn: Connection, changes: Sequence[Change], writer_campus: str | None = None,
                    enforce_owner: bool = False) -> list[MergeResult]:
        """Merge changes in order. With ``enforce_owner``, changes the writer may not make are
        not applied and come back with ``rejection`` set (the writer is a campus node).

        New rows of append-only tables take a fast path: one query finds which ids exist, and
        the first insert of each absent id goes straight into one ``executemany``. Everything
        else (edits, rows that exist, repeats within the batch) is folded in row by row, after
        the fast inserts, in the order given: the outcome is the same as applying one by one."""
        results: list[MergeResult | None] = [None] * len(changes)
        by_table: dict[str, list[int]] = defaultdict(list)
        for index, change in enumerate(changes):
            by_table[change.table].append(index)
        rest: list[int] = []
        resolved: dict[str, tuple[Table, SyncPolicy]] = {}
        for table_name, indices in by_table.items():
            table = self._metadata.tables.get(table_name)
            policy = policy_of(table) if table is not None else None
            if table is None or policy is None:
                for index in indices:
                    results[index] = MergeResult(rejection=f"{table_name} is not a replicated table")
                continue
            resolved[table_name] = (table, policy)
            columns = self._columns(table)
            valid = []
            for index in indices:
                fields = changes[index].fields
                if columns.issuperset(fields):
                    valid.append(index)
                else:
                    unknown = ", ".join(sorted(fields.keys() - columns))
                    results[index] = MergeResult(rejection=f"{table_name} has no field(s) {unknown}")
            if policy.merge is APPEND_ONLY_MERGE:
                rest += self._insert_new(conn, table, policy, changes, valid, results, writer_campus, enforce_owner)
            else:
                rest += valid
        rest.sort()
        targets: dict[str, set[str]] = defaultdict(set)
        for index in rest:
            targets[changes[index].table].add(changes[index].row_id)
        states = self._load(conn, targets)
        for index in rest:
            change = changes[index]
            table, policy = resolved[change.table]
            state = states[(change.table, change.row_id)]
            if enforce_owner:
                reason = _owner_refusal(change, policy, state, writer_campus)
                if reason:
                    results[index] = MergeResult(rejection=reason)
                    continue
            result = merge_change(state, change, policy, self._defaults(table))
            if policy.campus_column and state.values is not None:
                result.scope = scope_of(policy, state.values.get(policy.campus_column))
            results[index] = result
        self._store(conn, states)
        return results  # type: ignore[return-value]

    def _insert_new(self, conn: Connection, table: Table, policy: SyncPolicy, changes: Sequence[Change],
                    indices: list[int], results: list[MergeResult | None], writer_campus: str | None,
                    enforce_owner: bool) -> list[int]:
        """Insert the first change of each append-only row not yet stored; returns the indices left."""
        existing = existing_ids(conn, table, {changes[index].row_id for index in indices})
        column = policy.campus_column
        # A new row belongs to the campus its own fields name (see _owner_refusal).
        check_owner = enforce_owner and policy.owner is not ANY_OWNER
        inserted: set[str] = set()
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
        rest = []
        for index in indices:
            change = changes[index]
            row_id = change.row_id
            if row_id in existing or row_id in inserted:
                rest.append(index)
                continue
            fields = change.fields
            # (a campus-owned table always names its campus column)
            if check_owner and (policy.owner is HUB_OWNER or fields.get(cast(str, column)) != writer_campus):
                results[index] = MergeResult(rejection=_owner_refusal(change, policy, _ABSENT, writer_campus))
                continue
            inserted.add(row_id)
            groups[tuple(fields)].append((row_id, *fields.values()))
            results[index] = MergeResult(fields, None, None, scope_of(policy, fields.get(column)) if column else None)
        for names, rows in groups.items():
            insert_tuples(conn, table, ("id", *names), rows)
        return rest

    def _load(self, conn: Connection, targets: dict[str, set[str]]) -> dict[tuple[str, str], RowState]:
        states: dict[tuple[str, str], RowState] = {}
        for table_name, row_ids in targets.items():
            table = self._metadata.tables[table_name]
            policy = policy_of(table)
            assert policy is not None
            ids = sorted(row_ids)
            found: dict[str, dict[str, Any]] = {}
            stored: dict[str, dict[str, StoredVersion]] = defaultdict(dict)
            lww = policy.merge is LWW_MERGE
            # Append-only rows are compared whole; LWW rows need only their campus up front.
            columns = ((policy.campus_column,) if policy.campus_column else ()) if lww else None
            for start in range(0, len(ids), READ_CHUNK):
                chunk = ids[start:start + READ_CHUNK]
                found.update(select_rows(conn, table, chunk, columns))
                if lww:
                    for row_id, name, hlc, node_id, pending in select_versions(conn, self._versions, table_name,
                                                                                chunk):
                        stored[row_id][name] = StoredVersion(Version(hlc, node_id), pending)
            for row_id in ids:
                values = found.get(row_id)
                reader = _column_reader(conn, table, row_id) if lww and values is not None else None
                states[(table_name, row_id)] = RowState(values, stored.get(row_id, {}), values is not None, reader)
        return states

    def _store(self, conn: Connection, states: dict[tuple[str, str], RowState]) -> None:
        inserts: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = defaultdict(list)
        updates: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = defaultdict(list)
        version_rows: list[tuple[Any, ...]] = []
        for (table_name, row_id), state in states.items():
            values = state.values
            if values is not None and state.dirty_fields:
                if state.in_store:
                    columns = tuple(sorted(state.dirty_fields))
                    updates[(table_name, columns)].append((*[values[c] for c in columns], row_id))
                else:
                    columns = tuple(sorted(values))
                    inserts[(table_name, columns)].append((row_id, *[values[c] for c in columns]))
            for name in state.dirty_versions:
                version, pending = state.versions[name]
                version_rows.append((table_name, row_id, name, version.hlc, version.node_id, pending))
        tables = self._metadata.tables
        for (table_name, columns), rows in inserts.items():
            insert_tuples(conn, tables[table_name], ("id", *columns), rows)
        for (table_name, columns), rows in updates.items():
            update_tuples(conn, tables[table_name], columns, rows)
        upsert_version_tuples(conn, self._versions, version_rows)


def _column_reader(conn: Connection, table: Table, row_id: str) -> Callable[[str], Any]:
    def read(name: str) -> Any:
        rows = select_rows(conn, table, [row_id], (name,))
        return rows[row_id].get(name) if row_id in rows else None
    return read


_ABSENT = RowState(None, {}, False)  # what the owner check sees of a row not yet stored


def _owner_refusal(change: Change, policy: SyncPolicy, state: RowState, writer_campus: str | None) -> str | None:
    if policy.owner is HUB_OWNER:
        return f"{change.table} is owned by headquarters"
    if policy.owner is CAMPUS_OWNER:
        column = policy.campus_column
        assert column is not None
        current = state.values.get(column) if state.values is not None else None
        owner = current if current is not None else change.fields.get(column)
        if owner != writer_campus:
            return f"{change.table}/{change.row_id} is owned by campus {owner}"
        if column in change.fields and change.fields[column] != owner:
            return f"{change.table}/{change.row_id} cannot move to another campus"
    return None
