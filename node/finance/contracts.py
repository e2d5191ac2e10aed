"""Contracts: signing priced from the price list, and changes as recorded events with
automatic amounts (expand, shrink, bad-debt write-off, extension, exchange of hours)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.crm.leads import CampusRef
from campus.node.crm.moves import CrmSettings, move_lead
from campus.node.crm.pools import TRANSITIONS, Move, Pool
from campus.node.finance import ledger
from campus.node.finance.payments import apply_deposit, contract_money, payments_of
from campus.node.finance.students import Status, get_student, move_status
from campus.schema import assets
from campus.schema.errors import Conflict, Invalid, NotFound
from campus.schema.numbers import next_number
from campus.schema.permissions import Role
from campus.schema.prepaid import Finding, PrepaidRuleBroken, check_line
from campus.schema.pricing import LineRequest, list_price, quote
from campus.schema.tables import asset_entries, contract_events, contract_lines, contracts, leads
from campus.schema.times import utc_now_text
from campus.sync.capture import UnitOfWork
from campus.web.prices.store import find_price, price_item, product, promo

DEFAULT_VALIDITY_DAYS = 365
class ChangeKind(StrEnum):
    EXPAND = "expand"
    SHRINK = "shrink"
    WRITE_OFF = "write_off"
    EXTEND = "extend"
    EXCHANGE = "exchange"


CHANGE_KINDS = tuple(ChangeKind)


class ContractNotFound(NotFound):
    pass


@dataclass(frozen=True)
class LineSpec:
    """One line as asked for: a product, or a price-list item with hours."""

    product_id: str | None = None
    grade: str | None = None
    subject: str | None = None
    level: str | None = None
    delivery: str | None = None
    hours_x100: int | None = None
    gift_hours_x100: int = 0
    study_campus_id: str | None = None


def _resolve(conn: Connection, spec: LineSpec, i: int, field: str = "lines",
             needs_hours: bool = True) -> tuple[dict[str, Any], int, int, int | None]:
    """(price item, hours, gift hours, validity days) of one requested line."""
    at = f"{field}.{i}" if field == "lines" else field
    if spec.product_id:
        try:
            item = product(conn, spec.product_id)
        except NotFound:
            raise Invalid(f"{at}.product_id", f"unknown product {spec.product_id}") from None
        if not item["active"]:
            raise Invalid(f"{at}.product_id", f"product {item['code']} is no longer sold")
        return price_item(conn, item["price_item_id"]), item["hours_x100"], item["gift_hours_x100"], \
            item["validity_days"]
    wanted = ("grade", "subject", "level", "delivery", "hours_x100")[:5 if needs_hours else 4]
    missing = [f for f in wanted if getattr(spec, f) is None]
    if missing:
        raise Invalid(f"{at}.{missing[0]}", "give a product_id, or grade, subject, level, delivery and hours")
    try:
        found = find_price(conn, spec.grade, spec.subject, spec.level, spec.delivery)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Invalid(f"{at}.grade", exc.detail) from None
    return found, spec.hours_x100, spec.gift_hours_x100, None  # type: ignore[return-value]


def sign_contract(uow: UnitOfWork, campus: CampusRef, student_id: str, lines: list[LineSpec], *,
                  roles: frozenset[Role], by_user_id: str | None, today: date,
                  promo_code: str | None = None, manual_discount_fen: int = 0,
                  deposit_ids: list[str] | None = None, expires_on: str | None = None,
                  crm: CrmSettings | None = None) -> dict[str, Any]:
    student = get_student(uow.conn, student_id)
    if student["status"] in (Status.FINISHED, Status.WITHDRAWN):
        raise Conflict(f"student {student['number']} is {student['status']}; readmit them first",
                       student_status=student["status"])
    resolved = [_resolve(uow.conn, spec, i) for i, spec in enumerate(lines)]
    code, uses = (promo_code, 0)
    promo_rule = None
    if promo_code:
        promo_rule, uses = promo(uow.conn, promo_code)
    priced = quote([LineRequest(hours, gift, item["unit_price_fen"]) for item, hours, gift, _ in resolved],
                   promo_rule, uses, today, manual_discount_fen, roles)
    validity = max((days for *_, days in resolved if days), default=DEFAULT_VALIDITY_DAYS)
    if expires_on is not None and expires_on <= today.isoformat():
        raise Invalid("expires_on", "must be after today")
    ends = expires_on or (today + timedelta(days=validity)).isoformat()
    findings, blocking = _prepaid_findings(uow.conn, student_id, lines, resolved, today, date.fromisoformat(ends))
    if blocking:
        raise PrepaidRuleBroken("; ".join(f.detail for f in blocking),
                                findings=[vars(f) for f in blocking])
    earlier = uow.conn.execute(select(contracts.c.id).where(contracts.c.student_id == student_id,
                                                            contracts.c.deleted.is_(False))).first()
    now = utc_now_text()
    contract_id = uow.insert("contracts", {
        "campus_id": campus.id, "number": next_number(uow.conn, campus.code, "contract"), "student_id": student_id,
        "kind": "renewal" if earlier else "new", "signed_at": now,
        "expires_on": ends,
        "list_fen": priced.list_fen, "promo_code": code, "promo_discount_fen": priced.promo_discount_fen,
        "manual_discount_fen": priced.manual_discount_fen, "amount_fen": priced.amount_fen,
        "consultant_id": by_user_id, "created_by": by_user_id, "created_at": now, "deleted": False})
    for spec, (item, _, _, _), line in zip(lines, resolved, priced.lines, strict=True):
        row = {"contract_id": contract_id, "campus_id": campus.id, "student_id": student_id,
               "product_id": spec.product_id, "price_item_id": item["id"], "grade": item["grade"],
               "subject": item["subject"], "level": item["level"], "delivery": item["delivery"],
               "study_campus_id": spec.study_campus_id or campus.id, "unit_price_fen": line.unit_price_fen,
               "hours_x100": line.hours_x100, "gift_hours_x100": line.gift_hours_x100, "list_fen": line.list_fen,
               "discount_fen": line.discount_fen, "amount_fen": line.amount_fen, "from_line_id": None,
               "created_at": now}
        row["id"] = uow.insert("contract_lines", row)
        ledger.post(uow, row, assets.purchase(line.hours_x100, line.amount_fen, line.gift_hours_x100),
                    recorded_campus_id=campus.id, cause_table="contract_lines", cause_id=row["id"],
                    by_user_id=by_user_id, at=now)
    for deposit_id in deposit_ids or []:
        apply_deposit(uow, campus, deposit_id, contract_id, student_id, student["lead_id"], by_user_id)
    if student["status"] == Status.PENDING:
        move_status(uow, student_id, "admit")
    if student["lead_id"] and crm:
        pool = uow.conn.execute(select(leads.c.pool).where(leads.c.id == student["lead_id"])).scalar()
        if pool and Pool(pool) in TRANSITIONS[Move.SIGN][0]:
            move_lead(uow, student["lead_id"], Move.SIGN, None, campus.id, datetime.now(UTC), crm,
                      reason=f"contract signed for student {student['number']}")
    return {**contract_view(uow.conn, contract_id), "prepaid_warnings": [vars(f) for f in findings]}


def _prepaid_findings(conn: Connection, student_id: str, lines: list[LineSpec],
                      resolved: list[tuple[dict[str, Any], int, int, int | None]], today: date,
                      ends: date) -> tuple[list[Finding], list[Finding]]:
    """(warnings, blocking findings) of the lines whose products are covered by the prepaid rule."""
    warnings: list[Finding] = []
    blocking: list[Finding] = []
    for spec, (item, hours, _gift, _days) in zip(lines, resolved, strict=True):
        if not spec.product_id:
            continue
        rule = product(conn, spec.product_id)["prepaid_rule"]
        if rule == "off":
            continue
        held = conn.execute(select(func.coalesce(func.sum(asset_entries.c.hours_x100), 0)).join(
            contract_lines, contract_lines.c.id == asset_entries.c.line_id).where(
            contract_lines.c.student_id == student_id, contract_lines.c.subject == item["subject"])).scalar_one()
        found = check_line(item["subject"], hours, today, ends, held)
        (blocking if rule == "block" else warnings).extend(found)
    return warnings, blocking


def schedulable(contract: dict[str, Any], today: date, expiry_policy: str) -> tuple[bool, str | None]:
    """Whether lessons may still be booked against the contract, and why not."""
    if contract["expires_on"] >= today.isoformat():
        return True, None
    if expiry_policy == "may_schedule":
        return True, None
    return False, f"contract {contract['number']} expired on {contract['expires_on']}: extend it before scheduling"


def contract_row(conn: Connection, contract_id: str) -> dict[str, Any]:
    row = conn.execute(select(contracts).where(contracts.c.id == contract_id, contracts.c.deleted.is_(False))
                       ).mappings().first()
    if row is None:
        raise ContractNotFound(f"no contract {contract_id}", contract_id=contract_id)
    return dict(row)


def contract_view(conn: Connection, contract_id: str) -> dict[str, Any]:
    """The contract with its lines (each with its balance), change events, payments and arrears."""
    contract = contract_row(conn, contract_id)
    lines = []
    for line in conn.execute(select(contract_lines).where(contract_lines.c.contract_id == contract_id)
                             .order_by(contract_lines.c.created_at, contract_lines.c.id)).mappings():
        lines.append({**dict(line), "balance": ledger.line_balance(conn, line["id"]).as_dict()})
    events = [{**dict(e), "detail": json.loads(e["detail"]) if e["detail"] else None} for e in conn.execute(
        select(contract_events).where(contract_events.c.contract_id == contract_id)
        .order_by(contract_events.c.at, contract_events.c.id)).mappings()]
    money = contract_money(conn, contract_id)
    return {**contract, **money, "lines": lines, "events": events, "payments": payments_of(conn, contract_id),
            "status": _status(money, lines)}


def _status(money: dict[str, int], lines: list[dict[str, Any]]) -> str:
    """in_force | partly_refunded | refunded: a refund's payout moves it (expiry shows as its date)."""
    if money.get("refunded_fen"):
        left = any(line["balance"]["hours_x100"] > 0 for line in lines)
        return "partly_refunded" if left else "refunded"
    return "in_force"


def _line_of(conn: Connection, contract_id: str, line_id: str | None) -> dict[str, Any]:
    if not line_id:
        raise Invalid("line_id", "name the contract line")
    try:
        line = ledger.line_row(conn, line_id)
    except NotFound:
        raise Invalid("line_id", f"no line {line_id}") from None
    if line["contract_id"] != contract_id:
        raise Invalid("line_id", "the line belongs to another contract")
    return line


def _hours(value: int | None) -> int:
    if type(value) is not int or value <= 0:
        raise Invalid("hours_x100", "must be a positive whole number of hundredths of an hour")
    return value


def change_contract(uow: UnitOfWork, campus: CampusRef, contract_id: str, kind: str, *, by_user_id: str | None,
                    today: date, line_id: str | None = None, hours_x100: int | None = None,
                    gift_hours_x100: int = 0, amount_fen: int | None = None, expires_on: str | None = None,
                    target: LineSpec | None = None, reason: str | None = None) -> dict[str, Any]:
    """Record one change with its automatic amounts and post its ledger entries."""
    contract = contract_row(uow.conn, contract_id)
    if kind not in CHANGE_KINDS:
        raise Invalid("kind", f"one of {', '.join(CHANGE_KINDS)}")
    now = utc_now_text()
    event: dict[str, Any] = {"contract_id": contract_id, "campus_id": contract["campus_id"],
                             "student_id": contract["student_id"], "line_id": line_id,
                             "kind": kind, "hours_x100": 0, "due_delta_fen": 0, "detail": None,
                             "reason": reason, "by_user_id": by_user_id, "at": now}
    postings: list[tuple[dict[str, Any], list[assets.Entry]]] = []
    if kind == "expand":
        line = _line_of(uow.conn, contract_id, line_id)
        hours = _hours(hours_x100)
        price = list_price(hours, line["unit_price_fen"])
        event.update(hours_x100=hours, due_delta_fen=price,
                     detail=json.dumps({"unit_price_fen": line["unit_price_fen"], "gift_hours_x100": gift_hours_x100}))
        postings.append((line, assets.purchase(hours, price, gift_hours_x100)))
    elif kind == "shrink":
        line = _line_of(uow.conn, contract_id, line_id)
        hours = _hours(hours_x100)
        entry = assets.take_paid(ledger.line_balance(uow.conn, line["id"]), hours, assets.EntryKind.REFUNDED)
        event.update(hours_x100=hours, due_delta_fen=entry.value_fen)
        postings.append((line, [entry]))
    elif kind == "write_off":
        if type(amount_fen) is not int or amount_fen <= 0:
            raise Invalid("amount_fen", "must be a positive whole number of fen")
        if not (reason and reason.strip()):
            raise Invalid("reason", "a bad-debt write-off needs a reason")
        arrears = contract_money(uow.conn, contract_id)["arrears_fen"]
        if amount_fen > arrears:
            raise Conflict(f"the contract owes {arrears} fen; cannot write off {amount_fen}",
                           field="amount_fen", arrears_fen=arrears)
        event.update(due_delta_fen=-amount_fen)
    elif kind == "extend":
        if not expires_on:
            raise Invalid("expires_on", "give the new expiry date")
        try:
            date.fromisoformat(expires_on)
        except ValueError:
            raise Invalid("expires_on", "must be a date like 2027-06-30") from None
        if expires_on <= contract["expires_on"]:
            raise Invalid("expires_on", f"must be after the current expiry {contract['expires_on']}")
        event.update(detail=json.dumps({"from": contract["expires_on"], "to": expires_on}))
        uow.update("contracts", contract_id, {"expires_on": expires_on})
        _give_back_expired(uow, contract_id, campus.id, by_user_id)
    elif kind == "exchange":
        line = _line_of(uow.conn, contract_id, line_id)
        hours = _hours(hours_x100)
        if target is None:
            raise Invalid("target", "name the course (product or price item) the hours go to")
        item, _, _, _ = _resolve(uow.conn, target, 0, "target", needs_hours=False)
        out, into = assets.exchange(ledger.line_balance(uow.conn, line["id"]), hours, item["unit_price_fen"])
        new_line = {"contract_id": contract_id, "campus_id": contract["campus_id"],
                    "student_id": contract["student_id"], "product_id": target.product_id,
                    "price_item_id": item["id"], "grade": item["grade"], "subject": item["subject"],
                    "level": item["level"], "delivery": item["delivery"],
                    "study_campus_id": target.study_campus_id or line["study_campus_id"],
                    "unit_price_fen": item["unit_price_fen"], "hours_x100": 0, "gift_hours_x100": 0,
                    "list_fen": 0, "discount_fen": 0, "amount_fen": 0, "from_line_id": line["id"],
                    "created_at": now}
        new_line["id"] = uow.insert("contract_lines", new_line)
        event.update(hours_x100=hours, detail=json.dumps({
            "to_line_id": new_line["id"], "value_fen": into.value_fen, "hours_in_x100": into.hours_x100,
            "from_unit_price_fen": line["unit_price_fen"], "to_unit_price_fen": item["unit_price_fen"]}))
        postings += [(line, [out]), (new_line, [into])]
    event_id = uow.insert("contract_events", event)
    for line, entries in postings:
        ledger.post(uow, line, entries, recorded_campus_id=campus.id, cause_table="contract_events",
                    cause_id=event_id, by_user_id=by_user_id, at=now)
    return contract_view(uow.conn, contract_id)


def _give_back_expired(uow: UnitOfWork, contract_id: str, campus_id: str, by_user_id: str | None) -> None:
    """An extension returns the hours an expiry took off the contract's lines (reversing entries)."""
    entries = uow.conn.execute(select(asset_entries.c.id).where(
        asset_entries.c.contract_id == contract_id, asset_entries.c.kind == "expired")).all()
    reversed_ids = {row.reverses_entry_id for row in uow.conn.execute(select(asset_entries.c.reverses_entry_id).where(
        asset_entries.c.contract_id == contract_id, asset_entries.c.reverses_entry_id.is_not(None)))}
    for entry in entries:
        if entry.id not in reversed_ids:
            ledger.reverse_entry(uow, entry.id, recorded_campus_id=campus_id, by_user_id=by_user_id,
                                 cause_table="contracts", cause_id=contract_id)


def contracts_of(conn: Connection, student_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(contracts).where(contracts.c.student_id == student_id, contracts.c.deleted.is_(False))
                        .order_by(contracts.c.signed_at.desc()))
    return [{**dict(r), **contract_money(conn, r.id)} for r in rows.mappings()]
