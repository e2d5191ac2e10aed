"""Signing in and the permission check every route goes through.

API requests authenticate with ``Authorization: Bearer <token>``; staff screens with a
signed session cookie, and every form they post carries a CSRF token. A route declares one
action from ``campus.schema.permissions.PERMISSIONS`` (or :data:`PUBLIC`, or
:data:`NODE_SIGNATURE` for sync endpoints that verify a node's Ed25519 signature instead),
and :func:`guard` wraps it so the check cannot be forgotten.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campus.schema.context import Actor
from campus.schema.permissions import PERMISSIONS, NotSignedIn, PermissionDenied, Principal

PUBLIC = "public"
NODE_SIGNATURE = "node-signature"
DEVICE_SIGNATURE = "device-signature"  # kiosk endpoints: the device's HMAC, never a user
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
Endpoint = Callable[[Request], Awaitable[Response]]


class Authenticator(Protocol):
    campus_id: str | None

    def from_token(self, token: str) -> Principal | None: ...

    def from_user_id(self, user_id: str, signed_in_at: str | None = None) -> Principal | None: ...


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def actor_of(request: Request) -> Actor:
    """Who acts in this request: the signed-in user, from the request's address."""
    return Actor(current_principal(request), client_ip(request))


def current_principal(request: Request) -> Principal | None:
    if "principal" in request.scope.get("state", {}):
        return request.state.principal
    authenticator: Authenticator = request.app.state.auth
    principal = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        principal = authenticator.from_token(header[7:].strip())
    elif "session" in request.scope and request.session.get("user_id"):
        # A session signed in before the password changed or a role was taken away has ended.
        principal = authenticator.from_user_id(request.session["user_id"], request.session.get("signed_in_at", ""))
    request.state.principal = principal
    return principal


def require(request: Request, action: str) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise NotSignedIn("sign in first: send a bearer token from POST /api/v1/auth/token")
    principal.require(action, request.app.state.auth.campus_id)
    return principal


def guard(action: str, endpoint: Endpoint, screen: bool = False) -> Endpoint:
    """``endpoint`` behind the permission check for ``action``; screens send strangers to /login."""
    if action not in PERMISSIONS and action not in (PUBLIC, NODE_SIGNATURE, DEVICE_SIGNATURE):
        raise ValueError(f"unknown action {action!r}: add it to PERMISSIONS")

    async def guarded(request: Request) -> Response:
        if action not in (PUBLIC, NODE_SIGNATURE, DEVICE_SIGNATURE):
            try:
                # Finding the user reads the store: do it on a worker thread, not on the event loop.
                await anyio.to_thread.run_sync(require, request, action)
            except NotSignedIn:
                if not screen:
                    raise
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return await endpoint(request)

    guarded.campus_action = action  # type: ignore[attr-defined]
    guarded.use_cases = getattr(endpoint, "use_cases", ())  # type: ignore[attr-defined]
    guarded.writes_nothing = getattr(endpoint, "writes_nothing", False)  # type: ignore[attr-defined]
    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_KEY)
    if not token:
        token = request.session[CSRF_KEY] = secrets.token_urlsafe(24)
    return token


def check_csrf(request: Request, form: Any) -> None:
    sent = str(form.get(CSRF_FIELD, ""))
    expected = request.session.get(CSRF_KEY, "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise PermissionDenied("the form is out of date or was not sent by this site; reload and try again",
                               action="csrf")
