"""Kiosk endpoints: the signed marks API for devices and the check-in page for a tablet.

Neither takes a user: the API takes the device's HMAC signature, the page a browser paired
with a device (its id and secret entered once). A kiosk can post marks and nothing else.
"""

from __future__ import annotations

import hmac
import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campus.node.screens import TEMPLATES
from campus.node.teaching.kiosks import accept_marks, authenticate, device_secret
from campus.schema.ids import new_id
from campus.schema.tables import kiosk_devices, students
from campus.web.api import json_response
from campus.web.auth import DEVICE_SIGNATURE, PUBLIC, check_csrf, guard
from campus.web.i18n import gettext_ as _
from campus.web.problems import InvalidInput, Problem
from campus.web.templating import render

MAX_MARKS = 500
MAX_BODY = 512 * 1024
DEVICE_KEY = "kiosk_device"


async def post_marks(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Problem(413, f"at most {MAX_BODY} bytes per batch")
    node = request.app.state.node

    def store_marks() -> tuple[list[Any], float]:
        began = time.perf_counter()  # the store's own time, on a worker thread
        with node.store.unit_of_work() as uow:
            device_id = authenticate(uow.conn, request.headers, body)
            try:
                payload = json.loads(body)
            except ValueError as exc:
                raise InvalidInput([{"field": "body", "message": f"not JSON: {exc}"}]) from None
            marks = payload.get("marks") if isinstance(payload, dict) else None
            if not isinstance(marks, list) or not all(isinstance(m, dict) for m in marks):
                raise InvalidInput([{"field": "marks", "message": "a list of {id, student_number, device_time}"}])
            if len(marks) > MAX_MARKS:
                raise InvalidInput([{"field": "marks", "message": f"at most {MAX_MARKS} marks per batch"}])
            results = accept_marks(uow, node.config.campus_id, device_id, marks)
        return results, began

    results, began = await node.blocking(store_marks)  # a KioskRefused is answered by the one mapper
    response = json_response({"results": [vars(r) for r in results],
                              "stored": sum(r.outcome in ("stored", "unmatched") for r in results),
                              "duplicates": sum(r.outcome == "duplicate" for r in results),
                              "rejected": sum(r.outcome == "rejected" for r in results)})
    response.headers["server-timing"] = f"store;dur={(time.perf_counter() - began) * 1000:.1f}"
    return response


async def _paired_device(request: Request) -> str | None:
    device_id = request.session.get(DEVICE_KEY)
    if not device_id:
        return None
    return device_id if await request.app.state.node.query(device_secret, device_id) else None


async def pair(request: Request) -> Response:
    """Pair this browser with a kiosk device (its id and secret, from ``campus node kiosk add``)."""
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        device_id, secret = str(form.get("device_id", "")).strip(), str(form.get("secret", "")).strip()
        known = await request.app.state.node.query(device_secret, device_id) if device_id else None
        if known and hmac.compare_digest(known, secret):
            request.session[DEVICE_KEY] = device_id
            return RedirectResponse("/kiosk", status_code=303)
        error = _("Unknown kiosk or wrong secret.")
    return render(TEMPLATES, request, "kiosk_pair.html", {"app_title": request.app.state.node.config.campus_name,
                                                          "error": error}, 401 if error else 200)


async def check_in(request: Request) -> Response:
    """The tablet page: type or scan a student number, get a big clear answer."""
    device_id = await _paired_device(request)
    if device_id is None:
        return RedirectResponse("/kiosk/pair", status_code=303)
    node = request.app.state.node
    answer: dict[str, Any] | None = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, form)
        number = str(form.get("student_number", "")).strip().upper()

        def check(conn_now: datetime) -> tuple[Any, str | None]:
            with node.store.unit_of_work() as uow:
                (result,) = accept_marks(uow, node.config.campus_id, device_id, [
                    {"id": new_id(), "student_number": number, "device_time": conn_now.isoformat()}])
                name = uow.conn.execute(select(students.c.name).where(students.c.number == number)).scalar()
            return result, name

        result, name = await node.blocking(check, node.ctx.now())
        answer = {"ok": result.outcome in ("stored", "unmatched"), "name": name, "outcome": result.outcome,
                  "mark": result.mark}
    device_name = await node.query(lambda conn: conn.execute(
        select(kiosk_devices.c.name).where(kiosk_devices.c.id == device_id)).scalar())
    return render(TEMPLATES, request, "kiosk.html", {"app_title": node.config.campus_name, "answer": answer,
                                                     "device_name": device_name})


def kiosk_routes() -> list[Route]:
    return [Route("/kiosk/v1/marks", guard(DEVICE_SIGNATURE, post_marks), methods=["POST"]),
            Route("/kiosk", guard(DEVICE_SIGNATURE, check_in), methods=["GET", "POST"]),
            Route("/kiosk/pair", guard(PUBLIC, pair), methods=["GET", "POST"])]
