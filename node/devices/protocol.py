"""ZKTeco's PUSH protocol (ADMS, "iclock"), as pure functions: what a terminal sends, parsed;
what the node answers, formatted. Nothing here reads a store or a clock.

Reference: ZKTeco "Attendance PUSH Communication Protocol" (PUSH SDK 2.4.1). Terminals differ,
so parsing is liberal: a line needs only what the node cannot do without (a PIN and a time for a
punch), extra fields are kept or ignored, and a line that cannot be read is skipped and counted
instead of failing its neighbours. Formatting is strict: every value the node puts into a command
line is cleaned of CR, LF, TAB and other control characters, so a name cannot start a second
command or a second field, and only the commands of :data:`ALLOWED_COMMANDS` can be built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

PUSH_VERSION = "2.4.1"
CHARSETS = ("utf-8", "gb18030")
CHINESE = "83"  # language= of a terminal set to Simplified Chinese
NAME_BYTES = 24  # what a terminal's user name holds; UTF-8 bytes, so it fits in either charset
PIN = re.compile(r"^[0-9A-Za-z_-]{1,24}$")
STAMP = re.compile(r"^\d{1,20}$")
TIME = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$")
PHOTO_NAME = re.compile(r"^(\d{14})-([0-9A-Za-z_-]{1,24})\.jpg$", re.I)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
T = TypeVar("T")

# What the node may ever queue. SHELL runs a command on the terminal, PutFile writes a file to it,
# CLEAR wipes its data or logs and UPGRADE replaces its firmware: never, whoever asks.
# An entry ending in a space starts a command with fields; the others are the whole command.
ALLOWED_COMMANDS = ("DATA UPDATE USERINFO ", "DATA DELETE USERINFO ", "DATA QUERY ATTLOG ", "DATA QUERY USERINFO",
                    "CHECK", "INFO", "REBOOT", "LOG")
FORBIDDEN_COMMANDS = ("SHELL", "PUTFILE", "GETFILE", "CLEAR", "UPGRADE", "FIRMWARE", "SET OPTION", "RELOAD")
# Punch states that leave rather than arrive: stored, but no check-in mark is made of them.
LEAVING_STATES = frozenset({"1", "2", "5"})  # check-out, break out, overtime out


class CommandRefused(ValueError):
    """A command the node never sends to a terminal."""


@dataclass(frozen=True)
class Parsed(Generic[T]):
    """What a body held: the records read, and the lines that could not be (kept for the screen)."""

    records: list[T] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)

    @property
    def lines(self) -> int:
        """Every non-blank line: what ``OK: n`` counts (a skipped line is never worth re-sending)."""
        return len(self.records) + len(self.malformed)


def clean(value: object) -> str:
    """``value`` as text without CR, LF, TAB or any other control character."""
    return CONTROL.sub("", str(value))


def decode_line(raw: bytes) -> str:
    """A line from a terminal: UTF-8 when it is, else GB18030 (what a terminal set to Chinese sends)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _lines(body: bytes) -> Iterator[str]:
    for raw in body.split(b"\n"):
        line = decode_line(raw.rstrip(b"\r")).strip("\x00")
        if line.strip():
            yield line


def default_charset(language: str | None) -> str:
    return "gb18030" if (language or "").strip() == CHINESE else "utf-8"


def encode(text: str, charset: str) -> bytes:
    """An answer in the terminal's charset (a character it cannot hold becomes ``?``)."""
    return text.encode(charset if charset in CHARSETS else "utf-8", errors="replace")


def stamp(value: str | None) -> str | None:
    """A Stamp= the node keeps: digits only, else None."""
    value = (value or "").strip()
    return value if STAMP.match(value) else None


def parse_time(text: str) -> datetime | None:
    """A terminal's local time (``2026-12-04 08:01:02``, liberal about separators and seconds)."""
    found = TIME.match(text.strip())
    if not found:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in found.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def timezone_option(offset: timedelta) -> str:
    """TimeZone=: the campus's UTC offset in hours, or in minutes when it is not whole hours."""
    minutes = int(offset.total_seconds()) // 60
    return str(minutes // 60) if minutes % 60 == 0 else str(minutes)


# --- the handshake ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stamps:
    attlog: str = "0"
    operlog: str = "0"
    photo: str = "0"


@dataclass(frozen=True)
class Schedule:
    """When the terminal calls: ErrorDelay and Delay in seconds, TransTimes, TransInterval in minutes."""

    error_delay: int = 30
    delay: int = 10
    trans_times: str = "00:00;14:05"
    trans_interval: int = 1
    realtime: bool = True


TRANS_FLAG = "TransData AttLog\tOpLog\tEnrollUser\tChgUser"


def handshake(serial: str, stamps: Stamps, schedule: Schedule, timezone: str, push_version: str | None) -> str:
    """The answer to ``GET /iclock/cdata?SN=...&options=all``: one option a line. A terminal that
    sent no ``pushver`` is an old one, which knows its stamps as Stamp, OpStamp and PhotoStamp."""
    if push_version:
        named = [f"ATTLOGStamp={stamps.attlog}", f"OPERLOGStamp={stamps.operlog}", f"ATTPHOTOStamp={stamps.photo}"]
    else:
        named = [f"Stamp={stamps.attlog}", f"OpStamp={stamps.operlog}", f"PhotoStamp={stamps.photo}"]
    lines = [f"GET OPTION FROM: {clean(serial)}", *named,
             f"ErrorDelay={schedule.error_delay}", f"Delay={schedule.delay}",
             f"TransTimes={clean(schedule.trans_times)}", f"TransInterval={schedule.trans_interval}",
             f"TransFlag={TRANS_FLAG}", f"TimeZone={clean(timezone)}", f"Realtime={int(schedule.realtime)}",
             "Encrypt=None", f"ServerVer={PUSH_VERSION}", f"PushProtVer={PUSH_VERSION}"]
    return "\n".join(lines) + "\n"


# --- attendance records ----------------------------------------------------------------------


@dataclass(frozen=True)
class Punch:
    """One ATTLOG line: PIN, local time, then status, verify mode, work code and whatever follows."""

    pin: str
    time: datetime  # as the terminal keeps it: campus-local, no zone
    status: str | None = None
    verify: str | None = None
    workcode: str | None = None
    extra: tuple[str, ...] = ()

    @property
    def local_text(self) -> str:
        return self.time.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def arrives(self) -> bool:
        """A check-in (or a terminal that does not say): it becomes an attendance mark."""
        return self.status not in LEAVING_STATES

    def extra_json(self) -> str | None:
        return json.dumps(list(self.extra), ensure_ascii=False)[:1000] if self.extra else None

    def line(self) -> str:
        """The line as a terminal sends it (the simulator's and the tests' side)."""
        fields = [self.pin, self.local_text, self.status or "0", self.verify or "1", self.workcode or "0",
                  *self.extra]
        return "\t".join(fields)


def _field(value: str | None, size: int) -> str | None:
    value = clean(value or "").strip()
    return value[:size] or None


def parse_punch(line: str) -> Punch | None:
    fields = [f.strip() for f in line.split("\t")]
    if len(fields) < 2:  # no tab at all: be liberal about spaces (PIN, date, time, ...)
        words = line.split()
        fields = [words[0], " ".join(words[1:3]), *words[3:]] if len(words) >= 3 else words
    if len(fields) < 2 or not PIN.match(fields[0]):
        return None
    at = parse_time(fields[1])
    if at is None:
        return None
    rest = fields[2:]
    return Punch(fields[0], at, _field(rest[0] if rest else None, 8), _field(rest[1] if len(rest) > 1 else None, 8),
                 _field(rest[2] if len(rest) > 2 else None, 16), tuple(clean(f)[:64] for f in rest[3:] if f))


def attlog(body: bytes) -> Parsed[Punch]:
    parsed: Parsed[Punch] = Parsed()
    for line in _lines(body):
        punch = parse_punch(line)
        if punch is None:
            parsed.malformed.append(clean(line)[:200])
        else:
            parsed.records.append(punch)
    return parsed


# --- operation log: users enrolled on the terminal, their fingerprints and faces ------------


@dataclass(frozen=True)
class UserOnDevice:
    pin: str
    name: str | None
    privilege: int | None


@dataclass(frozen=True)
class Biometric:
    """A fingerprint or face enrolled for a PIN: only that it exists, never the template."""

    kind: str  # fingerprint | face | photo
    pin: str
    index: str | None


@dataclass(frozen=True)
class Operation:
    code: str
    admin: str | None
    time: datetime | None


@dataclass(frozen=True)
class Other:
    """A record the node accepts and does not keep (BIODATA, ERRORLOG...)."""

    kind: str


OperlogRecord = UserOnDevice | Biometric | Operation | Other
BIOMETRICS = {"FP": "fingerprint", "FACE": "face", "BIOPHOTO": "photo", "USERPIC": "photo"}
DROPPED_KEYS = {"TMP", "CONTENT", "CONTENTS"}  # biometric templates and pictures: never kept


def _pairs(text: str) -> dict[str, str]:
    pairs = {}
    for part in text.split("\t"):
        key, sep, value = part.partition("=")
        if sep and key.strip() and key.strip().upper() not in DROPPED_KEYS:
            pairs[key.strip().upper()] = value.strip()
    return pairs


def parse_operlog_line(line: str) -> OperlogRecord | None:
    found = re.match(r"^([A-Za-z]+)[ \t]+(.*)$", line.strip())
    if not found:
        return None
    keyword, rest = found.group(1).upper(), found.group(2)
    if keyword == "OPLOG":
        fields = [f.strip() for f in rest.split("\t")]
        if not fields or not fields[0]:
            return None
        return Operation(clean(fields[0])[:8], _field(fields[1] if len(fields) > 1 else None, 24),
                         parse_time(fields[2]) if len(fields) > 2 else None)
    pairs = _pairs(rest)
    pin = pairs.get("PIN", "")
    if keyword == "USER":
        if not PIN.match(pin):
            return None
        privilege = pairs.get("PRI", "")
        return UserOnDevice(pin, _field(pairs.get("NAME"), 100), int(privilege) if privilege.isdigit() else None)
    if keyword in BIOMETRICS:
        return Biometric(BIOMETRICS[keyword], pin, _field(pairs.get("FID") or pairs.get("NO"), 8)) \
            if PIN.match(pin) else None
    return Other(keyword[:16])


def operlog(body: bytes) -> Parsed[OperlogRecord]:
    parsed: Parsed[OperlogRecord] = Parsed()
    for line in _lines(body):
        record = parse_operlog_line(line)
        if record is None:
            parsed.malformed.append(clean(line)[:200])
        else:
            parsed.records.append(record)
    return parsed


# --- photos, options, command results ---------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    file_name: str
    pin: str | None
    taken: datetime | None  # campus-local, from the file name
    content: bytes


def attphoto(body: bytes) -> Photo | None:
    """``PIN=20261204080102-7.jpg\\nSN=...\\nsize=...\\nCMD=uploadphoto\\0<JPEG>``."""
    header, sep, content = body.partition(b"\x00")
    if not sep:
        return None
    pairs = {}
    for line in _lines(header):
        key, _, value = line.partition("=")
        pairs[key.strip().lower()] = value.strip()
    name = pairs.get("pin", "")
    size = pairs.get("size", "")
    if size.isdigit() and int(size) < len(content):
        content = content[:int(size)]
    found = PHOTO_NAME.match(name)
    if not found or not content:
        return None
    return Photo(name, found.group(2), parse_time(
        f"{found.group(1)[:4]}-{found.group(1)[4:6]}-{found.group(1)[6:8]} "
        f"{found.group(1)[8:10]}:{found.group(1)[10:12]}:{found.group(1)[12:14]}"), content)


def options(body: bytes) -> dict[str, str]:
    """What a terminal says about itself: ``~DeviceName=...,FWVersion=...`` (commas or lines)."""
    found: dict[str, str] = {}
    for line in _lines(body):
        for part in line.split(","):
            key, sep, value = part.partition("=")
            key = clean(key).strip().lstrip("~")
            if sep and key and len(found) < 100:
                found[key[:64]] = clean(value).strip()[:200]
    return found


@dataclass(frozen=True)
class CommandResult:
    id: int
    code: int | None  # Return=: 0 is success
    command: str
    info: dict[str, str] = field(default_factory=dict)  # lines that followed it (an INFO answer)


def command_results(body: bytes) -> Parsed[CommandResult]:
    """``ID=12&Return=0&CMD=DATA``, one result a line; lines that follow one belong to it."""
    parsed: Parsed[CommandResult] = Parsed()
    for line in _lines(body):
        if line.upper().startswith("ID="):
            pairs = {}
            for part in line.split("&"):
                key, _, value = part.partition("=")
                pairs[key.strip().upper()] = value.strip()
            code = pairs.get("RETURN", "")
            if not pairs.get("ID", "").isdigit() or not re.match(r"^-?\d+$", code or "0"):
                parsed.malformed.append(clean(line)[:200])
                continue
            parsed.records.append(CommandResult(int(pairs["ID"]), int(code) if code else None,
                                                clean(pairs.get("CMD", ""))[:32]))
        elif parsed.records:
            key, _, value = line.partition("=")
            info = parsed.records[-1].info
            if len(info) < 100:
                info[clean(key).strip().lstrip("~")[:64]] = clean(value).strip()[:200]
        else:
            parsed.malformed.append(clean(line)[:200])
    return parsed


# --- commands ---------------------------------------------------------------------------------


def fit_name(name: str, limit: int = NAME_BYTES) -> str:
    """``name`` cleaned and cut to what a terminal holds, never inside a character."""
    cleaned = clean(name).strip()
    return cleaned.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def check_command(command: str) -> str:
    """``command`` if the node may send it; CommandRefused otherwise."""
    if CONTROL.sub("", command.replace("\t", "")) != command.replace("\t", ""):
        raise CommandRefused("a command is one line: no CR, LF or other control character")
    upper = command.strip().upper()
    if any(upper.startswith(word) for word in FORBIDDEN_COMMANDS):
        raise CommandRefused(f"the node never sends {command.split()[0] if command.split() else command!r}")
    if not any(upper.startswith(allowed) if allowed.endswith(" ") else upper == allowed
               for allowed in ALLOWED_COMMANDS):
        raise CommandRefused(f"not a command the node sends: {command[:40]!r}")
    if "\t" in command and not upper.startswith("DATA "):
        raise CommandRefused("only DATA commands have fields")
    return command


def user_update(pin: str, name: str) -> str:
    """Put a person on the terminal as an ordinary user (Pri=0: never a terminal administrator)."""
    if not PIN.match(pin):
        raise CommandRefused(f"not a PIN: {pin!r}")
    return check_command(f"DATA UPDATE USERINFO PIN={pin}\tName={fit_name(name)}\tPri=0")


def user_delete(pin: str) -> str:
    if not PIN.match(pin):
        raise CommandRefused(f"not a PIN: {pin!r}")
    return check_command(f"DATA DELETE USERINFO PIN={pin}")


def query_attlog(start: datetime, end: datetime) -> str:
    """Ask for the punches of a period again (they come back as ATTLOG uploads)."""
    return check_command(f"DATA QUERY ATTLOG StartTime={start:%Y-%m-%d %H:%M:%S}\tEndTime={end:%Y-%m-%d %H:%M:%S}")


def command_lines(commands: Iterable[tuple[int, str]]) -> str:
    """The answer to ``getrequest``: ``C:<id>:<command>`` lines, or ``OK`` when nothing waits."""
    lines = [f"C:{number}:{check_command(text)}" for number, text in commands]
    return "\n".join(lines) + "\n" if lines else "OK"


def ok(count: int | None = None) -> str:
    return "OK" if count is None else f"OK: {count}"
