"""Read queries of payroll at a campus: the facts a month's run is computed from, and the views of
runs, payslips and staff records (bank accounts masked except to finance)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from campus.node.payroll.facts import (
    Adjustment,
    Carried,
    Consumed,
    Earned,
    PaidRefund,
    RunFacts,
    Sale,
    StaffPosition,
    Taught,
    period_days,
)
from campus.node.payroll.payslips import ATTENDED, FACT_CATEGORIES, Category
from campus.schema.context import Actor, CampusContext
from campus.schema.errors import NotFound
from campus.schema.permissions import PermissionDenied, mask_phone
from campus.schema.tables import (
    attendance_confirmations,
    classes,
    contract_lines,
    contracts,
    courses,
    lead_history,
    lessons,
    payments,
    payroll_adjustments,
    payroll_runs,
    payslips,
    refunds,
    staff_records,
    students,
    users,
)
from campus.web.payroll.plans import Basis, ConsultantPlan, Plan, Position
from campus.web.payroll.store import plans_in_force

LOCKED = ("approved", "paid")  # an approved run never changes; its facts are paid for good
# How far back a draft looks for late facts: a fact of an approved month older than this is left
# to a manual adjustment (a draft does not rescan every lesson since the campus's first run).
LATE_LOOKBACK_MONTHS = 12


def months_before(period: str, months: int) -> str:
    index = int(period[:4]) * 12 + int(period[5:]) - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


class RunNotFound(NotFound):
    pass


class PayslipNotFound(NotFound):
    pass


def _period_of(ctx: CampusContext, instant: str) -> str:
    return ctx.local_date(instant).isoformat()[:7]


def locked_periods(conn: Connection, campus_id: str) -> dict[str, str]:
    """period → run id of the campus's approved (or paid) runs."""
    return {row.period: row.id for row in conn.execute(select(payroll_runs.c.period, payroll_runs.c.id).where(
        payroll_runs.c.campus_id == campus_id, payroll_runs.c.status.in_(LOCKED),
        payroll_runs.c.deleted.is_(False)))}


def _locked_lines(conn: Connection, campus_id: str) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    """(payslip, line) of every approved run of the campus."""
    locked = select(payroll_runs.c.id).where(payroll_runs.c.campus_id == campus_id,
                                             payroll_runs.c.status.in_(LOCKED))
    for slip in conn.execute(select(payslips.c.id, payslips.c.user_id, payslips.c.period, payslips.c.lines,
                                    payslips.c.carry_out_fen).where(
            payslips.c.run_id.in_(locked), payslips.c.deleted.is_(False))).mappings():
        for line in json.loads(slip["lines"]):
            yield dict(slip), line


def run_facts(conn: Connection, ctx: CampusContext, period: str) -> tuple[RunFacts, dict[str, str]]:
    """The facts of ``period`` at this campus, and those of the approved months of the year before it
    that their run did not include (late); with the ids of the plans in force, per position."""
    first, last = period_days(period)
    locked = locked_periods(conn, ctx.id)
    earlier = sorted(p for p in locked if months_before(period, LATE_LOOKBACK_MONTHS) <= p < period)
    start = period_days(earlier[0])[0] if earlier else first
    low, high = ctx.day_bounds(start, last)
    included: set[tuple[str, str]] = set()
    earned: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for slip, line in _locked_lines(conn, ctx.id):
        if line["category"] in FACT_CATEGORIES:
            included.add((line["source_table"], line["source_id"]))
        if line["category"] == Category.COMMISSION:
            pair = earned[(slip["user_id"], line["detail"]["contract_id"])]
            pair[0] += line["amount_fen"]
            pair[1] += line["detail"]["basis_fen"]

    def wanted(table: str, source_id: str, fact_period: str) -> bool:
        if fact_period == period:
            return True
        return fact_period in earlier and (table, source_id) not in included

    in_force = plans_in_force(conn, ctx.id, last)
    plans: dict[str, Plan] = {position: plan for position, (_id, plan) in in_force.items()}
    consultant = plans.get(Position.CONSULTANT)
    basis = consultant.basis if isinstance(consultant, ConsultantPlan) else None
    facts = RunFacts(
        period=period, staff=_staff(conn, ctx.id), plans=plans,
        sales=tuple(s for s in _sales(conn, ctx, basis, low, high) if wanted(s.source_table, s.source_id, s.period)),
        consumed=tuple(c for c in _consumed(conn, ctx, low, high)
                       if wanted("attendance_confirmations", c.source_id, c.period)),
        taught=tuple(t for t in _taught(conn, ctx, low, high) if wanted("lessons", t.source_id, t.period)),
        refunds=tuple(r for r in _refunds(conn, ctx, low, high) if wanted("refunds", r.source_id, r.period)),
        earned=tuple(Earned(user, contract, fen, basis_fen) for (user, contract), (fen, basis_fen)
                     in sorted(earned.items())),
        carried=_carried(conn, ctx.id, period, locked),
        adjustments=_adjustments(conn, ctx.id, period))
    return facts, {position: plan_id for position, (plan_id, _plan) in in_force.items()}


def _staff(conn: Connection, campus_id: str) -> tuple[StaffPosition, ...]:
    return tuple(StaffPosition(r.id, r.user_id, r.position, r.level, r.base_salary_fen, r.start_on, r.end_on)
                 for r in conn.execute(select(staff_records).where(staff_records.c.campus_id == campus_id,
                                                                   staff_records.c.deleted.is_(False))
                                       .order_by(staff_records.c.id)))


def _inviters(conn: Connection, student_ids: set[str]) -> dict[str, str]:
    """student → the consultant who last moved their lead into the invited pool (邀约)."""
    found: dict[str, str] = {}
    if not student_ids:
        return found
    leads_of = {r.id: r.lead_id for r in conn.execute(select(students.c.id, students.c.lead_id).where(
        students.c.id.in_(student_ids), students.c.lead_id.is_not(None)))}
    by_lead: dict[str, str] = {}
    for row in conn.execute(select(lead_history.c.lead_id, lead_history.c.by_user_id).where(
            lead_history.c.lead_id.in_(set(leads_of.values())), lead_history.c.to_pool == "invited",
            lead_history.c.by_user_id.is_not(None)).order_by(lead_history.c.at, lead_history.c.hlc, lead_history.c.id)):
        by_lead[row.lead_id] = row.by_user_id
    for student_id, lead_id in leads_of.items():
        if lead_id in by_lead:
            found[student_id] = by_lead[lead_id]
    return found


def _sales(conn: Connection, ctx: CampusContext, basis: Basis | None, low: str, high: str) -> list[Sale]:
    if basis is None:
        return []
    live = (contracts.c.campus_id == ctx.id) & contracts.c.deleted.is_(False)
    rows: list[tuple[str, str, str, str, dict[str, Any]]] = []  # (table, id, at, amount, contract)
    if basis is Basis.SIGNED:
        for c in conn.execute(select(contracts).where(live, contracts.c.signed_at >= low,
                                                      contracts.c.signed_at < high)).mappings():
            rows.append(("contracts", c["id"], c["signed_at"], c["number"], {**dict(c), "fen": c["amount_fen"]}))
    else:
        mine = {c["id"]: dict(c) for c in conn.execute(select(contracts).where(live)).mappings()}
        for p in conn.execute(select(payments).where(
                payments.c.kind.in_(("payment", "deposit_applied")), payments.c.contract_id.in_(list(mine)),
                payments.c.paid_at >= low, payments.c.paid_at < high)).mappings():
            contract = mine[p["contract_id"]]
            rows.append(("payments", p["id"], p["paid_at"], f"{p['receipt_number']} ({contract['number']})",
                         {**contract, "fen": p["amount_fen"]}))
    inviters = _inviters(conn, {row[4]["student_id"] for row in rows})
    return [Sale(table, source_id, ref, contract["id"], contract["kind"], contract["fen"], contract["consultant_id"],
                 at, _period_of(ctx, at), inviters.get(contract["student_id"]))
            for table, source_id, at, ref, contract in rows]


def _consumed(conn: Connection, ctx: CampusContext, low: str, high: str) -> list[Consumed]:
    """Hours of renewal contracts consumed in lessons here (a re-confirmation counts its change),
    each for the academic advisor who follows the lesson's class (班主任)."""
    rows = [dict(r) for r in conn.execute(
        select(attendance_confirmations, contract_lines.c.contract_id, contracts.c.number, contracts.c.kind,
               contracts.c.amount_fen.label("contract_amount_fen"), classes.c.class_teacher_id)
        .join(contract_lines, contract_lines.c.id == attendance_confirmations.c.line_id)
        .join(contracts, contracts.c.id == contract_lines.c.contract_id)
        .join(lessons, lessons.c.id == attendance_confirmations.c.lesson_id)
        .outerjoin(classes, classes.c.id == lessons.c.class_id)
        .where(attendance_confirmations.c.campus_id == ctx.id, contracts.c.kind == "renewal",
               attendance_confirmations.c.confirmed_at >= low, attendance_confirmations.c.confirmed_at < high)
    ).mappings()]
    superseded_ids = {r["supersedes_id"] for r in rows if r["supersedes_id"]}
    before = {r.id: r.hours_x100 for r in conn.execute(select(
        attendance_confirmations.c.id, attendance_confirmations.c.hours_x100).where(
        attendance_confirmations.c.id.in_(superseded_ids)))} if superseded_ids else {}
    contract_ids = {r["contract_id"] for r in rows}
    hours = dict(conn.execute(select(contract_lines.c.contract_id, func.sum(
        contract_lines.c.hours_x100 + contract_lines.c.gift_hours_x100)).where(
        contract_lines.c.contract_id.in_(contract_ids)).group_by(contract_lines.c.contract_id)).all())
    made = []
    for r in rows:
        delta = r["hours_x100"] - before.get(r["supersedes_id"], 0)
        if delta:
            made.append(Consumed(r["id"], r["number"], r["class_teacher_id"], r["contract_id"], delta,
                                 r["contract_amount_fen"], int(hours.get(r["contract_id"]) or 0), r["confirmed_at"],
                                 _period_of(ctx, r["confirmed_at"])))
    return made


def _taught(conn: Connection, ctx: CampusContext, low: str, high: str) -> list[Taught]:
    """Lessons taught here with at least one confirmation, and how many students attended."""
    rows = conn.execute(select(lessons.c.id, lessons.c.teacher_id, lessons.c.hours_x100, lessons.c.starts_at,
                               courses.c.name, courses.c.delivery, classes.c.category)
                        .join(courses, courses.c.id == lessons.c.course_id)
                        .outerjoin(classes, classes.c.id == lessons.c.class_id)
                        .where(lessons.c.campus_id == ctx.id, lessons.c.status == "scheduled",
                               lessons.c.deleted.is_(False), lessons.c.starts_at >= low,
                               lessons.c.starts_at < high)).all()
    if not rows:
        return []
    confirmed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in conn.execute(select(attendance_confirmations.c.id, attendance_confirmations.c.lesson_id,
                                 attendance_confirmations.c.student_id, attendance_confirmations.c.mark,
                                 attendance_confirmations.c.supersedes_id, attendance_confirmations.c.hlc).where(
            attendance_confirmations.c.lesson_id.in_([r.id for r in rows]))).mappings():
        confirmed[c["lesson_id"]].append(dict(c))
    made = []
    for r in rows:
        if not confirmed[r.id]:
            continue
        superseded = {c["supersedes_id"] for c in confirmed[r.id]}
        attended = {c["student_id"] for c in confirmed[r.id] if c["id"] not in superseded and c["mark"] in ATTENDED}
        day = ctx.local_date(r.starts_at).isoformat()
        made.append(Taught(r.id, f"{day} {r.name}", r.teacher_id, r.delivery or r.category or "", r.hours_x100,
                           len(attended), r.starts_at, day[:7]))
    return made


def _refunds(conn: Connection, ctx: CampusContext, low: str, high: str) -> list[PaidRefund]:
    """Refunds paid on this campus's contracts: their consultant's commission is clawed back here."""
    return [PaidRefund(r.id, r.number, r.consultant_id, r.contract_id, r.stage, r.amount_fen, r.paid_at,
                       _period_of(ctx, r.paid_at))
            for r in conn.execute(select(refunds).where(
                refunds.c.contract_campus_id == ctx.id, refunds.c.status == "paid", refunds.c.deleted.is_(False),
                refunds.c.paid_at >= low, refunds.c.paid_at < high))]


def _carried(conn: Connection, campus_id: str, period: str, locked: dict[str, str]) -> tuple[Carried, ...]:
    """What the latest approved run before ``period`` could not take back."""
    before = sorted(p for p in locked if p < period)
    if not before:
        return ()
    return tuple(Carried(r.user_id, r.carry_out_fen, r.id, r.period) for r in conn.execute(
        select(payslips.c.id, payslips.c.user_id, payslips.c.carry_out_fen, payslips.c.period).where(
            payslips.c.run_id == locked[before[-1]], payslips.c.carry_out_fen > 0, payslips.c.deleted.is_(False))
        .order_by(payslips.c.user_id)))


def _adjustments(conn: Connection, campus_id: str, period: str) -> tuple[Adjustment, ...]:
    run = conn.execute(select(payroll_runs.c.id).where(payroll_runs.c.campus_id == campus_id,
                                                       payroll_runs.c.period == period)).scalar()
    if run is None:
        return ()
    return tuple(Adjustment(r.id, r.user_id, r.amount_fen, r.reason) for r in conn.execute(
        select(payroll_adjustments).where(payroll_adjustments.c.run_id == run).order_by(payroll_adjustments.c.id)))


# --- views ----------------------------------------------------------------------------------------------


def names(conn: Connection) -> dict[str, str]:
    return {r.id: r.display_name for r in conn.execute(select(users.c.id, users.c.display_name))}


def run_row(conn: Connection, campus_id: str, run_id: str) -> dict[str, Any]:
    row = conn.execute(select(payroll_runs).where(payroll_runs.c.id == run_id, payroll_runs.c.campus_id == campus_id,
                                                  payroll_runs.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise RunNotFound(f"no payroll run {run_id}", run_id=run_id)
    return dict(row)


def run_of_period(conn: Connection, campus_id: str, period: str) -> dict[str, Any] | None:
    row = conn.execute(select(payroll_runs).where(payroll_runs.c.campus_id == campus_id,
                                                  payroll_runs.c.period == period)).mappings().first()
    return dict(row) if row else None


def run_list(conn: Connection, campus_id: str) -> list[dict[str, Any]]:
    counts: dict[str, int] = dict(conn.execute(select(payslips.c.run_id, func.count()).where(
        payslips.c.campus_id == campus_id, payslips.c.deleted.is_(False)).group_by(payslips.c.run_id)).all())
    return [{**dict(r), "payslips": counts.get(r["id"], 0)} for r in conn.execute(
        select(payroll_runs).where(payroll_runs.c.campus_id == campus_id, payroll_runs.c.deleted.is_(False))
        .order_by(payroll_runs.c.period.desc())).mappings()]


def _slip_json(row: Any, who: dict[str, str]) -> dict[str, Any]:
    return {**dict(row), "name": who.get(row["user_id"], row["user_id"]), "lines": json.loads(row["lines"])}


def run_view(conn: Connection, campus_id: str, run_id: str) -> dict[str, Any]:
    """The run with every payslip and line, and its adjustments."""
    run = run_row(conn, campus_id, run_id)
    who = names(conn)
    slips = [_slip_json(r, who) for r in conn.execute(select(payslips).where(
        payslips.c.run_id == run_id, payslips.c.deleted.is_(False)).order_by(payslips.c.user_id)).mappings()]
    adjustments = [{**dict(a), "name": who.get(a["user_id"], a["user_id"])} for a in conn.execute(
        select(payroll_adjustments).where(payroll_adjustments.c.run_id == run_id)
        .order_by(payroll_adjustments.c.created_at, payroll_adjustments.c.id)).mappings()]
    return {**run, "payslips": sorted(slips, key=lambda s: (s["name"], s["user_id"])), "adjustments": adjustments,
            "by": {k: who.get(run[k]) for k in ("created_by", "submitted_by", "approved_by", "paid_by") if run[k]}}


def payslip_for(conn: Connection, ctx: CampusContext, actor: Actor, payslip_id: str) -> dict[str, Any]:
    """One payslip: its own employee sees it once the run is approved, finance and managers of the
    campus always; nobody else (a consultant never reads another's commission)."""
    row = conn.execute(select(payslips).where(payslips.c.id == payslip_id, payslips.c.campus_id == ctx.id,
                                              payslips.c.deleted.is_(False))).mappings().first()
    if row is None:
        raise PayslipNotFound(f"no payslip {payslip_id}", payslip_id=payslip_id)
    finance = actor.can("payroll.read", ctx.id)
    if row["user_id"] != actor.user_id and not finance:
        raise PermissionDenied(f"{actor.username} may read only their own payslips", action="payroll.read")
    run = run_row(conn, ctx.id, row["run_id"])
    if run["status"] not in LOCKED and not finance:  # a draft is not pay yet
        raise PayslipNotFound(f"no payslip {payslip_id}", payslip_id=payslip_id)
    return {**_slip_json(row, names(conn)), "run_status": run["status"], "approved_at": run["approved_at"],
            "paid_at": run["paid_at"]}


def payslips_of(conn: Connection, campus_id: str, user_id: str) -> list[dict[str, Any]]:
    """A user's own payslips at this campus (runs past review only: a draft is not pay yet)."""
    shown = select(payroll_runs.c.id).where(payroll_runs.c.campus_id == campus_id,
                                            payroll_runs.c.status.in_(LOCKED))
    return [{k: r[k] for k in ("id", "run_id", "period", "total_fen", "base_fen", "commission_fen", "lesson_fee_fen",
                               "bonus_fen", "clawback_fen", "adjustment_fen", "carry_out_fen")}
            for r in conn.execute(select(payslips).where(payslips.c.user_id == user_id, payslips.c.run_id.in_(shown),
                                                         payslips.c.deleted.is_(False))
                                  .order_by(payslips.c.period.desc())).mappings()]


def mask_account(account: str | None) -> str | None:
    """6222 **** **** 1234: the bank, not the account."""
    if not account:
        return account
    digits = account.replace(" ", "")
    return f"{digits[:4]} **** {digits[-4:]}" if len(digits) > 8 else mask_phone(digits)


def staff_list(conn: Connection, ctx: CampusContext, actor: Actor, on: date | None = None) -> list[dict[str, Any]]:
    """The campus's staff records, the bank account masked unless the viewer is finance."""
    who = names(conn)
    full = actor.can("payroll.bank.read", ctx.id)
    rows = []
    for r in conn.execute(select(staff_records).where(staff_records.c.campus_id == ctx.id,
                                                      staff_records.c.deleted.is_(False))
                          .order_by(staff_records.c.position, staff_records.c.start_on)).mappings():
        item = {**dict(r), "name": who.get(r["user_id"], r["user_id"])}
        if not full:
            item["bank_account"] = mask_account(r["bank_account"])
        item["active"] = on is None or (r["start_on"] <= on.isoformat() and (r["end_on"] is None
                                                                             or r["end_on"] >= on.isoformat()))
        rows.append(item)
    return rows


def staff_row(conn: Connection, campus_id: str, record_id: str) -> dict[str, Any]:
    row = conn.execute(select(staff_records).where(staff_records.c.id == record_id,
                                                   staff_records.c.campus_id == campus_id)).mappings().first()
    if row is None:
        raise NotFound(f"no staff record {record_id}", record_id=record_id)
    return dict(row)
