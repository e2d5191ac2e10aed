"""Refunds: quote (writes nothing), request, approve, reject, pay. One use case per step, each
allowed to its roles only and audited with time, user, client IP, before and after.

A payout posts ``refunded`` entries that take the refunded paid hours (and the line's gift hours,
when the whole line goes) off the asset ledger, and the refund row it marks paid is the fact the
books post (Dr 2204, Cr the fund account, Cr 6051 for the fee and materials kept) and payroll
claws commission back from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from campus.node.books.queries import invoiced
from campus.node.books.rules import check_refund_against_invoices
from campus.node.context import NodeContext, NodeWork
from campus.node.finance import ledger
from campus.node.finance.contracts import contract_row
from campus.node.finance.payments import contract_money
from campus.node.refunds import queries
from campus.node.refunds.rules import check_step, payout_due
from campus.schema import assets
from campus.schema.books.chart import FundAccount
from campus.schema.errors import Conflict, Invalid
from campus.schema.numbers import next_number
from campus.schema.permissions import PermissionDenied
from campus.schema.quantities import Money
from campus.schema.refunds import Calculation, LineRequest, calculate
from campus.schema.tables import contract_lines
from campus.web.usecase import use_case

REASON_LABELS = {"school": "校方原因", "customer": "客户原因", "other": "其他原因"}


class OpenRefund(Conflict):
    """A line already named by a refund that is requested or approved: value is refunded once."""


class NothingRefundable(Conflict):
    """Under the policy nothing of what was asked would be paid back."""


class AboveRefundable(Conflict):
    """An amount above what the calculation allows."""


class ChangedSinceApproval(Conflict):
    """The contract changed between approval and payout (hours consumed, money refunded elsewhere)."""


class NotThisCampus(Conflict):
    """A refund is approved and paid by the campus that took the request."""


@dataclass(frozen=True)
class RefundAsk:
    """What a refund is for: the contract, which lines (all with paid hours left when none are
    named), some hours of one line (a partial refund), materials handed out, and an agreed amount
    (at most the refundable; the calculated amount when none is given)."""

    contract_id: str
    line_ids: list[str] | None = None
    hours_x100: int | None = None
    materials_fen: int = 0
    amount_fen: int | None = None


@dataclass(frozen=True)
class RefundRequest:
    ask: RefundAsk
    reason_category: str
    reason: str
    notes: str | None = None
    lines_detail: list[dict[str, Any]] = field(default_factory=list)


def _visible_contract(conn: Connection, ctx: NodeContext, contract_id: str) -> dict[str, Any]:
    """The contract, if this campus may refund it: its own, or one with a line studied here."""
    contract = contract_row(conn, contract_id)
    if contract["campus_id"] != ctx.id:
        studied = conn.execute(select(contract_lines.c.id).where(
            contract_lines.c.contract_id == contract_id, contract_lines.c.study_campus_id == ctx.id)).first()
        if studied is None:
            raise PermissionDenied("this contract is neither this campus's nor studied here", action="refunds.request")
    return contract


def _requests(conn: Connection, ask: RefundAsk) -> list[LineRequest]:
    line_ids = ask.line_ids
    if line_ids is None:
        state = queries.contract_state(conn, ask.contract_id)
        line_ids = [x.line_id for x in state.lines.values() if x.remaining_paid_hours_x100 > 0]
        if not line_ids:
            raise Invalid("line_ids", "no line of this contract holds paid hours to refund")
    if ask.hours_x100 is not None and len(line_ids) != 1:
        raise Invalid("hours_x100", "refund some hours of one line at a time: name that line in line_ids")
    return [LineRequest(line_id, ask.hours_x100) for line_id in line_ids]


def calculate_for(conn: Connection, ctx: NodeContext, ask: RefundAsk) -> Calculation:
    _visible_contract(conn, ctx, ask.contract_id)
    requests = _requests(conn, ask)
    state = queries.contract_state(conn, ask.contract_id)
    policies = {line_id: policy for line_id, (_, policy) in queries.policies_for(conn, ask.contract_id).items()}
    return calculate(state, requests, policies, ctx.today(), ask.materials_fen)


def quote(conn: Connection, ctx: NodeContext, ask: RefundAsk) -> dict[str, Any]:
    """The refund as it would be calculated today: every step, nothing written."""
    calc = calculate_for(conn, ctx, ask)
    return {"contract_id": ask.contract_id, **calc.as_dict()}


def _agreed_amount(calc: Calculation, amount_fen: int | None) -> int:
    if calc.refundable_fen <= 0:
        raise NothingRefundable("under the refund policy nothing would be paid back: "
                                + next((s.detail for s in calc.steps if s.label == "Policy tier applied"), ""),
                                field="line_ids")
    if amount_fen is None:
        return calc.refundable_fen
    if type(amount_fen) is not int or amount_fen <= 0:
        raise Invalid("amount_fen", "a positive whole number of fen")
    if amount_fen > calc.refundable_fen:
        raise AboveRefundable(f"at most {Money(calc.refundable_fen)} may be refunded; {Money(amount_fen)} asked",
                              field="amount_fen", refundable_fen=calc.refundable_fen)
    return amount_fen


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("number", "status", "amount_fen", "fee_fen", "materials_fen", "refundable_fen",
                                    "due_on", "fund_account", "decision_reason")}


@use_case("refunds.request")
def request_refund(work: NodeWork, request: RefundRequest) -> dict[str, Any]:
    ask = request.ask
    if request.reason_category not in REASON_LABELS:
        raise Invalid("reason_category", f"one of {', '.join(REASON_LABELS)} (校方 / 客户 / 其他)")
    if not request.reason.strip():
        raise Invalid("reason", "give the sub-reason of the refund")
    contract = _visible_contract(work.conn, work.ctx, ask.contract_id)
    open_lines = queries.open_refund_lines(work.conn, ask.contract_id)
    requests = _requests(work.conn, ask)
    for i, line in enumerate(requests):
        if line.line_id in open_lines:
            raise OpenRefund(f"refund {open_lines[line.line_id]} is already open on this line: approve, reject or "
                             f"pay it first", field=f"line_ids.{i}", refund_number=open_lines[line.line_id])
    calc = calculate_for(work.conn, work.ctx, ask)
    amount = _agreed_amount(calc, ask.amount_fen)
    policies = queries.policies_for(work.conn, ask.contract_id)
    whole = all(x.hours_x100 == queries.line_state(work.conn, ledger.line_row(work.conn, x.line_id))
                .remaining_paid_hours_x100 for x in calc.lines)
    every_line = {x.line_id for x in calc.lines} >= {
        line_id for line_id, state in queries.contract_state(work.conn, ask.contract_id).lines.items()
        if state.remaining_paid_hours_x100 > 0}
    now = work.ctx.now_text()
    row = {
        "campus_id": work.ctx.id, "number": next_number(work.conn, work.ctx.code, "refund"),
        "contract_id": ask.contract_id, "contract_campus_id": contract["campus_id"],
        "student_id": contract["student_id"], "consultant_id": contract["consultant_id"],
        "lines": json.dumps([{"line_id": x.line_id, "hours_x100": x.hours_x100, "gift_hours_x100": x.gift_hours_x100,
                              "value_fen": x.value_fen, "base_fen": x.base_fen, "fee_fen": x.fee_fen,
                              "tier": x.tier} for x in calc.lines], ensure_ascii=False),
        "policy_id": next((policies[x.line_id][0] for x in calc.lines if x.line_id in policies), None),
        "calculation": json.dumps(calc.as_dict(), ensure_ascii=False),
        "refundable_fen": calc.refundable_fen, "amount_fen": amount,
        "fee_fen": calc.base_fen - amount - calc.materials_fen, "materials_fen": calc.materials_fen,
        "value_fen": calc.value_fen, "kind": "full" if whole and every_line else "partial",
        "stage": "continuing" if contract["kind"] == "renewal" else "new",
        "reason_category": request.reason_category, "reason": request.reason.strip()[:64],
        "notes": request.notes, "status": "requested", "requested_by": work.actor.user_id, "requested_at": now,
        "decided_by": None, "decided_at": None, "decision_reason": None, "due_on": None, "fund_account": None,
        "paid_by": None, "paid_at": None, "updated_at": now, "deleted": False}
    row["id"] = work.uow.insert("refunds", row)
    work.audit("refund_requested", target_table="refunds", target_id=row["id"],
               after={**_summary(row), "contract_id": ask.contract_id, "reason_category": request.reason_category,
                      "reason": row["reason"], "steps": calc.as_dict()["steps"]})
    return queries.refund_view(work.conn, row["id"])


def _own_refund(work: NodeWork, refund_id: str, step: str) -> dict[str, Any]:
    row = queries.refund_row(work.conn, refund_id)
    if row["campus_id"] != work.ctx.id:
        raise NotThisCampus("this refund was requested at another campus: it is approved and paid there",
                            campus_id=row["campus_id"])
    check_step(row["status"], step)
    return row


@use_case("refunds.approve")
def approve_refund(work: NodeWork, refund_id: str, note: str | None = None) -> dict[str, Any]:
    row = _own_refund(work, refund_id, "approve")
    started = queries.contract_state(work.conn, row["contract_id"]).consumed_value_fen > 0
    due = payout_due(work.ctx.today(), started, work.ctx.refunds)
    change = {"status": "approved", "decided_by": work.actor.user_id, "decided_at": work.ctx.now_text(),
              "decision_reason": note, "due_on": due.isoformat(), "updated_at": work.ctx.now_text()}
    work.uow.update("refunds", refund_id, change)
    work.audit("refund_approved", target_table="refunds", target_id=refund_id, before=_summary(row),
               after=_summary({**row, **change}))
    return queries.refund_view(work.conn, refund_id)


@use_case("refunds.approve")
def reject_refund(work: NodeWork, refund_id: str, reason: str) -> dict[str, Any]:
    if not (reason and reason.strip()):
        raise Invalid("reason", "say why the refund is rejected")
    row = _own_refund(work, refund_id, "reject")
    change = {"status": "rejected", "decided_by": work.actor.user_id, "decided_at": work.ctx.now_text(),
              "decision_reason": reason.strip(), "updated_at": work.ctx.now_text()}
    work.uow.update("refunds", refund_id, change)
    work.audit("refund_rejected", target_table="refunds", target_id=refund_id, before=_summary(row),
               after=_summary({**row, **change}))
    return queries.refund_view(work.conn, refund_id)


@use_case("refunds.pay")
def pay_refund(work: NodeWork, refund_id: str, fund_account: str | None = None) -> dict[str, Any]:
    """Pay an approved refund: the ledger gives the hours back, the refund becomes the fact the
    books post and payroll claws commission back from."""
    row = _own_refund(work, refund_id, "pay")
    lines = json.loads(row["lines"])
    ask = RefundAsk(row["contract_id"], [x["line_id"] for x in lines],
                    lines[0]["hours_x100"] if len(lines) == 1 else None, row["materials_fen"], row["amount_fen"])
    try:
        now_calc = calculate_for(work.conn, work.ctx, ask) if len(lines) == 1 else calculate(
            queries.contract_state(work.conn, row["contract_id"]),
            [LineRequest(x["line_id"], x["hours_x100"]) for x in lines],
            {k: p for k, (_, p) in queries.policies_for(work.conn, row["contract_id"]).items()},
            work.ctx.today(), row["materials_fen"])
    except Conflict as exc:
        raise ChangedSinceApproval(f"the contract changed since approval ({exc.detail}): reject this refund and "
                                   f"request it again", field="status") from None
    if now_calc.refundable_fen < row["amount_fen"]:
        raise ChangedSinceApproval(f"only {Money(now_calc.refundable_fen)} is refundable now (hours were consumed "
                                   f"or money refunded since approval): reject this refund and request it again",
                                   field="status", refundable_fen=now_calc.refundable_fen)
    account = fund_account or queries.original_channel(work.conn, row["contract_id"]) or FundAccount.CASH
    if account not in tuple(FundAccount):
        raise Invalid("fund_account", f"one of {', '.join(FundAccount)}")
    money = contract_money(work.conn, row["contract_id"])
    check_refund_against_invoices(row["amount_fen"], money["paid_fen"], invoiced(work.conn, row["contract_id"]))
    now = work.ctx.now_text()
    for result in now_calc.lines:
        line = ledger.line_row(work.conn, result.line_id)
        entries = [assets.take_paid(ledger.line_balance(work.conn, result.line_id), result.hours_x100,
                                    assets.EntryKind.REFUNDED)]
        if result.gift_hours_x100:
            entries.append(assets.Entry(assets.EntryKind.REFUNDED, -result.gift_hours_x100, 0, gift=True))
        ledger.post(work.uow, line, entries, recorded_campus_id=work.ctx.id, cause_table="refunds",
                    cause_id=refund_id, by_user_id=work.actor.user_id, at=now)
    change = {"status": "paid", "paid_by": work.actor.user_id, "paid_at": now, "fund_account": str(account),
              "value_fen": now_calc.value_fen,
              "fee_fen": now_calc.base_fen - row["amount_fen"] - now_calc.materials_fen, "updated_at": now}
    work.uow.update("refunds", refund_id, change)
    work.audit("refund_paid", target_table="refunds", target_id=refund_id, before=_summary(row),
               after={**_summary({**row, **change}), "hours_x100": sum(x.hours_x100 for x in now_calc.lines)})
    if row["consultant_id"]:  # the event payroll claws the commission on this money back from
        work.audit("commission_clawback", target_table="refunds", target_id=refund_id,
                   after={"consultant_id": row["consultant_id"], "contract_id": row["contract_id"],
                          "refunded_fen": row["amount_fen"], "month": work.ctx.today().isoformat()[:7]})
    return queries.refund_view(work.conn, refund_id)
