"""Applying a change to a store by its table's policy: idempotent and order-independent.

* append-only: insert if absent; the same id with other content is a conflict, never an overwrite;
* last-writer-wins: per field, the write with the greater ``(hlc, node id)`` wins, so two offline
  edits of different fields both survive; an edit that arrives before its row's insert is kept
  as a pending value and folded in when the insert arrives;
* ownership (checked by :func:`check_owner` where authority matters, at the hub): hub-owned
  tables take changes only from the hub, campus-owned rows only from their campus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, MetaData, Table, insert, select, update

from campus.sync import codec
from campus.sync.changes import INSERT, Change
from campus.sync.policy import Merge, Owner, SyncPolicy, policy_of
from campus.sync.versions import ROW_VERSION, Version, effective, read_versions, write_versions


class Rejected(Exception):
    """An authentic change that this store must not apply (unknown table, not the owner...)."""

    def __init__(self, change: Change, reason: str) -> None:
        super().__init__(f"{change.table}/{change.row_id} from {change.node} seq {change.seq}: {reason}")
        self.change = change
        self.reason = reason


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


@dataclass
class MergeResult:
    applied_fields: dict[str, Any] = field(default_factory=dict)
    lost: list[LostWrite] = field(default_factory=list)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class Merger:
    def __init__(self, metadata: MetaData, versions: Table) -> None:
        self._metadata = metadata
        self._versions = versions

    def table_for(self, change: Change) -> tuple[Table, SyncPolicy]:
        table = self._metadata.tables.get(change.table)
        policy = policy_of(table) if table is not None else None
        if table is None or policy is None:
            raise Rejected(change, f"{change.table} is not a replicated table")
        unknown = [name for name in change.fields if name not in table.c or name == "id"]
        if unknown:
            raise Rejected(change, f"{change.table} has no field(s) {', '.join(sorted(unknown))}")
        return table, policy

    def check_owner(self, conn: Connection, change: Change, origin_campus: str | None, is_hub: bool) -> None:
        """Refuse a change its writer may not make; ``origin_campus`` is the writer's campus."""
        table, policy = self.table_for(change)
        if policy.owner is Owner.HUB and not is_hub:
            raise Rejected(change, f"{change.table} is owned by headquarters")
        if policy.owner is Owner.CAMPUS and not is_hub:
            column = policy.campus_column
            assert column is not None
            stored = conn.execute(select(table.c[column]).where(table.c.id == change.row_id)).scalar()
            owner = stored if stored is not None else change.fields.get(column)
            if owner != origin_campus:
                raise Rejected(change, f"{change.table}/{change.row_id} is owned by campus {owner}")
            if column in change.fields and change.fields[column] != owner:
                raise Rejected(change, f"{change.table}/{change.row_id} cannot move to another campus")

    def apply(self, conn: Connection, change: Change) -> MergeResult:
        table, policy = self.table_for(change)
        if policy.merge is Merge.APPEND_ONLY:
            return self._apply_fact(conn, table, change)
        return self._apply_last_writer_wins(conn, table, change)

    def _apply_fact(self, conn: Connection, table: Table, change: Change) -> MergeResult:
        existing = conn.execute(select(table).where(table.c.id == change.row_id)).mappings().first()
        if existing is None:
            conn.execute(insert(table).values(id=change.row_id, **change.fields))
            return MergeResult(applied_fields=dict(change.fields))
        differing = {k: v for k, v in change.fields.items() if existing[k] != v}
        if not differing:
            return MergeResult()
        lost = LostWrite(
            table=change.table, row_id=change.row_id, field=None,
            kept_value={k: existing[k] for k in differing}, kept_version=None,
            lost_value=differing, lost_version=Version(change.hlc, change.node), kind="append_only_mismatch",
            detail=f"{change.table}/{change.row_id} already exists with other content; the first one is kept",
        )
        return MergeResult(lost=[lost])

    def _apply_last_writer_wins(self, conn: Connection, table: Table, change: Change) -> MergeResult:
        incoming = Version(change.hlc, change.node)
        stored = read_versions(conn, self._versions, change.table, change.row_id)
        current = conn.execute(select(table).where(table.c.id == change.row_id)).mappings().first()
        result = MergeResult()
        winners: dict[str, Any] = {}
        for name, value in change.fields.items():
            version = effective(stored, name)
            if version is None or incoming > version:
                winners[name] = value
            elif incoming < version:
                kept = current[name] if current is not None else _pending(stored, name)
                if kept != value and version.node_id != change.node:
                    result.lost.append(LostWrite(
                        table=change.table, row_id=change.row_id, field=name, kept_value=kept,
                        kept_version=version, lost_value=value, lost_version=incoming, kind="concurrent_edit",
                        detail=f"{change.table}.{name} was edited at two places; the later edit is kept",
                    ))
        if current is not None:
            if winners:
                conn.execute(update(table).where(table.c.id == change.row_id).values(winners))
                write_versions(conn, self._versions, change.table, change.row_id,
                               [(name, incoming, None) for name in winners])
        elif change.op == INSERT:
            newer_pending = {
                name: codec.decode(entry.pending_value)
                for name, entry in stored.items()
                if name != ROW_VERSION and entry.pending_value is not None and entry.version > incoming
            }
            row = {**change.fields, **newer_pending}
            conn.execute(insert(table).values(id=change.row_id, **row))
            entries = [(ROW_VERSION, incoming, None)]
            entries += [(name, stored[name].version, None) for name in newer_pending]
            write_versions(conn, self._versions, change.table, change.row_id, entries)
            obsolete = [name for name in stored if name != ROW_VERSION and name not in newer_pending]
            if obsolete:
                write_versions(conn, self._versions, change.table, change.row_id,
                               [(name, incoming, None) for name in obsolete])
            winners = row
        elif winners:
            write_versions(conn, self._versions, change.table, change.row_id,
                           [(name, incoming, codec.encode(value)) for name, value in winners.items()])
        result.applied_fields = winners
        return result


def _pending(stored: dict[str, Any], name: str) -> Any:
    entry = stored.get(name)
    return codec.decode(entry.pending_value) if entry and entry.pending_value is not None else None
