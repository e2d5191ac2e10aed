"""Payroll's pure rules as tables of cases, one behaviour each, and hypothesis for the invariants:
a run's total is the sum of its traceable lines, and the same facts give the same run."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    facts_digest,
)
from campus.node.payroll.payslips import Category, RunResult
from campus.node.payroll.rules import clawback_fen, compute_run, split_credit
from campus.node.payroll.tiers import tiered_shares, tiered_total
from campus.schema.errors import Invalid
from campus.schema.quantities import FloatRefused
from campus.web.payroll.plans import (
    AdvisorPlan,
    Basis,
    Bracket,
    ClassBonus,
    ConsultantPlan,
    LessonFee,
    TeacherPlan,
    TierMode,
    parse_plan,
)

P, W = TierMode.PROGRESSIVE, TierMode.WHOLE
HOURS_40_60 = (Bracket(0, 4000, 4000), Bracket(4000, None, 6000))  # 0–40 h at ¥40, 40 h+ at ¥60
SALES_3_5 = (Bracket(0, 5_000_000, 300), Bracket(5_000_000, None, 500))  # to ¥50,000 at 3%, beyond at 5%


def flat(rate: int) -> tuple[Bracket, ...]:
    return (Bracket(0, None, rate),)


# --- tiers: progressive (超额累计) against whole-amount (全额累计) ------------------------------------------


@pytest.mark.parametrize(("volume", "brackets", "mode", "scale", "expected"), [
    pytest.param(6000, HOURS_40_60, P, 100, 280000, id="teacher-60h-progressive-2800-yuan"),
    pytest.param(6000, HOURS_40_60, W, 100, 360000, id="teacher-60h-whole-amount-3600-yuan"),
    pytest.param(4000, HOURS_40_60, W, 100, 160000, id="exactly-40h-has-not-reached-the-second-bracket"),
    pytest.param(3000, HOURS_40_60, P, 100, 120000, id="within-the-first-bracket-both-agree"),
    pytest.param(8_000_000, SALES_3_5, P, 10_000, 300000, id="consultant-80000-yuan-progressive-3000-yuan"),
    pytest.param(8_000_000, SALES_3_5, W, 10_000, 400000, id="consultant-80000-yuan-whole-amount-4000-yuan"),
    pytest.param(0, SALES_3_5, W, 10_000, 0, id="nothing-signed-nothing-earned"),
    pytest.param(3333, flat(333), P, 10_000, 111, id="rounded-half-up-to-the-fen"),
])
def test_tiered_total(volume: int, brackets: tuple[Bracket, ...], mode: TierMode, scale: int,
                      expected: int) -> None:
    assert tiered_total(volume, brackets, mode, scale) == expected


def test_progressive_shares_give_the_later_hours_the_higher_rate() -> None:
    assert tiered_shares([(3000, HOURS_40_60), (3000, HOURS_40_60)], P, 100) == [120000, 160000]


def test_whole_amount_shares_price_every_hour_at_the_reached_rate() -> None:
    assert tiered_shares([(3000, HOURS_40_60), (3000, HOURS_40_60)], W, 100) == [180000, 180000]


@given(st.lists(st.integers(min_value=-50_000, max_value=10_000_000), max_size=12), st.sampled_from([P, W]))
def test_shares_add_up_to_the_month_total(volumes: list[int], mode: TierMode) -> None:
    shares = tiered_shares([(v, SALES_3_5) for v in volumes], mode, 10_000)

    assert sum(shares) == tiered_total(sum(volumes), SALES_3_5, mode, 10_000)


def test_a_float_volume_is_refused() -> None:
    with pytest.raises(FloatRefused):
        tiered_shares([(40.5, HOURS_40_60)], P, 100)  # type: ignore[list-item]


# --- the run ----------------------------------------------------------------------------------------------

PERIOD = "2026-11"
CONSULTANT = ConsultantPlan(Basis.SIGNED, P, new=flat(500), renewal=flat(200))
ADVISOR = AdvisorPlan(renewal_rate_bp=500)
TEACHER = TeacherPlan(P, fees=(LessonFee(HOURS_40_60),))


def staff(user: str, position: str, base: int = 0, level: str | None = None, start: str = "2026-01-01",
          end: str | None = None) -> StaffPosition:
    return StaffPosition(f"rec-{user}-{position}", user, position, level, base, start, end)


def sale(n: int, amount: int, kind: str = "new", closer: str | None = "zhang", inviter: str | None = None,
         period: str = PERIOD, table: str = "contracts") -> Sale:
    return Sale(table, f"{table}-{n}", f"BJ01-C-{n:06d}", f"contract-{n}", kind, amount, closer,
                f"{period}-05T02:00:{n % 60:02d}Z", period, inviter)


def taught(n: int, hours: int, students: int = 6, teacher: str = "li", course_type: str = "small_class",
           period: str = PERIOD) -> Taught:
    return Taught(f"lesson-{n}", f"{period}-{n % 28 + 1:02d} 初二数学", teacher, course_type, hours, students,
                  f"{period}-{n % 28 + 1:02d}T01:00:00Z", period)


def run(**facts: Any) -> RunResult:
    return compute_run(RunFacts(**{"period": PERIOD, **facts}))


def amounts(result: RunResult, user: str, *categories: Category) -> list[int]:
    slip = next(p for p in result.payslips if p.user_id == user)
    return [line.amount_fen for line in slip.lines if not categories or line.category in categories]


def test_new_signings_and_renewals_earn_at_their_own_rates() -> None:
    result = run(staff=(staff("zhang", "consultant"),), plans={"consultant": CONSULTANT},
                 sales=(sale(1, 1_000_000, "new"), sale(2, 1_000_000, "renewal")))

    assert amounts(result, "zhang", Category.COMMISSION) == [50000, 20000]


@pytest.mark.parametrize(("basis", "expected"), [
    pytest.param(Basis.SIGNED, [100000], id="signed-basis-on-the-20000-yuan-signed"),
    pytest.param(Basis.CASH, [40000], id="cash-basis-on-the-8000-yuan-received"),
])
def test_signed_basis_against_cash_basis(basis: Basis, expected: list[int]) -> None:
    plan = ConsultantPlan(basis, P, new=flat(500), renewal=flat(200))
    signed, paid = sale(1, 2_000_000), sale(7, 800_000, table="payments")

    result = run(staff=(staff("zhang", "consultant"),), plans={"consultant": plan}, sales=(signed, paid))

    assert amounts(result, "zhang", Category.COMMISSION) == expected


@pytest.mark.parametrize(("share_bp", "closer_fen", "inviter_fen"), [
    pytest.param(5000, 25000, 25000, id="one-to-one-by-default"),
    pytest.param(3000, 35000, 15000, id="inviter-gets-30-percent"),
])
def test_a_lead_invited_by_one_consultant_and_closed_by_another_splits_its_credit(
        share_bp: int, closer_fen: int, inviter_fen: int) -> None:
    plan = ConsultantPlan(Basis.SIGNED, P, new=flat(500), renewal=flat(200), inviter_share_bp=share_bp)

    result = run(staff=(staff("zhang", "consultant"), staff("wang", "consultant")), plans={"consultant": plan},
                 sales=(sale(1, 1_000_000, closer="zhang", inviter="wang"),))

    assert amounts(result, "zhang") == [closer_fen] and amounts(result, "wang") == [inviter_fen]
    assert split_credit(sale(1, 1_000_000, closer="zhang", inviter="zhang"), share_bp) == [("zhang", 1_000_000,
                                                                                           "whole")]


def test_advisor_renewal_commission_vests_over_three_months_of_consumption() -> None:
    """¥12,000 for 100 hours and 20 gift hours: ¥100 an hour; 5% of what is consumed each month."""
    months = {"2026-09": 3000, "2026-10": 5000, "2026-11": 4000}
    earned = []
    for n, (period, hours) in enumerate(months.items()):
        item = Consumed(f"conf-{n}", "BJ01-C-000009", "zhou", "contract-9", hours, 1_200_000, 12_000,
                        f"{period}-10T01:00:00Z", period)
        result = compute_run(RunFacts(period, staff=(staff("zhou", "academic_advisor"),),
                                      plans={"academic_advisor": ADVISOR}, consumed=(item,)))
        earned += amounts(result, "zhou", Category.RENEWAL_VESTING)

    assert earned == [15000, 25000, 20000]
    assert sum(earned) == 60000  # 5% of the ¥12,000 renewal, once every hour is consumed


def test_a_class_of_ten_or_more_earns_a_five_percent_bonus_and_students_above_six_an_add_on() -> None:
    plan = TeacherPlan(P, fees=(LessonFee(flat(6000)),), add_on_above_students=6, add_on_fen_per_student_hour=500,
                       bonuses=(ClassBonus(10, 500),))

    big = run(staff=(staff("li", "teacher"),), plans={"teacher": plan}, taught=(taught(1, 200, students=12),))
    small = run(staff=(staff("li", "teacher"),), plans={"teacher": plan}, taught=(taught(1, 200, students=9),))

    assert amounts(big, "li") == [12000, 6000, 600]  # the fee, 6 students above × ¥5 × 2 h, 5% of the fee
    assert amounts(small, "li") == [12000, 3000]  # no bonus under 10 students


def test_lesson_fees_follow_course_type_class_size_and_level() -> None:
    plan = TeacherPlan(P, fees=(LessonFee(flat(20000), course_type="one_on_one", level="3"),
                                LessonFee(flat(15000), course_type="one_on_one"),
                                LessonFee(flat(8000), max_students=8), LessonFee(flat(10000), min_students=9)))
    lessons = (taught(1, 100, 1, course_type="one_on_one"), taught(2, 100, 8), taught(3, 100, 12))

    star3 = run(staff=(staff("li", "teacher", level="3"),), plans={"teacher": plan}, taught=lessons)
    star1 = run(staff=(staff("li", "teacher", level="1"),), plans={"teacher": plan}, taught=lessons)

    assert amounts(star3, "li") == [20000, 8000, 10000]
    assert amounts(star1, "li") == [15000, 8000, 10000]


def test_a_refund_in_a_later_month_claws_back_what_its_contract_earned() -> None:
    """November paid 5% on a ¥10,000 signing; December refunds ¥4,000 of it: ¥200 comes back, twice
    that where the plan claws back at double."""
    refund = PaidRefund("refund-1", "BJ01-F-000001", "zhang", "contract-1", "new", 400_000, "2026-12-03T02:00:00Z",
                        "2026-12")
    earned = (Earned("zhang", "contract-1", 50_000, 1_000_000),)

    def december(multiple_bp: int) -> RunResult:
        plan = ConsultantPlan(Basis.SIGNED, P, new=flat(500), renewal=flat(200), clawback_multiple_bp=multiple_bp)
        return compute_run(RunFacts("2026-12", staff=(staff("zhang", "consultant", base=500_000),),
                                    plans={"consultant": plan}, refunds=(refund,), earned=earned))

    once, twice = december(10_000), december(20_000)

    assert amounts(once, "zhang") == [500_000, -20_000] and once.payslips[0].total_fen == 480_000
    assert amounts(twice, "zhang", Category.CLAWBACK) == [-40_000]
    assert once.payslips[0].lines[1].source_table == "refunds" and once.payslips[0].lines[1].source_id == "refund-1"


def test_a_clawback_larger_than_the_months_pay_carries_over_to_the_next_month() -> None:
    plan = ConsultantPlan(Basis.SIGNED, P, new=flat(1000), renewal=flat(200), clawback_multiple_bp=20_000)
    refund = PaidRefund("refund-1", "BJ01-F-000001", "zhang", "contract-1", "new", 2_000_000, "2026-12-03T02:00:00Z",
                        "2026-12")
    earned = (Earned("zhang", "contract-1", 200_000, 2_000_000),)
    base = (staff("zhang", "consultant", base=100_000),)

    december = compute_run(RunFacts("2026-12", staff=base, plans={"consultant": plan}, refunds=(refund,),
                                    earned=earned))
    slip = december.payslips[0]
    january = compute_run(RunFacts("2027-01", staff=base, plans={"consultant": plan},
                                   carried=(Carried("zhang", slip.carry_out_fen, "payslip-12", "2026-12"),)))

    assert amounts(december, "zhang") == [100_000, -400_000, 300_000]  # base, clawback, carried forward
    assert (slip.total_fen, slip.carry_out_fen) == (0, 300_000)
    assert amounts(january, "zhang") == [100_000, -300_000, 200_000]
    assert january.payslips[0].carry_out_fen == 200_000


def test_a_clawback_with_nothing_earned_on_record_uses_the_plans_first_rate() -> None:
    assert clawback_fen(400_000, 0, 0, 10_000, 300) == 12_000


def test_a_fact_from_an_approved_month_is_a_late_line_of_this_month() -> None:
    result = run(staff=(staff("zhang", "consultant"),), plans={"consultant": CONSULTANT},
                 sales=(sale(1, 1_000_000, period="2026-10"), sale(2, 1_000_000)))

    slip = result.payslips[0]
    assert [(line.source_period, line.late) for line in slip.lines] == [("2026-10", True), (PERIOD, False)]


def test_base_pay_is_in_proportion_to_the_days_worked() -> None:
    result = run(staff=(staff("qian", "front_desk", base=300_000, start="2026-11-16"),))

    assert amounts(result, "qian") == [150_000]  # 15 of November's 30 days
    assert result.payslips[0].lines[0].detail == {"position": "front_desk", "days": 15, "month_days": 30,
                                                  "base_salary_fen": 300_000}


def test_an_adjustment_is_a_line_with_its_reason() -> None:
    result = run(staff=(staff("qian", "front_desk", base=300_000),),
                 adjustments=(Adjustment("adj-1", "qian", 20_000, "全勤奖"),))

    assert [(line.category, line.amount_fen, line.ref) for line in result.payslips[0].lines] == [
        (Category.BASE, 300_000, "front_desk"), (Category.ADJUSTMENT, 20_000, "全勤奖")]


@pytest.mark.parametrize("make", [
    pytest.param(lambda: staff("li", "teacher", base=500_000.0), id="base-salary"),  # type: ignore[arg-type]
    pytest.param(lambda: sale(1, 100.5), id="sale-amount"),  # type: ignore[arg-type]
    pytest.param(lambda: taught(1, 150.0), id="lesson-hours"),  # type: ignore[arg-type]
    pytest.param(lambda: clawback_fen(100, 5, 100, 10_000, 0.05), id="rate"),  # type: ignore[arg-type]
])
def test_a_float_anywhere_is_refused(make: Any) -> None:
    with pytest.raises(FloatRefused):
        make()


# --- plans as data: validation names the field ---------------------------------------------------------


def consultant_rules(**changes: Any) -> dict[str, Any]:
    return {"basis": "signed", "tier_mode": "progressive",
            "new": [{"from_fen": 0, "to_fen": 5_000_000, "rate_bp": 300},
                    {"from_fen": 5_000_000, "to_fen": None, "rate_bp": 500}],
            "renewal": [{"from_fen": 0, "to_fen": None, "rate_bp": 200}], **changes}


@pytest.mark.parametrize(("rules", "field"), [
    pytest.param(consultant_rules(renewal=[{"from_fen": 0, "to_fen": None, "rate_bp": 0.02}]),
                 "rules.renewal.0.rate_bp", id="rate-as-float"),
    pytest.param(consultant_rules(new=[{"from_fen": 0, "to_fen": 5_000_000, "rate_bp": 300},
                                       {"from_fen": 4_000_000, "to_fen": None, "rate_bp": 500}]),
                 "rules.new.1.from_fen", id="overlapping-brackets"),
    pytest.param(consultant_rules(new=[{"from_fen": 0, "to_fen": 5_000_000, "rate_bp": 300},
                                       {"from_fen": 6_000_000, "to_fen": None, "rate_bp": 500}]),
                 "rules.new.1.from_fen", id="gap-between-brackets"),
    pytest.param(consultant_rules(new=[{"from_fen": 100, "to_fen": None, "rate_bp": 300}]),
                 "rules.new.0.from_fen", id="not-from-zero"),
    pytest.param(consultant_rules(new=[{"from_fen": 0, "to_fen": 5_000_000, "rate_bp": 300}]),
                 "rules.new.0.to_fen", id="last-bracket-closed"),
    pytest.param(consultant_rules(tier_mode="stepped"), "rules.tier_mode", id="unknown-tier-mode"),
    pytest.param(consultant_rules(bonus=1), "rules.bonus", id="unknown-setting"),
    pytest.param(consultant_rules(inviter_share_bp=12_000), "rules.inviter_share_bp", id="share-over-100-percent"),
])
def test_a_bad_consultant_plan_is_refused_naming_the_field(rules: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_plan("consultant", rules)

    assert refused.value.field == field


def test_a_good_plan_parses_into_values() -> None:
    plan = parse_plan("consultant", consultant_rules())

    assert plan == ConsultantPlan(Basis.SIGNED, P, new=SALES_3_5, renewal=flat(200))


def test_front_desk_has_no_plan() -> None:
    with pytest.raises(Invalid) as refused:
        parse_plan("front_desk", {})
    assert refused.value.field == "position"


# --- hypothesis: the run's invariants ---------------------------------------------------------------------

USERS = ["zhang", "wang", "li", "zhou"]
users = st.sampled_from(USERS)
fen = st.integers(min_value=1, max_value=5_000_000)
periods = st.sampled_from(["2026-10", PERIOD])


@st.composite
def month_of_facts(draw: st.DrawFn) -> RunFacts:
    ids = iter(range(10_000))
    sales = draw(st.lists(st.builds(lambda amount, kind, closer, inviter, period, table: sale(
        next(ids), amount, kind, closer, inviter, period, table), fen, st.sampled_from(["new", "renewal"]), users,
        st.none() | users, periods, st.sampled_from(["contracts", "payments"])), max_size=8))
    lessons = draw(st.lists(st.builds(lambda hours, students, teacher, period: taught(
        next(ids), hours, students, teacher, period=period), st.integers(50, 400), st.integers(0, 20), users,
        periods), max_size=10))
    consumed = draw(st.lists(st.builds(lambda hours, advisor: Consumed(
        f"conf-{next(ids)}", "C", advisor, "contract-1", hours, 1_234_567, 12_345, f"{PERIOD}-09T00:00:00Z", PERIOD),
        st.integers(-300, 600), users), max_size=6))
    refunds = draw(st.lists(st.builds(lambda amount, who, n: PaidRefund(
        f"refund-{n}", "F", who, f"contracts-{n}", "new", amount, f"{PERIOD}-20T00:00:00Z", PERIOD),
        fen, users, st.integers(0, 20)), max_size=4, unique_by=lambda r: r.source_id))  # a refund's id is its own
    adjustments = draw(st.lists(st.builds(lambda amount, who: Adjustment(
        f"adj-{next(ids)}", who, amount, "调整"), st.integers(-200_000, 200_000).filter(bool), users), max_size=3))
    mode = draw(st.sampled_from([P, W]))
    plans = {"consultant": ConsultantPlan(draw(st.sampled_from([Basis.SIGNED, Basis.CASH])), mode, SALES_3_5,
                                          flat(draw(st.integers(0, 1000))),
                                          clawback_multiple_bp=draw(st.integers(0, 30_000))),
             "academic_advisor": ADVISOR,
             "teacher": TeacherPlan(mode, (LessonFee(HOURS_40_60),), add_on_above_students=6,
                                    add_on_fen_per_student_hour=300, bonuses=(ClassBonus(10, 500),))}
    records = tuple(staff(user, position, draw(st.integers(0, 1_000_000)))
                    for user in USERS for position in ("consultant", "academic_advisor", "teacher")
                    if draw(st.booleans()))
    return RunFacts(PERIOD, records, plans, tuple(sales), tuple(consumed), tuple(lessons), tuple(refunds),
                    adjustments=tuple(adjustments))


@settings(max_examples=150)
@given(month_of_facts())
def test_a_runs_total_is_the_sum_of_its_traceable_lines(facts: RunFacts) -> None:
    result = compute_run(facts)

    assert result.total_fen == sum(line.amount_fen for line in result.lines)
    assert all(slip.total_fen >= 0 for slip in result.payslips)
    assert sum(result.by_account().values()) == result.total_fen
    assert all(line.source_table and (line.source_id or line.category is Category.CARRY_FORWARD)
               for line in result.lines)


@settings(max_examples=100)
@given(month_of_facts(), st.randoms(use_true_random=False))
def test_the_same_facts_in_any_order_give_the_same_run(facts: RunFacts, shuffler: random.Random) -> None:
    def shuffled(items: tuple[Any, ...]) -> tuple[Any, ...]:
        items = list(items)
        shuffler.shuffle(items)
        return tuple(items)

    again = RunFacts(facts.period, shuffled(facts.staff), facts.plans, shuffled(facts.sales),
                     shuffled(facts.consumed), shuffled(facts.taught), shuffled(facts.refunds),
                     adjustments=shuffled(facts.adjustments))

    assert compute_run(again) == compute_run(facts)
    assert facts_digest(again) == facts_digest(facts)
