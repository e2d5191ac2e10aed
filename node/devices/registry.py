"""Terminals registered at the node, and the commands queued for them.

A terminal is known by its serial number. One the node has never seen is recorded as pending
(with the address it called from) and gets nothing until an administrator approves it; a revoked
one gets nothing again. An approved terminal may be pinned to its address. Commands wait in a
queue per terminal; only those :func:`campus.node.devices.protocol.check_command` admits can
enter it, whoever asks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from campus.node.devices import protocol
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.ids import new_id
from campus.schema.tables import attendance_devices, device_commands

SERIAL = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
STATUSES = ("pending", "approved", "revoked")
OPEN_STATES = ("queued", "sent")


class DeviceNotFound(NotFound):
    pass


class CommandRefused(Invalid):
    """A command the node never sends (SHELL, PutFile, CLEAR DATA, firmware...) (422)."""

    def __init__(self, detail: str) -> None:
        super().__init__("command", detail)


@dataclass(frozen=True)
class Admission:
    """Whether a terminal's request is served: its row when approved, else why not."""

    device: dict[str, Any] | None
    refusal: str | None = None  # no_serial | unknown | pending | revoked | address | too_many_pending

    @property
    def admitted(self) -> bool:
        return self.refusal is None and self.device is not None


def valid_serial(serial: str) -> str:
    serial = (serial or "").strip()
    if not SERIAL.match(serial):
        raise Invalid("serial", "a terminal's serial number: 1 to 32 letters, digits, - or _")
    return serial


def device_by_serial(conn: Connection, serial: str) -> dict[str, Any] | None:
    row = conn.execute(select(attendance_devices).where(attendance_devices.c.serial == serial)).mappings().first()
    return dict(row) if row else None


def device_row(conn: Connection, device_id: str) -> dict[str, Any]:
    row = conn.execute(select(attendance_devices).where(attendance_devices.c.id == device_id)).mappings().first()
    if row is None:
        raise DeviceNotFound(f"no terminal {device_id}", device_id=device_id)
    return dict(row)


def approved_devices(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(attendance_devices).where(
        attendance_devices.c.status == "approved").order_by(attendance_devices.c.serial)).mappings()]


def admit(conn: Connection, serial: str | None, address: str | None, now: str, *, push_version: str | None = None,
          language: str | None = None, max_pending: int = 50) -> Admission:
    """Record the terminal's call and say whether it is served. An unknown serial is registered as
    pending (unless too many already wait); a known one's last contact and address are kept."""
    serial = (serial or "").strip()
    if not SERIAL.match(serial):
        return Admission(None, "no_serial")
    address = (address or "")[:64] or None
    device = device_by_serial(conn, serial)
    if device is None:
        waiting = conn.execute(select(func.count()).select_from(attendance_devices).where(
            attendance_devices.c.status == "pending")).scalar_one()
        if waiting >= max_pending:
            return Admission(None, "too_many_pending")
        conn.execute(insert(attendance_devices).values(
            id=new_id(), serial=serial, name=serial, status="pending", charset=protocol.default_charset(language),
            push_version=protocol.clean(push_version or "")[:16] or None, language=protocol.clean(language or "")[:8] or None,
            first_address=address, last_address=address, last_contact_at=now, created_at=now))
        return Admission(None, "unknown")
    if device["status"] == "approved" and device["pinned_address"] and device["pinned_address"] != address:
        return Admission(None, "address")  # not even its contact is recorded: it is not that terminal
    seen: dict[str, Any] = {"last_contact_at": now, "last_address": address}
    if push_version is not None:  # a handshake says what it speaks (an old terminal says nothing)
        seen["push_version"] = protocol.clean(push_version)[:16] or None
    if language:
        seen["language"] = protocol.clean(language)[:8]
        if not device["charset"]:  # approved before it called, with no charset chosen: its language says
            seen["charset"] = protocol.default_charset(language)
    conn.execute(update(attendance_devices).where(attendance_devices.c.id == device["id"]).values(seen))
    device.update(seen)
    if device["status"] != "approved":
        return Admission(None, device["status"])
    return Admission(device)


def keep_stamp(conn: Connection, device_id: str, column: str, value: str | None) -> None:
    """Remember the Stamp= of an upload the node has stored: the handshake gives it back."""
    kept = protocol.stamp(value)
    if kept is not None:
        conn.execute(update(attendance_devices).where(attendance_devices.c.id == device_id).values({column: kept}))


def note_malformed(conn: Connection, device_id: str, lines: list[str]) -> None:
    """Lines the node could not read: counted on the terminal's record, the last one kept to show."""
    if lines:
        conn.execute(update(attendance_devices).where(attendance_devices.c.id == device_id).values(
            malformed_lines=attendance_devices.c.malformed_lines + len(lines), last_malformed=lines[-1]))


def note_info(conn: Connection, device_id: str, found: dict[str, str]) -> None:
    """What a terminal told about itself (options, INFO=), merged into what it said before."""
    if not found:
        return
    before = conn.execute(select(attendance_devices.c.info).where(attendance_devices.c.id == device_id)).scalar()
    merged = {**(json.loads(before) if before else {}), **found}
    conn.execute(update(attendance_devices).where(attendance_devices.c.id == device_id).values(
        info=json.dumps(dict(list(merged.items())[:100]), ensure_ascii=False)))


def approve(conn: Connection, serial: str, name: str, now: str, *, charset: str | None = None,
            pinned_address: str | None = None) -> dict[str, Any]:
    """Approve a terminal: the pending one that called with this serial, or a new one."""
    serial = valid_serial(serial)
    name = protocol.clean(name).strip()[:64]
    if not name:
        raise Invalid("name", "a terminal needs a name (where it stands)")
    if charset is not None and charset not in protocol.CHARSETS:
        raise Invalid("charset", f"one of {', '.join(protocol.CHARSETS)}")
    device = device_by_serial(conn, serial)
    values: dict[str, Any] = {"name": name, "status": "approved", "approved_at": now, "revoked_at": None}
    if charset:
        values["charset"] = charset
    if pinned_address is not None:
        values["pinned_address"] = protocol.clean(pinned_address).strip()[:64] or None
    if device is None:  # not called yet: without a chosen charset, its first handshake's language decides
        conn.execute(insert(attendance_devices).values(id=new_id(), serial=serial, charset=charset or "",
                                                       created_at=now, **{k: v for k, v in values.items()
                                                                         if k != "charset"}))
    else:
        conn.execute(update(attendance_devices).where(attendance_devices.c.id == device["id"]).values(values))
    found = device_by_serial(conn, serial)
    assert found is not None
    return found


def revoke(conn: Connection, device_id: str, now: str) -> dict[str, Any]:
    device = device_row(conn, device_id)
    if device["status"] == "revoked":
        raise Conflict("the terminal is already revoked", device_id=device_id)
    conn.execute(update(attendance_devices).where(attendance_devices.c.id == device_id).values(
        status="revoked", revoked_at=now))
    conn.execute(update(device_commands).where(device_commands.c.device_id == device_id,
                                               device_commands.c.state.in_(OPEN_STATES)).values(state="cancelled"))
    return device_row(conn, device_id)


def change(conn: Connection, device_id: str, *, name: str | None = None, charset: str | None = None,
           pinned_address: str | None = None) -> dict[str, Any]:
    """Rename a terminal, set its charset, or pin it to an address ("" unpins it)."""
    device_row(conn, device_id)
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = protocol.clean(name).strip()[:64]
        if not values["name"]:
            raise Invalid("name", "a terminal needs a name (where it stands)")
    if charset is not None:
        if charset not in protocol.CHARSETS:
            raise Invalid("charset", f"one of {', '.join(protocol.CHARSETS)}")
        values["charset"] = charset
    if pinned_address is not None:
        values["pinned_address"] = protocol.clean(pinned_address).strip()[:64] or None
    if values:
        conn.execute(update(attendance_devices).where(attendance_devices.c.id == device_id).values(values))
    return device_row(conn, device_id)


# --- the command queue -----------------------------------------------------------------------


def queue(conn: Connection, device_id: str, command: str, kind: str, now: str, *, pin: str | None = None,
          by: str | None = None) -> int:
    """Queue ``command`` for the terminal; a command the node never sends is refused here, whoever
    built it. A user command replaces one for the same PIN that has not gone out yet."""
    try:
        protocol.check_command(command)
    except protocol.CommandRefused as exc:
        raise CommandRefused(str(exc)) from None
    if pin is not None:
        conn.execute(update(device_commands).where(
            device_commands.c.device_id == device_id, device_commands.c.pin == pin,
            device_commands.c.state == "queued").values(state="cancelled"))
    made = conn.execute(insert(device_commands).values(
        device_id=device_id, command=command, kind=kind, pin=pin, state="queued", queued_at=now,
        queued_by=(by or "")[:64] or None, sent_count=0)).inserted_primary_key
    assert made is not None
    return int(made[0])


def take_commands(conn: Connection, device_id: str, now: str, limit: int, resend_before: str) -> list[tuple[int, str]]:
    """The commands to send on this poll, marked sent: those queued, and those sent before
    ``resend_before`` that the terminal never answered (the answer may have been lost)."""
    rows = conn.execute(select(device_commands.c.id, device_commands.c.command).where(
        device_commands.c.device_id == device_id,
        (device_commands.c.state == "queued")
        | ((device_commands.c.state == "sent") & (device_commands.c.sent_at < resend_before)))
        .order_by(device_commands.c.id).limit(limit)).all()
    if rows:
        conn.execute(update(device_commands).where(device_commands.c.id.in_([r.id for r in rows])).values(
            state="sent", sent_at=now, sent_count=device_commands.c.sent_count + 1))
    return [(r.id, r.command) for r in rows]


def answer_command(conn: Connection, device_id: str, result: protocol.CommandResult, now: str) -> dict[str, Any] | None:
    """Record the terminal's result for one command: Return=0 is done, anything else failed (and
    stays listed). A result for a command of another terminal, or none, is ignored."""
    row = conn.execute(select(device_commands).where(device_commands.c.id == result.id,
                                                     device_commands.c.device_id == device_id)).mappings().first()
    if row is None or row["state"] in ("done", "cancelled", "retried"):
        return None
    state = "done" if result.code == 0 else "failed"
    detail = json.dumps(result.info, ensure_ascii=False) if result.info else (result.command or None)
    conn.execute(update(device_commands).where(device_commands.c.id == result.id).values(
        state=state, answered_at=now, return_code=result.code, result=detail))
    return {**dict(row), "state": state, "return_code": result.code}


def retry(conn: Connection, command_id: int, now: str, by: str | None) -> int:
    """Queue a failed command again; the failure stays in the list as retried."""
    row = conn.execute(select(device_commands).where(device_commands.c.id == command_id)).mappings().first()
    if row is None:
        raise NotFound(f"no command {command_id}", command_id=command_id)
    if row["state"] != "failed":
        raise Conflict(f"only a failed command is retried; this one is {row['state']}", state=row["state"])
    conn.execute(update(device_commands).where(device_commands.c.id == command_id).values(state="retried"))
    return queue(conn, row["device_id"], row["command"], row["kind"], now, pin=row["pin"], by=by)
