"""Payroll rules (工资与提成): pure functions over values, no store, no clock.

:func:`compute_run` turns one campus's month of facts (:class:`RunFacts`) into payslips whose
lines each name the fact they come from (table and id). Money is integer fen, hours integer
hundredths, rates integer basis points; a float anywhere is refused (:class:`FloatRefused`).

* Tiers (:func:`tiered_shares`): progressive (超额累计) prices each part of the month's volume at
  its bracket's rate; whole-amount (全额累计) prices the whole volume at the rate of the bracket
  reached (a bracket is reached once the volume goes past its start). Each fact's share is the
  difference of the rounded running total, so the lines add up to the month's figure exactly.
* Consultants earn on new signings and renewals on separate schedules, on the amount signed or
  the cash received; a lead invited by one consultant and closed by another splits its credit.
* Academic advisors' renewal commission vests as the renewed hours are consumed (课消), valued at
  the contract's average unit price including gift hours.
* Teachers earn a fee per hour by course type × class size × level, an add-on per student above a
  size, and a class-size bonus; lesson fees follow the campus where the lesson was taught.
* A paid refund claws back what the consultant earned on the refunded amount (at a multiple);
  what the month's pay cannot cover carries to the next month.
* A fact of a month whose run was already approved arrives late: it is paid in the next run as a
  named (``late``) line, never by changing the approved run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from campus.node.payroll.facts import (
    Consumed,
    PaidRefund,
    RunFacts,
    Sale,
    StaffPosition,
    Taught,
    integers_only,
    period_days,
    whole,
)
from campus.node.payroll.payslips import Category, PayLine, Payslip, RunResult
from campus.node.payroll.tiers import tiered_shares
from campus.schema.quantities import round_half_up
from campus.web.payroll.plans import (
    FULL_BP,
    AdvisorPlan,
    Basis,
    ConsultantPlan,
    Position,
    TeacherPlan,
)

HOUR = 100  # hours_x100 per hour


def base_pay(record: StaffPosition, period: str) -> PayLine | None:
    """The month's base salary, in proportion to the days of the month the record covers."""
    first, last = period_days(period)
    start = max(first, date.fromisoformat(record.start_on))
    end = min(last, date.fromisoformat(record.end_on)) if record.end_on else last
    days, month_days = (end - start).days + 1, (last - first).days + 1
    if days <= 0 or record.base_salary_fen == 0:
        return None
    amount = round_half_up(Fraction(record.base_salary_fen * days, month_days))
    return PayLine(Category.BASE, amount, record.position, "staff_records", record.record_id, period,
                   detail={"position": record.position, "days": days, "month_days": month_days,
                           "base_salary_fen": record.base_salary_fen})


def split_credit(sale: Sale, inviter_share_bp: int) -> list[tuple[str, int, str]]:
    """Who is credited with how much of a sale: ``(user, fen, share)``; a lead invited by one
    consultant and closed by another gives the inviter ``inviter_share_bp`` of it."""
    whole(inviter_share_bp, "inviter_share_bp")
    if not sale.closer_id:
        return [(sale.inviter_id, sale.amount_fen, "inviter")] if sale.inviter_id else []
    if not sale.inviter_id or sale.inviter_id == sale.closer_id:
        return [(sale.closer_id, sale.amount_fen, "whole")]
    inviter = round_half_up(Fraction(sale.amount_fen * inviter_share_bp, FULL_BP))
    return [(sale.closer_id, sale.amount_fen - inviter, "closer"), (sale.inviter_id, inviter, "inviter")]


def consultant_commission(credited: Sequence[tuple[Sale, int, str]], plan: ConsultantPlan,
                          period: str) -> list[PayLine]:
    """One consultant's commission lines from the sales credited to them (in the order they happened):
    new signings and renewals each on their own schedule, over the month's total of that kind."""
    lines = []
    for kind, schedule in (("new", plan.new), ("renewal", plan.renewal)):
        items = [c for c in credited if c[0].kind == kind]
        shares = tiered_shares([(fen, schedule) for _, fen, _ in items], plan.tier_mode, FULL_BP)
        for (sale, fen, share), amount in zip(items, shares, strict=True):
            lines.append(PayLine(Category.COMMISSION, amount, sale.ref, sale.source_table, sale.source_id,
                                 sale.period, sale.period < period,
                                 {"contract_id": sale.contract_id, "kind": kind, "basis": str(plan.basis),
                                  "basis_fen": sale.amount_fen, "credited_fen": fen, "share": share,
                                  "tier_mode": str(plan.tier_mode)}))
    return lines


def vesting(consumed: Sequence[Consumed], plan: AdvisorPlan, period: str) -> list[PayLine]:
    """An advisor's renewal commission vesting with consumption: hours × the contract's average unit
    price including gift hours (amount ÷ (paid + gift hours)) × the rate."""
    lines, exact, rounded = [], Fraction(0), 0
    for item in consumed:
        if item.contract_hours_x100 <= 0:
            continue
        exact += Fraction(item.hours_x100 * item.contract_amount_fen * plan.renewal_rate_bp,
                          item.contract_hours_x100 * FULL_BP)
        running = round_half_up(exact)
        lines.append(PayLine(Category.RENEWAL_VESTING, running - rounded, item.ref, "attendance_confirmations",
                             item.source_id, item.period, item.period < period,
                             {"contract_id": item.contract_id, "hours_x100": item.hours_x100,
                              "contract_amount_fen": item.contract_amount_fen,
                              "contract_hours_x100": item.contract_hours_x100, "rate_bp": plan.renewal_rate_bp}))
        rounded = running
    return lines


def lesson_fees(taught: Sequence[Taught], plan: TeacherPlan, level: str | None,
                period: str) -> tuple[list[PayLine], list[str]]:
    """A teacher's lines for the lessons taught here (in order): the fee of the first matching
    course type × class size × level, tiered over the month's hours; the add-on per student above
    the size; the bonus of the highest class size reached. Lessons no fee matches are warnings."""
    matched, warnings = [], []
    for lesson in taught:
        fee = next((f for f in plan.fees if f.matches(lesson.course_type, level, lesson.students)), None)
        if fee is None:
            warnings.append(f"no lesson fee for {lesson.ref} ({lesson.course_type}, level {level or '-'}, "
                            f"{lesson.students} students)")
        else:
            matched.append((lesson, fee))
    shares = tiered_shares([(lesson.hours_x100, fee.brackets) for lesson, fee in matched], plan.tier_mode, HOUR)
    lines = []
    for (lesson, _fee), amount in zip(matched, shares, strict=True):
        lines.append(_lesson_line(lesson, Category.LESSON_FEE, amount, {
            "hours_x100": lesson.hours_x100, "students": lesson.students, "course_type": lesson.course_type,
            "level": level, "tier_mode": str(plan.tier_mode)}, period))
        above = plan.add_on_above_students
        if above is not None and lesson.students > above and plan.add_on_fen_per_student_hour:
            extra = lesson.students - above
            lines.append(_lesson_line(lesson, Category.ADD_ON, round_half_up(Fraction(
                extra * plan.add_on_fen_per_student_hour * lesson.hours_x100, HOUR)), {
                "students_above": extra, "fen_per_student_hour": plan.add_on_fen_per_student_hour}, period))
        bonus = next((b for b in reversed(plan.bonuses) if lesson.students >= b.min_students), None)
        if bonus is not None and amount:
            lines.append(_lesson_line(lesson, Category.BONUS, round_half_up(Fraction(amount * bonus.rate_bp, FULL_BP)), {
                "min_students": bonus.min_students, "rate_bp": bonus.rate_bp, "fee_fen": amount}, period))
    return lines, warnings


def _lesson_line(lesson: Taught, category: Category, fen: int, detail: dict[str, Any], period: str) -> PayLine:
    return PayLine(category, fen, lesson.ref, "lessons", lesson.source_id, lesson.period, lesson.period < period,
                   detail)


def clawback_fen(refund_fen: int, earned_fen: int, basis_fen: int, multiple_bp: int, fallback_rate_bp: int) -> int:
    """What a refund takes back: the commission earned per fen of the contract's money (or, with
    nothing earned on record, the plan's first rate) on the refunded amount, times the multiple."""
    for value, name in ((refund_fen, "refund_fen"), (earned_fen, "earned_fen"), (basis_fen, "basis_fen"),
                        (multiple_bp, "multiple_bp"), (fallback_rate_bp, "fallback_rate_bp")):
        whole(value, name)
    rate = Fraction(earned_fen, basis_fen) if basis_fen > 0 else Fraction(fallback_rate_bp, FULL_BP)
    return round_half_up(refund_fen * rate * Fraction(multiple_bp, FULL_BP))


def clawbacks(refunds: Sequence[PaidRefund], plan: ConsultantPlan, earned: Mapping[str, tuple[int, int]],
              period: str) -> list[PayLine]:
    """One consultant's clawback lines (negative) for the refunds paid on their contracts.
    ``earned``: per contract, (commission, money it was on) in approved runs and this one."""
    lines = []
    for refund in refunds:
        commission, basis = earned.get(refund.contract_id, (0, 0))
        schedule = plan.new if refund.stage == "new" else plan.renewal
        amount = clawback_fen(refund.amount_fen, commission, basis, plan.clawback_multiple_bp, schedule[0].rate)
        lines.append(PayLine(Category.CLAWBACK, -amount, refund.ref, "refunds", refund.source_id, refund.period,
                             refund.period < period,
                             {"contract_id": refund.contract_id, "refund_fen": refund.amount_fen,
                              "earned_fen": commission, "basis_fen": basis,
                              "multiple_bp": plan.clawback_multiple_bp, "stage": refund.stage}))
    return lines


def settle(user_id: str, positions: tuple[str, ...], lines: Sequence[PayLine], period: str) -> Payslip:
    """The payslip: never below zero; what clawbacks take beyond the month's pay carries to the next
    (a line whose source is the payslip itself, named by the next month's ``carried_in`` line)."""
    total = sum(line.amount_fen for line in lines)
    if total < 0:
        lines = [*lines, PayLine(Category.CARRY_FORWARD, -total, period, "payslips", "", period,
                                 detail={"carried_fen": -total})]
    return Payslip(user_id, positions, tuple(lines))


def _ordered(items: Iterable[Any]) -> list[Any]:
    return sorted(items, key=lambda x: (x.at, x.source_id))


def compute_run(facts: RunFacts) -> RunResult:
    """Every employee's payslip for the month, from the facts alone: the same facts give the same run."""
    _check_facts(facts)
    period, plans = facts.period, facts.plans
    active = [s for s in facts.staff if s.active_in(period)]
    holds: dict[str, dict[str, StaffPosition]] = defaultdict(dict)  # user → position → record
    for record in sorted(active, key=lambda s: (s.start_on, s.record_id)):
        holds[record.user_id].setdefault(record.position, record)
    lines: dict[str, list[PayLine]] = defaultdict(list)
    warnings: list[str] = []

    for record in sorted(active, key=lambda s: (s.user_id, s.position, s.record_id)):
        made = base_pay(record, period)
        lines[record.user_id] += [made] if made else []  # everyone on the staff gets a payslip, even of ¥0

    consultant = plans.get(Position.CONSULTANT)
    earned: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for item in facts.earned:
        earned[(item.user_id, item.contract_id)][0] += item.commission_fen
        earned[(item.user_id, item.contract_id)][1] += item.basis_fen
    if isinstance(consultant, ConsultantPlan):
        credited: dict[str, list[tuple[Sale, int, str]]] = defaultdict(list)
        for sale in _ordered(facts.sales):
            if (sale.source_table == "payments") != (consultant.basis is Basis.CASH):
                continue
            for user_id, fen, share in split_credit(sale, consultant.inviter_share_bp):
                credited[user_id].append((sale, fen, share))
        for user_id, items in sorted(credited.items()):
            if Position.CONSULTANT not in holds.get(user_id, {}):
                warnings.append(f"commission on {', '.join(s.ref for s, _, _ in items)} is for a user with no "
                                f"consultant record here ({user_id})")
                continue
            made_lines = consultant_commission(items, consultant, period)
            lines[user_id] += made_lines
            for line in made_lines:
                pair = earned[(user_id, line.detail["contract_id"])]
                pair[0] += line.amount_fen
                pair[1] += line.detail["basis_fen"]
        by_consultant: dict[str, list[PaidRefund]] = defaultdict(list)
        for refund in _ordered(facts.refunds):
            if refund.consultant_id:
                by_consultant[refund.consultant_id].append(refund)
        for user_id, refunds in sorted(by_consultant.items()):
            if Position.CONSULTANT not in holds.get(user_id, {}):
                warnings.append(f"refund {', '.join(r.ref for r in refunds)} claws back from a user with no "
                                f"consultant record here ({user_id})")
                continue
            mine = {contract: (pair[0], pair[1]) for (user, contract), pair in earned.items() if user == user_id}
            lines[user_id] += clawbacks(refunds, consultant, mine, period)

    advisor = plans.get(Position.ACADEMIC_ADVISOR)
    if isinstance(advisor, AdvisorPlan):
        by_advisor: dict[str, list[Consumed]] = defaultdict(list)
        for consumed in _ordered(facts.consumed):
            if consumed.advisor_id:
                by_advisor[consumed.advisor_id].append(consumed)
        for user_id, hours in sorted(by_advisor.items()):
            if Position.ACADEMIC_ADVISOR in holds.get(user_id, {}):
                lines[user_id] += vesting(hours, advisor, period)

    teacher = plans.get(Position.TEACHER)
    if isinstance(teacher, TeacherPlan):
        by_teacher: dict[str, list[Taught]] = defaultdict(list)
        for lesson in _ordered(facts.taught):
            by_teacher[lesson.teacher_id].append(lesson)
        for user_id, lessons in sorted(by_teacher.items()):
            teaching = holds.get(user_id, {}).get(Position.TEACHER)
            if teaching is None:
                warnings.append(f"{len(lessons)} lessons taught by a user with no teacher record here ({user_id})")
                continue
            made_lines, missing = lesson_fees(lessons, teacher, teaching.level, period)
            lines[user_id] += made_lines
            warnings += missing

    for carried in sorted(facts.carried, key=lambda c: c.user_id):
        lines[carried.user_id].append(PayLine(Category.CARRIED_IN, -carried.amount_fen, carried.period, "payslips",
                                              carried.payslip_id, carried.period, detail={"from_period": carried.period}))
    for adjustment in sorted(facts.adjustments, key=lambda a: a.adjustment_id):
        lines[adjustment.user_id].append(PayLine(Category.ADJUSTMENT, adjustment.amount_fen, adjustment.reason,
                                                 "payroll_adjustments", adjustment.adjustment_id, period,
                                                 detail={"reason": adjustment.reason}))

    payslips = tuple(settle(user_id, tuple(sorted(holds.get(user_id, {}))), user_lines, period)
                     for user_id, user_lines in sorted(lines.items()))
    return RunResult(period, payslips, tuple(warnings))


def _check_facts(facts: RunFacts) -> None:
    if len(facts.period) != 7 or facts.period[4] != "-":
        raise ValueError(f"a period is YYYY-MM, not {facts.period!r}")
    for group in (facts.staff, facts.sales, facts.consumed, facts.taught, facts.refunds, facts.earned, facts.carried,
                  facts.adjustments):
        for item in group:
            integers_only(item)
