"""The devices screens: terminals pending and approved with their last contact, stamps, queued and
failed commands and punches today; approving, revoking and setting them up; staff PINs."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.devices import queries
from campus.node.devices import use_cases as cases
from campus.node.devices.api import CommandIn, DeviceChange, DeviceIn, StaffPinIn, period
from campus.node.screens import TEMPLATES
from campus.web.auth import actor_of, guard
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.templating import form_action, render
from campus.web.usecase import performs

STATUS_LABELS = {"pending": "Pending approval", "approved": "Approved", "revoked": "Revoked"}
STATE_LABELS = {"queued": "Queued", "sent": "Sent, no answer yet", "done": "Done", "failed": "Failed",
                "retried": "Failed, sent again", "cancelled": "Cancelled", "present": "On the terminal",
                "deleting": "Being removed", "deleted": "Removed", "reported": "Enrolled on the terminal"}
KIND_LABELS = {"student": "Student", "staff": "Staff", "stray": "Unknown PIN", "other": "Made on the terminal"}
COMMAND_KINDS = {"check": "Upload everything again (CHECK)", "info": "Report its details (INFO)",
                 "reboot": "Restart (REBOOT)", "query": "Send a period's punches again"}
CHARSET_LABELS = {"utf-8": "UTF-8", "gb18030": "GB18030 (terminal set to Chinese)",
                  "": "As the terminal's language says"}


def _labels() -> dict[str, dict[str, str]]:
    return {"status": {k: _(v) for k, v in STATUS_LABELS.items()}, "state": {k: _(v) for k, v in STATE_LABELS.items()},
            "kind": {k: _(v) for k, v in KIND_LABELS.items()},
            "commands": {k: _(v) for k, v in COMMAND_KINDS.items()},
            "charsets": {k: _(v) for k, v in CHARSET_LABELS.items()}}


async def devices_page(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    ctx = node.ctx

    def read(conn: Any) -> dict[str, Any]:
        return {"devices": queries.devices(conn, ctx), "punches": queries.punches_of_day(conn, ctx, ctx.today()),
                "staff_pins": queries.staff_pins(conn, ctx.id), "staff": queries.staff_without_pin(conn, ctx.id)}

    shown = await node.query(read)
    return render(TEMPLATES, request, "devices.html", {
        "app_title": node.config.campus_name, **shown, "labels": _labels(), "today": ctx.today().isoformat(),
        "may_manage": viewer.can("devices.manage", ctx.id)})


async def device_page(request: Request) -> Response:
    node, viewer = request.app.state.node, request.state.principal
    device = await node.query(queries.device_detail, node.ctx, request.path_params["device_id"])
    return render(TEMPLATES, request, "devices_detail.html", {
        "app_title": node.config.campus_name, "device": device, "labels": _labels(),
        "today": node.ctx.today().isoformat(), "may_manage": viewer.can("devices.manage", node.ctx.id)})


@performs(cases.approve_device)
async def approve(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        given = form_model(form, DeviceIn)
        device = cases.approve_device(node.store, node.ctx, actor_of(request), given.serial, given.name,
                                      given.charset, given.pinned_address)
        return _("Terminal %(serial)s approved; the campus's people are queued for it") % {"serial": device["serial"]}

    return await form_action(request, "/devices", run)


@performs(cases.bring_people_up_to_date)
async def sync_people(request: Request) -> Response:
    node = request.app.state.node

    def run(_form: FormData) -> str:
        done = cases.bring_people_up_to_date(node.store, node.ctx, actor_of(request))
        return _("Queued: %(updates)s to put on terminals, %(deletions)s to take off") % {
            "updates": done["updates_queued"], "deletions": done["deletions_queued"]}

    return await form_action(request, "/devices", run)


@performs(cases.add_staff_pin)
async def add_staff_pin(request: Request) -> Response:
    node = request.app.state.node

    def run(form: FormData) -> str:
        given = form_model(form, StaffPinIn)
        pin = cases.add_staff_pin(node.store, node.ctx, actor_of(request), given.user_id)
        return _("Staff PIN %(pin)s given") % {"pin": pin}

    return await form_action(request, "/devices", run)


@performs(cases.remove_staff_pin)
async def remove_staff_pin(request: Request) -> Response:
    node = request.app.state.node

    def run(_form: FormData) -> str:
        pin = cases.remove_staff_pin(node.store, node.ctx, actor_of(request), request.path_params["user_id"])
        return _("Staff PIN %(pin)s taken away") % {"pin": pin}

    return await form_action(request, "/devices", run)


@performs(cases.change_device)
async def change(request: Request) -> Response:
    node, device_id = request.app.state.node, request.path_params["device_id"]

    def run(form: FormData) -> str:
        given = form_model(form, DeviceChange)
        pinned = str(form.get("pinned_address", "")).strip()  # empty: unpinned
        cases.change_device(node.store, node.ctx, actor_of(request), device_id, given.name, given.charset, pinned)
        return _("Terminal saved")

    return await form_action(request, f"/devices/{device_id}", run)


@performs(cases.revoke_device)
async def revoke(request: Request) -> Response:
    node, device_id = request.app.state.node, request.path_params["device_id"]

    def run(_form: FormData) -> str:
        cases.revoke_device(node.store, node.ctx, actor_of(request), device_id)
        return _("Terminal revoked: its requests are refused from now on")

    return await form_action(request, f"/devices/{device_id}", run)


@performs(cases.queue_command)
async def command(request: Request) -> Response:
    node, device_id = request.app.state.node, request.path_params["device_id"]

    def run(form: FormData) -> str:
        given = form_model(form, CommandIn)
        start, end = period(given.start, given.end) if given.kind == "query" else (None, None)
        cases.queue_command(node.store, node.ctx, actor_of(request), device_id, given.kind, start, end)
        return _("Command queued: the terminal takes it on its next call")

    return await form_action(request, f"/devices/{device_id}", run)


@performs(cases.retry_command)
async def retry(request: Request) -> Response:
    node = request.app.state.node
    raw = request.path_params["command_id"]

    def run(form: FormData) -> str:
        cases.retry_command(node.store, node.ctx, actor_of(request), int(raw) if raw.isdigit() else -1)
        return _("Command queued: the terminal takes it on its next call")

    back = str((await request.form()).get("back", "/devices"))
    return await form_action(request, back if back.startswith("/devices") else "/devices", run)


def routes() -> list[Route]:
    """The devices screens, each behind its action (node/app.py mounts them)."""
    def screen(path: str, action: str, endpoint: Any, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guard(action, endpoint, screen=True), methods=list(methods))

    return [
        screen("/devices", "devices.read", devices_page),
        screen("/devices", "devices.manage", approve, ("POST",)),
        screen("/devices/sync", "devices.manage", sync_people, ("POST",)),
        screen("/devices/staff-pins", "devices.manage", add_staff_pin, ("POST",)),
        screen("/devices/staff-pins/{user_id}/remove", "devices.manage", remove_staff_pin, ("POST",)),
        screen("/devices/commands/{command_id}/retry", "devices.manage", retry, ("POST",)),
        screen("/devices/{device_id}", "devices.read", device_page),
        screen("/devices/{device_id}/settings", "devices.manage", change, ("POST",)),
        screen("/devices/{device_id}/revoke", "devices.manage", revoke, ("POST",)),
        screen("/devices/{device_id}/commands", "devices.manage", command, ("POST",)),
    ]
