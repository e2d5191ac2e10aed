"""Payroll at a campus: one use case per action (see ``campus.web.usecase``), each audited.

A month's run goes draft → review → approved → paid. A draft is computed from the facts alone
(:func:`campus.node.payroll.rules.compute_run`) and may be recomputed as often as wanted; its
adjustments need a reason. Approval freezes it: an approved run is never written again, and a
fact of its month that arrives later is paid in the next run as a late line. Runs go in order:
a month is drafted only once every earlier run of the campus is approved; facts of months before
a campus's first run (or of a month it skipped) are not paid by payroll.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from campus.node.context import NodeWork
from campus.node.finance.payments import FUND_ACCOUNTS
from campus.node.payroll import queries
from campus.node.payroll.facts import facts_digest
from campus.node.payroll.payslips import (
    COMMISSIONS_ACCOUNT,
    LESSON_FEES_ACCOUNT,
    OTHER_PAY_ACCOUNT,
    RunResult,
)
from campus.node.payroll.rules import compute_run
from campus.schema.errors import Conflict, Invalid
from campus.schema.tables import payroll_runs, payslips, staff_records, users
from campus.web.payroll.plans import POSITIONS
from campus.web.usecase import use_case

MAX_FEN = 10_000_000_000


class RunLocked(Conflict):
    """The run is past the state this action needs (an approved run never changes)."""


class StaleRun(Conflict):
    """The facts changed since the draft was computed: recompute it before it is approved."""


class RunsOutOfOrder(Conflict):
    """An earlier month's run is not approved yet."""


def _period(value: str, today: date) -> str:
    if not isinstance(value, str) or len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit() \
            or not 1 <= int(value[5:]) <= 12:
        raise Invalid("period", "a month like 2026-12")
    if value > today.isoformat()[:7]:
        raise Invalid("period", f"{value} has not begun")
    return value


def _write_result(work: NodeWork, run: dict[str, Any], result: RunResult, digest: str) -> dict[str, Any]:
    """Bring the run's payslips to ``result`` (inserting, changing or tombstoning each one) and its totals."""
    now = work.ctx.now_text()
    existing = {r["user_id"]: dict(r) for r in work.conn.execute(select(payslips).where(
        payslips.c.run_id == run["id"])).mappings()}
    for slip in result.payslips:
        values = {"campus_id": work.ctx.id, "run_id": run["id"], "period": run["period"], "user_id": slip.user_id,
                  "positions": ",".join(slip.positions), **slip.columns(),
                  "lines": json.dumps([line.as_json() for line in slip.lines], ensure_ascii=False, sort_keys=True),
                  "deleted": False}
        held = existing.pop(slip.user_id, None)
        if held is None:
            work.uow.insert("payslips", {**values, "updated_at": now})
        elif any(held[k] != v for k, v in values.items()):
            work.uow.update("payslips", held["id"], {**values, "updated_at": now})
    for gone in existing.values():
        if not gone["deleted"]:
            work.uow.tombstone("payslips", gone["id"])
    accounts = result.by_account()
    totals = {"total_fen": result.total_fen, "lesson_fees_fen": accounts[LESSON_FEES_ACCOUNT],
              "commissions_fen": accounts[COMMISSIONS_ACCOUNT], "other_pay_fen": accounts[OTHER_PAY_ACCOUNT],
              "facts_digest": digest}
    if any(run.get(k) != v for k, v in totals.items()):
        work.uow.update("payroll_runs", run["id"], {**totals, "computed_at": now, "updated_at": now})
    return {**run, **totals}


def _compute(work: NodeWork, run: dict[str, Any]) -> tuple[dict[str, Any], RunResult]:
    facts, _plans = queries.run_facts(work.conn, work.ctx, run["period"])
    result = compute_run(facts)
    return _write_result(work, run, result, facts_digest(facts)), result


def _summary(run: dict[str, Any], result: RunResult | None = None) -> dict[str, Any]:
    made = {k: run[k] for k in ("id", "period", "status", "total_fen", "lesson_fees_fen", "commissions_fen",
                                "other_pay_fen")}
    if result is not None:
        made["payslips"] = len(result.payslips)
        made["warnings"] = list(result.warnings)
    return made


@use_case("payroll.manage")
def draft_run(work: NodeWork, period: str) -> dict[str, Any]:
    """Compute the month's draft, or recompute it: the same facts give the same run."""
    period = _period(period, work.ctx.today())
    open_before = work.conn.execute(select(payroll_runs.c.period).where(
        payroll_runs.c.campus_id == work.ctx.id, payroll_runs.c.period < period,
        payroll_runs.c.status.not_in(queries.LOCKED), payroll_runs.c.deleted.is_(False))).scalar()
    if open_before:
        raise RunsOutOfOrder(f"the run of {open_before} is not approved yet: months are paid in order",
                             open_period=open_before)
    run = queries.run_of_period(work.conn, work.ctx.id, period)
    if run is not None and run["status"] != "draft":
        raise RunLocked(f"the run of {period} is {run['status']}: it is no longer a draft", run_status=run["status"])
    if run is None:
        now = work.ctx.now_text()
        run = {"campus_id": work.ctx.id, "period": period, "status": "draft", "total_fen": 0, "lesson_fees_fen": 0,
               "commissions_fen": 0, "other_pay_fen": 0, "facts_digest": "", "computed_at": now,
               "created_by": work.actor.user_id, "created_at": now, "updated_at": now, "deleted": False}
        run["id"] = work.uow.insert("payroll_runs", run)
        action = "payroll_run_drafted"
    else:
        action = "payroll_run_recomputed"
    run, result = _compute(work, run)
    summary = _summary(run, result)
    work.audit(action, target_table="payroll_runs", target_id=run["id"], after=summary)
    return summary


def _run(work: NodeWork, run_id: str, *states: str) -> dict[str, Any]:
    run = queries.run_row(work.conn, work.ctx.id, run_id)
    if run["status"] not in states:
        raise RunLocked(f"the run of {run['period']} is {run['status']}", run_status=run["status"],
                        expected=list(states))
    return run


@use_case("payroll.manage")
def recompute_run(work: NodeWork, run_id: str) -> dict[str, Any]:
    run, result = _compute(work, _run(work, run_id, "draft"))
    summary = _summary(run, result)
    work.audit("payroll_run_recomputed", target_table="payroll_runs", target_id=run_id, after=summary)
    return summary


@use_case("payroll.manage")
def adjust_pay(work: NodeWork, run_id: str, user_id: str, amount_fen: int, reason: str) -> dict[str, Any]:
    """A manual adjustment of one employee's pay in a draft, with its reason; the draft is recomputed."""
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("reason", "an adjustment needs a reason")
    if isinstance(amount_fen, float) or type(amount_fen) is not int:
        raise Invalid("amount_fen", f"a whole number of fen, not {amount_fen!r}")
    if amount_fen == 0 or abs(amount_fen) > MAX_FEN:
        raise Invalid("amount_fen", "a non-zero whole number of fen")
    run = _run(work, run_id, "draft")
    known = work.conn.execute(select(staff_records.c.id).where(
        staff_records.c.campus_id == work.ctx.id, staff_records.c.user_id == user_id,
        staff_records.c.deleted.is_(False))).first()
    if known is None:
        raise Invalid("user_id", "not on this campus's staff")
    before = _summary(run)
    row: dict[str, Any] = {"campus_id": work.ctx.id, "run_id": run_id, "user_id": user_id, "amount_fen": amount_fen,
                           "reason": reason.strip(), "by_user_id": work.actor.user_id,
                           "created_at": work.ctx.now_text()}
    row["id"] = work.uow.insert("payroll_adjustments", row)
    run, result = _compute(work, run)
    work.audit("payroll_adjusted", target_table="payroll_adjustments", target_id=row["id"], before=before,
               after={**_summary(run), "user_id": user_id, "amount_fen": amount_fen, "reason": row["reason"]})
    return {**row, "run": _summary(run, result)}


@use_case("payroll.manage")
def submit_run(work: NodeWork, run_id: str) -> dict[str, Any]:
    """Send a draft for review, recomputed from the facts as they are now."""
    run, result = _compute(work, _run(work, run_id, "draft"))
    now = work.ctx.now_text()
    work.uow.update("payroll_runs", run_id, {"status": "review", "submitted_by": work.actor.user_id,
                                             "submitted_at": now, "updated_at": now})
    summary = {**_summary(run, result), "status": "review"}
    work.audit("payroll_run_submitted", target_table="payroll_runs", target_id=run_id,
               before={"status": "draft"}, after=summary)
    return summary


@use_case("payroll.approve")
def return_run(work: NodeWork, run_id: str, reason: str) -> dict[str, Any]:
    """Send a run under review back to draft, saying why."""
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("reason", "say why the run goes back")
    run = _run(work, run_id, "review")
    work.uow.update("payroll_runs", run_id, {"status": "draft", "updated_at": work.ctx.now_text()})
    work.audit("payroll_run_returned", target_table="payroll_runs", target_id=run_id, before={"status": "review"},
               after={"status": "draft", "reason": reason.strip(), "period": run["period"]})
    return {**_summary(run), "status": "draft"}


@use_case("payroll.approve")
def approve_run(work: NodeWork, run_id: str) -> dict[str, Any]:
    """Approve a run under review: it is locked from now on and posts to the books (6401, 6601 and
    6602 against 2211). Refused when the facts moved since it was computed."""
    run = _run(work, run_id, "review")
    facts, _plans = queries.run_facts(work.conn, work.ctx, run["period"])
    if facts_digest(facts) != run["facts_digest"]:
        raise StaleRun(f"facts of {run['period']} changed since the run was computed: return it to draft and "
                       "recompute it", run_id=run_id)
    now = work.ctx.now_text()
    work.uow.update("payroll_runs", run_id, {"status": "approved", "approved_by": work.actor.user_id,
                                             "approved_at": now, "updated_at": now})
    summary = {**_summary(run), "status": "approved", "approved_at": now}
    work.audit("payroll_run_approved", target_table="payroll_runs", target_id=run_id, before={"status": "review"},
               after=summary)
    return summary


@use_case("payroll.manage")
def pay_run(work: NodeWork, run_id: str, fund_account: str) -> dict[str, Any]:
    """Record that an approved run was paid from a fund account (Dr 2211, Cr the fund account)."""
    if fund_account not in FUND_ACCOUNTS:
        raise Invalid("fund_account", f"one of {', '.join(FUND_ACCOUNTS)}")
    run = _run(work, run_id, "approved")
    now = work.ctx.now_text()
    work.uow.update("payroll_runs", run_id, {"status": "paid", "paid_by": work.actor.user_id, "paid_at": now,
                                             "fund_account": fund_account, "updated_at": now})
    summary = {**_summary(run), "status": "paid", "paid_at": now, "fund_account": fund_account}
    work.audit("payroll_run_paid", target_table="payroll_runs", target_id=run_id, before={"status": "approved"},
               after=summary)
    return summary


# --- staff records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffRecord:
    user_id: str
    position: str
    start_on: str
    base_salary_fen: int = 0
    level: str | None = None
    end_on: str | None = None
    bank_name: str | None = None
    bank_account: str | None = None


def _checked(work: NodeWork, record: StaffRecord) -> dict[str, Any]:
    if work.conn.execute(select(users.c.id).where(users.c.id == record.user_id, users.c.deleted.is_(False))
                         ).first() is None:
        raise Invalid("user_id", f"no user {record.user_id}")
    if record.position not in POSITIONS:
        raise Invalid("position", f"one of {', '.join(POSITIONS)}")
    if isinstance(record.base_salary_fen, float) or type(record.base_salary_fen) is not int \
            or not 0 <= record.base_salary_fen <= MAX_FEN:
        raise Invalid("base_salary_fen", "a whole, non-negative number of fen")
    for name in ("start_on", "end_on"):
        value = getattr(record, name)
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise Invalid(name, "a date like 2026-12-01") from None
    if record.end_on is not None and record.end_on < record.start_on:
        raise Invalid("end_on", "ends before it starts")
    return {"campus_id": work.ctx.id, "user_id": record.user_id, "position": record.position,
            "level": record.level or None, "base_salary_fen": record.base_salary_fen, "start_on": record.start_on,
            "end_on": record.end_on or None, "bank_name": record.bank_name or None,
            "bank_account": record.bank_account or None}


def _audited_record(values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "bank_account": queries.mask_account(values.get("bank_account"))}


@use_case("payroll.staff")
def add_staff(work: NodeWork, record: StaffRecord) -> dict[str, Any]:
    """A user's position at this campus, with the base salary and (for a teacher) the level."""
    values = _checked(work, record)
    now = work.ctx.now_text()
    row = {**values, "created_at": now, "updated_at": now, "deleted": False}
    row["id"] = work.uow.insert("staff_records", row)
    work.audit("staff_record_added", target_table="staff_records", target_id=row["id"], after=_audited_record(values))
    return row


@use_case("payroll.staff")
def change_staff(work: NodeWork, record_id: str, record: StaffRecord) -> dict[str, Any]:
    before = queries.staff_row(work.conn, work.ctx.id, record_id)
    values = _checked(work, record)
    work.uow.update("staff_records", record_id, {**values, "updated_at": work.ctx.now_text()})
    work.audit("staff_record_changed", target_table="staff_records", target_id=record_id,
               before=_audited_record(before), after=_audited_record(values))
    return {**before, **values}
