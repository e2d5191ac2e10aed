"""Pull and feed: what a node pulls (its own changes back after a restore, then the feed entries
it subscribes to), signed with the hub key the node pinned at enrollment."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from campus.hub import feed
from campus.hub.store import HubStore
from campus.hub.sync.enrolment import Enrolment
from campus.hub.sync.ingest import iter_stored_links
from campus.hub.sync.refusals import Refused, request_count
from campus.schema.tables import hub_nodes, metadata
from campus.schema.times import utc_now_text
from campus.sync import protocol
from campus.sync.digest import subscription_digests
from campus.sync.signing import sign

PULL_ROW_LIMIT = 5000


class Pull:
    def __init__(self, store: HubStore, private_key: Ed25519PrivateKey, enrolment: Enrolment) -> None:
        self.store = store
        self.private_key = private_key
        self.enrolment = enrolment

    def pull(self, node_id: str, body: dict[str, Any], signature: bytes) -> dict[str, Any]:
        with self.store.read() as conn:
            node = self.enrolment.authenticate(conn, node_id, signature, protocol.request_statement("pull", node_id, body))
        if not protocol.check_fresh(request_count(body, "sent_at_ms", 0)):
            raise Refused(400, protocol.STALE_REQUEST, "pull timestamp too far from the hub's clock")
        cursor = request_count(body, "cursor", 0)
        max_bytes = max(1024, min(request_count(body, "max_bytes", 1 << 20), 16 << 20))
        # What the node has applied, for the monitor: a node asks for its next page before it has
        # applied the current one, so the cursor it asks from can be ahead of what it holds.
        applied = min(request_count(body, "applied", cursor), cursor)
        own_after = body.get("own_after")
        if own_after is not None:
            own_after = request_count(body, "own_after", 0)
        budget = max_bytes
        own: list[list[Any]] = []
        entries: list[list[Any]] = []
        more = False
        with self.store.read(snapshot=True) as conn:
            # The feed's head first: every segment up to it has committed (see feed.publish), so
            # the cursor never moves past a segment this pull did not see.
            feed_head = feed.head(conn)
            if own_after is not None:
                for seq, change_body, digest in iter_stored_links(conn, node_id, own_after + 1):
                    if len(own) == PULL_ROW_LIMIT or (own and budget - len(change_body) < 0):
                        more = True
                        break
                    own.append([seq, change_body, digest])
                    budget -= len(change_body)
            cursor_to = cursor
            if not more:
                for feed_seq, packed in feed.segments_for(conn, node_id, node["campus_id"], cursor, feed_head):
                    size = len(packed)
                    if entries and (len(entries) >= PULL_ROW_LIMIT or budget - size < 0):
                        more = True
                        break
                    entries += [[feed_seq, change_body] for change_body in feed.unpack(packed)]
                    cursor_to = feed_seq
                    budget -= size
                if not more:
                    cursor_to = max(cursor_to, feed_head)
            checkpoint = None
            if body.get("checkpoint") and not more:
                checkpoint = subscription_digests(conn, metadata, node["campus_id"])
        bodies = [e[1] for e in own] + [e[1] for e in entries]
        signature_out = sign(self.private_key, protocol.batch_statement(
            node_id, cursor, cursor_to, protocol.entries_digest(bodies), checkpoint))
        with self.store.write() as conn:
            conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id).values(
                pull_cursor=applied, last_contact_at=utc_now_text()))
        return {"own": own, "entries": entries, "cursor_from": cursor, "cursor": cursor_to, "more": more,
                "checkpoint": checkpoint, "signature": signature_out}
