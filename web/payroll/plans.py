"""Pay plans as data (提成方案): what each position earns beyond its base pay, validated.

A plan is kept as JSON by headquarters (or by a campus that runs without a hub) for one
position, effective from a date. Rates are integer basis points (``300`` is 3%), money integer
fen, hours integer hundredths; a float anywhere is refused naming the field. Bracket schedules
start at 0 and follow each other without gap or overlap, the last one open-ended:

* **consultant** — ``basis`` ``signed`` (contracts as signed) or ``cash`` (money received on
  them); ``tier_mode`` ``progressive`` (超额累计: each bracket at its own rate) or ``whole``
  (全额累计: the whole month at the reached bracket's rate); ``new`` and ``renewal`` schedules of
  ``{"from_fen", "to_fen", "rate_bp"}`` over the month's total of that kind; ``inviter_share_bp``
  (default 5000: a lead's credit split 1:1 between who invited it and who closed it); and
  ``clawback_multiple_bp`` (default 10000: a refund takes back once the commission it earned).
* **academic_advisor** — ``renewal_rate_bp``: commission on renewals, vesting as the renewed
  hours are consumed (课消), valued at the contract's average unit price including gift hours.
* **teacher** — ``tier_mode`` and ``fees``: ``{"course_type", "level", "min_students",
  "max_students", "brackets": [{"from_hours_x100", "to_hours_x100", "fen_per_hour"}]}``, the
  first that matches a lesson applies (``"*"`` matches any course type or level); the brackets
  run over the teacher's taught hours in the month. ``add_on`` ``{"above_students",
  "fen_per_student_hour"}`` pays per student above a class size; ``bonuses``
  ``[{"min_students", "rate_bp"}]`` add a share of the lesson's fee (the highest one reached).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from campus.schema.errors import Invalid

FULL_BP = 10_000


class Position(StrEnum):
    CONSULTANT = "consultant"  # 课程顾问
    ACADEMIC_ADVISOR = "academic_advisor"  # 学管师
    TEACHER = "teacher"
    FRONT_DESK = "front_desk"
    MANAGER = "manager"


POSITIONS = tuple(Position)
PLANNED = (Position.CONSULTANT, Position.ACADEMIC_ADVISOR, Position.TEACHER)  # the positions a plan pays


class TierMode(StrEnum):
    PROGRESSIVE = "progressive"  # 超额累计
    WHOLE = "whole"  # 全额累计


class Basis(StrEnum):
    SIGNED = "signed"
    CASH = "cash"


@dataclass(frozen=True, slots=True)
class Bracket:
    """A volume range ``[start, end)`` (``end`` None: open) and the rate that applies in it."""

    start: int
    end: int | None
    rate: int


Brackets = tuple[Bracket, ...]


@dataclass(frozen=True, slots=True)
class ConsultantPlan:
    basis: Basis
    tier_mode: TierMode
    new: Brackets  # over fen, rate in basis points
    renewal: Brackets
    inviter_share_bp: int = 5_000
    clawback_multiple_bp: int = FULL_BP


@dataclass(frozen=True, slots=True)
class AdvisorPlan:
    renewal_rate_bp: int


@dataclass(frozen=True, slots=True)
class LessonFee:
    brackets: Brackets  # over hours_x100, rate in fen per hour
    course_type: str = "*"
    level: str = "*"
    min_students: int = 0
    max_students: int | None = None

    def matches(self, course_type: str, level: str | None, students: int) -> bool:
        return (self.course_type in ("*", course_type) and self.level in ("*", level or "")
                and students >= self.min_students and (self.max_students is None or students <= self.max_students))


@dataclass(frozen=True, slots=True)
class ClassBonus:
    min_students: int
    rate_bp: int


@dataclass(frozen=True, slots=True)
class TeacherPlan:
    tier_mode: TierMode
    fees: tuple[LessonFee, ...]
    add_on_above_students: int | None = None
    add_on_fen_per_student_hour: int = 0
    bonuses: tuple[ClassBonus, ...] = ()


Plan = ConsultantPlan | AdvisorPlan | TeacherPlan


# --- validation: every refusal names the field --------------------------------------------------------


def whole(value: Any, field: str, *, low: int = 0, high: int | None = None, unit: str = "units") -> int:
    """An integer within bounds; a float (or "3", or True) is refused naming ``field``."""
    if isinstance(value, float):
        raise Invalid(field, f"must be a whole number of {unit}, not the float {value!r} (rates are integer "
                             "basis points: 3% is 300; money is integer fen)")
    if type(value) is not int:
        raise Invalid(field, f"must be a whole number of {unit}, not {value!r}")
    if value < low or (high is not None and value > high):
        raise Invalid(field, f"must be from {low} to {high} {unit}" if high is not None else f"must be ≥ {low} {unit}")
    return value


def _choice(value: Any, field: str, choices: type[StrEnum]) -> Any:
    try:
        return choices(value)
    except ValueError:
        raise Invalid(field, f"one of {', '.join(c.value for c in choices)}") from None


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(field, "must be an object")
    return value


def _known(raw: Mapping[str, Any], field: str, allowed: set[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise Invalid(f"{field}.{unknown[0]}" if field else unknown[0],
                      f"not a setting of this plan (expected {', '.join(sorted(allowed))})")


def brackets(raw: Any, field: str, start_key: str, end_key: str, rate_key: str, *, rate_high: int | None,
             unit: str, rate_unit: str) -> Brackets:
    """A schedule: from 0, each bracket starting where the one before ends, the last one open."""
    if not isinstance(raw, list) or not raw:
        raise Invalid(field, "a list of at least one bracket")
    made: list[Bracket] = []
    for i, item in enumerate(raw):
        at = f"{field}.{i}"
        item = _object(item, at)
        _known(item, at, {start_key, end_key, rate_key})
        start = whole(item.get(start_key), f"{at}.{start_key}", unit=unit)
        end_raw = item.get(end_key)
        end = None if end_raw is None else whole(end_raw, f"{at}.{end_key}", low=start + 1, unit=unit)
        rate = whole(item.get(rate_key), f"{at}.{rate_key}", high=rate_high, unit=rate_unit)
        expected = 0 if not made else made[-1].end
        if i == 0 and start != 0:
            raise Invalid(f"{at}.{start_key}", "the first bracket starts at 0")
        if i > 0 and expected is None:
            raise Invalid(f"{field}.{i - 1}.{end_key}", "only the last bracket is open-ended")
        if expected is not None and start < expected:
            raise Invalid(f"{at}.{start_key}", f"overlaps the bracket before it, which ends at {expected}")
        if expected is not None and start > expected:
            raise Invalid(f"{at}.{start_key}", f"leaves a gap: the bracket before it ends at {expected}")
        made.append(Bracket(start, end, rate))
    if made[-1].end is not None:
        raise Invalid(f"{field}.{len(made) - 1}.{end_key}", "the last bracket is open-ended (no upper bound)")
    return tuple(made)


def _consultant(raw: Mapping[str, Any], at: str) -> ConsultantPlan:
    _known(raw, at, {"basis", "tier_mode", "new", "renewal", "inviter_share_bp", "clawback_multiple_bp"})

    def schedule(name: str) -> Brackets:
        return brackets(raw.get(name), f"{at}.{name}", "from_fen", "to_fen", "rate_bp", rate_high=FULL_BP,
                        unit="fen", rate_unit="basis points")

    return ConsultantPlan(
        basis=_choice(raw.get("basis", "signed"), f"{at}.basis", Basis),
        tier_mode=_choice(raw.get("tier_mode", "progressive"), f"{at}.tier_mode", TierMode),
        new=schedule("new"), renewal=schedule("renewal"),
        inviter_share_bp=whole(raw.get("inviter_share_bp", 5_000), f"{at}.inviter_share_bp", high=FULL_BP,
                               unit="basis points"),
        clawback_multiple_bp=whole(raw.get("clawback_multiple_bp", FULL_BP), f"{at}.clawback_multiple_bp",
                                   high=10 * FULL_BP, unit="basis points"))


def _advisor(raw: Mapping[str, Any], at: str) -> AdvisorPlan:
    _known(raw, at, {"renewal_rate_bp"})
    return AdvisorPlan(whole(raw.get("renewal_rate_bp"), f"{at}.renewal_rate_bp", high=FULL_BP, unit="basis points"))


def _teacher(raw: Mapping[str, Any], at: str) -> TeacherPlan:
    _known(raw, at, {"tier_mode", "fees", "add_on", "bonuses"})
    fees_raw = raw.get("fees")
    if not isinstance(fees_raw, list) or not fees_raw:
        raise Invalid(f"{at}.fees", "a list of at least one lesson fee")
    fees = []
    for i, item in enumerate(fees_raw):
        here = f"{at}.fees.{i}"
        item = _object(item, here)
        _known(item, here, {"course_type", "level", "min_students", "max_students", "brackets"})
        low = whole(item.get("min_students", 0), f"{here}.min_students", high=10_000, unit="students")
        high_raw = item.get("max_students")
        fees.append(LessonFee(
            brackets=brackets(item.get("brackets"), f"{here}.brackets", "from_hours_x100", "to_hours_x100",
                              "fen_per_hour", rate_high=100_000_000, unit="hundredths of an hour",
                              rate_unit="fen per hour"),
            course_type=_text(item.get("course_type", "*"), f"{here}.course_type"),
            level=_text(item.get("level", "*"), f"{here}.level"), min_students=low,
            max_students=None if high_raw is None else whole(high_raw, f"{here}.max_students", low=low,
                                                             high=10_000, unit="students")))
    add_on = _object(raw.get("add_on") or {}, f"{at}.add_on")
    _known(add_on, f"{at}.add_on", {"above_students", "fen_per_student_hour"})
    above = add_on.get("above_students")
    bonuses = []
    bonuses_raw = raw.get("bonuses") or []
    if not isinstance(bonuses_raw, list):
        raise Invalid(f"{at}.bonuses", "a list")
    for i, item in enumerate(bonuses_raw):
        here = f"{at}.bonuses.{i}"
        item = _object(item, here)
        _known(item, here, {"min_students", "rate_bp"})
        bonuses.append(ClassBonus(whole(item.get("min_students"), f"{here}.min_students", low=1, high=10_000,
                                        unit="students"),
                                  whole(item.get("rate_bp"), f"{here}.rate_bp", high=FULL_BP, unit="basis points")))
    return TeacherPlan(
        tier_mode=_choice(raw.get("tier_mode", "progressive"), f"{at}.tier_mode", TierMode), fees=tuple(fees),
        add_on_above_students=None if above is None else whole(above, f"{at}.add_on.above_students", high=10_000,
                                                                 unit="students"),
        add_on_fen_per_student_hour=whole(add_on.get("fen_per_student_hour", 0), f"{at}.add_on.fen_per_student_hour",
                                          high=100_000_000, unit="fen") if above is not None else 0,
        bonuses=tuple(sorted(bonuses, key=lambda b: b.min_students)))


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 32:
        raise Invalid(field, "a name of 1 to 32 characters, or * for any")
    return value.strip()


PARSERS: dict[Position, Callable[[Mapping[str, Any], str], Plan]] = {Position.CONSULTANT: _consultant, Position.ACADEMIC_ADVISOR: _advisor, Position.TEACHER: _teacher}


def parse_plan(position: str, rules: Any, field: str = "rules") -> Plan:
    """The plan for ``position`` from its JSON rules; refusals are :class:`Invalid` naming the field."""
    chosen = _choice(position, "position", Position)
    if chosen not in PARSERS:
        raise Invalid("position", f"{chosen} is paid its base salary only; plans are for "
                                  f"{', '.join(p.value for p in PLANNED)}")
    return PARSERS[chosen](_object(rules, field), field)


def plan_from_json(position: str, text: str) -> Plan:
    """A stored plan (validated again: a plan that no longer validates is refused, never half-applied)."""
    return parse_plan(position, json.loads(text))


EXAMPLES: dict[str, dict[str, Any]] = {
    Position.CONSULTANT: {"basis": "signed", "tier_mode": "progressive",
                          "new": [{"from_fen": 0, "to_fen": 5_000_000, "rate_bp": 300},
                                  {"from_fen": 5_000_000, "to_fen": None, "rate_bp": 500}],
                          "renewal": [{"from_fen": 0, "to_fen": None, "rate_bp": 200}],
                          "inviter_share_bp": 5_000, "clawback_multiple_bp": 10_000},
    Position.ACADEMIC_ADVISOR: {"renewal_rate_bp": 300},
    Position.TEACHER: {"tier_mode": "progressive",
                       "fees": [{"course_type": "*", "level": "*", "min_students": 0, "max_students": None,
                                 "brackets": [{"from_hours_x100": 0, "to_hours_x100": 4_000, "fen_per_hour": 4_000},
                                              {"from_hours_x100": 4_000, "to_hours_x100": None,
                                               "fen_per_hour": 6_000}]}],
                       "add_on": {"above_students": 6, "fen_per_student_hour": 500},
                       "bonuses": [{"min_students": 10, "rate_bp": 500}]},
}
