"""Read queries of the terminals: the devices screen and API, the metrics, the student's PIN."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from campus.node.devices import people, registry
from campus.schema.context import CampusContext
from campus.schema.tables import (
    attendance_devices,
    device_commands,
    device_pins,
    device_punches,
    device_users,
    students,
    users,
)

RECENT_COMMANDS = 50


def _age(ctx: CampusContext, instant: str | None) -> int | None:
    if not instant:
        return None
    return max(0, int((ctx.now() - datetime.fromisoformat(instant.replace("Z", "+00:00"))).total_seconds()))


def devices(conn: Connection, ctx: CampusContext, day: date | None = None) -> list[dict[str, Any]]:
    """Every terminal the node knows (pending first), with its queue and its punches of ``day``
    (default: the campus's today)."""
    start, end = ctx.day_bounds(day or ctx.today())
    queued: dict[str, int] = dict(conn.execute(select(device_commands.c.device_id, func.count()).where(
        device_commands.c.state.in_(registry.OPEN_STATES)).group_by(device_commands.c.device_id)).all())
    failed: dict[str, int] = dict(conn.execute(select(device_commands.c.device_id, func.count()).where(
        device_commands.c.state == "failed").group_by(device_commands.c.device_id)).all())
    punched: dict[str, int] = dict(conn.execute(select(device_punches.c.device_id, func.count()).where(
        device_punches.c.campus_id == ctx.id, device_punches.c.punched_at >= start,
        device_punches.c.punched_at < end).group_by(device_punches.c.device_id)).all())
    order = {"pending": 0, "approved": 1, "revoked": 2}
    rows = [dict(r) for r in conn.execute(select(attendance_devices)).mappings()]
    rows.sort(key=lambda r: (order.get(r["status"], 3), r["name"], r["serial"]))
    return [{**r, "info": json.loads(r["info"]) if r["info"] else {}, "queued": queued.get(r["id"], 0),
             "failed": failed.get(r["id"], 0), "punches_today": punched.get(r["id"], 0),
             "last_contact_age": _age(ctx, r["last_contact_at"])} for r in rows]


def metrics_rows(conn: Connection, ctx: CampusContext) -> list[dict[str, Any]]:
    return [{k: r[k] for k in ("serial", "status", "queued", "failed", "punches_today", "last_contact_age")}
            for r in devices(conn, ctx)]


def device_detail(conn: Connection, ctx: CampusContext, device_id: str) -> dict[str, Any]:
    """One terminal: its record, its commands (open and failed first), who is on it, today's punches."""
    device = next((d for d in devices(conn, ctx) if d["id"] == device_id), None)
    if device is None:
        raise registry.DeviceNotFound(f"no terminal {device_id}", device_id=device_id)
    commands = [dict(r) for r in conn.execute(select(device_commands).where(
        device_commands.c.device_id == device_id).order_by(
        (device_commands.c.state.in_(["failed", "queued", "sent"])).desc(), device_commands.c.id.desc())
        .limit(RECENT_COMMANDS)).mappings()]
    on_it = [dict(r) for r in conn.execute(select(device_users).where(device_users.c.device_id == device_id)
                                           .order_by(device_users.c.pin)).mappings()]
    start, end = ctx.day_bounds(ctx.today())
    return {**device, "commands": commands, "users": on_it, "punches": punches_between(conn, ctx, start, end, device_id)}


def punches_between(conn: Connection, ctx: CampusContext, start: str, end: str,
                    device_id: str | None = None) -> list[dict[str, Any]]:
    """The campus's punches in [start, end), newest first, with whose they are."""
    query = (select(device_punches, students.c.name.label("student_name"), students.c.number.label("student_number"),
                    users.c.display_name.label("staff_name"), attendance_devices.c.name.label("device_name"))
             .outerjoin(students, students.c.id == device_punches.c.student_id)
             .outerjoin(users, users.c.id == device_punches.c.user_id)
             .outerjoin(attendance_devices, attendance_devices.c.id == device_punches.c.device_id)
             .where(device_punches.c.campus_id == ctx.id, device_punches.c.punched_at >= start,
                    device_punches.c.punched_at < end)
             .order_by(device_punches.c.punched_at.desc()).limit(500))
    if device_id:
        query = query.where(device_punches.c.device_id == device_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def punches_of_day(conn: Connection, ctx: CampusContext, day: date) -> list[dict[str, Any]]:
    start, end = ctx.day_bounds(day)
    return punches_between(conn, ctx, start, end)


def staff_pins(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        select(device_pins.c.pin, device_pins.c.user_id, users.c.display_name, users.c.username)
        .join(users, users.c.id == device_pins.c.user_id)
        .where(device_pins.c.campus_id == campus_id, device_pins.c.kind == "staff", device_pins.c.deleted.is_(False))
        .order_by(device_pins.c.pin)).mappings()]


def staff_without_pin(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    have = select(device_pins.c.user_id).where(device_pins.c.campus_id == campus_id, device_pins.c.kind == "staff",
                                              device_pins.c.deleted.is_(False), device_pins.c.user_id.is_not(None))
    return [dict(r) for r in conn.execute(select(users.c.id, users.c.display_name, users.c.username).where(
        users.c.deleted.is_(False), users.c.active.is_(True), users.c.id.not_in(have))
        .order_by(users.c.username)).mappings()]


def device_pin(conn: Connection, campus_id: str, student_id: str) -> int | None:
    """The student's PIN on this campus's terminals (``device_pin`` of the student's record)."""
    return people.pin_of(conn, campus_id, student_id)


def people_out_of_date(conn: Connection, campus_id: str) -> bool:
    """Whether the terminals' user lists lag the campus's records (read-only: an idle node's job
    writes nothing, and a campus without an approved terminal has nothing to keep up to date)."""
    terminals = registry.approved_devices(conn)
    if not terminals:
        return False
    missing = conn.execute(text(people.STUDENTS_HERE + " AND NOT EXISTS (SELECT 1 FROM device_pins p"
                                " WHERE p.campus_id = :campus AND p.student_id = s.id) LIMIT 1"),
                           {"campus": campus_id}).first()
    if missing:
        return True
    wanted = people.wanted_people(conn, campus_id)
    for device in terminals:
        updates, deletes = people.plan(wanted, people.held_by(conn, device["id"]))
        if updates or deletes:
            return True
    return False
