"""The node ⇄ hub wire protocol, version 1: message bodies and the statements that get signed.

Bodies are canonical msgpack (``application/msgpack``). Errors come back as problem+json with
a ``reason`` a client can act on (``gap`` carries ``resume_from``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from campus.sync import codec

VERSION = "v1"
MEDIA_TYPE = "application/msgpack"
MAX_CLOCK_SKEW_MS = 10 * 60 * 1000

# Reasons a hub refuses a request; also the label of the refused-batches metric.
GAP = "gap"
FORK = "fork"
TAMPERED = "tampered"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
REVOKED_KEY = "revoked_key"
QUARANTINED = "quarantined"
MALFORMED = "malformed"
STALE_REQUEST = "stale_request"
SCHEMA_TOO_NEW = "schema_too_new"
CLOCK_AHEAD = "clock_ahead"

Link = tuple[int, bytes, bytes]  # seq, canonical change, hash


def push_statement(node_id: str, first_seq: int, last_seq: int, last_hash: bytes) -> list[Any]:
    return ["campus-sync/push/v1", node_id, first_seq, last_seq, last_hash]


def request_statement(kind: str, node_id: str, body: dict[str, Any]) -> list[Any]:
    """What a node signs to authenticate a hello or pull (the body includes ``sent_at_ms``)."""
    return [f"campus-sync/{kind}/v1", node_id, codec.encode(body)]


def batch_statement(node_id: str, cursor_from: int, cursor_to: int, entries_digest: bytes,
                    checkpoint: dict[str, str] | None = None) -> list[Any]:
    """What the hub signs over a pulled batch; a checkpoint (table → digest) ends a full pull."""
    return ["campus-sync/batch/v1", node_id, cursor_from, cursor_to, entries_digest, checkpoint]


def enroll_statement(token: str, node_id: str, public_key: bytes) -> list[Any]:
    return ["campus-sync/enroll/v1", hashlib.sha256(token.encode()).digest(), node_id, public_key]


def rotate_statement(node_id: str, new_public_key: bytes) -> list[Any]:
    return ["campus-sync/rotate/v1", node_id, new_public_key]


def entries_digest(bodies: Sequence[bytes]) -> bytes:
    digest = hashlib.sha256()
    for body in bodies:
        digest.update(hashlib.sha256(body).digest())
    return digest.digest()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def check_fresh(sent_at_ms: int, now: int | None = None) -> bool:
    return abs((now if now is not None else now_ms()) - sent_at_ms) <= MAX_CLOCK_SKEW_MS


def encode_body(body: dict[str, Any]) -> bytes:
    return codec.encode(body)


def decode_body(raw: bytes) -> dict[str, Any]:
    value = codec.decode(raw)
    if not isinstance(value, dict):
        raise ValueError("body is not a map")
    return value
