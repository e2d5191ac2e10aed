"""The refund-risk score's pure rules, as tables of cases and properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus.node.risk.rules import (
    FACTORS,
    ContractHours,
    Factor,
    RiskFacts,
    RiskSettings,
    Rule,
    Step,
    alert_step,
    expiry_points,
    rising_points,
    score,
)

DEFAULTS = RiskSettings()


@pytest.mark.parametrize(("figure", "weight", "threshold", "points"), [
    (0, 30, 3, 0),
    (2, 30, 3, 0),  # just under the threshold: nothing
    (3, 30, 3, 30),  # at the threshold: the weight
    (4, 30, 3, 40),
    (5, 30, 3, 50),
    (6, 30, 3, 60),  # twice the threshold: twice the weight
    (60, 30, 3, 60),  # and no further
    (21, 25, 14, 37),  # 25 × 21 / 14 = 37.5, rounded down
    (60_000, 20, 50_000, 24),  # arrears of ¥600 against ¥500
    (9, 0, 3, 0),  # a weight of 0 turns the factor off
])
def test_rising_points(figure: int, weight: int, threshold: int, points: int) -> None:
    assert rising_points(figure, Rule(weight, threshold)) == points


@pytest.mark.parametrize(("days_left", "points"), [
    (None, 0),  # no contract with hours left
    (31, 0),  # just outside the window
    (30, 15),  # at the window's edge: the weight
    (20, 20),  # 15 × 40 / 30
    (1, 29),
    (0, 30),  # the expiry date: twice the weight
    (-5, 30),  # past it with hours still on the line
])
def test_expiry_points(days_left: int | None, points: int) -> None:
    assert expiry_points(days_left, Rule(15, 30)) == points


def _by_factor(facts: RiskFacts, settings: RiskSettings = DEFAULTS) -> dict[str, tuple[int | None, int]]:
    return {c.factor.value: (c.figure, c.points) for c in score(facts, settings).contributions}


def test_a_student_with_nothing_wrong_scores_zero_on_every_factor() -> None:
    result = score(RiskFacts(remaining_hours_x100=2000, lessons_ahead=4, days_since_attended=3,
                             contracts=(ContractHours(200, 2000),)), DEFAULTS)
    assert result.total == 0 and not result.at_risk
    assert [c.factor for c in result.contributions] == list(FACTORS)
    assert _by_factor(RiskFacts())["expiry"] == (None, 0)


def test_each_factor_lists_its_figure_and_contribution() -> None:
    facts = RiskFacts(absence_streak=3, leave_streak=4, lesson_changes=5, days_since_attended=21,
                      remaining_hours_x100=1400, lessons_ahead=0, arrears_fen=60_000,
                      contracts=(ContractHours(20, 1400), ContractHours(5, 300)))
    result = score(facts, DEFAULTS)
    assert _by_factor(facts) == {"absence_streak": (3, 30), "leave_streak": (4, 20), "lesson_changes": (5, 25),
                                 "silent_days": (21, 37), "arrears": (60_000, 24),
                                 "expiry": (20, 20),  # the 3-hour contract is under the 4 hours that count
                                 "complaints": (0, 0), "low_ratings": (0, 0)}
    assert result.total == 30 + 20 + 25 + 37 + 24 + 20
    assert result.at_risk
    assert result.factors()[0] == {"factor": "absence_streak", "unit": "lessons", "figure": 3, "weight": 30,
                                   "threshold": 3, "points": 30}


@pytest.mark.parametrize(("remaining", "ahead", "silent"), [
    (1400, 0, 21),  # hours left and nothing booked: silent
    (0, 0, 0),  # nothing left to use
    (1400, 1, 0),  # a lesson is booked
])
def test_silence_counts_only_with_hours_left_and_nothing_booked(remaining: int, ahead: int, silent: int) -> None:
    facts = RiskFacts(days_since_attended=21, remaining_hours_x100=remaining, lessons_ahead=ahead)
    assert _by_factor(facts)["silent_days"][0] == silent


def test_the_alert_threshold_is_reached_at_the_threshold() -> None:
    settings = replace(DEFAULTS, alert_threshold=30)
    assert score(RiskFacts(absence_streak=3), settings).at_risk
    assert not score(RiskFacts(absence_streak=2), settings).at_risk


@pytest.mark.parametrize(("weight", "threshold"), [(-1, 3), (10, 0), (10, -2)])
def test_a_rule_needs_a_weight_from_zero_and_a_threshold_from_one(weight: int, threshold: int) -> None:
    with pytest.raises(ValueError):
        Rule(weight, threshold)


def test_a_rule_takes_whole_numbers_only() -> None:
    with pytest.raises(TypeError):
        Rule(1.5, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("is_open", "at_risk", "changed", "step"), [
    (False, True, False, Step.RAISE),  # crossing: raised
    (True, True, False, None),  # still above, nothing new: not raised again
    (True, True, True, Step.UPDATE),  # still above, figures moved: the alert follows, nobody reminded again
    (True, False, False, Step.CLEAR),  # fell below: cleared
    (True, False, True, Step.CLEAR),
    (False, False, False, None),
    (False, False, True, None),
])
def test_alert_steps(is_open: bool, at_risk: bool, changed: bool, step: Step | None) -> None:
    assert alert_step(is_open, at_risk, changed) == step


counts = st.integers(min_value=0, max_value=1000)
rules = st.builds(Rule, st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=100_000))
facts_strategy = st.builds(
    RiskFacts, absence_streak=counts, leave_streak=counts, lesson_changes=counts, days_since_attended=counts,
    remaining_hours_x100=st.integers(min_value=-500, max_value=100_000), lessons_ahead=st.integers(0, 3),
    arrears_fen=st.integers(min_value=-100_000, max_value=10_000_000),
    contracts=st.lists(st.builds(ContractHours, st.integers(-400, 400), st.integers(-500, 100_000)),
                       max_size=3).map(tuple))
settings_strategy = st.builds(RiskSettings, rules, rules, rules, rules, rules, rules,
                              st.integers(min_value=0, max_value=2000), st.integers(min_value=1, max_value=1000))


@given(facts_strategy, settings_strategy)
def test_the_score_is_the_sum_of_contributions_each_between_zero_and_twice_its_weight(
        facts: RiskFacts, settings: RiskSettings) -> None:
    result = score(facts, settings)
    assert result.total == sum(c.points for c in result.contributions)
    for c in result.contributions:
        assert type(c.points) is int and 0 <= c.points <= 2 * settings.rule(c.factor).weight
    assert result.at_risk == (result.total >= settings.alert_threshold)


RISING = {Factor.ABSENCE_STREAK: "absence_streak", Factor.LEAVE_STREAK: "leave_streak",
          Factor.LESSON_CHANGES: "lesson_changes", Factor.SILENT_DAYS: "days_since_attended",
          Factor.ARREARS: "arrears_fen"}


@given(facts_strategy, settings_strategy, st.sampled_from(sorted(RISING)), st.integers(min_value=0, max_value=500))
def test_more_of_a_factor_never_lowers_the_score(facts: RiskFacts, settings: RiskSettings, factor: Factor,
                                                 more: int) -> None:
    name = RISING[factor]
    worse = replace(facts, **{name: getattr(facts, name) + more})
    assert score(worse, settings).total >= score(facts, settings).total


@given(facts_strategy, settings_strategy, st.integers(min_value=0, max_value=400))
def test_an_expiry_coming_sooner_never_lowers_the_score(facts: RiskFacts, settings: RiskSettings,
                                                        sooner: int) -> None:
    worse = replace(facts, contracts=tuple(replace(c, days_left=c.days_left - sooner) for c in facts.contracts))
    assert score(worse, settings).total >= score(facts, settings).total


@given(facts_strategy, settings_strategy, st.sampled_from(list(FACTORS)))
def test_a_factor_weighted_zero_contributes_nothing(facts: RiskFacts, settings: RiskSettings,
                                                    factor: Factor) -> None:
    off = replace(settings, **{factor.value: Rule(0, settings.rule(factor).threshold)})
    assert next(c.points for c in score(facts, off).contributions if c.factor is factor) == 0
