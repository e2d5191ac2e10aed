"""The sync monitor: what the hub knows of each campus's node (contact, heads, lag, last error,
quarantine, keys), the counters ``/metrics`` shows, rejections and conflicts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from campus.hub import feed
from campus.hub.store import HubStore
from campus.schema.tables import campuses, conflicts, hub_feed, hub_nodes, node_keys, sync_rejections
from campus.schema.times import utc_now_text
from campus.sync import protocol

log = logging.getLogger("campus.hub.sync")


@dataclass
class SyncCounters:
    changes_ingested: int = 0
    refused: dict[str, int] = field(default_factory=dict)


class Monitor:
    def __init__(self, store: HubStore) -> None:
        self.store = store
        self.counters = SyncCounters()

    # --- bookkeeping ---------------------------------------------------------------------------

    def count_refusal(self, reason: str) -> None:
        self.counters.refused[reason] = self.counters.refused.get(reason, 0) + 1

    def touch(self, node_id: str, error: str | None, pull_cursor: int | None = None) -> None:
        """Record that the node was in contact, with the error it met (None: none)."""
        values: dict[str, Any] = {"last_contact_at": utc_now_text(), "last_error": error}
        if isinstance(pull_cursor, int):
            values["pull_cursor"] = pull_cursor
        with self.store.write() as conn:
            conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id).values(**values))

    def quarantine(self, node_id: str, reason: str) -> None:
        log.error("ALERT: node %s quarantined: %s", node_id, reason)
        with self.store.write() as conn:
            conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id).values(
                quarantined=True, quarantine_reason=reason, last_error=f"fork: {reason}",
                last_contact_at=utc_now_text()))

    # --- what the console and the API show -----------------------------------------------------

    def status(self) -> list[dict[str, Any]]:
        """Per campus: contact, heads, lag, last error, quarantine and key state."""
        now = datetime.now(UTC)
        with self.store.read() as conn:
            rows = conn.execute(
                select(campuses.c.code, campuses.c.name, campuses.c.id, hub_nodes)
                .select_from(campuses.outerjoin(hub_nodes, hub_nodes.c.campus_id == campuses.c.id))
                .where(campuses.c.deleted.is_(False)).order_by(campuses.c.code)).mappings().all()
            feed_head = feed.head(conn)
            key_states = dict(conn.execute(select(node_keys.c.node_id, node_keys.c.status).where(
                node_keys.c.status.in_(["active", "revoked"]))).all())
            result = []
            now_ms = protocol.now_ms()
            for row in rows:
                lag_changes, lag_seconds = 0, None
                if row["node_id"]:
                    unpulled = and_(
                        hub_feed.c.feed_seq > row["pull_cursor"], hub_feed.c.origin_node != row["node_id"],
                        or_(hub_feed.c.campus_id.is_(None), hub_feed.c.campus_id == row["id"]))
                    lag_changes, oldest_ms = conn.execute(select(
                        func.coalesce(func.sum(hub_feed.c.count), 0), func.min(hub_feed.c.accepted_at_ms))
                        .where(unpulled)).one()
                    lag_seconds = (now_ms - oldest_ms) // 1000 if oldest_ms else 0
                last_contact = row["last_contact_at"]
                result.append({
                    "campus_code": row["code"], "campus_name": row["name"], "node_id": row["node_id"],
                    "enrolled": row["node_id"] is not None, "last_contact_at": last_contact,
                    "last_push_at": row["last_push_at"], "last_pushed_seq": row["head_seq"] or 0,
                    "hub_known_head": row["head_seq"] or 0, "pull_cursor": row["pull_cursor"] or 0,
                    "feed_head": feed_head, "lag_changes": lag_changes, "lag_seconds": lag_seconds,
                    "seconds_since_contact": (int((now - datetime.fromisoformat(last_contact.replace("Z", "+00:00")))
                                                  .total_seconds()) if last_contact else None),
                    "last_error": row["last_error"], "quarantined": bool(row["quarantined"]),
                    "key_status": key_states.get(row["node_id"], "none") if row["node_id"] else "none",
                })
        return result

    def rejections(self, campus_id: str | None = None) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            query = select(sync_rejections).order_by(sync_rejections.c.id)
            if campus_id:
                query = query.where(sync_rejections.c.campus_id == campus_id)
            return [dict(r) for r in conn.execute(query).mappings()]

    def conflicts(self) -> list[dict[str, Any]]:
        with self.store.read() as conn:
            return [dict(r) for r in conn.execute(select(conflicts).order_by(conflicts.c.id)).mappings()]
