"""The answers of the hub's own API routes, as its OpenAPI publishes them (see :mod:`campus.web.api`)."""

from __future__ import annotations

from typing import Literal

from campus.schema.tables import campuses, conflicts, sync_rejections
from campus.web.api import Output, items_model, row_model


class CampusFigures(Output):
    """One row of the consolidated report (the last, ``ALL``, is the group's and counts the changes received)."""

    campus_code: str
    campus_name: str
    leads: int
    follow_ups: int
    students: int
    contracts: int
    tuition_fen: int
    received_fen: int
    hours_taught_x100: int
    open_conflicts: int
    changes_received: int | None = None


class CampusSyncState(Output):
    """One campus on the sync monitor (hub.sync.monitor)."""

    campus_code: str
    campus_name: str
    node_id: str | None
    enrolled: bool
    last_contact_at: str | None
    last_push_at: str | None
    last_pushed_seq: int
    hub_known_head: int
    pull_cursor: int
    feed_head: int
    lag_changes: int
    lag_seconds: int | None
    seconds_since_contact: int | None
    last_error: str | None
    quarantined: bool
    key_status: Literal["active", "revoked", "none"]


class SyncStatus(Output):
    campuses: list[CampusSyncState]


CampusList = items_model(row_model(campuses, "Campus"), "CampusList")
CampusReport = items_model(CampusFigures, "CampusReport")
ConflictList = items_model(row_model(conflicts, "Conflict"), "ConflictList")
SyncRejectionList = items_model(row_model(sync_rejections, "SyncRejection"), "SyncRejectionList")
