"""Replication policy names that each table declares in ``Table(..., info={"sync": ...})``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from sqlalchemy import Table


class Merge(StrEnum):
    APPEND_ONLY = "append_only"  # facts: insert if absent, never overwrite
    LAST_WRITER_WINS = "lww"  # descriptive records: per field, ordered by (HLC, node id)


class Owner(StrEnum):
    ANY = "any"  # any subscribed node may write
    CAMPUS = "campus"  # only the campus named in the row's campus column
    HUB = "hub"  # only headquarters


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    """How a table replicates.

    ``campus_column`` names the column holding the campus a row belongs to: a campus-owned
    table accepts changes only from that campus, and a node subscribes only to its own
    campus's rows of a table that has one. A table without it goes to every node.
    """

    merge: Merge
    owner: Owner = Owner.ANY
    campus_column: str | None = None
    # A row whose campus column is empty goes to every node, unless this is False (then to none).
    unscoped_rows_shared: bool = True
    # Fields whose lost edits are judged by a domain rule, not recorded as generic conflicts.
    quiet_fields: frozenset[str] = frozenset()
    # The column holding the student a row is about: such a row also goes to every campus the
    # student studies at (see :class:`Visits`), not only to the campus in ``campus_column``.
    student_column: str | None = None

    def __post_init__(self) -> None:
        if self.owner is Owner.CAMPUS and not self.campus_column:
            raise ValueError("a campus-owned table must name its campus column")


APPEND_ONLY = SyncPolicy(Merge.APPEND_ONLY)
LAST_WRITER_WINS = SyncPolicy(Merge.LAST_WRITER_WINS)
HUB_OWNED = SyncPolicy(Merge.LAST_WRITER_WINS, Owner.HUB)
HUB_OWNED_FACTS = SyncPolicy(Merge.APPEND_ONLY, Owner.HUB)


def campus_owned(merge: Merge = Merge.LAST_WRITER_WINS, column: str = "campus_id",
                 student_column: str | None = None) -> SyncPolicy:
    return SyncPolicy(merge, Owner.CAMPUS, column, student_column=student_column)


@dataclass(frozen=True, slots=True)
class Visits:
    """Where students study, declared once in ``metadata.info["visits"]``: a student is active at
    campus C when ``table`` has a row with ``student_column`` = the student and ``campus_column`` = C,
    and always at their home campus (``home_table``.``home_column``). Rows of student-scoped tables
    go to every such campus, whichever campus wrote them."""

    table: str
    student_column: str
    campus_column: str
    # The students table and its home campus column: a student's rows always reach home too.
    home_table: str | None = None
    home_column: str | None = None


NO_NODE = "-"  # the scope of a row no node subscribes to


def scope_of(policy: SyncPolicy, campus: object) -> str | None:
    """The campus whose nodes receive a row (None: every node; NO_NODE: none). ``campus`` is the
    row's campus column, read from a change's fields or the store: a campus id or None."""
    if policy.campus_column is None:
        return None
    if campus is None and not policy.unscoped_rows_shared:
        return NO_NODE
    return cast("str | None", campus)


def policy_of(table: Table) -> SyncPolicy | None:
    """The table's replication policy, or None for a table that stays on its own store."""
    return table.info.get("sync")
