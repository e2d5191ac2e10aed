"""Importing leads from spreadsheet exports (CSV in any encoding people send, or .xlsx).

The file goes through the shared pipeline (:mod:`campus.web.spreadsheets`, :mod:`campus.web.imports`):
the header is found, each column mapped to a field by its names (渠道/来源/渠道来源/来源渠道 are the
channel, 手机/手机号/联系电话/电话 the phone…) or by the importer's choice, and every other
column kept in the lead's notes ("header: value") or ignored, as chosen. Every row is checked by
:func:`check_row`, a pure function applying the API's own rules (lengths, the phone, the birthday,
the campus); then the valid rows are written in one transaction, a thousand per statement. A row
whose phone is already a lead's (anywhere in the institution, or a row above it in the file)
makes no second lead: it is merged into that lead, whose history records the row, and the report
says whether the name was the same or different (siblings on one parent's phone). A row with
damaged bytes is rejected, naming its column; the rest of the file is imported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import Connection, select

from campus.node.crm.leads import Campus, CampusRef, normalise_channel
from campus.schema.errors import Invalid
from campus.schema.ids import new_id
from campus.schema.numbers import reserve_numbers
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.tables import campaigns, leads
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork
from campus.web import imports
from campus.web.imports import ImportReport, Progress, RowResult
from campus.web.spreadsheets import (
    Field,
    Layout,
    MappingChoice,
    Sheet,
    SpreadsheetInvalid,
    cell_text,
    open_sheet,
)

FIELDS = (
    Field("name", "Name", ("姓名", "名字", "学员姓名", "学生姓名", "客户姓名", "客户名称", "孩子姓名", "联系人",
                           "student name", "full name"), required=True),
    Field("phone", "Phone", ("手机号", "手机", "电话", "联系电话", "手机号码", "联系方式", "电话号码", "家长电话",
                             "家长手机", "mobile", "tel", "telephone", "phone number"), required=True),
    Field("channel", "Channel", ("来源渠道", "渠道", "来源", "渠道来源", "客户来源", "线索来源", "source",
                                 "lead source")),
    Field("campaign", "Campaign", ("活动", "市场活动", "活动名称", "campaign name")),
    Field("campus", "Campus", ("校区", "所属校区", "校区代码", "campus code")),
    Field("birthday", "Birthday", ("生日", "出生日期", "出生年月日", "date of birth", "dob")),
    Field("notes", "Notes", ("备注", "说明", "note", "remark", "remarks")),
)
REQUIRED = frozenset({"name", "phone"})
CAMPAIGN_NAME_LENGTH = 100  # campaigns.name

ImportFileInvalid = SpreadsheetInvalid  # the file as a whole cannot be imported


def open_lead_file(stream: IO[bytes], filename: str) -> Sheet:
    return open_sheet(stream, filename)


# --- checking --------------------------------------------------------------------------------------

BIRTHDAY_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
FLOATED_DIGITS = re.compile(r"^\d{5,}\.0+$")  # 13800040000.0: a phone that went through a float
SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")  # 1.3800040E+10


def parse_date(value: Any) -> date | None:
    """A date from the ways people type them (2012-05-03, 2011/7/9, 2010年3月5日, 20100305, a date cell)."""
    if value is None or cell_text(value).strip() == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value).strip().split(" ")[0].split("T")[0]
    for pattern in BIRTHDAY_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                raise ValueError(f"{text!r} is not a calendar date") from None
    raise ValueError(f"{text!r} is not a date")


def parse_birthday(value: Any, today: date) -> str | None:
    """An ISO date from the ways people type birthdays; refuses the future and before 1900."""
    day = parse_date(value)
    if day is None:
        return None
    if day > today:
        raise ValueError(f"{day.isoformat()} is in the future")
    if day.year < 1900:
        raise ValueError(f"{day.isoformat()} is too long ago")
    return day.isoformat()


def phone_text(value: Any) -> str:
    """A phone as typed, undoing what spreadsheets do to long numbers: a numeric cell, or text such as
    ``13800040000.0`` or ``1.3800040E+10`` that went through a float, becomes its digits."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = cell_text(value).strip()
    if FLOATED_DIGITS.match(text):
        return text.split(".", 1)[0]
    if SCIENTIFIC.match(text):
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        if number == number.to_integral_value():
            return str(int(number))
    return text


def notes_with(notes: str, kept: Iterable[tuple[str, str]]) -> str | None:
    """The notes column, then each kept column as "header: value"."""
    parts = [notes] if notes else []
    parts += [f"{header}: {value}" for header, value in kept]
    return "; ".join(parts) or None


@cache
def _api_model() -> Any:
    from campus.node.crm.api import LeadIn  # the API's rules, not a copy of them

    return LeadIn


def api_rules(**fields: Any) -> None:
    """Refuse what the API refuses for these fields (lengths), naming the first field at fault."""
    try:
        _api_model().model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(str(error["loc"][0]), error["msg"]) from None


@dataclass(frozen=True, slots=True)
class CheckedRow:
    name: str
    phone: str
    channel: str | None
    campaign: str | None
    birthday: str | None
    notes: str | None


def check_row(values: dict[str, Any], campus_code: str, today: date,
              kept: Iterable[tuple[str, str]] = ()) -> CheckedRow:
    """Pure checks of one row; raises :class:`Invalid` naming the column at fault."""
    name = cell_text(values.get("name")).strip()
    if not name:
        raise Invalid("name", "the name is empty")
    typed = phone_text(values.get("phone"))
    try:
        phone = normalise_phone(typed)
    except InvalidPhone as exc:
        raise Invalid("phone", exc.reason) from None
    campus = cell_text(values.get("campus")).strip().upper()
    if campus and campus != campus_code:
        raise Invalid("campus", f"row is for campus {campus}, this import is for {campus_code}")
    try:
        birthday = parse_birthday(values.get("birthday"), today)
    except ValueError as exc:
        raise Invalid("birthday", str(exc)) from None
    channel = normalise_channel(cell_text(values.get("channel")).strip() or None)
    campaign = cell_text(values.get("campaign")).strip() or None
    notes = notes_with(cell_text(values.get("notes")).strip(), kept)
    api_rules(name=name, phone=typed, channel=channel, notes=notes)
    if campaign and len(campaign) > CAMPAIGN_NAME_LENGTH:
        raise Invalid("campaign", f"String should have at most {CAMPAIGN_NAME_LENGTH} characters")
    return CheckedRow(name=name, phone=phone, channel=channel, campaign=campaign, birthday=birthday, notes=notes)


# --- writing ---------------------------------------------------------------------------------------


def leads_by_phone(conn: Connection, phones: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """phone → (id, number, name) of the institution's lead with that phone (the first, if several)."""
    found: dict[str, tuple[str, str, str]] = {}
    wanted = sorted(set(phones))
    for start in range(0, len(wanted), 500):
        for row in conn.execute(select(leads.c.phone, leads.c.id, leads.c.number, leads.c.name).where(
                leads.c.phone.in_(wanted[start:start + 500]), leads.c.deleted.is_(False)).order_by(leads.c.id)):
            found.setdefault(row.phone, (row.id, row.number, row.name))
    return found


def _merged(line: int, row: CheckedRow, into: tuple[str | None, str | None, str]) -> RowResult:
    lead_id, number, name = into
    if name == row.name:
        return RowResult(line, row.name, "merged", number, lead_id, how="same_name")
    return RowResult(line, row.name, "merged", number, lead_id, how="other_name",
                     reason=f"the phone is already {name}'s: kept as a separate contact in that lead's history")


class LeadImporter:
    """The lead import's fields, checks and writes (see :mod:`campus.web.imports`)."""

    kind = "leads"
    fields: Sequence[Field] = FIELDS
    required: frozenset[str] = REQUIRED

    def __init__(self, campus: CampusRef, today: date, source: str, by_user_id: str | None = None) -> None:
        self.campus, self.today, self.source, self.by_user_id = campus, today, source, by_user_id
        self._campaigns: dict[str, str] = {}
        self._predicted: dict[str, tuple[int, str]] = {}  # dry run: phone → (line, name) a row above creates

    def name(self, values: dict[str, Any]) -> str:
        return cell_text(values.get("name")).strip()

    def check(self, values: dict[str, Any], kept: list[tuple[str, str]], line: int) -> CheckedRow:
        return check_row(values, self.campus.code, self.today, kept)

    def totals(self, checked: CheckedRow) -> dict[str, int]:
        return {}

    def verify(self, uow: UnitOfWork, report: ImportReport[Any]) -> None:
        return None

    def predict(self, conn: Connection, chunk: list[tuple[int, CheckedRow]]) -> list[RowResult]:
        existing = leads_by_phone(conn, (row.phone for _, row in chunk))
        results = []
        for line, row in chunk:
            if row.phone in existing:
                results.append(_merged(line, row, existing[row.phone]))
            elif row.phone in self._predicted:
                first, name = self._predicted[row.phone]
                merged = _merged(line, row, (None, None, name))
                merged.reason = f"{merged.reason or 'the same lead'} (the lead line {first} creates)"
                results.append(merged)
            else:
                self._predicted[row.phone] = (line, row.name)
                results.append(RowResult(line, row.name, "created"))
        return results

    def _campaign_id(self, uow: UnitOfWork, name: str, channel: str | None) -> str:
        if name not in self._campaigns:
            existing = uow.conn.execute(select(campaigns.c.id).where(
                campaigns.c.name == name, campaigns.c.deleted.is_(False),
                (campaigns.c.campus_id == self.campus.id) | campaigns.c.campus_id.is_(None))).scalar()
            self._campaigns[name] = existing or uow.insert("campaigns", {
                "campus_id": self.campus.id, "name": name, "channel": channel, "cost_fen": 0,
                "created_at": utc_now_text(), "deleted": False})
        return self._campaigns[name]

    def write(self, uow: UnitOfWork, chunk: list[tuple[int, CheckedRow]]) -> list[RowResult]:
        known: dict[str, tuple[str | None, str | None, str]] = dict(leads_by_phone(uow.conn, (r.phone for _, r in chunk)))
        new_phones = list(dict.fromkeys(row.phone for _, row in chunk if row.phone not in known))
        numbers = iter(reserve_numbers(uow.conn, self.campus.code, "lead", len(new_phones)))
        now = utc_now_text()
        created, merges, results = [], [], []
        for line, row in chunk:
            if row.phone in known:
                result = _merged(line, row, known[row.phone])
                detail = {"source": self.source, "row": line, "name": row.name, "channel": row.channel,
                          "campaign": row.campaign, "notes": row.notes, "how": result.how}
                merges.append({"lead_id": result.record_id, "at": now, "kind": "import_merge",
                               "by_user_id": self.by_user_id, "detail": json.dumps(detail, ensure_ascii=False)})
                results.append(result)
                continue
            lead_id, number = new_id(), next(numbers)
            campaign_id = self._campaign_id(uow, row.campaign, row.channel) if row.campaign else None
            created.append({"id": lead_id, "campus_id": self.campus.id, "number": number, "name": row.name,
                            "phone": row.phone, "channel": row.channel, "campaign_id": campaign_id, "pool": "lead",
                            "birthday": row.birthday, "notes": row.notes, "created_at": now, "deleted": False})
            known[row.phone] = (lead_id, number, row.name)
            results.append(RowResult(line, row.name, "created", number, lead_id))
        uow.insert_many("leads", created)
        uow.insert_many("lead_history", merges)
        return results


def dry_run(conn: Connection, campus: CampusRef, today: date, stream: IO[bytes], filename: str,
            choice: MappingChoice | None = None, *, mode: str = "rows",
            progress: Progress | None = None) -> ImportReport[CheckedRow]:
    """What importing the file would do, writing nothing (``campus import leads --dry-run``)."""
    return imports.dry_run(conn, stream, filename, LeadImporter(campus, today, filename), choice, mode=mode,
                           progress=progress)


def lead_layout(sheet: Sheet, choice: MappingChoice | None = None) -> Layout:
    """The columns as the preview shows them: found by their names, or as chosen."""
    return imports.layout_for(sheet, LeadImporter(Campus("", ""), date.min, sheet.filename), choice)
