"""Attendance terminals: one use case per action (see ``campus.web.usecase``).

What a terminal does (handshake, uploads, polls, command results) runs as the machine actor
``device:<serial>`` under ``device-serial``, which no staff role has and which is not audited
(see ``NOT_SENSITIVE``): every such use case first admits the terminal (an unknown serial is
recorded as pending, and nothing else happens). What an administrator does (approve, revoke,
change, queue a command, staff PINs, bring the terminals up to date now) is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from campus.node.context import NodeWork
from campus.node.devices import people, protocol, punches, registry
from campus.node.devices.settings import DeviceSettings
from campus.schema.context import Actor
from campus.schema.errors import Invalid
from campus.schema.times import utc_text
from campus.web.usecase import use_case

TERMINAL = "device-serial"
QUEUEABLE = {"check": protocol.check_command("CHECK"), "info": protocol.check_command("INFO"),
             "reboot": protocol.check_command("REBOOT")}


def terminal_actor(serial: str, address: str | None) -> Actor:
    """Who acts when a terminal calls: the machine ``device:<serial>``, from its address."""
    return Actor(None, address, f"device:{protocol.clean(serial)[:32]}")


@dataclass
class Answer:
    """What the node answers a terminal: its text, or why it is refused (nothing was stored)."""

    text: str = ""
    refusal: str | None = None
    charset: str = "utf-8"
    counts: punches.PunchCounts | None = None
    device_id: str | None = None
    details: dict[str, int] = field(default_factory=dict)


def _admit(work: NodeWork, serial: str, address: str | None, settings: DeviceSettings, **seen: Any) -> registry.Admission:
    return registry.admit(work.conn, serial, address, work.ctx.now_text(), max_pending=settings.max_pending, **seen)


def _refused(admission: registry.Admission) -> Answer:
    return Answer(refusal=admission.refusal)


# --- what terminals do ------------------------------------------------------------------------


@use_case(TERMINAL)
def handshake(work: NodeWork, serial: str, address: str | None, push_version: str | None, language: str | None,
              settings: DeviceSettings) -> Answer:
    """``GET /iclock/cdata?options=all``: the options for an approved terminal, its stamps included."""
    admission = _admit(work, serial, address, settings, push_version=push_version or "", language=language)
    if not admission.admitted:
        return _refused(admission)
    device = admission.device
    assert device is not None
    offset = work.ctx.now().astimezone(work.ctx.zone).utcoffset() or timedelta(0)
    text = protocol.handshake(device["serial"], protocol.Stamps(device["attlog_stamp"], device["operlog_stamp"],
                                                                device["photo_stamp"]),
                              settings.schedule, protocol.timezone_option(offset), push_version)
    return Answer(text, charset=device["charset"], device_id=device["id"])


@use_case(TERMINAL)
def upload_punches(work: NodeWork, serial: str, address: str | None, stamp: str | None, body: bytes,
                   settings: DeviceSettings) -> Answer:
    """``POST /iclock/cdata?table=ATTLOG``: every punch kept once, a student's check-in marked."""
    admission = _admit(work, serial, address, settings)
    if not admission.admitted:
        return _refused(admission)
    device = admission.device
    assert device is not None
    parsed = protocol.attlog(body)
    counts = punches.store_punches(work.uow, work.ctx, device, parsed.records, work.ctx.now_text())
    counts.malformed = len(parsed.malformed)
    registry.note_malformed(work.conn, device["id"], parsed.malformed)
    registry.keep_stamp(work.conn, device["id"], "attlog_stamp", stamp)
    return Answer(protocol.ok(parsed.lines), counts=counts, device_id=device["id"])


@use_case(TERMINAL)
def upload_operations(work: NodeWork, serial: str, address: str | None, stamp: str | None, body: bytes,
                      settings: DeviceSettings) -> Answer:
    """``POST /iclock/cdata?table=OPERLOG``: who is enrolled on the terminal and with what (never
    a biometric template)."""
    admission = _admit(work, serial, address, settings)
    if not admission.admitted:
        return _refused(admission)
    device = admission.device
    assert device is not None
    parsed = protocol.operlog(body)
    now = work.ctx.now_text()
    for record in parsed.records:
        if isinstance(record, protocol.UserOnDevice | protocol.Biometric):
            people.reported(work.conn, work.ctx.id, device["id"], record, now)
    registry.note_malformed(work.conn, device["id"], parsed.malformed)
    registry.keep_stamp(work.conn, device["id"], "operlog_stamp", stamp)
    return Answer(protocol.ok(parsed.lines), device_id=device["id"],
                  details={"records": len(parsed.records), "malformed": len(parsed.malformed)})


@use_case(TERMINAL)
def upload_photo(work: NodeWork, serial: str, address: str | None, stamp: str | None, body: bytes,
                 settings: DeviceSettings) -> Answer:
    """``POST /iclock/cdata?table=ATTPHOTO``: kept with its punch, or accepted and discarded."""
    admission = _admit(work, serial, address, settings)
    if not admission.admitted:
        return _refused(admission)
    device = admission.device
    assert device is not None
    photo = protocol.attphoto(body)
    kept = 0
    if photo is not None and settings.keep_photos:
        kept = int(punches.store_photo(work.conn, work.ctx, device, photo, work.ctx.now_text()))
    elif photo is None:
        registry.note_malformed(work.conn, device["id"], ["ATTPHOTO: " + protocol.clean(body[:80].decode(
            "latin-1"))])
    registry.keep_stamp(work.conn, device["id"], "photo_stamp", stamp)
    return Answer(protocol.ok(), device_id=device["id"], details={"kept": kept})


@use_case(TERMINAL)
def upload_options(work: NodeWork, serial: str, address: str | None, body: bytes, settings: DeviceSettings) -> Answer:
    """``POST /iclock/cdata?table=options``: what the terminal says about itself."""
    admission = _admit(work, serial, address, settings)
    if not admission.admitted:
        return _refused(admission)
    device = admission.device
    assert device is not None
    registry.note_info(work.conn, device["id"], protocol.options(body))
    return Answer(protocol.ok(), device_id=device["id"])


@use_case(TERMINAL)
def poll(work: NodeWork, serial: str, address: str | None, info: str | None, settings: DeviceSettings) -> Answer:
    """``GET /iclock/getrequest``: the commands waiting for the terminal, or OK."""
    admission = _admit(work, serial, address, settings)
    if not admission.admitted:
        return _refused(admission)
    device = admission.device
    assert device is not None
    if info:
        registry.note_info(work.conn, device["id"], {"INFO": protocol.clean(info)[:200]})
    now = work.ctx.now()
    resend_before = utc_text(now - timedelta(seconds=settings.command_timeout_seconds))
    commands = registry.take_commands(work.conn, device["id"], utc_text(now), settings.commands_per_poll,
                                      resend_before)
    return Answer(protocol.command_lines(commands), charset=device["charset"], device_id=device["id"],
                  details={"commands": len(commands)})


@use_case(TERMINAL)
def report_results(work: NodeWork, serial: str, address: str | None, body: bytes, settings: DeviceSettings) -> Answer:
    """``POST /iclock/devicecmd``: each command's result; Return=0 clears it, a failure stays listed."""
    admission = _admit(work, serial, address, settings)
    if not admission.admitted:
        return _refused(admission)
    device = admission.device
    assert device is not None
    parsed = protocol.command_results(body)
    now = work.ctx.now_text()
    failed = 0
    for result in parsed.records:
        command = registry.answer_command(work.conn, device["id"], result, now)
        if command is not None:
            failed += command["state"] == "failed"
            people.command_answered(work.conn, device["id"], command, now)
            if result.info:
                registry.note_info(work.conn, device["id"], result.info)
    registry.note_malformed(work.conn, device["id"], parsed.malformed)
    return Answer(protocol.ok(), device_id=device["id"], details={"results": len(parsed.records), "failed": failed})


@use_case(TERMINAL)
def ping(work: NodeWork, serial: str, address: str | None, settings: DeviceSettings) -> Answer:
    """``GET /iclock/ping``: the terminal is alive (and busy uploading)."""
    admission = _admit(work, serial, address, settings)
    if not admission.admitted:
        return _refused(admission)
    assert admission.device is not None
    return Answer(protocol.ok(), device_id=admission.device["id"])


@use_case(TERMINAL)
def keep_people_up_to_date(work: NodeWork) -> dict[str, int]:
    """The scheduled job: a PIN for every current student, and on every approved terminal exactly
    the people who should be there (new and renamed ones put on, finished and withdrawn ones off)."""
    return _bring_people_up_to_date(work)


def _bring_people_up_to_date(work: NodeWork) -> dict[str, int]:
    """PINs for the campus's current students and the approved terminals' queues, once the campus
    has a terminal (before, nothing is written: a campus without terminals needs no PINs)."""
    now = work.ctx.now_text()
    terminals = registry.approved_devices(work.conn)
    given = people.give_pins(work.uow, work.ctx.id, now) if terminals else 0
    wanted = people.wanted_people(work.conn, work.ctx.id)
    updates = deletes = 0
    for device in terminals:
        put, took = people.bring_up_to_date(work.conn, device, wanted, now, work.actor.username)
        updates, deletes = updates + put, deletes + took
    return {"pins_given": given, "updates_queued": updates, "deletions_queued": deletes}


# --- what administrators do ---------------------------------------------------------------------


@use_case("devices.manage")
def approve_device(work: NodeWork, serial: str, name: str, charset: str | None = None,
                   pinned_address: str | None = None) -> dict[str, Any]:
    """Approve a terminal (one that called and waits as pending, or one not seen yet) and queue
    the campus's people for it."""
    device = registry.approve(work.conn, serial, name, work.ctx.now_text(), charset=charset,
                              pinned_address=pinned_address)
    work.audit("device_approved", target_table="attendance_devices", target_id=device["id"],
               after={"serial": device["serial"], "name": device["name"], "charset": device["charset"],
                      "pinned_address": device["pinned_address"]})
    _bring_people_up_to_date(work)
    return device


@use_case("devices.manage")
def revoke_device(work: NodeWork, device_id: str) -> dict[str, Any]:
    """Refuse the terminal from now on; what was queued for it is cancelled."""
    device = registry.revoke(work.conn, device_id, work.ctx.now_text())
    work.audit("device_revoked", target_table="attendance_devices", target_id=device_id,
               after={"serial": device["serial"]})
    return device


@use_case("devices.manage")
def change_device(work: NodeWork, device_id: str, name: str | None = None, charset: str | None = None,
                  pinned_address: str | None = None) -> dict[str, Any]:
    before = registry.device_row(work.conn, device_id)
    device = registry.change(work.conn, device_id, name=name, charset=charset, pinned_address=pinned_address)
    work.audit("device_changed", target_table="attendance_devices", target_id=device_id,
               before={k: before[k] for k in ("name", "charset", "pinned_address")},
               after={k: device[k] for k in ("name", "charset", "pinned_address")})
    return device


@use_case("devices.manage")
def queue_command(work: NodeWork, device_id: str, kind: str, start: date | None = None,
                  end: date | None = None) -> int:
    """Queue one of the commands an administrator may send: CHECK (upload what it holds again),
    INFO, REBOOT, or a period's punches again (``query``)."""
    device = registry.device_row(work.conn, device_id)
    if kind == "query":
        if start is None or end is None or end < start:
            raise Invalid("start", "a period: start and end dates, end not before start")
        command = protocol.query_attlog(datetime.combine(start, datetime.min.time()),
                                        datetime.combine(end, datetime.max.time().replace(microsecond=0)))
    elif kind in QUEUEABLE:
        command = QUEUEABLE[kind]
    else:
        raise Invalid("kind", f"one of {', '.join([*QUEUEABLE, 'query'])}")
    command_id = registry.queue(work.conn, device["id"], command, kind, work.ctx.now_text(), by=work.actor.username)
    work.audit("device_command_queued", target_table="device_commands", target_id=str(command_id),
               after={"device": device["serial"], "command": command})
    return command_id


@use_case("devices.manage")
def retry_command(work: NodeWork, command_id: int) -> int:
    new_id = registry.retry(work.conn, command_id, work.ctx.now_text(), work.actor.username)
    work.audit("device_command_queued", target_table="device_commands", target_id=str(new_id),
               after={"retry_of": command_id})
    return new_id


@use_case("devices.manage")
def bring_people_up_to_date(work: NodeWork) -> dict[str, int]:
    """What the job does, now, at an administrator's request."""
    done = _bring_people_up_to_date(work)
    work.audit("device_people_synced", after=done)
    return done


@use_case("devices.manage")
def enrol_student(work: NodeWork, student_id: str) -> dict[str, Any]:
    """Put one current student on every approved terminal of the campus now (a PIN if none yet)."""
    people.current_student(work.conn, work.ctx.id, student_id)
    people.give_pins(work.uow, work.ctx.id, work.ctx.now_text(), [student_id])
    done = _bring_people_up_to_date(work)
    pin = people.pin_of(work.conn, work.ctx.id, student_id)
    work.audit("student_enrolled_on_devices", target_table="students", target_id=student_id, after={"pin": pin})
    return {"student_id": student_id, "device_pin": pin, **done}


@use_case("devices.manage")
def add_staff_pin(work: NodeWork, user_id: str) -> int:
    pin = people.add_staff_pin(work.uow, work.ctx.id, user_id, work.ctx.now_text())
    work.audit("staff_pin_added", target_table="users", target_id=user_id, after={"pin": pin})
    _bring_people_up_to_date(work)
    return pin


@use_case("devices.manage")
def remove_staff_pin(work: NodeWork, user_id: str) -> int:
    pin = people.remove_staff_pin(work.uow, work.ctx.id, user_id)
    work.audit("staff_pin_removed", target_table="users", target_id=user_id, after={"pin": pin})
    _bring_people_up_to_date(work)
    return pin


def keep_terminals_up_to_date(store: Any, ctx: Any) -> dict[str, int] | None:
    """The node's job: bring PINs and the terminals' user lists up to date when they lag (a read
    first, so an idle node writes nothing)."""
    from campus.node.devices.queries import people_out_of_date

    with store.read() as conn:
        if not people_out_of_date(conn, ctx.id):
            return None
    return keep_people_up_to_date(store, ctx, Actor.machine("device-people"))
