"""Migrating students from another system, with what each still holds (期初余额迁移).

A school switching to Campus brings, per student and per course, the position its old system
shows: remaining purchased hours, remaining gift hours, the remaining value of the paid hours,
the unit price, the expiry and the home campus, with the student's guardians. Each row becomes:

* the student (one per name and phone in the file; admitted, at this campus) and guardians;
* an opening-balance contract of kind ``migrated`` with one line for the course (its hours and
  value as the file states them, not priced from the price list);
* a payment of kind ``opening`` for the remaining value: money received before Campus, which is
  why the contract owes nothing. No fund account receives it; its note names the file and the
  line, and it is the cause of the line's ledger entries (purchased hours at their value, gift
  hours), so every migrated entry leads back to its row;
* in the books, the opening payment is an opening balance (:mod:`campus.schema.books.opening`):
  Cr 2204 合同负债 for the remaining value, Dr 4190 期初余额调整.

Dated at the end of the ``as_of`` day (the day the old system's figures are as of; by default
the last day of the previous month), the balances are the opening balances of the months after.
The file's totals (paid hours, gift hours, value) are shown before committing and checked against
the ledger inside the transaction: a difference undoes the whole import. By default the import is
all or nothing: one rejected row and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import Connection, func, select

from campus.node.crm.lead_import import notes_with, parse_date, phone_text
from campus.node.crm.leads import CampusRef
from campus.node.finance.students import Status
from campus.schema.books.opening import OPENING_KIND
from campus.schema.errors import Conflict, Invalid
from campus.schema.ids import new_id
from campus.schema.numbers import reserve_numbers
from campus.schema.phones import InvalidPhone, normalise_phone
from campus.schema.tables import asset_entries, students
from campus.schema.times import utc_now_text, utc_text
from campus.sync.capture import UnitOfWork
from campus.web.imports import ImportReport, RowResult
from campus.web.spreadsheets import Field, cell_text

OPENING = OPENING_KIND  # the payment kind of a migrated opening balance
MIGRATED = "migrated"  # the contract kind of a migrated position
DEFAULT_VALIDITY_DAYS = 365
DEFAULT_DELIVERY = "small_class"
DEFAULT_RELATION = "家长"

FIELDS = (
    Field("name", "Student", ("姓名", "学员姓名", "学生姓名", "学员", "学生", "student", "student name"), required=True),
    Field("phone", "Student phone", ("手机号", "学员电话", "学员手机", "联系电话", "电话", "手机", "phone", "mobile")),
    Field("guardian_name", "Guardian", ("家长姓名", "家长", "监护人", "监护人姓名", "联系人", "guardian",
                                        "parent")),
    Field("guardian_relation", "Relation", ("关系", "家长关系", "与学员关系", "亲属关系", "relation",
                                            "relationship")),
    Field("guardian_phone", "Guardian phone", ("家长电话", "家长手机", "监护人电话", "家长手机号",
                                               "guardian phone", "parent phone")),
    Field("birthday", "Birthday", ("生日", "出生日期", "date of birth")),
    Field("grade", "Grade", ("年级", "grade")),
    Field("course", "Course", ("课程", "课程名称", "科目", "购买课程", "course name", "subject"), required=True),
    Field("level", "Level", ("级别", "课程级别", "层级", "level")),
    Field("delivery", "Delivery", ("上课方式", "授课方式", "班型", "课程类型", "delivery")),
    Field("paid_hours", "Remaining paid hours", ("剩余课时", "剩余购买课时", "剩余正价课时", "剩余付费课时",
                                                 "剩余课时数", "remaining hours", "paid hours"), required=True),
    Field("gift_hours", "Remaining gift hours", ("剩余赠送课时", "赠送课时", "剩余赠课", "剩余赠课课时",
                                                 "gift hours", "remaining gift hours")),
    Field("value", "Remaining value (yuan)", ("剩余金额", "剩余价值", "剩余学费", "剩余费用", "剩余课时金额",
                                              "remaining value", "remaining amount"), required=True),
    Field("unit_price", "Unit price (yuan)", ("单价", "课时单价", "课单价", "每课时单价", "unit price")),
    Field("expires_on", "Expiry", ("有效期", "到期日", "到期日期", "截止日期", "有效期至", "过期日期", "expiry",
                                   "expires on")),
    Field("signed_on", "Signed on", ("报名日期", "签约日期", "购买日期", "合同日期", "signed on")),
    Field("campus", "Home campus", ("校区", "所属校区", "校区代码", "home campus")),
    Field("notes", "Notes", ("备注", "说明", "note", "remarks")),
)
REQUIRED = frozenset(f.key for f in FIELDS if f.required)
DELIVERIES = {"one_on_one": "one_on_one", "一对一": "one_on_one", "1对1": "one_on_one", "1v1": "one_on_one",
              "一对一辅导": "one_on_one", "small_class": "small_class", "小班": "small_class", "小班课": "small_class",
              "large_class": "large_class", "大班": "large_class", "大班课": "large_class", "班课": "large_class",
              "online": "online", "网课": "online", "线上": "online", "在线": "online", "网络课": "online"}
TOTAL_KEYS = ("paid_hours_x100", "gift_hours_x100", "value_fen")


def default_as_of(today: date) -> date:
    """The last day of the month before ``today``: the books open with the balances in this month."""
    return today.replace(day=1) - timedelta(days=1)


# --- checking --------------------------------------------------------------------------------------

AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")


def hundredths(value: Any, field: str, what: str) -> int:
    """Yuan as fen, hours as hundredths: exact, at most two decimals, never negative. A number cell is
    read through its shortest decimal form (a float is never computed with)."""
    if value is None or cell_text(value).strip() == "":
        return 0
    text = repr(value) if isinstance(value, float) else cell_text(value)
    text = text.strip().replace(",", "").replace("¥", "").replace("￥", "").removesuffix("元").removesuffix("课时")
    text = text.removesuffix("小时").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Invalid(field, f"{cell_text(value)!r} is not {what}") from None
    if not number.is_finite():
        raise Invalid(field, f"{cell_text(value)!r} is not {what}")
    if number < 0:
        raise Invalid(field, f"{cell_text(value)} is negative")
    scaled = number * 100
    if scaled != scaled.to_integral_value():
        raise Invalid(field, f"{cell_text(value)} has more than two decimals")
    return int(scaled)


@cache
def _api() -> Any:
    from campus.node.finance import api  # the API's rules, not a copy of them

    return api


def _api_rules(model: Any, field_names: dict[str, str], **fields: Any) -> None:
    try:
        model.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(field_names.get(str(error["loc"][0]), str(error["loc"][0])), error["msg"]) from None


def _phone(value: Any, field: str) -> str | None:
    typed = phone_text(value)
    if not typed:
        return None
    try:
        return normalise_phone(typed)
    except InvalidPhone as exc:
        raise Invalid(field, exc.reason) from None


@dataclass(frozen=True, slots=True)
class Position:
    """One checked row: a student and what they hold of one course."""

    name: str
    phone: str | None
    guardian_name: str | None
    guardian_relation: str | None
    guardian_phone: str | None
    birthday: str | None
    grade: str | None
    notes: str | None
    course: str
    level: str
    delivery: str
    paid_hours_x100: int
    gift_hours_x100: int
    value_fen: int
    unit_price_fen: int
    expires_on: str
    signed_on: str

    @property
    def student_key(self) -> tuple[str, str]:
        """Rows with the same name and phone (or guardian's phone) are one student."""
        return self.name, self.phone or self.guardian_phone or ""


def check_position(values: dict[str, Any], campus: CampusRef, campus_name: str, as_of: date,
                   kept: Iterable[tuple[str, str]] = ()) -> Position:
    """Pure checks of one row; raises :class:`Invalid` naming the column at fault."""
    api = _api()
    name = cell_text(values.get("name")).strip()
    if not name:
        raise Invalid("name", "the name is empty")
    phone = _phone(values.get("phone"), "phone")
    guardian_name = cell_text(values.get("guardian_name")).strip() or None
    guardian_phone = _phone(values.get("guardian_phone"), "guardian_phone")
    relation = cell_text(values.get("guardian_relation")).strip() or None
    if guardian_name and not (guardian_phone or phone):
        raise Invalid("guardian_phone", "a guardian needs a phone")
    home = cell_text(values.get("campus")).strip()
    if home and home.upper() != campus.code and home != campus_name:
        raise Invalid("campus", f"row is for campus {home}, this import is for {campus.code}")
    days: dict[str, date | None] = {}
    for key in ("birthday", "expires_on", "signed_on"):
        try:
            days[key] = parse_date(values.get(key))
        except ValueError as exc:
            raise Invalid(key, str(exc)) from None
    birthday_day, expiry, signed = days["birthday"], days["expires_on"], days["signed_on"]
    if birthday_day is not None and (birthday_day > as_of or birthday_day.year < 1900):
        raise Invalid("birthday", f"{birthday_day.isoformat()} is not a possible birthday")
    expires_on = expiry or as_of + timedelta(days=DEFAULT_VALIDITY_DAYS)
    if expires_on <= as_of:
        raise Invalid("expires_on", f"expired on {expires_on.isoformat()}, before the balances' day "
                                    f"{as_of.isoformat()}: give a later expiry or leave the position out")
    signed_on = signed or as_of
    if signed_on > as_of:
        raise Invalid("signed_on", f"{signed_on.isoformat()} is after the balances' day {as_of.isoformat()}")
    course = cell_text(values.get("course")).strip()
    if not course:
        raise Invalid("course", "the course is empty")
    delivery_text = cell_text(values.get("delivery")).strip()
    delivery = DELIVERIES.get(delivery_text.lower() if delivery_text.isascii() else delivery_text,
                              DEFAULT_DELIVERY if not delivery_text else "")
    if not delivery:
        raise Invalid("delivery", f"{delivery_text!r} is none of 一对一, 小班, 大班, 网课 "
                                  "(one_on_one, small_class, large_class, online)")
    paid = hundredths(values.get("paid_hours"), "paid_hours", "a number of hours")
    gift = hundredths(values.get("gift_hours"), "gift_hours", "a number of hours")
    value = hundredths(values.get("value"), "value", "an amount in yuan")
    price = hundredths(values.get("unit_price"), "unit_price", "an amount in yuan")
    if not paid and not gift:
        raise Invalid("paid_hours", "no hours left to migrate")
    if value and not paid:
        raise Invalid("value", "a remaining value needs remaining paid hours")
    if not price and paid:
        price = int((Decimal(value) * 100 / Decimal(paid)).to_integral_value())  # the value's own price per hour
    for field, amount, cap in (("paid_hours", paid, api.MAX_HOURS_X100), ("gift_hours", gift, api.MAX_HOURS_X100),
                               ("value", value, api.MAX_FEN), ("unit_price", price, api.MAX_FEN)):
        if amount > cap:
            raise Invalid(field, f"more than the API allows ({cap} hundredths)")
    notes = notes_with(cell_text(values.get("notes")).strip(), kept)
    renamed = {"guardians": "guardian_name"}
    _api_rules(api.StudentIn, renamed, name=name, phone=phone, birthday=birthday_day.isoformat() if birthday_day else None,
               grade=cell_text(values.get("grade")).strip() or None, notes=notes)
    if guardian_name:
        _api_rules(api.GuardianIn, {"name": "guardian_name", "relation": "guardian_relation", "phone": "guardian_phone"},
                   name=guardian_name, relation=relation or DEFAULT_RELATION, phone=guardian_phone or phone)
    _api_rules(api.LineIn, {"subject": "course"}, subject=course, level=cell_text(values.get("level")).strip() or None,
               delivery=delivery, grade=cell_text(values.get("grade")).strip() or None)
    return Position(name=name, phone=phone, guardian_name=guardian_name, guardian_relation=relation,
                    guardian_phone=guardian_phone, birthday=birthday_day.isoformat() if birthday_day else None,
                    grade=cell_text(values.get("grade")).strip() or None, notes=notes, course=course,
                    level=cell_text(values.get("level")).strip(), delivery=delivery, paid_hours_x100=paid,
                    gift_hours_x100=gift, value_fen=value, unit_price_fen=price, expires_on=expires_on.isoformat(),
                    signed_on=signed_on.isoformat())


# --- writing ---------------------------------------------------------------------------------------


def existing_students(conn: Connection, campus_id: str) -> dict[tuple[str, str], str]:
    """(name, phone) → number of the students this campus has (a re-import must not make them twice)."""
    return {(row.name, row.phone or ""): row.number for row in conn.execute(
        select(students.c.name, students.c.phone, students.c.number).where(
            students.c.home_campus_id == campus_id, students.c.deleted.is_(False)))}


class StudentMigration:
    """The students migration's fields, checks and writes (see :mod:`campus.web.imports`)."""

    kind = "students"
    fields: Sequence[Field] = FIELDS
    required: frozenset[str] = REQUIRED

    def __init__(self, campus: CampusRef, campus_name: str, as_of: date, timezone: str, source: str,
                 existing: dict[tuple[str, str], str], by_user_id: str | None = None) -> None:
        self.campus, self.campus_name, self.as_of, self.source = campus, campus_name, as_of, source
        self.existing, self.by_user_id = existing, by_user_id
        self.at = utc_text(datetime.combine(as_of, time(23, 59, 59), ZoneInfo(timezone)))
        self._students: dict[tuple[str, str], tuple[str | None, str | None]] = {}  # key → (id, number)
        self._openings: list[str] = []

    def name(self, values: dict[str, Any]) -> str:
        return cell_text(values.get("name")).strip()

    def check(self, values: dict[str, Any], kept: list[tuple[str, str]], line: int) -> Position:
        position = check_position(values, self.campus, self.campus_name, self.as_of, kept)
        phones = {p for p in (position.phone, position.guardian_phone) if p} or {""}
        for phone in phones:
            if (position.name, phone) in self.existing:
                raise Invalid("name", f"already student {self.existing[position.name, phone]} at this campus "
                                      "(migrated before?)")
        return position

    def totals(self, checked: Position) -> dict[str, int]:
        return {"paid_hours_x100": checked.paid_hours_x100, "gift_hours_x100": checked.gift_hours_x100,
                "value_fen": checked.value_fen}

    def predict(self, conn: Connection, chunk: list[tuple[int, Position]]) -> list[RowResult]:
        results = []
        for line, row in chunk:
            if row.student_key in self._students:
                results.append(RowResult(line, row.name, "merged", how="same_name",
                                         reason="another course of the student a row above creates"))
            else:
                self._students[row.student_key] = (None, None)
                results.append(RowResult(line, row.name, "created"))
        return results

    def write(self, uow: UnitOfWork, chunk: list[tuple[int, Position]]) -> list[RowResult]:
        from campus.node.finance import ledger
        from campus.schema.assets import Entry, EntryKind

        code, campus_id, now = self.campus.code, self.campus.id, utc_now_text()
        new_keys = list(dict.fromkeys(row.student_key for _, row in chunk if row.student_key not in self._students))
        student_numbers = iter(reserve_numbers(uow.conn, code, "student", len(new_keys)))
        contract_numbers = iter(reserve_numbers(uow.conn, code, "contract", len(chunk)))
        receipts = iter(reserve_numbers(uow.conn, code, "receipt", len(chunk)))
        made_students, made_guardians, results = [], [], []
        for line, row in chunk:
            if row.student_key not in self._students:
                student_id, student_number = new_id(), next(student_numbers)
                self._students[row.student_key] = (student_id, student_number)
                made_students.append({
                    "id": student_id, "home_campus_id": campus_id, "number": student_number, "name": row.name,
                    "phone": row.phone, "status": Status.ADMITTED.value, "lead_id": None, "birthday": row.birthday,
                    "grade": row.grade, "id_number": None, "partner_institution": None, "notes": row.notes,
                    "created_at": now, "deleted": False})
                if row.guardian_name:
                    made_guardians.append({
                        "student_id": student_id, "home_campus_id": campus_id, "name": row.guardian_name,
                        "relation": row.guardian_relation or DEFAULT_RELATION,
                        "phone": row.guardian_phone or row.phone, "created_at": now, "deleted": False})
                outcome, how = "created", None
            else:
                outcome, how = "merged", "same_name"
            known_id, number = self._students[row.student_key]
            results.append(RowResult(line, row.name, outcome, number, known_id, how=how))
        uow.insert_many("students", made_students)
        uow.insert_many("guardians", made_guardians)
        for line, row in chunk:
            student_id = self._students[row.student_key][0] or ""
            signed_at = utc_text(datetime.combine(date.fromisoformat(row.signed_on), time(12), ZoneInfo("UTC")))
            contract_id = uow.insert("contracts", {
                "campus_id": campus_id, "number": next(contract_numbers), "student_id": student_id,
                "kind": MIGRATED, "signed_at": min(signed_at, self.at), "expires_on": row.expires_on,
                "list_fen": row.value_fen, "promo_code": None, "promo_discount_fen": 0, "manual_discount_fen": 0,
                "amount_fen": row.value_fen, "consultant_id": None, "created_by": self.by_user_id,
                "created_at": now, "deleted": False})
            line_row = {"contract_id": contract_id, "campus_id": campus_id, "student_id": student_id,
                        "product_id": None, "price_item_id": None, "grade": row.grade or "", "subject": row.course,
                        "level": row.level, "delivery": row.delivery, "study_campus_id": campus_id,
                        "unit_price_fen": row.unit_price_fen, "hours_x100": row.paid_hours_x100,
                        "gift_hours_x100": row.gift_hours_x100, "list_fen": row.value_fen, "discount_fen": 0,
                        "amount_fen": row.value_fen, "from_line_id": None, "created_at": now}
            line_row["id"] = uow.insert("contract_lines", line_row)
            opening_id = uow.insert("payments", {
                "campus_id": campus_id, "receipt_number": next(receipts), "kind": OPENING, "student_id": student_id,
                "lead_id": None, "contract_id": contract_id, "amount_fen": row.value_fen, "fund_account": None,
                "source_payment_id": None, "paid_at": self.at, "by_user_id": self.by_user_id,
                "note": f"opening balance migrated from {self.source}, line {line}"[:500], "created_at": now})
            entries = []
            if row.paid_hours_x100:
                entries.append(Entry(EntryKind.PURCHASED, row.paid_hours_x100, row.value_fen))
            if row.gift_hours_x100:
                entries.append(Entry(EntryKind.GIFT, row.gift_hours_x100, 0, gift=True))
            ledger.post(uow, line_row, entries, recorded_campus_id=campus_id, cause_table="payments",
                        cause_id=opening_id, by_user_id=self.by_user_id, at=self.at)
            self._openings.append(opening_id)
        return results

    def verify(self, uow: UnitOfWork, report: ImportReport[Any]) -> None:
        """The ledger's sums over what this import wrote equal the file's totals, or nothing is kept."""
        held = {key: 0 for key in TOTAL_KEYS}
        for start in range(0, len(self._openings), 500):
            chunk = self._openings[start:start + 500]
            paid, gift, value = uow.conn.execute(select(
                func.coalesce(func.sum(asset_entries.c.hours_x100).filter(asset_entries.c.gift.is_(False)), 0),
                func.coalesce(func.sum(asset_entries.c.hours_x100).filter(asset_entries.c.gift.is_(True)), 0),
                func.coalesce(func.sum(asset_entries.c.value_fen), 0)).where(
                asset_entries.c.cause_table == "payments", asset_entries.c.cause_id.in_(chunk))).one()
            held["paid_hours_x100"] += int(paid)
            held["gift_hours_x100"] += int(gift)
            held["value_fen"] += int(value)
        stated = {key: report.totals[key] for key in TOTAL_KEYS}
        if held != stated:
            raise Conflict(f"the ledger holds {held} after the import, the file states {stated}: nothing was kept",
                           held=held, stated=stated)
        report.totals["students"] = sum(1 for sid, _ in self._students.values() if sid)
