"""The hub's side of sync: enrollment and keys, push ingest with merge, pull, the monitor."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgpack
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import DataError, IntegrityError

from campus.hub import feed
from campus.hub.store import HubStore
from campus.schema.errors import Conflict, NotFound
from campus.schema.ids import validate_campus_code
from campus.schema.tables import (
    SCHEMA_VERSION,
    campuses,
    conflicts,
    enrollment_tokens,
    field_versions,
    hub_feed,
    hub_nodes,
    metadata,
    node_batches,
    node_keys,
    sync_rejections,
)
from campus.schema.times import utc_now_text
from campus.sync import protocol
from campus.sync.bulk import gc_paused
from campus.sync.changes import GENESIS_HASH, Change, decode_change, link_hash
from campus.sync.digest import subscription_digests
from campus.sync.hlc import MAX_FORWARD_DRIFT_MS, physical_ms
from campus.sync.merge import LostWrite, Merger, MergeResult, to_json
from campus.sync.signing import BadSignature, public_key_bytes, sign, verify

log = logging.getLogger("campus.hub.sync")
TOKEN_LIFETIME = timedelta(hours=24)
PULL_ROW_LIMIT = 5000


class Refused(Exception):
    """A sync request the hub turns down; ``reason`` is one of the protocol's reason names."""

    def __init__(self, status: int, reason: str, detail: str, authentic: bool = False, **facts: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.facts = facts
        # Whether the refused request carried the node's own signature: only then may it change
        # what the monitor shows of the node (last error, quarantine).
        self.authentic = authentic


class TokenInvalid(Conflict):
    pass


@dataclass
class SyncCounters:
    changes_ingested: int = 0
    refused: dict[str, int] = field(default_factory=dict)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _in(hours: timedelta) -> str:
    return (datetime.now(UTC) + hours).isoformat(timespec="seconds").replace("+00:00", "Z")


class HubSync:
    def __init__(self, store: HubStore, private_key: Ed25519PrivateKey) -> None:
        self.store = store
        self.private_key = private_key
        self.public_key = public_key_bytes(private_key)
        self.merger = Merger(metadata, field_versions)
        self.counters = SyncCounters()
        # Pushes run on worker threads; one at a time keeps each node's chain checks and merges in
        # order within this process (the hub_nodes row is also locked, for PostgreSQL).
        self._push_lock = threading.Lock()

    # --- campuses, tokens, keys ---------------------------------------------------------------

    def add_campus(self, code: str, name: str) -> tuple[str, str]:
        """Create a campus; returns its id and a one-time enrollment token."""
        validate_campus_code(code)
        with self.store.unit_of_work() as uow:
            if uow.conn.execute(select(campuses.c.id).where(campuses.c.code == code)).first():
                raise Conflict(f"campus {code} already exists", code=code)
            campus_id = uow.insert("campuses", {"code": code, "name": name, "created_at": utc_now_text(),
                                                "deleted": False})
            token = self._issue_token(uow.conn, campus_id, "enroll")
        return campus_id, token

    def issue_restore_token(self, code: str) -> str:
        with self.store.write() as conn:
            campus_id = self._campus_id(conn, code)
            return self._issue_token(conn, campus_id, "restore")

    def _campus_id(self, conn: Connection, code: str) -> str:
        campus_id = conn.execute(select(campuses.c.id).where(campuses.c.code == code)).scalar()
        if campus_id is None:
            raise NotFound(f"no campus {code}", code=code)
        return campus_id

    def _issue_token(self, conn: Connection, campus_id: str, purpose: str) -> str:
        token = secrets.token_urlsafe(24)
        conn.execute(insert(enrollment_tokens).values(
            token_hash=_token_hash(token), campus_id=campus_id, purpose=purpose, expires_at=_in(TOKEN_LIFETIME)))
        return token

    def enroll(self, token: str, node_id: str, public_key: bytes, signature: bytes) -> dict[str, Any]:
        """Register a node's key with a one-time token; a restore token re-keys the campus's node."""
        try:
            verify(public_key, signature, protocol.enroll_statement(token, node_id, public_key))
        except BadSignature:
            raise Refused(403, protocol.BAD_SIGNATURE, "enrollment not signed by the presented key") from None
        now = utc_now_text()
        with self.store.write() as conn:
            row = conn.execute(select(enrollment_tokens).where(
                enrollment_tokens.c.token_hash == _token_hash(token))).mappings().first()
            if row is None or row["used_at"] is not None or row["expires_at"] < now:
                raise TokenInvalid("the enrollment token is unknown, used or expired")
            campus = conn.execute(select(campuses).where(campuses.c.id == row["campus_id"])).mappings().one()
            existing = conn.execute(select(hub_nodes).where(hub_nodes.c.campus_id == campus["id"])).mappings().first()
            if row["purpose"] == "restore":
                if existing is None:
                    raise TokenInvalid("this campus has no node to restore")
                node_id = existing["node_id"]
                conn.execute(update(node_keys).where(node_keys.c.node_id == node_id, node_keys.c.status == "active")
                             .values(status="retired", revoked_at=now))
                conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id)
                             .values(quarantined=False, quarantine_reason=None, last_error=None))
            else:
                if existing is not None:
                    raise TokenInvalid(f"campus {campus['code']} already has a node; use a restore token")
                conn.execute(insert(hub_nodes).values(
                    node_id=node_id, campus_id=campus["id"], head_seq=0, head_hash=GENESIS_HASH, head_hlc=0,
                    quarantined=False, enrolled_at=now, pull_cursor=0))
            conn.execute(insert(node_keys).values(public_key=public_key, node_id=node_id, campus_id=campus["id"],
                                                  status="active", created_at=now))
            conn.execute(update(enrollment_tokens).where(enrollment_tokens.c.token_hash == row["token_hash"])
                         .values(used_at=now, used_by_node=node_id))
        return {"node_id": node_id, "campus_id": campus["id"], "campus_code": campus["code"],
                "campus_name": campus["name"], "hub_public_key": self.public_key}

    def rotate_key(self, node_id: str, new_public_key: bytes, signature: bytes) -> None:
        """Replace a node's key: the new key is signed by the current one."""
        with self.store.write() as conn:
            active = self._keys(conn, node_id, "active")
            statement = protocol.rotate_statement(node_id, new_public_key)
            if not any(_verifies(key, signature, statement) for key in active):
                raise Refused(403, protocol.BAD_SIGNATURE, "rotation not signed by the node's current key")
            now = utc_now_text()
            conn.execute(update(node_keys).where(node_keys.c.node_id == node_id, node_keys.c.status == "active")
                         .values(status="retired", revoked_at=now))
            campus_id = conn.execute(select(hub_nodes.c.campus_id).where(hub_nodes.c.node_id == node_id)).scalar_one()
            conn.execute(insert(node_keys).values(public_key=new_public_key, node_id=node_id, campus_id=campus_id,
                                                  status="active", created_at=now))

    def revoke_keys(self, code: str) -> int:
        """Revoke every key of a campus's node: nothing it signs is accepted until re-keyed by restore."""
        with self.store.write() as conn:
            campus_id = self._campus_id(conn, code)
            return conn.execute(update(node_keys).where(node_keys.c.campus_id == campus_id,
                                                        node_keys.c.status == "active")
                                .values(status="revoked", revoked_at=utc_now_text())).rowcount

    def _keys(self, conn: Connection, node_id: str, status: str) -> list[bytes]:
        return list(conn.execute(select(node_keys.c.public_key).where(
            node_keys.c.node_id == node_id, node_keys.c.status == status)).scalars())

    def _authenticate(self, conn: Connection, node_id: str, signature: bytes, statement: list[Any],
                      lock: bool = False) -> dict[str, Any]:
        query = select(hub_nodes).where(hub_nodes.c.node_id == node_id)
        node = conn.execute(query.with_for_update() if lock else query).mappings().first()
        if node is None:
            raise Refused(403, protocol.UNKNOWN_KEY, f"node {node_id} is not enrolled")
        if any(_verifies(key, signature, statement) for key in self._keys(conn, node_id, "active")):
            return dict(node)
        if any(_verifies(key, signature, statement) for key in self._keys(conn, node_id, "revoked")):
            # The node's own key, once: the monitor shows the campus tried.
            raise Refused(403, protocol.REVOKED_KEY, f"node {node_id} signed with a revoked key", authentic=True)
        raise Refused(403, protocol.BAD_SIGNATURE, "signature does not verify with the node's key")

    # --- hello, push, pull -------------------------------------------------------------------

    def hello(self, node_id: str, body: dict[str, Any], signature: bytes) -> dict[str, Any]:
        with self.store.read() as conn:
            node = self._authenticate(conn, node_id, signature, protocol.request_statement("hello", node_id, body))
            if not protocol.check_fresh(_count(body, "sent_at_ms", 0)):
                raise Refused(400, protocol.STALE_REQUEST, "hello timestamp too far from the hub's clock")
            fork = self._fork_at(conn, node, _count(body, "head_seq", 0), body.get("head_hash"))
        if fork is not None:
            # Restored from an old backup and written to before it synced: the node now holds other
            # changes under seqs the hub already has. Nothing of it may be merged; an admin decides.
            detail = f"the node's log differs from the hub's at seq {fork}"
            self._quarantine(node_id, detail)
            raise Refused(409, protocol.FORK, detail, authentic=True, seq=fork)
        self._touch(node_id, error=None,
                    pull_cursor=_count(body, "pull_cursor", 0) if "pull_cursor" in body else None)
        return {"head_seq": node["head_seq"], "head_hash": node["head_hash"], "quarantined": node["quarantined"],
                "schema": SCHEMA_VERSION}

    def _fork_at(self, conn: Connection, node: dict[str, Any], seq: int, digest: Any) -> int | None:
        """The seq at which a node's head, as its hello states it, differs from the hub's copy of
        its log; None if it does not, or if the hub does not hold that seq yet."""
        if seq == 0 or seq > node["head_seq"]:
            return None
        if type(digest) is not bytes:
            raise Refused(400, protocol.MALFORMED, "request.head_hash must be bytes", field="head_hash")
        held = node["head_hash"] if seq == node["head_seq"] else next(
            (d for s, _b, d in iter_stored_links(conn, node["node_id"], seq, seq)), None)
        return seq if held is not None and held != digest else None

    def push(self, node_id: str, links: list[protocol.Link], signature: bytes) -> dict[str, Any]:
        try:
            with self._push_lock, gc_paused():
                return self._push(node_id, links, signature)
        except Refused as refusal:
            if refusal.authentic and refusal.reason == protocol.FORK:
                self._quarantine(node_id, refusal.detail)
            elif refusal.authentic:
                self._touch(node_id, error=f"{refusal.reason}: {refusal.detail}")
            raise

    def _push(self, node_id: str, links: list[protocol.Link], signature: bytes) -> dict[str, Any]:
        if not links:
            raise Refused(400, protocol.MALFORMED, "a push carries at least one change")
        first_seq, last_seq, last_hash = links[0][0], links[-1][0], links[-1][2]
        if any(b[0] != a[0] + 1 for a, b in zip(links, links[1:], strict=False)):
            raise Refused(400, protocol.MALFORMED, "a push carries a contiguous seq range")
        with self.store.write() as conn:
            node = self._authenticate(conn, node_id, signature,
                                      protocol.push_statement(node_id, first_seq, last_seq, last_hash), lock=True)
            try:
                return self._ingest(conn, node, links, first_seq, signature)
            except Refused as refusal:
                refusal.authentic = True
                raise

    def _ingest(self, conn: Connection, node: dict[str, Any], links: list[protocol.Link], first_seq: int,
                signature: bytes) -> dict[str, Any]:
        """Check a push whose signature verified against the node's head and log, then merge it."""
        node_id = node["node_id"]
        if node["quarantined"]:
            raise Refused(423, protocol.QUARANTINED, f"node is quarantined: {node['quarantine_reason']}")
        head_seq, head_hash = node["head_seq"], node["head_hash"]
        if first_seq > head_seq + 1:
            raise Refused(409, protocol.GAP, f"hub holds up to seq {head_seq}", resume_from=head_seq + 1)
        known = [link for link in links if link[0] <= head_seq]
        if known:
            # The signature covers only the last hash; each link's hash covers the one before,
            # so the links are the node's own only if they chain. Checked before comparing
            # with the hub's copy, or an altered replay would pass for a fork.
            for before, link in zip(links, links[1:len(known) + 1], strict=False):
                if link_hash(before[2], link[1]) != link[2]:
                    raise Refused(400, protocol.TAMPERED, f"change {link[0]} does not hash to its link",
                                  seq=link[0])
            stored = {seq: digest for seq, _body, digest in stored_links(conn, node_id, known[0][0], known[-1][0])}
            for seq, _body, digest in known:
                if stored.get(seq) != digest:
                    raise Refused(409, protocol.FORK, f"the node's log differs from the hub's at seq {seq}",
                                  seq=seq)
        fresh = [link for link in links if link[0] > head_seq]
        if not fresh:
            return {"head_seq": head_seq, "head_hash": head_hash, "applied": 0, "rejected": 0}
        changes = self._verify_links(node_id, fresh, head_hash)
        applied, rejected = self._merge(conn, node, fresh, changes)
        conn.execute(insert(node_batches).values(
            node_id=node_id, first_seq=fresh[0][0], last_seq=fresh[-1][0], last_hash=fresh[-1][2],
            signed_from=first_seq, signature=signature, links=msgpack.packb(fresh, use_bin_type=True),
            received_at=utc_now_text()))
        new_head = fresh[-1]
        conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id).values(
            head_seq=new_head[0], head_hash=new_head[2], head_hlc=changes[-1].hlc,
            last_push_at=utc_now_text(), last_contact_at=utc_now_text(), last_error=None))
        self.counters.changes_ingested += len(fresh)
        return {"head_seq": new_head[0], "head_hash": new_head[2], "applied": applied, "rejected": rejected}

    def _verify_links(self, node_id: str, links: list[protocol.Link], previous: bytes) -> list[Change]:
        changes = []
        for seq, body, digest in links:
            if link_hash(previous, body) != digest:
                raise Refused(400, protocol.TAMPERED, f"change {seq} does not hash to its link", seq=seq)
            try:
                change = decode_change(body)
            except ValueError as exc:
                raise Refused(400, protocol.MALFORMED, f"change {seq} cannot be read: {exc}", seq=seq) from None
            if change.seq != seq or change.node != node_id:
                raise Refused(400, protocol.TAMPERED, f"change {seq} names another seq or node", seq=seq)
            if change.schema > SCHEMA_VERSION:
                raise Refused(409, protocol.SCHEMA_TOO_NEW,
                              f"change {seq} was written under schema {change.schema}; upgrade the hub", seq=seq)
            changes.append(change)
            previous = digest
        # A campus computer whose clock runs far ahead would win every later edit made elsewhere,
        # and the hub's own clock cannot follow it: refuse until the clock is put right (the
        # changes stay in the node's log and go through once they are no longer in the future).
        latest = max(changes, key=lambda c: c.hlc)
        ahead_ms = physical_ms(latest.hlc) - time.time_ns() // 1_000_000
        if ahead_ms > MAX_FORWARD_DRIFT_MS:
            raise Refused(409, protocol.CLOCK_AHEAD,
                          f"change {latest.seq} was written {ahead_ms // 3_600_000} h ahead of the hub's clock; "
                          "set the campus computer's clock right", seq=latest.seq)
        return changes

    def _merge(self, conn: Connection, node: dict[str, Any], links: list[protocol.Link],
               changes: list[Change]) -> tuple[int, int]:
        uow = self.store.unit_of_work_on(conn)
        touched = feed.students_touched(conn, changes)
        studied_before = {s: feed.campuses_of_student(conn, metadata, s) for s in touched}
        results = self._apply(conn, changes, node["campus_id"])
        routing = feed.Routing(conn)
        groups: feed.Groups = {}
        # A student who now studies at another campus: that campus first gets the history of
        # the student's rows, then (below) this batch's changes like every campus concerned.
        for student in sorted(touched):
            for campus in sorted(routing.campuses(student) - studied_before[student]):
                feed.group(feed.history_for(conn, student, campus), into=groups)
        rejected = 0
        origin = node["node_id"]
        for (seq, body, _digest), change, result in zip(links, changes, results, strict=True):
            if result.rejection:
                rejected += 1
                uow.insert("sync_rejections", {
                    "campus_id": node["campus_id"], "node_id": change.node, "seq": change.seq,
                    "table_name": change.table, "row_id": change.row_id, "reason": result.rejection,
                    "created_at": utc_now_text()})
                continue
            scope, student = result.scope, routing.student(change)
            for campus in [scope, *routing.also_to(student, scope)]:
                groups.setdefault((origin, campus), []).append((seq, body, student))
            for lost in result.lost:
                self._record_conflict(uow, lost, scope)
        feed.publish(conn, groups)
        self.store.clock.observe(max(c.hlc for c in changes))
        self.store.finish(uow)
        return len(changes) - rejected, rejected

    def _apply(self, conn: Connection, changes: list[Change], campus_id: str) -> list[MergeResult]:
        """Merge a batch; if the store refuses it (a constraint such as NOT NULL or UNIQUE, or on
        PostgreSQL a value its column cannot hold), merge change by change and turn the ones it
        refuses into rejections, so that an authentic but impossible change does not stall the
        ones behind it."""
        try:
            with conn.begin_nested():
                return self.merger.apply_batch(conn, changes, writer_campus=campus_id, enforce_owner=True)
        except (IntegrityError, DataError):
            pass
        results = []
        for change in changes:
            try:
                with conn.begin_nested():
                    results += self.merger.apply_batch(conn, [change], writer_campus=campus_id, enforce_owner=True)
            except (IntegrityError, DataError) as exc:
                log.warning("change %s/%s refused by the store: %s", change.node, change.seq, exc.orig)
                results.append(MergeResult(rejection=f"the store refused {change.table}/{change.row_id}: "
                                                     f"{str(exc.orig).splitlines()[0]}"))
        return results

    def _record_conflict(self, uow: Any, lost: LostWrite, scope: str | None) -> None:
        uow.insert("conflicts", {
            "campus_id": scope, "kind": lost.kind, "table_name": lost.table, "row_id": lost.row_id,
            "field": lost.field, "kept_value": to_json(lost.kept_value), "lost_value": to_json(lost.lost_value),
            "lost_node_id": lost.lost_version.node_id, "lost_hlc": lost.lost_version.hlc,
            "kept_node_id": lost.kept_version.node_id if lost.kept_version else None,
            "kept_hlc": lost.kept_version.hlc if lost.kept_version else None,
            "detail": lost.detail, "detected_at": utc_now_text(), "deleted": False})

    def pull(self, node_id: str, body: dict[str, Any], signature: bytes) -> dict[str, Any]:
        with self.store.read() as conn:
            node = self._authenticate(conn, node_id, signature, protocol.request_statement("pull", node_id, body))
        if not protocol.check_fresh(_count(body, "sent_at_ms", 0)):
            raise Refused(400, protocol.STALE_REQUEST, "pull timestamp too far from the hub's clock")
        cursor = _count(body, "cursor", 0)
        max_bytes = max(1024, min(_count(body, "max_bytes", 1 << 20), 16 << 20))
        # What the node has applied, for the monitor: a node asks for its next page before it has
        # applied the current one, so the cursor it asks from can be ahead of what it holds.
        applied = min(_count(body, "applied", cursor), cursor)
        own_after = body.get("own_after")
        if own_after is not None:
            own_after = _count(body, "own_after", 0)
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

    # --- bookkeeping and monitor ---------------------------------------------------------------

    def count_refusal(self, reason: str) -> None:
        self.counters.refused[reason] = self.counters.refused.get(reason, 0) + 1

    def _touch(self, node_id: str, error: str | None, pull_cursor: int | None = None) -> None:
        values: dict[str, Any] = {"last_contact_at": utc_now_text(), "last_error": error}
        if isinstance(pull_cursor, int):
            values["pull_cursor"] = pull_cursor
        with self.store.write() as conn:
            conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id).values(**values))

    def _quarantine(self, node_id: str, reason: str) -> None:
        log.error("ALERT: node %s quarantined: %s", node_id, reason)
        with self.store.write() as conn:
            conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id).values(
                quarantined=True, quarantine_reason=reason, last_error=f"fork: {reason}",
                last_contact_at=utc_now_text()))

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


def _count(body: dict[str, Any], name: str, default: int) -> int:
    """A non-negative integer field of a sync request, or a refusal naming it."""
    value = body.get(name, default)
    if type(value) is not int or not 0 <= value < 1 << 63:
        raise Refused(400, protocol.MALFORMED, f"request.{name} must be a non-negative 64-bit integer", field=name)
    return value


def _verifies(public_key: bytes, signature: bytes, statement: list[Any]) -> bool:
    try:
        verify(public_key, signature, statement)
    except BadSignature:
        return False
    return True


def iter_stored_links(conn: Connection, node_id: str, first: int = 1, last: int | None = None,
                      page: int = 4) -> Iterator[protocol.Link]:
    """The links the hub holds of a node's log from seq ``first`` (to ``last``), in order; the
    batches are read a few at a time, so a reader that stops early never fetches the rest."""
    after = first - 1
    while True:
        query = select(node_batches.c.last_seq, node_batches.c.links).where(
            node_batches.c.node_id == node_id, node_batches.c.last_seq > after)
        if last is not None:
            query = query.where(node_batches.c.first_seq <= last)
        rows = conn.execute(query.order_by(node_batches.c.first_seq).limit(page)).all()
        for _last_seq, packed in rows:
            yield from ((seq, body, digest) for seq, body, digest in msgpack.unpackb(packed)
                        if seq > after and (last is None or seq <= last))
        if len(rows) < page:
            return
        after = rows[-1][0]


def stored_links(conn: Connection, node_id: str, first: int = 1, last: int | None = None) -> list[protocol.Link]:
    """The links the hub holds of a node's log from seq ``first`` (to ``last``), in order."""
    return list(iter_stored_links(conn, node_id, first, last))
