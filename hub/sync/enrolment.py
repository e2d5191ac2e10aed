"""Enrolment and keys: campuses, one-time tokens, each node's Ed25519 keys, and checking that a
request carries the signature of an enrolled node."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from campus.hub.store import HubStore
from campus.hub.sync.refusals import Refused
from campus.schema.errors import Conflict, NotFound
from campus.schema.ids import validate_campus_code
from campus.schema.tables import campuses, enrollment_tokens, hub_nodes, node_keys
from campus.schema.times import utc_now_text
from campus.sync import protocol
from campus.sync.changes import GENESIS_HASH
from campus.sync.signing import BadSignature, verify

TOKEN_LIFETIME = timedelta(hours=24)


class TokenInvalid(Conflict):
    pass


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _in(hours: timedelta) -> str:
    return (datetime.now(UTC) + hours).isoformat(timespec="seconds").replace("+00:00", "Z")


class Enrolment:
    def __init__(self, store: HubStore, hub_public_key: bytes) -> None:
        self.store = store
        self.hub_public_key = hub_public_key

    # --- campuses and tokens -------------------------------------------------------------------

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

    # --- a node's keys -------------------------------------------------------------------------

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
                "campus_name": campus["name"], "hub_public_key": self.hub_public_key}

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

    def authenticate(self, conn: Connection, node_id: str, signature: bytes, statement: list[Any],
                     lock: bool = False) -> dict[str, Any]:
        """The enrolled node's ``hub_nodes`` row if ``signature`` over ``statement`` is its active
        key's (``lock``: held FOR UPDATE, for a push); a refusal otherwise."""
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


def _verifies(public_key: bytes, signature: bytes, statement: list[Any]) -> bool:
    try:
        verify(public_key, signature, statement)
    except BadSignature:
        return False
    return True
