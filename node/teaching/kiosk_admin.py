"""Attendance kiosks from a screen and the API: add one (its secret shown once, to pair a tablet),
rename it, give it a new secret (pair again), revoke it, and see when each last made contact.
``campus node kiosk add|revoke`` stays for a campus run from the command line."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import Field
from sqlalchemy import Connection, func, select, update
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campus.node.context import NodeWork
from campus.node.screens import TEMPLATES
from campus.node.teaching.kiosks import add_device
from campus.node.workbench.refusals import Refused, refusal
from campus.schema.errors import Conflict, DomainError, Invalid, NotFound
from campus.schema.ids import new_id
from campus.schema.tables import attendance_marks, kiosk_devices, kiosk_requests
from campus.web.api import Api, Input, Output, items_model, json_response, parse_body
from campus.web.auth import actor_of, check_csrf, guard
from campus.web.forms import form_model
from campus.web.i18n import gettext_ as _
from campus.web.templating import flash, form_action, render
from campus.web.usecase import performs, use_case


class KioskIn(Input):
    name: str = Field(min_length=1, max_length=64)


class KioskOut(Output):
    id: str
    name: str
    revoked_at: str | None


class KioskSecretOut(Output):
    """The kiosk's secret, shown this once: the tablet pairs with it."""

    id: str
    name: str
    secret: str


class ListedKioskOut(Output):
    id: str
    name: str
    created_at: str
    revoked_at: str | None
    last_contact: str | None  # its latest check-in or signed request


def _device(conn: Connection, device_id: str) -> dict[str, Any]:
    row = conn.execute(select(kiosk_devices.c.id, kiosk_devices.c.name, kiosk_devices.c.revoked_at).where(
        kiosk_devices.c.id == device_id)).mappings().first()
    if row is None:
        raise NotFound(f"no kiosk {device_id}", device_id=device_id)
    return dict(row)


def _name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise Invalid("name", "from 1 to 64 characters")
    return name


@use_case("kiosks.manage")
def add_kiosk(work: NodeWork, name: str) -> dict[str, str]:
    """Register a kiosk; its secret is in the answer once and kept only on the device afterwards."""
    device = add_device(work.conn, _name(name), new_id())  # the node's own table: never replicated
    work.audit("kiosk_added", target_table="kiosk_devices", target_id=device["id"], after={"name": device["name"]})
    return device


@use_case("kiosks.manage")
def rename_kiosk(work: NodeWork, device_id: str, name: str) -> dict[str, Any]:
    before = _device(work.conn, device_id)
    work.conn.execute(update(kiosk_devices).where(kiosk_devices.c.id == device_id).values(name=_name(name)))
    work.audit("kiosk_renamed", target_table="kiosk_devices", target_id=device_id, before={"name": before["name"]},
               after={"name": name.strip()})
    return _device(work.conn, device_id)


@use_case("kiosks.manage")
def revoke_kiosk(work: NodeWork, device_id: str) -> dict[str, Any]:
    """From now on the kiosk's requests are refused (and a tablet paired with it is unpaired)."""
    device = _device(work.conn, device_id)
    if device["revoked_at"]:
        raise Conflict(f"the kiosk was revoked at {device['revoked_at']}", device_id=device_id)
    work.conn.execute(update(kiosk_devices).where(kiosk_devices.c.id == device_id).values(revoked_at=work.ctx.now_text()))
    work.audit("kiosk_revoked", target_table="kiosk_devices", target_id=device_id, before={"name": device["name"]})
    return _device(work.conn, device_id)


@use_case("kiosks.manage")
def renew_kiosk_secret(work: NodeWork, device_id: str) -> dict[str, str]:
    """A new secret for a kiosk to pair again with (a tablet replaced, a secret seen by someone)."""
    device = _device(work.conn, device_id)
    if device["revoked_at"]:
        raise Conflict("a revoked kiosk gets no new secret: add a new kiosk", device_id=device_id)
    secret = secrets.token_hex(32)
    work.conn.execute(update(kiosk_devices).where(kiosk_devices.c.id == device_id).values(secret=secret))
    work.audit("kiosk_secret_renewed", target_table="kiosk_devices", target_id=device_id,
               after={"name": device["name"]})
    return {"id": device_id, "name": device["name"], "secret": secret}


def kiosk_list(conn: Connection) -> list[dict[str, Any]]:
    """Every kiosk with when it last made contact: its latest check-in or signed request."""
    marked = dict(conn.execute(select(attendance_marks.c.device_id, func.max(attendance_marks.c.recorded_at))
                               .where(attendance_marks.c.device_id.is_not(None))
                               .group_by(attendance_marks.c.device_id)).all())
    asked = dict(conn.execute(select(kiosk_requests.c.device_id, func.max(kiosk_requests.c.received_at))
                              .group_by(kiosk_requests.c.device_id)).all())
    rows = conn.execute(select(kiosk_devices.c.id, kiosk_devices.c.name, kiosk_devices.c.created_at,
                               kiosk_devices.c.revoked_at).order_by(kiosk_devices.c.created_at))
    found = []
    for row in rows.mappings():
        moments = [m for m in (marked.get(row["id"]), asked.get(row["id"])) if m]
        found.append({**dict(row), "last_contact": max(moments) if moments else None})
    return found


# --- screens ----------------------------------------------------------------------------------


def _has_devices_screen(request: Request) -> bool:
    """The ZKTeco terminals have their own screen (campus.node.devices) where the node serves it."""
    return any(getattr(route, "path", None) == "/devices" for route in request.app.routes)


async def kiosks_page(request: Request) -> Response:
    node = request.app.state.node
    return render(TEMPLATES, request, "kiosks.html", {
        "app_title": node.config.campus_name, "kiosks": await node.query(kiosk_list),
        "devices_screen": _has_devices_screen(request)})


def _secret_page(request: Request, device: dict[str, str], renewed: bool) -> Response:
    response = render(TEMPLATES, request, "kiosk_secret.html", {
        "app_title": request.app.state.node.config.campus_name, "device": device, "renewed": renewed})
    response.headers["cache-control"] = "no-store"  # the secret is shown once and kept nowhere else
    return response


@performs(add_kiosk)
async def kiosk_add(request: Request) -> Response:
    node = request.app.state.node
    form = await request.form()
    check_csrf(request, form)
    try:
        given = form_model(form, KioskIn)
        device = await node.perform(request, add_kiosk, given.name)
    except DomainError as exc:
        flash(request, refusal(exc, fields={"name": "Name of the kiosk"}), "error")
        return await kiosks_page(request)
    return _secret_page(request, device, renewed=False)


@performs(renew_kiosk_secret)
async def kiosk_secret(request: Request) -> Response:
    node = request.app.state.node
    form = await request.form()
    check_csrf(request, form)
    try:
        device = await node.perform(request, renew_kiosk_secret, request.path_params["device_id"])
    except DomainError as exc:
        flash(request, refusal(exc), "error")
        return await kiosks_page(request)
    return _secret_page(request, device, renewed=True)


@performs(rename_kiosk)
async def kiosk_rename(request: Request) -> Response:
    node = request.app.state.node

    def rename(form: FormData) -> str:
        try:
            given = form_model(form, KioskIn)
            done = rename_kiosk(node.store, node.ctx, actor_of(request), request.path_params["device_id"], given.name)
        except DomainError as exc:
            raise Refused(refusal(exc, fields={"name": "Name of the kiosk"})) from None
        return _("Kiosk renamed %(name)s") % {"name": done["name"]}

    return await form_action(request, "/kiosks", rename)


@performs(revoke_kiosk)
async def kiosk_revoke(request: Request) -> Response:
    node = request.app.state.node

    def revoke(form: FormData) -> str:
        try:
            done = revoke_kiosk(node.store, node.ctx, actor_of(request), request.path_params["device_id"])
        except DomainError as exc:
            raise Refused(refusal(exc)) from None
        return _("Kiosk %(name)s revoked: its check-ins are refused from now on") % {"name": done["name"]}

    return await form_action(request, "/kiosks", revoke)


def routes() -> list[Route]:
    def screen(path: str, endpoint: Any, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, guard("kiosks.manage", endpoint, screen=True), methods=list(methods))

    return [screen("/kiosks", kiosks_page), screen("/kiosks", kiosk_add, ("POST",)),
            screen("/kiosks/{device_id}/rename", kiosk_rename, ("POST",)),
            screen("/kiosks/{device_id}/revoke", kiosk_revoke, ("POST",)),
            screen("/kiosks/{device_id}/secret", kiosk_secret, ("POST",))]


def register(api: Api) -> None:
    @api.route("/kiosks", "GET", "This node's kiosks with when each last made contact (no secrets)", "kiosks.manage",
               tags=["attendance"], response=items_model(ListedKioskOut, "KioskList"))
    async def index(request: Request) -> Response:
        return json_response({"items": await request.app.state.node.query(kiosk_list)})

    @api.route("/kiosks", "POST", "Add a kiosk: its id and secret, shown this once, pair a tablet at /kiosk/pair",
               "kiosks.manage", body=KioskIn, tags=["attendance"], response=KioskSecretOut)
    @performs(add_kiosk)
    async def add(request: Request) -> Response:
        given = await parse_body(request, KioskIn)
        return json_response(await request.app.state.node.perform(request, add_kiosk, given.name), 201)

    @api.route("/kiosks/{device_id}/rename", "POST", "Rename a kiosk", "kiosks.manage", body=KioskIn,
               tags=["attendance"], response=KioskOut)
    @performs(rename_kiosk)
    async def rename(request: Request) -> Response:
        given = await parse_body(request, KioskIn)
        return json_response(await request.app.state.node.perform(request, rename_kiosk,
                                                                  request.path_params["device_id"], given.name))

    @api.route("/kiosks/{device_id}/revoke", "POST", "Revoke a kiosk: its requests are refused from now on",
               "kiosks.manage", tags=["attendance"], response=KioskOut)
    @performs(revoke_kiosk)
    async def revoke(request: Request) -> Response:
        return json_response(await request.app.state.node.perform(request, revoke_kiosk,
                                                                  request.path_params["device_id"]))

    @api.route("/kiosks/{device_id}/secret", "POST", "A new secret for the kiosk (shown this once): pair it again",
               "kiosks.manage", tags=["attendance"], response=KioskSecretOut)
    @performs(renew_kiosk_secret)
    async def renew(request: Request) -> Response:
        return json_response(await request.app.state.node.perform(request, renew_kiosk_secret,
                                                                  request.path_params["device_id"]), 201)
