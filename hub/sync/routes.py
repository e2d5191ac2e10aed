"""``/sync/v1``: msgpack endpoints nodes call; authenticated by node signatures, not users."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.hub.sync import HubSync, Refused
from campus.sync import protocol
from campus.web.auth import NODE_SIGNATURE, guard
from campus.web.problems import Problem, on_domain_error

MAX_SYNC_BODY = 64 << 20


def msgpack_response(body: dict[str, Any]) -> Response:
    return Response(protocol.encode_body(body), media_type=protocol.MEDIA_TYPE)


# What each field of a sync body must be; anything else is refused, naming the field.
FIELD_TYPES: dict[str, type] = {"token": str, "node_id": str, "public_key": bytes, "signature": bytes,
                                "request": dict, "changes": list}


async def _read(request: Request, *fields: str) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_SYNC_BODY:
        raise Problem(413, "sync body too large", reason=protocol.MALFORMED)
    try:
        body = protocol.decode_body(raw)
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise Problem(400, f"body is not canonical msgpack: {exc}", reason=protocol.MALFORMED,
                      errors=[{"field": "body", "message": str(exc)}]) from None
    if not isinstance(body, dict):
        raise Problem(400, "a sync body is a map", reason=protocol.MALFORMED,
                      errors=[{"field": "body", "message": "expected a map"}])
    missing = [name for name in fields if name not in body]
    if missing:
        raise Problem(400, f"missing field(s): {', '.join(missing)}", reason=protocol.MALFORMED,
                      errors=[{"field": name, "message": "required"} for name in missing])
    wrong = [name for name in fields if not isinstance(body[name], FIELD_TYPES[name])]
    if wrong:
        raise Problem(400, f"wrong type of field(s): {', '.join(wrong)}", reason=protocol.MALFORMED,
                      errors=[{"field": name, "message": f"expected {FIELD_TYPES[name].__name__}"} for name in wrong])
    return body


def _links(raw: Any) -> list[protocol.Link]:
    try:
        links = [(seq, body, digest) for seq, body, digest in raw]
        well_typed = all(type(seq) is int and type(body) is bytes and type(digest) is bytes
                         for seq, body, digest in links)
    except (TypeError, ValueError):
        well_typed = False
    if not isinstance(raw, list) or not well_typed:
        raise Problem(400, "changes must be [seq, body, hash] triples", reason=protocol.MALFORMED,
                      errors=[{"field": "changes", "message": "expected [int, bytes, bytes] items"}])
    return links


def _sync(request: Request) -> HubSync:
    return request.app.state.hub.sync


async def enroll(request: Request) -> Response:
    body = await _read(request, "token", "node_id", "public_key", "signature")
    return msgpack_response(_sync(request).enroll(body["token"], body["node_id"], body["public_key"],
                                                  body["signature"]))


# The work runs on worker threads: a 4 MB push merges for a good fraction of a second, and the
# event loop must keep serving the console and other campuses meanwhile. At most SYNC_WORKERS
# run at once, well within the store's connection pool; the others wait their turn.
SYNC_WORKERS = 8


def _in_worker(request: Request, work: Callable[..., dict[str, Any]], *args: Any) -> Awaitable[dict[str, Any]]:
    limiter = getattr(request.app.state, "sync_limiter", None)
    if limiter is None:
        limiter = request.app.state.sync_limiter = anyio.CapacityLimiter(SYNC_WORKERS)
    return anyio.to_thread.run_sync(partial(work, *args), limiter=limiter)


async def hello(request: Request) -> Response:
    body = await _read(request, "node_id", "request", "signature")
    return msgpack_response(await _in_worker(request, _sync(request).hello, body["node_id"], body["request"],
                                             body["signature"]))


async def push(request: Request) -> Response:
    body = await _read(request, "node_id", "changes", "signature")
    links = _links(body["changes"])
    began = time.perf_counter()
    answer = await _in_worker(request, _sync(request).push, body["node_id"], links, body["signature"])
    response = msgpack_response(answer)
    response.headers["server-timing"] = f"merge;dur={(time.perf_counter() - began) * 1000:.1f}"
    return response


async def pull(request: Request) -> Response:
    body = await _read(request, "node_id", "request", "signature")
    return msgpack_response(await _in_worker(request, _sync(request).pull, body["node_id"], body["request"],
                                             body["signature"]))


async def rotate_key(request: Request) -> Response:
    body = await _read(request, "node_id", "public_key", "signature")
    _sync(request).rotate_key(body["node_id"], body["public_key"], body["signature"])
    return msgpack_response({"rotated": True})


async def on_refused(request: Request, exc: Exception) -> Response:
    """Count the refusal for /metrics, then answer it like any domain error."""
    assert isinstance(exc, Refused)
    _sync(request).count_refusal(exc.reason)
    return await on_domain_error(request, exc)


# Nodes are not users: each request is checked against the node's enrolled Ed25519 key
# (enrollment, against its one-time token).
ROUTES = [
    Route(f"/{name}", guard(NODE_SIGNATURE, endpoint), methods=["POST"])
    for name, endpoint in (("enroll", enroll), ("hello", hello), ("push", push), ("pull", pull),
                           ("rotate-key", rotate_key))
]
