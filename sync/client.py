"""The node's sync client: hello, push its log, pull what it subscribes to, over HTTP."""

from __future__ import annotations

import logging
import queue
import random
import ssl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from campus.sync import protocol
from campus.sync.replica import NodeReplica, SchemaTooNew
from campus.sync.signing import BadSignature, public_key_bytes, sign, verify

log = logging.getLogger("campus.sync.client")
Progress = Callable[[str, int], None]
DEFAULT_BATCH_BYTES = 1 << 20


class HubUnreachable(Exception):
    """The hub could not be reached (offline, refused, timed out); try again later."""


class SyncRefused(Exception):
    def __init__(self, status: int, reason: str, detail: str, facts: dict[str, Any]) -> None:
        super().__init__(f"hub refused ({status} {reason}): {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail
        self.facts = facts


@dataclass
class SyncReport:
    pushed: int = 0
    pulled: int = 0
    restored: int = 0
    head_seq: int = 0
    cursor: int = 0
    divergent_tables: list[str] | None = None  # set when a checkpoint was asked for


def post(client: httpx.Client, url: str, body: dict[str, Any] | bytes, encoded: bool = False) -> dict[str, Any]:
    try:
        response = client.post(url, content=body if encoded else protocol.encode_body(body),  # type: ignore[arg-type]
                                headers={"content-type": protocol.MEDIA_TYPE})
    except httpx.TransportError as exc:
        raise HubUnreachable(f"{url}: {exc}") from exc
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {"detail": response.text[:200]}
        facts = {k: v for k, v in problem.items() if k not in ("type", "title", "status", "detail", "reason")}
        raise SyncRefused(response.status_code, problem.get("reason", "error"), problem.get("detail", ""), facts)
    return protocol.decode_body(response.content)


def tls_verify(ca_file: str = "") -> ssl.SSLContext | bool:
    """How the client checks the hub's certificate: the system's CAs, or only ``ca_file`` (PEM),
    which pins a hub served with its own (self-signed) certificate."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def enroll(hub_url: str, token: str, node_id: str, private_key: Ed25519PrivateKey,
           transport: httpx.BaseTransport | None = None, ca_file: str = "") -> dict[str, Any]:
    """Present a one-time token and this node's new public key; returns campus and hub key."""
    public_key = public_key_bytes(private_key)
    body = {"token": token, "node_id": node_id, "public_key": public_key,
            "signature": sign(private_key, protocol.enroll_statement(token, node_id, public_key))}
    with httpx.Client(timeout=30, transport=transport, verify=tls_verify(ca_file)) as client:
        return post(client, f"{hub_url.rstrip('/')}/sync/v1/enroll", body)


def rotate_key(hub_url: str, node_id: str, current_key: Ed25519PrivateKey, new_key: Ed25519PrivateKey,
               transport: httpx.BaseTransport | None = None, ca_file: str = "") -> None:
    """Replace this node's key at the hub; the new public key is signed by the current private key."""
    new_public = public_key_bytes(new_key)
    body = {"node_id": node_id, "public_key": new_public,
            "signature": sign(current_key, protocol.rotate_statement(node_id, new_public))}
    with httpx.Client(timeout=30, transport=transport, verify=tls_verify(ca_file)) as client:
        post(client, f"{hub_url.rstrip('/')}/sync/v1/rotate-key", body)


class SyncClient:
    def __init__(self, hub_url: str, node_id: str, private_key: Ed25519PrivateKey, hub_public_key: bytes,
                 replica: NodeReplica, max_batch_bytes: int = DEFAULT_BATCH_BYTES,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0, ca_file: str = "") -> None:
        self.base = f"{hub_url.rstrip('/')}/sync/v1"
        self.node_id = node_id
        self.private_key = private_key
        self.hub_public_key = hub_public_key
        self.replica = replica
        self.max_batch_bytes = max_batch_bytes
        self.http = httpx.Client(timeout=timeout, transport=transport, verify=tls_verify(ca_file))
        self.divergent_tables: list[str] | None = None

    def close(self) -> None:
        self.http.close()

    def _signed_request(self, kind: str, request: dict[str, Any]) -> dict[str, Any]:
        request = {**request, "sent_at_ms": protocol.now_ms()}
        return {"node_id": self.node_id, "request": request,
                "signature": sign(self.private_key, protocol.request_statement(kind, self.node_id, request))}

    def hello(self) -> dict[str, Any]:
        seq, digest = self.replica.head()
        return post(self.http, f"{self.base}/hello", self._signed_request(
            "hello", {"head_seq": seq, "head_hash": digest, "pull_cursor": self.replica.pull_cursor()}))

    def push(self, hub_head: int, progress: Progress | None = None) -> int:
        """Send the log after ``hub_head`` in byte-bounded batches; returns how many changes went.

        The next batch is read and encoded on a helper thread while the hub merges the current
        one, so a long backlog costs the hub's time, not the hub's plus the node's."""
        sent = 0
        after = hub_head
        while True:
            with _Prepared(self, after) as prepared:
                for body, first, last in prepared:
                    try:
                        answer = post(self.http, f"{self.base}/push", body, encoded=True)
                    except SyncRefused as refusal:
                        if refusal.reason == protocol.GAP and "resume_from" in refusal.facts:
                            after = int(refusal.facts["resume_from"]) - 1
                            break  # start again from where the hub says
                        raise
                    after = answer["head_seq"]
                    self.replica.mark_pushed(after)
                    sent += last - first + 1
                    if progress:
                        progress("push", last - first + 1)
                else:
                    return sent

    def _push_body(self, batch: list[tuple[int, bytes, bytes]]) -> bytes:
        first, last = batch[0], batch[-1]
        return protocol.encode_body({
            "node_id": self.node_id, "changes": batch,
            "signature": sign(self.private_key, protocol.push_statement(self.node_id, first[0], last[0], last[2]))})

    def pull(self, own_after: int | None = None, progress: Progress | None = None,
             checkpoint: bool = False) -> tuple[int, int]:
        """Pull until caught up; with ``own_after``, first take back this node's own log beyond it.

        With ``checkpoint``, the last batch carries the hub's digests of everything this node
        subscribes to; tables whose local digest differs are kept in ``self.divergent_tables``."""
        pulled = restored = 0
        cursor = self.replica.pull_cursor()
        with ThreadPoolExecutor(1, "campus-pull") as pool:
            pending = pool.submit(self._pull_page, cursor, cursor, own_after, checkpoint)
            while True:
                answer = pending.result()
                own = [(int(s), b, h) for s, b, h in answer["own"]]
                bodies = [body for _feed_seq, body in answer["entries"]]
                statement = protocol.batch_statement(self.node_id, cursor, answer["cursor"],
                                                     protocol.entries_digest([b for _, b, _ in own] + bodies),
                                                     answer.get("checkpoint"))
                try:
                    verify(self.hub_public_key, answer["signature"], statement)
                except BadSignature:
                    raise SyncRefused(0, protocol.BAD_SIGNATURE, "pulled batch not signed by the pinned hub key",
                                      {}) from None
                if answer["more"]:  # the hub reads the next page while this one is applied
                    pending = pool.submit(self._pull_page, answer["cursor"], cursor,
                                          own[-1][0] if own else None, checkpoint)
                if own:
                    restored += self.replica.restore_own(own)
                self.replica.apply_pulled_entries([(int(seq), body) for seq, body in answer["entries"]],
                                                  answer["cursor"])
                cursor = answer["cursor"]
                pulled += len(bodies)
                if progress and (bodies or own):
                    progress("pull", len(bodies) + len(own))
                if not answer["more"]:
                    if answer.get("checkpoint") is not None:
                        self.divergent_tables = self.replica.compare_checkpoint(answer["checkpoint"])
                    return pulled, restored

    def _pull_page(self, cursor: int, applied: int, own_after: int | None, checkpoint: bool) -> dict[str, Any]:
        """The page after ``cursor``; ``applied`` is how far this node has applied the feed (the
        page before may still be on its way in), which the hub's monitor shows."""
        request: dict[str, Any] = {"cursor": cursor, "applied": applied, "max_bytes": self.max_batch_bytes,
                                   "checkpoint": checkpoint}
        if own_after is not None:
            request["own_after"] = own_after
        return post(self.http, f"{self.base}/pull", self._signed_request("pull", request))

    def sync_once(self, progress: Progress | None = None, checkpoint: bool = False) -> SyncReport:
        hub = self.hello()
        local_seq, _ = self.replica.head()
        report = SyncReport()
        if 0 < hub["head_seq"] < local_seq and self.replica.digest_at(hub["head_seq"]) != hub["head_hash"]:
            # This node holds other changes under seqs the hub already has (restored from an old
            # backup and written to before it synced). Sending from the last seq the hub holds lets
            # the hub see the fork, quarantine the node and alert an admin; it refuses the push.
            self.push(hub["head_seq"] - 1, progress)
        if hub["head_seq"] > local_seq:
            # Restored from an old backup: take our own newer changes back before writing more.
            _, report.restored = self.pull(own_after=local_seq, progress=progress)
        report.pushed = self.push(hub["head_seq"], progress)
        report.pulled, restored = self.pull(progress=progress, checkpoint=checkpoint)
        report.restored += restored
        if checkpoint:
            report.divergent_tables = self.divergent_tables
        report.head_seq, _ = self.replica.head()
        report.cursor = self.replica.pull_cursor()
        self.replica.mark_synced(protocol.now_ms())
        self.hello()  # tells the hub how far this node has applied, for the sync monitor
        return report


class _Prepared:
    """Push bodies for the log after a seq, read and encoded one batch ahead on a helper thread.
    Iterating gives ``(body, first seq, last seq)``; leaving the ``with`` stops the helper."""

    def __init__(self, client: SyncClient, after: int) -> None:
        self.client = client
        self.after = after
        self.queue: queue.Queue[tuple[bytes, int, int] | BaseException | None] = queue.Queue(maxsize=1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="campus-sync-prepare", daemon=True)

    def _run(self) -> None:
        after = self.after
        try:
            while not self.stop.is_set():
                batch = self.client.replica.outgoing(after, self.client.max_batch_bytes)
                if not batch:
                    break
                self._put((self.client._push_body(batch), batch[0][0], batch[-1][0]))
                after = batch[-1][0]
        except BaseException as exc:  # handed to the pushing thread, which raises it
            self._put(exc)
            return
        self._put(None)

    def _put(self, item: tuple[bytes, int, int] | BaseException | None) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __enter__(self) -> _Prepared:
        self.thread.start()
        return self

    def __iter__(self) -> Iterator[tuple[bytes, int, int]]:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


class SyncLoop:
    """Syncs every ``interval`` seconds; while the hub is unreachable, backs off with jitter."""

    def __init__(self, client: SyncClient, interval: float, max_backoff: float = 300.0) -> None:
        self.client = client
        self.interval = interval
        self.max_backoff = max_backoff
        self.failures = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="campus-sync", daemon=True)

    def next_delay(self) -> float:
        if self.failures == 0:
            return self.interval
        ceiling = min(self.max_backoff, self.interval * (2 ** min(self.failures, 16)))
        return random.uniform(self.interval, ceiling)  # full jitter keeps campuses from stampeding

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.sync_once()
                self.failures, self.last_error = 0, None
            except (HubUnreachable, SyncRefused, SchemaTooNew) as exc:
                self.failures += 1
                self.last_error = str(exc)
                log.warning("sync failed (%s); next try in about %.0f s", exc, self.next_delay())
            except Exception as exc:  # the loop must outlive any one bad round; the cause is logged in full
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("sync round failed unexpectedly")
            self._stop.wait(self.next_delay())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
