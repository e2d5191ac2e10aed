"""The refund-risk score (危单预警): a student's factor figures in, each factor's contribution
and their sum out. Integers only; every weight and threshold is a campus setting ([risk]).

A factor counts once its figure reaches its threshold: its weight at the threshold, rising in
proportion up to twice its weight at twice the threshold, and no further, so one factor cannot
drown the others. Hours near expiry count the other way round: the weight when the soonest
expiry of a contract with hours left is ``threshold`` days away, twice the weight on the day
(or after it). The service desk adds complaints (complaint tickets about the student) and low
satisfaction (lesson ratings and survey scores at or below [service] low_rating), both counted
over the last 90 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Factor(StrEnum):
    ABSENCE_STREAK = "absence_streak"  # the latest lessons missed (旷课, 损课) in a row
    LEAVE_STREAK = "leave_streak"  # the latest lessons on leave (请假) in a row
    LESSON_CHANGES = "lesson_changes"  # leave requests, make-ups and class transfers in 30 days
    SILENT_DAYS = "silent_days"  # days since a lesson attended, with hours left and none booked
    ARREARS = "arrears"  # fen still owed on the student's contracts
    EXPIRY = "expiry"  # days until a contract with hours left expires
    COMPLAINTS = "complaints"  # complaint tickets about the student in 90 days
    LOW_RATINGS = "low_ratings"  # satisfaction: low lesson ratings and survey scores in 90 days


FACTORS = tuple(Factor)
UNITS = {Factor.ABSENCE_STREAK: "lessons", Factor.LEAVE_STREAK: "lessons", Factor.LESSON_CHANGES: "changes",
         Factor.SILENT_DAYS: "days", Factor.ARREARS: "fen", Factor.EXPIRY: "days",
         Factor.COMPLAINTS: "complaints", Factor.LOW_RATINGS: "ratings"}


@dataclass(frozen=True)
class Rule:
    """One factor's setting: ``weight`` points at ``threshold`` (a weight of 0 turns it off)."""

    weight: int
    threshold: int

    def __post_init__(self) -> None:
        if type(self.weight) is not int or type(self.threshold) is not int:
            raise TypeError("a risk rule's weight and threshold are whole numbers")
        if self.weight < 0 or self.threshold < 1:
            raise ValueError("a risk rule needs a weight of 0 or more and a threshold of 1 or more")


@dataclass(frozen=True)
class RiskSettings:
    """The campus's [risk] settings; these defaults are the ones campus.toml starts with."""

    absence_streak: Rule = Rule(30, 3)  # the attendance alert's streak (DOMAIN.md §5)
    leave_streak: Rule = Rule(15, 3)
    lesson_changes: Rule = Rule(15, 3)
    silent_days: Rule = Rule(25, 14)
    arrears: Rule = Rule(20, 50_000)  # ¥500
    expiry: Rule = Rule(15, 30)  # days before the expiry date
    expiry_min_hours_x100: int = 400  # a contract counts for expiry only with 4 hours or more left
    alert_threshold: int = 50  # a score at or above it raises an alert
    complaints: Rule = Rule(20, 1)  # the service desk's factors, after the others (settings are built in order)
    low_ratings: Rule = Rule(15, 1)

    def __post_init__(self) -> None:
        if type(self.alert_threshold) is not int or self.alert_threshold < 1:
            raise ValueError("the alert threshold is a whole number of 1 or more")
        if type(self.expiry_min_hours_x100) is not int or self.expiry_min_hours_x100 < 0:
            raise ValueError("the hours that make an expiry count are a whole number of hundredths, not negative")

    def rule(self, factor: Factor) -> Rule:
        rule: Rule = getattr(self, factor.value)
        return rule


@dataclass(frozen=True)
class ContractHours:
    """A contract with hours left: how many, and the days until it expires (negative: past)."""

    days_left: int
    remaining_hours_x100: int


@dataclass(frozen=True)
class RiskFacts:
    """What the campus's records say about one student today."""

    absence_streak: int = 0
    leave_streak: int = 0
    lesson_changes: int = 0
    days_since_attended: int = 0  # since the last lesson attended (or the first signing)
    remaining_hours_x100: int = 0
    lessons_ahead: int = 0  # booked from now on
    arrears_fen: int = 0
    contracts: tuple[ContractHours, ...] = ()
    complaints: int = 0  # complaint tickets in the last 90 days
    low_ratings: int = 0  # lesson ratings and survey scores at or below the low rating, last 90 days


@dataclass(frozen=True)
class Contribution:
    factor: Factor
    figure: int | None  # None: nothing to measure (no contract with hours left, for expiry)
    weight: int
    threshold: int
    points: int

    def as_dict(self) -> dict[str, object]:
        return {"factor": self.factor.value, "unit": UNITS[self.factor], "figure": self.figure,
                "weight": self.weight, "threshold": self.threshold, "points": self.points}


@dataclass(frozen=True)
class RiskScore:
    total: int
    contributions: tuple[Contribution, ...]
    alert_threshold: int

    @property
    def at_risk(self) -> bool:
        return self.total >= self.alert_threshold

    def factors(self) -> list[dict[str, object]]:
        return [c.as_dict() for c in self.contributions]


def rising_points(figure: int, rule: Rule) -> int:
    """Points of a factor where more is worse."""
    if rule.weight == 0 or figure < rule.threshold:
        return 0
    return rule.weight * min(figure, 2 * rule.threshold) // rule.threshold


def expiry_points(days_left: int | None, rule: Rule) -> int:
    """Points of the soonest expiry: fewer days left is worse."""
    if days_left is None or rule.weight == 0 or days_left > rule.threshold:
        return 0
    return rule.weight * (2 * rule.threshold - max(days_left, 0)) // rule.threshold


def figures(facts: RiskFacts, settings: RiskSettings) -> dict[Factor, int | None]:
    """Each factor's figure: silence counts only while hours remain and no lesson is booked;
    expiry looks at the contracts holding at least ``expiry_min_hours_x100``."""
    silent = facts.days_since_attended if facts.remaining_hours_x100 > 0 and facts.lessons_ahead == 0 else 0
    expiring = [c.days_left for c in facts.contracts
                if c.remaining_hours_x100 > 0 and c.remaining_hours_x100 >= settings.expiry_min_hours_x100]
    return {Factor.ABSENCE_STREAK: facts.absence_streak, Factor.LEAVE_STREAK: facts.leave_streak,
            Factor.LESSON_CHANGES: facts.lesson_changes, Factor.SILENT_DAYS: max(silent, 0),
            Factor.ARREARS: max(facts.arrears_fen, 0), Factor.EXPIRY: min(expiring) if expiring else None,
            Factor.COMPLAINTS: max(facts.complaints, 0), Factor.LOW_RATINGS: max(facts.low_ratings, 0)}


def score(facts: RiskFacts, settings: RiskSettings) -> RiskScore:
    """The student's score: the sum of every factor's points, each listed with its figure."""
    found = figures(facts, settings)
    contributions = []
    for factor in FACTORS:
        rule, figure = settings.rule(factor), found[factor]
        if factor is Factor.EXPIRY:
            points = expiry_points(figure, rule)
        else:
            assert figure is not None
            points = rising_points(figure, rule)
        contributions.append(Contribution(factor, figure, rule.weight, rule.threshold, points))
    return RiskScore(sum(c.points for c in contributions), tuple(contributions), settings.alert_threshold)


class Step(StrEnum):
    RAISE = "raise"  # crossed the threshold: a new alert, and the reminders with it
    UPDATE = "update"  # still above: the open alert follows the figures, nobody is reminded again
    CLEAR = "clear"  # fell below (or left the campus's students): the alert closes


def alert_step(open_alert: bool, at_risk: bool, changed: bool) -> Step | None:
    """What an evaluation does with a student's alert: raised once per crossing, not again while
    the score stays above the threshold, cleared when it falls below."""
    if at_risk and not open_alert:
        return Step.RAISE
    if open_alert and not at_risk:
        return Step.CLEAR
    if open_alert and changed:
        return Step.UPDATE
    return None
