"""Accounts: users, role grants, passwords (Argon2), lockout, API tokens and the audit trail.

Used the same way by a node and by the hub: both hand in their store, which offers
``read()`` and ``unit_of_work()``. Credentials replicate as Argon2 hashes, so a campus can
sign people in while headquarters is unreachable.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, insert, select, update

from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.permissions import NotSignedIn, Principal, Role
from campus.schema.search import contains_pattern, ordered, paged
from campus.schema.tables import api_tokens, audit_events, login_attempts, role_grants, users
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
# Failed sign-ins from one client address within the lockout window before that address is refused
# too (guessing across many usernames from one machine), whatever the accounts.
MAX_FAILURES_PER_ADDRESS = 20
TOKEN_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()


class Store(Protocol):
    def read(self) -> AbstractContextManager[Connection]: ...

    def write(self) -> AbstractContextManager[Connection]: ...

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...


class LoginFailed(NotSignedIn):
    """Wrong username or password, or the account is locked (the message does not say which)."""


class UsernameTaken(Conflict):
    pass


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def precise_now() -> str:
    """Now to the microsecond (``2026-12-02T08:50:01.123456Z``): orders a credential change against
    the sessions and tokens issued in the same second."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise Invalid("password", "a password has at least 8 characters")
    return _hasher.hash(password)


def create_user(uow: UnitOfWork, username: str, display_name: str, password: str,
                grants: list[tuple[Role, str | None]]) -> str:
    """A user with roles (campus id, or None for every campus); returns the user id."""
    if uow.conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise UsernameTaken(f"username {username} is taken", username=username)
    now = utc_now_text()
    user_id = uow.insert("users", {"username": username, "display_name": display_name,
                                   "password_hash": hash_password(password), "locale": None, "active": True,
                                   "created_at": now, "deleted": False})
    for role, campus_id in grants:
        uow.insert("role_grants", {"user_id": user_id, "role": Role(role).value, "campus_id": campus_id,
                                   "granted_at": now, "deleted": False})
    return user_id


ADMIN_USERNAME = "admin"
INITIAL_PASSWORD_FILE = "initial-admin-password.txt"


def create_first_admin(store: Store, directory: Any, password: str | None) -> str:
    """The first headquarters admin, so someone can sign in. Without a password one is made and
    left, readable by the owner only, in the directory (and printed once by the CLI)."""
    import os
    from pathlib import Path

    chosen = password or secrets.token_urlsafe(12)
    with store.unit_of_work() as uow:
        create_user(uow, ADMIN_USERNAME, "管理员", chosen, [(Role.HQ_ADMIN, None)])
    if password is None:
        path = Path(directory) / INITIAL_PASSWORD_FILE
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(chosen + "\n")
    return chosen


def set_roles(uow: UnitOfWork, user_id: str, grants: list[tuple[Role, str | None]]) -> tuple[list, list]:
    """Replace a user's role grants; returns (before, after) as sorted [campus or '*', role] pairs."""
    if uow.conn.execute(select(users.c.id).where(users.c.id == user_id, users.c.deleted.is_(False))).first() is None:
        raise NotFound(f"no user {user_id}", user_id=user_id)
    current = {(row.campus_id, row.role): row.id for row in uow.conn.execute(
        select(role_grants.c.id, role_grants.c.role, role_grants.c.campus_id).where(
            role_grants.c.user_id == user_id, role_grants.c.deleted.is_(False)))}
    wanted = {(campus_id, Role(role).value) for role, campus_id in grants}
    for key, grant_id in current.items():
        if key not in wanted:
            uow.tombstone("role_grants", grant_id)
    for campus_id, role in sorted(wanted - set(current), key=str):
        uow.insert("role_grants", {"user_id": user_id, "role": role, "campus_id": campus_id,
                                   "granted_at": utc_now_text(), "deleted": False})
    if set(current) - wanted:  # a role taken away: the sessions and tokens that carried it end
        uow.update("users", user_id, {"credentials_changed_at": precise_now()})
    as_pairs = lambda keys: sorted([campus or "*", role] for campus, role in keys)  # noqa: E731
    return as_pairs(current), as_pairs(wanted)


def set_password(uow: UnitOfWork, user_id: str, password: str) -> str:
    """A new password: every session and token issued before it ends. Returns the change's instant."""
    if len(password) < 8:
        raise Invalid("password", "at least 8 characters")
    if uow.conn.execute(select(users.c.id).where(users.c.id == user_id, users.c.deleted.is_(False))).first() is None:
        raise NotFound(f"no user {user_id}", user_id=user_id)
    changed = precise_now()
    uow.update("users", user_id, {"password_hash": hash_password(password), "credentials_changed_at": changed})
    return changed


def check_password(conn: Connection, user_id: str, password: str) -> bool:
    stored = conn.execute(select(users.c.password_hash).where(users.c.id == user_id)).scalar()
    if not stored:
        return False
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def principal_for_user(conn: Connection, user_id: str, issued_at: str | None = None) -> Principal | None:
    """The user's principal; ``None`` when they are gone or inactive, or when the session or token
    (issued at ``issued_at``) predates a password change or a role taken away."""
    user = conn.execute(select(users).where(users.c.id == user_id, users.c.active.is_(True),
                                            users.c.deleted.is_(False))).mappings().first()
    if user is None:
        return None
    changed = user["credentials_changed_at"]
    if issued_at is not None and changed and issued_at < changed:
        return None
    grants: dict[str | None, set[Role]] = defaultdict(set)
    for role, campus_id in conn.execute(select(role_grants.c.role, role_grants.c.campus_id).where(
            role_grants.c.user_id == user_id, role_grants.c.deleted.is_(False))):
        if role in Role._value2member_map_:
            grants[campus_id].add(Role(role))
    return Principal(user["id"], user["username"], user["display_name"],
                     {campus: frozenset(roles) for campus, roles in grants.items()})


def sign_in(store: Store, username: str, password: str, client_ip: str | None, campus_id: str | None,
            now: datetime | None = None) -> Principal:
    """Check a password, with lockout after repeated failures; every attempt is audited."""
    now = now or datetime.now(UTC)
    with store.read() as conn:
        user = conn.execute(select(users).where(users.c.username == username, users.c.deleted.is_(False)))\
            .mappings().first()
        attempt = conn.execute(select(login_attempts).where(login_attempts.c.username == username))\
            .mappings().first()
        from_address = conn.execute(select(func.count()).select_from(audit_events).where(
            audit_events.c.action == "login_failed", audit_events.c.client_ip == client_ip,
            audit_events.c.at >= _iso(now - LOCKOUT))).scalar_one() if client_ip else 0
    locked = attempt is not None and attempt["locked_until"] is not None and attempt["locked_until"] > _iso(now)
    locked = locked or from_address >= MAX_FAILURES_PER_ADDRESS
    ok = False
    if user is not None and user["active"] and user["password_hash"] and not locked:
        try:
            ok = _hasher.verify(user["password_hash"], password)
        except (VerificationError, InvalidHashError):
            ok = False
    with store.unit_of_work() as uow:
        failures = 0 if ok else (attempt["failures"] if attempt else 0) + 1
        locked_until = _iso(now + LOCKOUT) if failures >= MAX_FAILURES else None
        if locked and attempt is not None and attempt["locked_until"] and attempt["locked_until"] > _iso(now):
            locked_until = attempt["locked_until"]
        values = {"failures": failures, "locked_until": locked_until}
        if attempt is None:
            uow.conn.execute(insert(login_attempts).values(username=username, **values))
        else:
            uow.conn.execute(update(login_attempts).where(login_attempts.c.username == username).values(**values))
        record_audit(uow, "login" if ok else "login_failed", campus_id=campus_id, client_ip=client_ip,
                     user_id=user["id"] if user else None, username=username,
                     after={"locked": bool(locked_until)} if not ok else None)
        principal = principal_for_user(uow.conn, user["id"]) if ok and user else None
    if principal is None:
        raise LoginFailed("wrong username or password, or the account is locked for a while", username=username)
    return principal


def issue_token(store: Store, user_id: str, lifetime: timedelta = TOKEN_LIFETIME) -> tuple[str, str]:
    """A bearer token for the API and its expiry; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = _iso(now + lifetime)
    with store.write() as conn:
        conn.execute(insert(api_tokens).values(token_hash=_token_hash(token), user_id=user_id,
                                               created_at=precise_now(), expires_at=expires))
    return token, expires


def principal_for_token(store: Store, token: str) -> Principal | None:
    with store.read() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == _token_hash(token))).mappings().first()
        if row is None or row["revoked_at"] is not None or row["expires_at"] <= utc_now_text():
            return None
        return principal_for_user(conn, row["user_id"], row["created_at"])


def revoke_token(store: Store, token: str) -> None:
    with store.write() as conn:
        done = conn.execute(update(api_tokens).where(api_tokens.c.token_hash == _token_hash(token),
                                                     api_tokens.c.revoked_at.is_(None))
                            .values(revoked_at=utc_now_text())).rowcount
    if not done:
        raise NotFound("no such active token")


def record_audit(uow: UnitOfWork, action: str, *, campus_id: str | None, client_ip: str | None,
                 user_id: str | None, username: str | None, target_table: str | None = None,
                 target_id: str | None = None, before: Any = None, after: Any = None) -> str:
    """One append-only audit event: who, when, from where, what, before and after."""
    return uow.insert("audit_events", {
        "campus_id": campus_id, "at": utc_now_text(), "user_id": user_id, "username": username,
        "client_ip": client_ip, "action": action, "target_table": target_table, "target_id": target_id,
        "before": json.dumps(before, ensure_ascii=False, sort_keys=True) if before is not None else None,
        "after": json.dumps(after, ensure_ascii=False, sort_keys=True) if after is not None else None})


def list_audit(conn: Connection, campus_id: str | None = None, action: str | None = None,
               username: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = select(audit_events).order_by(audit_events.c.at.desc(), audit_events.c.id.desc()).limit(limit)
    if campus_id is not None:
        query = query.where(audit_events.c.campus_id == campus_id)
    if action:
        query = query.where(audit_events.c.action == action)
    if username:
        query = query.where(audit_events.c.username == username)
    return [dict(row) for row in conn.execute(query).mappings()]


AUDIT_SORTS = {"at": audit_events.c.at, "username": audit_events.c.username, "action": audit_events.c.action}


def audit_page(conn: Connection, campus_id: str | None, limit: int, offset: int, action: str | None = None,
               username: str | None = None, sort: str = "at", descending: bool = True
               ) -> tuple[int, list[dict[str, Any]]]:
    """One page of the audit trail (a campus's, or every campus's at the hub) and its count, in the
    order of one of ``AUDIT_SORTS``."""
    query = select(audit_events)
    if campus_id is not None:
        query = query.where(audit_events.c.campus_id == campus_id)
    if action:
        query = query.where(audit_events.c.action == action)
    if username:
        query = query.where(audit_events.c.username == username)
    return paged(conn, query, ordered(AUDIT_SORTS.get(sort, audit_events.c.at), descending, audit_events.c.id),
                 limit, offset)


USER_SORTS = {"username": users.c.username, "name": users.c.display_name}


def users_page(conn: Connection, limit: int, offset: int, query: str | None = None, role: str | None = None,
               sort: str = "username", descending: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """One page of the users (and their count) with their roles, optionally those whose username
    or name holds ``query`` or who hold ``role`` anywhere, in the order of one of ``USER_SORTS``."""
    listed = select(users.c.id).where(users.c.deleted.is_(False))
    if query:
        pattern = contains_pattern(query)
        listed = listed.where(users.c.username.like(pattern, escape="\\") |
                              users.c.display_name.like(pattern, escape="\\"))
    if role:
        listed = listed.where(users.c.id.in_(select(role_grants.c.user_id).where(
            role_grants.c.role == role, role_grants.c.deleted.is_(False))))
    total, rows = paged(conn, listed, ordered(USER_SORTS.get(sort, users.c.username), descending, users.c.id),
                        limit, offset)
    return total, list(_with_roles(conn, [row["id"] for row in rows]))


def users_with_roles(conn: Connection) -> Iterator[dict[str, Any]]:
    ids = conn.execute(select(users.c.id).where(users.c.deleted.is_(False)).order_by(users.c.username)).scalars()
    return _with_roles(conn, list(ids))


def _with_roles(conn: Connection, ids: list[str]) -> Iterator[dict[str, Any]]:
    found = {row["id"]: row for row in conn.execute(select(users).where(users.c.id.in_(ids))).mappings()}
    for user in (found[i] for i in ids if i in found):
        principal = principal_for_user(conn, user["id"])
        yield {"id": user["id"], "username": user["username"], "display_name": user["display_name"],
               "active": user["active"],
               "grants": sorted((campus or "*", role.value) for campus, roles in
                                (principal.grants.items() if principal else []) for role in roles)}


class Accounts:
    """Signing in against one store; ``campus_id`` is the campus it serves (None at the hub)."""

    def __init__(self, store: Store, campus_id: str | None) -> None:
        self.store = store
        self.campus_id = campus_id

    def from_token(self, token: str) -> Principal | None:
        return principal_for_token(self.store, token)

    def from_user_id(self, user_id: str, signed_in_at: str | None = None) -> Principal | None:
        with self.store.read() as conn:
            return principal_for_user(conn, user_id, signed_in_at or "")

    def sign_in(self, username: str, password: str, client_ip: str | None) -> Principal:
        return sign_in(self.store, username, password, client_ip, self.campus_id)
