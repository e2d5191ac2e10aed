"""Ingest and merge: a node's hello and pushes. Each push is checked against the node's key, the
hub's copy of its log (gap, tampered, fork) and the hub's clock, merged by each table's policy,
kept whole with its signature (``node_batches``) and published to the feed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError

from campus.hub import feed
from campus.hub.store import HubStore
from campus.hub.sync.enrolment import Enrolment
from campus.hub.sync.monitor import Monitor
from campus.hub.sync.refusals import Refused, request_count
from campus.schema.tables import SCHEMA_VERSION, field_versions, hub_nodes, metadata, node_batches
from campus.schema.times import utc_now_text
from campus.sync import codec, protocol
from campus.sync.bulk import gc_paused
from campus.sync.changes import Change, decode_change, link_hash
from campus.sync.hlc import MAX_FORWARD_DRIFT_MS, physical_ms
from campus.sync.merge import LostWrite, Merger, MergeResult, to_json

log = logging.getLogger("campus.hub.sync")


class Ingest:
    def __init__(self, store: HubStore, enrolment: Enrolment, monitor: Monitor) -> None:
        self.store = store
        self.enrolment = enrolment
        self.monitor = monitor
        self.merger = Merger(metadata, field_versions)
        # Pushes run on worker threads; one at a time keeps each node's chain checks and merges in
        # order within this process (the hub_nodes row is also locked, for PostgreSQL).
        self._push_lock = threading.Lock()

    def hello(self, node_id: str, body: dict[str, Any], signature: bytes) -> dict[str, Any]:
        with self.store.read() as conn:
            node = self.enrolment.authenticate(conn, node_id, signature, protocol.request_statement("hello", node_id, body))
            if not protocol.check_fresh(request_count(body, "sent_at_ms", 0)):
                raise Refused(400, protocol.STALE_REQUEST, "hello timestamp too far from the hub's clock")
            fork = self._fork_at(conn, node, request_count(body, "head_seq", 0), body.get("head_hash"))
        if fork is not None:
            # Restored from an old backup and written to before it synced: the node now holds other
            # changes under seqs the hub already has. Nothing of it may be merged; an admin decides.
            detail = f"the node's log differs from the hub's at seq {fork}"
            self.monitor.quarantine(node_id, detail)
            raise Refused(409, protocol.FORK, detail, authentic=True, seq=fork)
        self.monitor.touch(node_id, error=None,
                    pull_cursor=request_count(body, "pull_cursor", 0) if "pull_cursor" in body else None)
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
                self.monitor.quarantine(node_id, refusal.detail)
            elif refusal.authentic:
                self.monitor.touch(node_id, error=f"{refusal.reason}: {refusal.detail}")
            raise

    def _push(self, node_id: str, links: list[protocol.Link], signature: bytes) -> dict[str, Any]:
        if not links:
            raise Refused(400, protocol.MALFORMED, "a push carries at least one change")
        first_seq, last_seq, last_hash = links[0][0], links[-1][0], links[-1][2]
        if any(b[0] != a[0] + 1 for a, b in zip(links, links[1:], strict=False)):
            raise Refused(400, protocol.MALFORMED, "a push carries a contiguous seq range")
        with self.store.write() as conn:
            node = self.enrolment.authenticate(conn, node_id, signature,
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
            signed_from=first_seq, signature=signature, links=codec.pack(fresh),
            received_at=utc_now_text()))
        new_head = fresh[-1]
        conn.execute(update(hub_nodes).where(hub_nodes.c.node_id == node_id).values(
            head_seq=new_head[0], head_hash=new_head[2], head_hlc=changes[-1].hlc,
            last_push_at=utc_now_text(), last_contact_at=utc_now_text(), last_error=None))
        self.monitor.counters.changes_ingested += len(fresh)
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
                              f"change {seq} was written under schema {change.schema}; this hub runs schema "
                              f"{SCHEMA_VERSION}: upgrade the hub, nothing was merged", seq=seq)
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
            scope, about = result.scope, routing.student(change)
            for target in [scope, *routing.also_to(about, scope)]:
                groups.setdefault((origin, target), []).append((seq, body, about))
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
            yield from ((seq, body, digest) for seq, body, digest in codec.unpack(packed)
                        if seq > after and (last is None or seq <= last))
        if len(rows) < page:
            return
        after = rows[-1][0]


def stored_links(conn: Connection, node_id: str, first: int = 1, last: int | None = None) -> list[protocol.Link]:
    """The links the hub holds of a node's log from seq ``first`` (to ``last``), in order."""
    return list(iter_stored_links(conn, node_id, first, last))
