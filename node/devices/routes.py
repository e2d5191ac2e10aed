"""The iclock endpoints a terminal calls (ZKTeco PUSH), and the terminals' metrics.

No user session: a terminal is known by its serial number (``SN=``), and served only once an
administrator approved it (see :mod:`campus.node.devices.registry`); the routes are marked like
the kiosk's (``device-signature``): without an approved serial a request gets 401 and stores
nothing. Bodies are read raw, never as forms, and refused above ``[devices] max_body_bytes``;
each terminal's requests are rate-limited. Every answer is ``text/plain`` with its
Content-Length; uvicorn adds the GMT ``Date`` header (terminals set their clocks from it). The
node's ``/metrics`` carries the terminals' counters too (:func:`with_terminal_metrics`).
The store's work runs off the event loop, in the use cases of
:mod:`campus.node.devices.use_cases`.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.devices import protocol
from campus.node.devices import use_cases as cases
from campus.node.devices.runtime import UNREGISTERED, DeviceRuntime
from campus.schema.errors import DomainError
from campus.web.auth import DEVICE_SIGNATURE, client_ip, guard
from campus.web.usecase import UseCase, off_loop, perform, performs

log = logging.getLogger("campus.devices")
PREFIX = "/iclock"
REFUSALS = {  # why a terminal is not served → status, and the line it reads
    "no_serial": (401, "no serial number (SN=)"),
    "unknown": (401, "unknown terminal: recorded as pending, waiting for an administrator"),
    "pending": (401, "terminal not approved yet"),
    "revoked": (401, "terminal revoked"),
    "too_many_pending": (401, "unknown terminal; too many are waiting for approval"),
    "address": (403, "this terminal is pinned to another address"),
}


def text_answer(text: str, status: int = 200, charset: str = "utf-8", headers: dict[str, str] | None = None) -> Response:
    """``text`` as the terminal reads it: text/plain in its charset, with Content-Length."""
    charset = charset if charset in protocol.CHARSETS else "utf-8"
    return Response(protocol.encode(text, charset), status_code=status, media_type=f"text/plain; charset={charset}",
                    headers=headers)


def _serial(request: Request) -> str:
    return (request.query_params.get("SN") or request.query_params.get("sn") or "").strip()


def _param(request: Request, *names: str) -> str | None:
    for name in names:
        value = request.query_params.get(name)
        if value is not None:
            return value
    return None


async def _raw_body(request: Request, limit: int) -> bytes | None:
    """The body as sent (never parsed as a form), or None when it is larger than ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def _serve(request: Request, endpoint: str, case: UseCase[..., cases.Answer], *args: Any,
                 body_first: bool = False) -> Response:
    """Rate limit, read the body, run the use case for the terminal, answer in text. ``args`` may
    hold ``bytes`` as a placeholder for the body."""
    runtime: DeviceRuntime = request.app.state.devices
    node = request.app.state.node
    settings = runtime.settings
    serial, address = _serial(request), client_ip(request)
    if not runtime.limiter.allow(serial or f"@{address}"):
        runtime.requests.labels(UNREGISTERED, endpoint, "rate_limited").inc()
        return text_answer("ERROR: too many requests", 429, headers={"Retry-After": str(settings.schedule.error_delay)})
    body = b""
    if request.method == "POST":
        read = await _raw_body(request, settings.max_body_bytes)
        if read is None:
            runtime.requests.labels(UNREGISTERED, endpoint, "too_large").inc()
            return text_answer(f"ERROR: body larger than {settings.max_body_bytes} bytes", 413)
        body = read
    values = [body if arg is bytes else arg for arg in args]
    try:
        answer: cases.Answer = await perform(node.store, node.ctx, cases.terminal_actor(serial, address), case,
                                             serial, address, *values, settings=settings)
    except DomainError as exc:
        runtime.requests.labels(UNREGISTERED, endpoint, "refused").inc()
        return text_answer(f"ERROR: {protocol.clean(exc.detail)}", 400)
    except Exception:  # the terminal reads a line and calls again after ErrorDelay; the log has the rest
        log.exception("terminal %s: %s failed", protocol.clean(serial)[:32], endpoint)
        runtime.requests.labels(UNREGISTERED, endpoint, "error").inc()
        return text_answer("ERROR: the node could not do it; call again", 500)
    if answer.refusal:
        status, line = REFUSALS.get(answer.refusal, (401, "refused"))
        runtime.requests.labels(UNREGISTERED, endpoint, answer.refusal).inc()
        return text_answer(f"ERROR: {line}", status)
    runtime.requests.labels(serial, endpoint, "ok").inc()
    if body:
        runtime.bytes_received.labels(serial).inc(len(body))
    if answer.counts is not None:
        runtime.count_punches(serial, answer.counts)
    if answer.details.get("commands"):
        runtime.commands_sent.labels(serial).inc(answer.details["commands"])
    if answer.details.get("failed"):
        runtime.command_failures.labels(serial).inc(answer.details["failed"])
    return text_answer(answer.text, 200, answer.charset)


async def cdata_get(request: Request) -> Response:
    """The handshake: ``GET /iclock/cdata?SN=...&options=all&pushver=...&language=...``."""
    return await _serve(request, "handshake", cases.handshake, _param(request, "pushver", "PushVersion"),
                        _param(request, "language"))


@performs(cases.upload_punches, cases.upload_operations, cases.upload_photo, cases.upload_options, cases.ping)
async def cdata_post(request: Request) -> Response:
    """``POST /iclock/cdata?SN=...&table=ATTLOG|OPERLOG|ATTPHOTO|options&Stamp=...``."""
    table = (request.query_params.get("table") or "").strip().upper()
    if table == "ATTLOG":
        return await _serve(request, "attlog", cases.upload_punches, _param(request, "Stamp"), bytes)
    if table in ("OPERLOG", "OPLOG"):
        return await _serve(request, "operlog", cases.upload_operations, _param(request, "Stamp", "OpStamp"), bytes)
    if table == "ATTPHOTO":
        return await _serve(request, "attphoto", cases.upload_photo, _param(request, "Stamp", "PhotoStamp"), bytes)
    if table == "OPTIONS":
        return await _serve(request, "options", cases.upload_options, bytes)
    # A table this node does not keep (templates, user pictures...): accepted, so it is not re-sent forever.
    return await _serve(request, "other", cases.ping)


async def getrequest(request: Request) -> Response:
    """``GET /iclock/getrequest?SN=...``: the commands waiting, as ``C:<id>:<command>`` lines, or OK."""
    return await _serve(request, "getrequest", cases.poll, _param(request, "INFO"))


@performs(cases.report_results)
async def devicecmd(request: Request) -> Response:
    """``POST /iclock/devicecmd?SN=...``: ``ID=...&Return=...&CMD=...`` a line."""
    return await _serve(request, "devicecmd", cases.report_results, bytes)


async def ping(request: Request) -> Response:
    """``GET /iclock/ping?SN=...``: OK, for an approved terminal."""
    return await _serve(request, "ping", cases.ping)


def iclock_routes() -> list[Route]:
    """The terminal endpoints, also under the ``.aspx`` names some firmware calls."""
    routes = []
    for suffix in ("", ".aspx"):
        routes += [Route(f"{PREFIX}/cdata{suffix}", guard(DEVICE_SIGNATURE, cdata_get), methods=["GET"]),
                   Route(f"{PREFIX}/cdata{suffix}", guard(DEVICE_SIGNATURE, cdata_post), methods=["POST"]),
                   Route(f"{PREFIX}/getrequest{suffix}", guard(DEVICE_SIGNATURE, getrequest), methods=["GET"]),
                   Route(f"{PREFIX}/devicecmd{suffix}", guard(DEVICE_SIGNATURE, devicecmd), methods=["POST"]),
                   Route(f"{PREFIX}/ping{suffix}", guard(DEVICE_SIGNATURE, ping), methods=["GET"])]
    return routes


def with_terminal_metrics(endpoint: Any) -> Any:
    """The node's ``/metrics`` endpoint with the terminals' own appended: per-terminal counts of
    requests, punches and commands, and each one's last contact, queue, failures and punches
    today (serial numbers only, no personal data)."""

    async def metrics(request: Request) -> Response:
        answer = await endpoint(request)
        runtime: DeviceRuntime = request.app.state.devices
        ours = await off_loop(generate_latest, runtime.registry)
        return Response(bytes(answer.body) + ours, status_code=answer.status_code, media_type=CONTENT_TYPE_LATEST)

    metrics.__name__ = getattr(endpoint, "__name__", "metrics")
    return metrics


def device_runtime(node: Any) -> DeviceRuntime:
    """The runtime of ``node``'s terminal endpoints, its gauges read from its store."""
    from campus.node.devices import queries
    from campus.node.devices.settings import DeviceSettings

    runtime = DeviceRuntime(DeviceSettings.of(node.config))

    def read() -> list[dict[str, Any]]:
        with node.store.read() as conn:
            return queries.metrics_rows(conn, node.ctx)

    runtime.watch_store(read)
    return runtime
