"""``/api/v1/devices``: attendance terminals for administrators (approve, revoke, settings,
commands, staff PINs, putting students on the terminals) and the punches they sent."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from campus.node.devices import queries
from campus.node.devices import use_cases as cases
from campus.schema.tables import attendance_devices
from campus.web.api import Api, Input, Output, items_model, json_response, parse_body, row_model
from campus.web.problems import InvalidInput
from campus.web.usecase import performs

DATE = r"^\d{4}-\d{2}-\d{2}$"
CHARSET = "^(utf-8|gb18030)$"


class DeviceIn(Input):
    serial: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_-]+$")
    name: str = Field(min_length=1, max_length=64)
    charset: str | None = Field(default=None, pattern=CHARSET)
    pinned_address: str | None = Field(default=None, max_length=64)


class DeviceChange(Input):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    charset: str | None = Field(default=None, pattern=CHARSET)
    pinned_address: str | None = Field(default=None, max_length=64)  # "" unpins


class CommandIn(Input):
    kind: str = Field(pattern="^(check|info|reboot|query)$")
    start: str | None = Field(default=None, pattern=DATE)  # query: the period's first and last days
    end: str | None = Field(default=None, pattern=DATE)


class EnrolmentIn(Input):
    student_id: str = Field(min_length=1, max_length=36)


class StaffPinIn(Input):
    user_id: str = Field(min_length=1, max_length=36)


def _day(request: Request, default: date) -> date:
    raw = request.query_params.get("date")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput([{"field": "date", "message": "a date, YYYY-MM-DD"}]) from None


def period(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """The dates of a command's period (validated as YYYY-MM-DD, they may still be no real day)."""
    try:
        return (date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None)
    except ValueError:
        raise InvalidInput([{"field": "start", "message": "a real date, YYYY-MM-DD"}]) from None


def _present(device: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in device.items() if k != "content"}


DeviceOut = row_model(attendance_devices, "Device")  # ``info``: the JSON text it sent about itself
ListedDeviceOut = row_model(attendance_devices, "ListedDevice", info=dict[str, Any], queued=int, failed=int,
                            punches_today=int, last_contact_age=int | None)


class StaffPinOut(Output):
    user_id: str
    pin: int


class ListedStaffPinOut(StaffPinOut):
    display_name: str
    username: str


class StaffPinRemovedOut(StaffPinOut):
    removed: Literal[True]


class CommandQueuedOut(Output):
    command_id: int  # the terminal's command number (C:<id>:)


def register(api: Api) -> None:
    tags = ["devices"]

    @api.route("/devices", "GET", "Attendance terminals (pending, approved, revoked) with their queues and "
               "punches today", "devices.read", tags=tags, response=items_model(ListedDeviceOut, "DeviceList"))
    async def index(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": [_present(d) for d in await node.query(queries.devices, node.ctx)]})

    @api.route("/devices", "POST", "Approve a terminal by its serial number (a pending one or a new one); the "
               "campus's people are queued for it", "devices.manage", body=DeviceIn, tags=tags,
               response=DeviceOut)
    @performs(cases.approve_device)
    async def approve(request: Request) -> Response:
        given = await parse_body(request, DeviceIn)
        device = await request.app.state.node.perform(request, cases.approve_device, given.serial, given.name,
                                                      given.charset, given.pinned_address)
        return json_response(_present(device), 201)

    @api.route("/devices/sync", "POST", "Bring every approved terminal's user list up to date now",
               "devices.manage", tags=tags)
    @performs(cases.bring_people_up_to_date)
    async def sync(request: Request) -> Response:
        return json_response(await request.app.state.node.perform(request, cases.bring_people_up_to_date), 201)

    @api.route("/devices/enrolments", "POST", "Put a current student on every approved terminal now (their PIN "
               "is given if they have none)", "devices.manage", body=EnrolmentIn, tags=tags)
    @performs(cases.enrol_student)
    async def enrol(request: Request) -> Response:
        given = await parse_body(request, EnrolmentIn)
        return json_response(await request.app.state.node.perform(request, cases.enrol_student, given.student_id), 201)

    @api.route("/devices/staff-pins", "GET", "Staff PINs for clock-ins (payroll's records)", "devices.read", tags=tags,
               response=items_model(ListedStaffPinOut, "StaffPinList"))
    async def staff_pins(request: Request) -> Response:
        node = request.app.state.node
        return json_response({"items": await node.query(queries.staff_pins, node.ctx.id)})

    @api.route("/devices/staff-pins", "POST", "Give a staff member a PIN for clock-ins", "devices.manage",
               body=StaffPinIn, tags=tags, response=StaffPinOut)
    @performs(cases.add_staff_pin)
    async def add_staff_pin(request: Request) -> Response:
        given = await parse_body(request, StaffPinIn)
        pin = await request.app.state.node.perform(request, cases.add_staff_pin, given.user_id)
        return json_response({"user_id": given.user_id, "pin": pin}, 201)

    @api.route("/devices/staff-pins/{user_id}", "DELETE", "Take a staff member's PIN away (off every terminal)",
               "devices.manage", tags=tags, response=StaffPinRemovedOut)
    @performs(cases.remove_staff_pin)
    async def remove_staff_pin(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        pin = await request.app.state.node.perform(request, cases.remove_staff_pin, user_id)
        return json_response({"user_id": user_id, "pin": pin, "removed": True})

    @api.route("/devices/punches", "GET", "The campus's punches of a day (?date=, default today), student, staff "
               "and stray", "devices.read", tags=tags)
    async def punches(request: Request) -> Response:
        node = request.app.state.node
        day = _day(request, node.ctx.today())
        return json_response({"date": day.isoformat(), "items": await node.query(queries.punches_of_day, node.ctx, day)})

    @api.route("/devices/commands/{command_id}/retry", "POST", "Queue a failed command again", "devices.manage",
               tags=tags, response=CommandQueuedOut)
    @performs(cases.retry_command)
    async def retry(request: Request) -> Response:
        raw = request.path_params["command_id"]
        if not raw.isdigit():
            raise InvalidInput([{"field": "command_id", "message": "a command number"}])
        new_id = await request.app.state.node.perform(request, cases.retry_command, int(raw))
        return json_response({"command_id": new_id}, 201)

    @api.route("/devices/{device_id}", "GET", "One terminal: its commands (failed ones kept), who is on it, its "
               "punches today", "devices.read", tags=tags)
    async def show(request: Request) -> Response:
        node = request.app.state.node
        return json_response(await node.query(queries.device_detail, node.ctx, request.path_params["device_id"]))

    @api.route("/devices/{device_id}", "PATCH", "Rename a terminal, set its charset (utf-8 or gb18030) or pin it to "
               "an address (\"\" unpins)", "devices.manage", body=DeviceChange, tags=tags,
               response=DeviceOut)
    @performs(cases.change_device)
    async def change(request: Request) -> Response:
        given = await parse_body(request, DeviceChange)
        device = await request.app.state.node.perform(request, cases.change_device, request.path_params["device_id"],
                                                      given.name, given.charset, given.pinned_address)
        return json_response(_present(device))

    @api.route("/devices/{device_id}/revoke", "POST", "Refuse a terminal from now on (its queue is cancelled)",
               "devices.manage", tags=tags, response=DeviceOut)
    @performs(cases.revoke_device)
    async def revoke(request: Request) -> Response:
        device = await request.app.state.node.perform(request, cases.revoke_device, request.path_params["device_id"])
        return json_response(_present(device))

    @api.route("/devices/{device_id}/commands", "POST", "Queue CHECK (upload again), INFO, REBOOT, or a period's "
               "punches again (query); the node never sends SHELL, PutFile, CLEAR or firmware", "devices.manage",
               body=CommandIn, tags=tags, response=CommandQueuedOut)
    @performs(cases.queue_command)
    async def command(request: Request) -> Response:
        given = await parse_body(request, CommandIn)
        command_id = await request.app.state.node.perform(
            request, cases.queue_command, request.path_params["device_id"], given.kind, *period(given.start, given.end))
        return json_response({"command_id": command_id}, 201)

