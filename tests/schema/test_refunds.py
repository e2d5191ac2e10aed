"""The refund calculation as a pure function: a table of cases, one test each, and hypothesis over
random histories of consumption, reversals and refunds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campus.schema import assets
from campus.schema.errors import Invalid
from campus.schema.refunds import (
    EXAMPLE_TIERS,
    ContractState,
    LineRequest,
    LineState,
    Policy,
    RefundRefused,
    calculate,
    parse_tiers,
)

TODAY = date(2026, 12, 2)
STANDARD = Policy("STD", "标准", parse_tiers(EXAMPLE_TIERS[1:]))  # the three policies heard in practice
WITH_COOLING_OFF = Policy("STD7", "含冷静期", parse_tiers(EXAMPLE_TIERS))
KEEP_10_OF_PAID = Policy("P1", "扣除已付金额的10%", parse_tiers([
    {"label": "扣除已付金额的10%", "action": "keep_paid", "rate_bp": 1000}]))
KEEP_20_OF_UNCONSUMED = Policy("P2", "退还未上课时价值，扣20%手续费", parse_tiers([
    {"label": "退还未上课时价值，扣20%手续费", "action": "keep_unconsumed", "rate_bp": 2000}]))
NO_REFUND = Policy("P3", "不予退费", parse_tiers([{"label": "不予退费", "action": "none"}]))


def contract(hours_x100: int = 4000, taught_x100: int = 0, value_fen: int = 400000, paid_fen: int | None = None,
             gift_x100: int = 0, signed_days_ago: int = 30, settled_fen: int = 0,
             line_id: str = "L1") -> ContractState:
    """One line of ``hours_x100`` paid hours worth ``value_fen``, ``taught_x100`` of them consumed."""
    balance = assets.balance_of(assets.purchase(hours_x100, value_fen, gift_x100))
    used = assets.consume(balance, taught_x100) if taught_x100 else []
    after = balance.after(used)
    consumed_value = -sum(e.value_fen for e in used)
    paid = value_fen if paid_fen is None else paid_fen
    line = LineState(line_id, "数学 初二 提高", taught_x100, after.paid_hours_x100, after.gift_hours_x100,
                     after.value_fen)
    return ContractState("BJ01-C-000001", TODAY - timedelta(days=signed_days_ago), paid, settled_fen, consumed_value,
                         max(0, value_fen - paid), {line_id: line})


def quote(state: ContractState, policy: Policy = STANDARD, hours_x100: int | None = None,
          materials_fen: int = 0) -> int:
    return calculate(state, [LineRequest("L1", hours_x100)], {"L1": policy}, TODAY, materials_fen).refundable_fen


# --- the three policies on a contract of 40 hours at ¥100, of which 16 were taught -----------------

def test_keep_10_percent_of_paid_on_40_hours_with_16_taught_refunds_2000() -> None:
    # unconsumed ¥2,400, less 10% of the ¥4,000 paid
    assert quote(contract(taught_x100=1600), KEEP_10_OF_PAID) == 200000


def test_keep_20_percent_of_the_unconsumed_value_on_40_hours_with_16_taught_refunds_1920() -> None:
    assert quote(contract(taught_x100=1600), KEEP_20_OF_UNCONSUMED) == 192000


def test_no_refund_on_40_hours_with_16_taught_refunds_nothing() -> None:
    assert quote(contract(taught_x100=1600), NO_REFUND) == 0


def test_the_standard_policy_on_40_hours_with_16_taught_applies_its_under_50_percent_tier() -> None:
    calc = calculate(contract(taught_x100=1600), [LineRequest("L1")], {"L1": STANDARD}, TODAY)
    assert calc.refundable_fen == 192000 and calc.fee_fen == 48000
    assert calc.lines[0].tier == "已上课时不足50%：退还未上课时价值，扣20%手续费"


# --- tier boundaries ------------------------------------------------------------------------------

def test_exactly_nothing_consumed_takes_the_before_the_first_lesson_tier() -> None:
    calc = calculate(contract(), [LineRequest("L1")], {"L1": STANDARD}, TODAY)
    assert calc.lines[0].tier == "退课在开课前：扣除已付金额的10%"
    assert calc.refundable_fen == 360000  # ¥4,000 less 10%


def test_just_under_half_consumed_takes_the_under_50_percent_tier() -> None:
    state = contract(taught_x100=1999)  # 49.97%
    calc = calculate(state, [LineRequest("L1")], {"L1": STANDARD}, TODAY)
    assert calc.lines[0].tier.startswith("已上课时不足50%")
    assert calc.refundable_fen == 160080  # 20.01 h × ¥100 = ¥2,001, less 20%


def test_exactly_half_consumed_refunds_nothing() -> None:
    assert quote(contract(taught_x100=2000)) == 0


def test_the_cooling_off_tier_refunds_in_full_within_its_days_and_not_after() -> None:
    assert quote(contract(signed_days_ago=3), WITH_COOLING_OFF) == 400000
    assert quote(contract(signed_days_ago=8), WITH_COOLING_OFF) == 360000


def test_cooling_off_does_not_apply_once_a_lesson_was_taken() -> None:
    assert quote(contract(taught_x100=150, signed_days_ago=3), WITH_COOLING_OFF) == 308000  # 20% of ¥3,850 kept


# --- prices, gifts, materials, partial refunds, arrears ------------------------------------------

def test_a_discounted_contract_refunds_at_the_price_actually_paid() -> None:
    # 40 h listed at ¥100 with a promo code: ¥3,200 paid, so ¥80 an hour
    state = contract(taught_x100=1000, value_fen=320000)
    calc = calculate(state, [LineRequest("L1")], {"L1": KEEP_20_OF_UNCONSUMED}, TODAY)
    assert calc.base_fen == 240000  # 30 h × ¥80
    assert calc.refundable_fen == 192000


def test_gift_hours_are_cancelled_with_the_line_and_never_refunded() -> None:
    state = contract(gift_x100=1000, taught_x100=1000)
    calc = calculate(state, [LineRequest("L1")], {"L1": KEEP_20_OF_UNCONSUMED}, TODAY)
    assert calc.lines[0].gift_hours_x100 == 1000
    assert calc.value_fen == 300000 and calc.refundable_fen == 240000


def test_asking_for_more_hours_than_are_paid_for_is_refused_as_gift_hours_are_not_refunded() -> None:
    with pytest.raises(RefundRefused):
        quote(contract(gift_x100=1000), hours_x100=4500)


def test_a_line_with_only_gift_hours_left_refunds_nothing() -> None:
    with pytest.raises(RefundRefused, match="gift"):
        quote(contract(hours_x100=1000, value_fen=100000, gift_x100=500, taught_x100=1000))


def test_materials_are_deducted_at_their_recorded_value() -> None:
    assert quote(contract(taught_x100=1600), KEEP_20_OF_UNCONSUMED, materials_fen=15000) == 192000 - 15000


def test_materials_never_take_the_refund_below_zero() -> None:
    calc = calculate(contract(taught_x100=1600), [LineRequest("L1")], {"L1": KEEP_20_OF_UNCONSUMED}, TODAY,
                     materials_fen=10_000_000)
    assert calc.refundable_fen == 0 and calc.materials_fen == 240000 - 48000


def test_a_partial_refund_takes_the_value_of_the_hours_asked_for() -> None:
    calc = calculate(contract(taught_x100=1600), [LineRequest("L1", 500)], {"L1": KEEP_20_OF_UNCONSUMED}, TODAY)
    assert (calc.value_fen, calc.refundable_fen) == (50000, 40000)
    assert calc.lines[0].gift_hours_x100 == 0


def test_a_contract_with_arrears_refunds_only_what_was_paid_and_not_consumed() -> None:
    # ¥4,000 contract, ¥2,000 paid, 16 h (¥1,600) taught: ¥400 paid and unconsumed, less 20%
    calc = calculate(contract(taught_x100=1600, paid_fen=200000), [LineRequest("L1")],
                     {"L1": KEEP_20_OF_UNCONSUMED}, TODAY)
    assert calc.base_fen == 40000 and calc.refundable_fen == 32000
    assert any(step.label == "Arrears" for step in calc.steps)


def test_arrears_beyond_what_was_consumed_refund_nothing() -> None:
    assert quote(contract(taught_x100=1600, paid_fen=100000), KEEP_20_OF_UNCONSUMED) == 0


def test_what_an_earlier_refund_settled_is_not_refunded_again() -> None:
    state = contract(taught_x100=1600, settled_fen=240000)  # an earlier payout took the rest
    assert quote(state, KEEP_20_OF_UNCONSUMED, hours_x100=100) == 0


def test_a_line_opened_by_an_exchange_refunds_at_the_value_it_received() -> None:
    # 20 h of a ¥100 course exchanged into a ¥160 course: ¥2,000 bought 12.5 h there
    source = assets.balance_of(assets.purchase(2000, 200000))
    out, into = assets.exchange(source, 2000, 16000)
    line = LineState("L1", "英语", 0, into.hours_x100, 0, into.value_fen)
    state = ContractState("C", TODAY - timedelta(days=30), 200000, 0, 0, 0, {"L1": line})
    assert calculate(state, [LineRequest("L1")], {"L1": KEEP_20_OF_UNCONSUMED}, TODAY).base_fen == 200000


def test_an_expanded_line_refunds_its_added_hours_at_their_price() -> None:
    entries = [*assets.purchase(2000, 200000), *assets.purchase(1000, 120000)]  # expansion at ¥120
    balance = assets.balance_of(entries)
    line = LineState("L1", "数学", 0, balance.paid_hours_x100, 0, balance.value_fen)
    state = ContractState("C", TODAY - timedelta(days=30), 320000, 0, 0, 0, {"L1": line})
    assert calculate(state, [LineRequest("L1")], {"L1": KEEP_20_OF_UNCONSUMED}, TODAY).base_fen == 320000


# --- policies are checked -------------------------------------------------------------------------

@pytest.mark.parametrize(("tiers", "field"), [
    ([], "tiers"),
    ([{"label": "x", "action": "keep_paid", "rate_bp": 10.5}], "tiers.0.rate_bp"),
    ([{"label": "x", "action": "keep_paid"}], "tiers.0.rate_bp"),
    ([{"label": "x", "action": "refund_twice"}], "tiers.0.action"),
    ([{"label": "a", "action": "full", "max_consumed_bp": 3000},
      {"label": "b", "action": "none", "min_consumed_bp": 5000}], "tiers"),  # a gap 30%–50%
    ([{"label": "a", "action": "full", "min_consumed_bp": 100}], "tiers"),  # nothing for 0%
    ([{"label": "a", "action": "full", "min_consumed_bp": 5000, "max_consumed_bp": 4000}], "tiers.0.max_consumed_bp"),
])
def test_a_bad_policy_is_refused_naming_the_field(tiers: list, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_tiers(tiers)
    assert refused.value.field == field


# --- hypothesis: nothing is refunded twice and no balance goes negative -----------------------------

operation = st.one_of(st.tuples(st.just("consume"), st.integers(1, 600)),
                      st.tuples(st.just("reverse"), st.just(0)),
                      st.tuples(st.just("refund"), st.integers(1, 1500)))


@settings(max_examples=200, deadline=None)
@given(hours=st.integers(100, 6000), price=st.integers(1000, 50000), paid_share=st.integers(0, 100),
       gift=st.integers(0, 1000), steps=st.lists(operation, max_size=25))
def test_refunded_plus_consumed_never_exceeds_paid_and_hours_never_go_negative(
        hours: int, price: int, paid_share: int, gift: int, steps: list[tuple[str, int]]) -> None:
    value = hours * price // 100
    paid = value * paid_share // 100
    entries = list(assets.purchase(hours, value, gift))
    consumptions: list[list[assets.Entry]] = []
    refunded = settled = 0
    for kind, amount in steps:
        balance = assets.balance_of(entries)
        if kind == "consume" and balance.hours_x100 >= amount:
            used = assets.consume(balance, amount)
            entries += used
            consumptions.append(used)
        elif kind == "reverse" and consumptions:
            entries += [e.reversed() for e in consumptions.pop()]
        elif kind == "refund" and balance.paid_hours_x100 > 0:
            taken = min(amount, balance.paid_hours_x100)
            consumed_hours = -sum(e.hours_x100 for e in entries if not e.gift and e.kind in (
                assets.EntryKind.CONSUMED, assets.EntryKind.REVERSAL))
            consumed_value = -sum(e.value_fen for e in entries if e.kind in (
                assets.EntryKind.CONSUMED, assets.EntryKind.REVERSAL))
            line = LineState("L1", "x", consumed_hours, balance.paid_hours_x100, balance.gift_hours_x100,
                             balance.value_fen)
            state = ContractState("C", TODAY, paid, settled, consumed_value, max(0, value - paid), {"L1": line})
            calc = calculate(state, [LineRequest("L1", taken)], {"L1": KEEP_20_OF_UNCONSUMED}, TODAY)
            entries.append(assets.take_paid(balance, taken, assets.EntryKind.REFUNDED))
            refunded += calc.refundable_fen
            settled += calc.base_fen
            # what was paid covers what was consumed and what was given back, when it is given back
            # (hours taught later on an unpaid contract are arrears, not an over-refund)
            assert refunded + consumed_value <= paid or calc.refundable_fen == 0
        after = assets.balance_of(entries)
        assert after.paid_hours_x100 >= 0 and after.gift_hours_x100 >= 0 and after.value_fen >= 0
        consumed_value = -sum(e.value_fen for e in entries if e.kind in (
            assets.EntryKind.CONSUMED, assets.EntryKind.REVERSAL))
        assert refunded + consumed_value <= value  # never more than the hours bought were worth
        if paid == value:
            assert refunded + consumed_value <= paid
