"""Importing leads from spreadsheet exports: CSV (UTF-8, with or without BOM, or GBK) and .xlsx.

Rows stream in one at a time; each is checked by pure rules, then written in its own
transaction, so a bad row never stops the rows after it and a crash loses at most the row
being written. Every row gets a result: created, merged into an existing lead by phone, or
rejected naming the column that is wrong.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import IO, Any

from sqlalchemy import select

from campus.node.crm.leads import CampusRef, find_lead_by_phone, insert_lead, normalise_channel
from campus.schema.errors import Invalid
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.tables import campaigns
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork
from campus.web.spreadsheets import SpreadsheetInvalid, cell_text, read_rows

HEADERS = {
    "name": {"姓名", "名字", "学员姓名", "客户姓名", "name"},
    "phone": {"手机号", "手机", "电话", "联系电话", "手机号码", "phone", "mobile"},
    "channel": {"来源渠道", "渠道", "来源", "channel", "source"},
    "campaign": {"活动", "市场活动", "campaign"},
    "campus": {"校区", "campus"},
    "birthday": {"生日", "出生日期", "birthday"},
    "notes": {"备注", "notes", "note"},
}
ROWS_PER_TRANSACTION = 250  # each row in its own savepoint: atomic per row, fast for thousands


ImportFileInvalid = SpreadsheetInvalid  # the file as a whole cannot be imported


@dataclass(frozen=True)
class RowResult:
    row: int
    name: str
    outcome: str  # created | merged | rejected
    number: str | None = None
    lead_id: str | None = None
    field: str | None = None
    reason: str | None = None


@dataclass
class ImportReport:
    source: str
    rows: list[RowResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        tally = Counter(result.outcome for result in self.rows)
        return {"rows": len(self.rows), "created": tally["created"], "merged": tally["merged"],
                "rejected": tally["rejected"]}

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, **self.counts(), "results": [vars(r) for r in self.rows]}


# --- reading -------------------------------------------------------------------------------

def read_lead_rows(stream: IO[bytes], filename: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number, {column: value})`` for each non-empty data row, numbered from 1."""
    return read_rows(stream, filename, HEADERS, {"name", "phone"})


# --- checking ------------------------------------------------------------------------------

BIRTHDAY_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def parse_birthday(value: Any, today: date) -> str | None:
    """An ISO date from the ways people type birthdays; refuses the future and before 1900."""
    if value is None or cell_text(value).strip() == "":
        return None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = cell_text(value).strip()
        for pattern in BIRTHDAY_PATTERNS:
            match = pattern.match(text)
            if match:
                try:
                    day = date(*(int(part) for part in match.groups()))
                except ValueError:
                    raise ValueError(f"{text!r} is not a calendar date") from None
                break
        else:
            raise ValueError(f"{text!r} is not a date")
    if day > today:
        raise ValueError(f"{day.isoformat()} is in the future")
    if day.year < 1900:
        raise ValueError(f"{day.isoformat()} is too long ago")
    return day.isoformat()


@dataclass(frozen=True)
class CheckedRow:
    name: str
    phone: str
    channel: str | None
    campaign: str | None
    birthday: str | None
    notes: str | None


def check_row(values: dict[str, Any], campus_code: str, today: date) -> CheckedRow:
    """Pure checks of one row; raises :class:`Invalid` naming the column at fault."""
    name = cell_text(values.get("name")).strip()
    if not name:
        raise Invalid("name", "the name is empty")
    if len(name) > 100:
        raise Invalid("name", "the name is longer than 100 characters")
    try:
        phone = normalise_phone(cell_text(values.get("phone")))
    except InvalidPhone as exc:
        raise Invalid("phone", exc.reason) from None
    campus = cell_text(values.get("campus")).strip().upper()
    if campus and campus != campus_code:
        raise Invalid("campus", f"row is for campus {campus}, this import is for {campus_code}")
    try:
        birthday = parse_birthday(values.get("birthday"), today)
    except ValueError as exc:
        raise Invalid("birthday", str(exc)) from None
    return CheckedRow(
        name=name,
        phone=phone,
        channel=normalise_channel(cell_text(values.get("channel")).strip() or None),
        campaign=cell_text(values.get("campaign")).strip() or None,
        birthday=birthday,
        notes=cell_text(values.get("notes")).strip() or None,
    )


# --- writing -------------------------------------------------------------------------------

def _campaign_id(uow: UnitOfWork, campus: CampusRef, name: str, channel: str | None) -> str:
    existing = uow.conn.execute(select(campaigns.c.id).where(
        campaigns.c.name == name, campaigns.c.deleted.is_(False),
        (campaigns.c.campus_id == campus.id) | campaigns.c.campus_id.is_(None))).scalar()
    return existing or uow.insert("campaigns", {"campus_id": campus.id, "name": name, "channel": channel,
                                               "cost_fen": 0, "created_at": utc_now_text(), "deleted": False})


def import_row(uow: UnitOfWork, campus: CampusRef, row: CheckedRow, row_number: int, source: str) -> RowResult:
    existing = find_lead_by_phone(uow.conn, row.phone)
    if existing is not None:
        detail = {"source": source, "row": row_number, "name": row.name, "channel": row.channel,
                  "campaign": row.campaign, "notes": row.notes}
        uow.insert("lead_history", {"lead_id": existing["id"], "at": utc_now_text(), "kind": "import_merge",
                                    "detail": json.dumps(detail, ensure_ascii=False)})
        return RowResult(row_number, row.name, "merged", existing["number"], existing["id"])
    campaign_id = _campaign_id(uow, campus, row.campaign, row.channel) if row.campaign else None
    lead = insert_lead(uow, campus, name=row.name, phone=row.phone, channel=row.channel, notes=row.notes,
                       birthday=row.birthday, campaign_id=campaign_id)
    return RowResult(row_number, row.name, "created", lead["number"], lead["id"])


def import_rows(unit: Callable[[], Any], campus: CampusRef, rows: Iterable[tuple[int, dict[str, Any]]], source: str,
                today: date, report: ImportReport, progress: Callable[[RowResult], None] | None = None) -> None:
    """Import every row atomically on its own, ``ROWS_PER_TRANSACTION`` rows per unit of work
    (``unit()`` opens one); each row's outcome goes to ``report`` once committed."""
    pending = iter(rows)
    while True:
        chunk = list(islice(pending, ROWS_PER_TRANSACTION))
        if not chunk:
            return
        with unit() as work:
            results = [_import_one(work.uow, campus, row_number, values, source, today)
                       for row_number, values in chunk]
        for result in results:  # reported once committed
            report.rows.append(result)
            if progress:
                progress(result)


def _import_one(uow: UnitOfWork, campus: CampusRef, row_number: int, values: dict[str, Any], source: str,
                today: date) -> RowResult:
    name = cell_text(values.get("name")).strip()
    try:
        checked = check_row(values, campus.code, today)
    except Invalid as exc:
        return RowResult(row_number, name, "rejected", field=exc.field, reason=exc.detail)
    with uow.savepoint():
        return import_row(uow, campus, checked, row_number, source)
