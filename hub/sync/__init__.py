"""The hub's side of sync, one module per concern:

- :mod:`~campus.hub.sync.enrolment`: campuses, one-time tokens, node keys, and whose signature a request carries;
- :mod:`~campus.hub.sync.ingest`: hello and push, checked against the hub's copy of the node's log, then merged;
- :mod:`~campus.hub.sync.pull`: what a node pulls from the feed, signed with the hub key;
- :mod:`~campus.hub.sync.monitor`: contact, lag, errors and quarantine per campus; the counters;
- :mod:`~campus.hub.sync.routes`: ``/sync/v1``, the msgpack endpoints nodes call.

:class:`HubSync` is the one object a hub holds: it puts the parts together over one store and key.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from campus.hub.store import HubStore
from campus.hub.sync.enrolment import TOKEN_LIFETIME, Enrolment, TokenInvalid
from campus.hub.sync.ingest import Ingest, iter_stored_links, stored_links
from campus.hub.sync.monitor import Monitor, SyncCounters
from campus.hub.sync.pull import PULL_ROW_LIMIT, Pull
from campus.hub.sync.refusals import Refused
from campus.sync import protocol
from campus.sync.signing import public_key_bytes

__all__ = ["PULL_ROW_LIMIT", "TOKEN_LIFETIME", "HubSync", "Refused", "SyncCounters", "TokenInvalid",
           "iter_stored_links", "stored_links"]


class HubSync:
    def __init__(self, store: HubStore, private_key: Ed25519PrivateKey) -> None:
        self.store = store
        self.private_key = private_key
        self.public_key = public_key_bytes(private_key)
        self.monitor = Monitor(store)
        self.enrolment = Enrolment(store, self.public_key)
        self.ingest = Ingest(store, self.enrolment, self.monitor)
        self.puller = Pull(store, private_key, self.enrolment)

    @property
    def counters(self) -> SyncCounters:
        return self.monitor.counters

    # --- enrolment and keys (the CLI and /sync/v1) ---------------------------------------------

    def add_campus(self, code: str, name: str) -> tuple[str, str]:
        return self.enrolment.add_campus(code, name)

    def issue_restore_token(self, code: str) -> str:
        return self.enrolment.issue_restore_token(code)

    def enroll(self, token: str, node_id: str, public_key: bytes, signature: bytes) -> dict[str, Any]:
        return self.enrolment.enroll(token, node_id, public_key, signature)

    def rotate_key(self, node_id: str, new_public_key: bytes, signature: bytes) -> None:
        self.enrolment.rotate_key(node_id, new_public_key, signature)

    def revoke_keys(self, code: str) -> int:
        return self.enrolment.revoke_keys(code)

    # --- hello, push, pull ---------------------------------------------------------------------

    def hello(self, node_id: str, body: dict[str, Any], signature: bytes) -> dict[str, Any]:
        return self.ingest.hello(node_id, body, signature)

    def push(self, node_id: str, links: list[protocol.Link], signature: bytes) -> dict[str, Any]:
        return self.ingest.push(node_id, links, signature)

    def pull(self, node_id: str, body: dict[str, Any], signature: bytes) -> dict[str, Any]:
        return self.puller.pull(node_id, body, signature)

    # --- the monitor ---------------------------------------------------------------------------

    def count_refusal(self, reason: str) -> None:
        self.monitor.count_refusal(reason)

    def status(self) -> list[dict[str, Any]]:
        return self.monitor.status()

    def rejections(self, campus_id: str | None = None) -> list[dict[str, Any]]:
        return self.monitor.rejections(campus_id)

    def conflicts(self) -> list[dict[str, Any]]:
        return self.monitor.conflicts()
