"""The pure rules of the reports: periods and the period before them, rates in basis points,
the conversion funnel, KPI completion and gap, comparisons, and the heatmap grid.

Values in, values out: money is integer fen, hours integer hundredths, every rate basis points
(10000 = 100%), rounded down. A rate over nothing is ``None`` (shown as a dash), never a guess.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from campus.schema.errors import Invalid

BP = 10_000
MAX_SPAN_DAYS = 3 * 366  # a custom range longer than three years is refused
GRAINS = ("day", "week", "month", "range")
FUNNEL_STAGES = ("new", "claimed", "invited", "deposit", "signed")


@dataclass(frozen=True)
class ReportSettings:
    """``[reports]`` of campus.toml (a node's for its campus, the hub's for the group): a student
    with no attended lesson for ``dormant_days`` is dormant; a student whose hours at a campus fall
    to ``low_hours_x100`` (hundredths) or fewer has "run low" (the renewal rate's denominator)."""

    dormant_days: int = 90
    low_hours_x100: int = 1000

    def __post_init__(self) -> None:
        if not 1 <= self.dormant_days <= 366:
            raise ValueError("[reports] dormant_days must be 1 to 366")
        if not 0 <= self.low_hours_x100 <= 1_000_000:
            raise ValueError("[reports] low_hours_x100 must be 0 to 1000000 (hundredths of an hour)")


class BadPeriod(Invalid):
    """A period the report cannot read: names the query parameter at fault (422)."""


@dataclass(frozen=True, order=True)
class Period:
    """Campus-local days ``first``..``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def whole_months(self) -> bool:
        """Whether the period starts on a month's first day and ends on a month's last."""
        return self.first.day == 1 and (self.last + timedelta(days=1)).day == 1

    def previous(self) -> Period:
        """The period just before, as long; whole calendar months compare with as many months before."""
        if self.whole_months():
            months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
            start = add_months(self.first, -months)
            return Period(start, self.first - timedelta(days=1))
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def each_day(self) -> Iterable[date]:
        return (self.first + timedelta(days=n) for n in range(self.days))

    def as_dict(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_period(year: int, month: int) -> Period:
    return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))


def _parse_day(field: str, text: str, end: bool) -> date:
    try:
        if len(text) == 7:  # a month: its first or last day
            year, month = int(text[:4]), int(text[5:7])
            if text[4] != "-" or not 1 <= year <= 9999 or not 1 <= month <= 12:
                raise ValueError(text)
            whole = month_period(year, month)
            return whole.last if end else whole.first
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(field, f"a date like 2026-12-01 or a month like 2026-12, not {text!r}") from None


def parse_period(params: Mapping[str, str], today: date) -> Period:
    """The period a report's query string asks for: ``from``/``to`` (days or months), or
    ``period=day|week|month`` around ``on`` (a day; for a month also 2026-12); by default the
    month of ``today``."""
    grain = params.get("period") or ""
    if grain and grain not in GRAINS:
        raise BadPeriod("period", f"one of {', '.join(GRAINS)}, not {grain!r}")
    start, end = params.get("from") or "", params.get("to") or ""
    if start or end or grain == "range":
        if not start:
            raise BadPeriod("from", "a custom range needs its first day")
        first = _parse_day("from", start, end=False)
        last = _parse_day("to", end or start, end=True)
        if last < first:
            raise BadPeriod("to", "must not be before from")
        if (last - first).days + 1 > MAX_SPAN_DAYS:
            raise BadPeriod("to", f"a range of at most {MAX_SPAN_DAYS} days")
        return Period(first, last)
    on_text = params.get("on") or ""
    on = _parse_day("on", on_text, end=False) if on_text else today
    if grain == "day":
        return Period(on, on)
    if grain == "week":  # Monday to Sunday
        monday = on - timedelta(days=on.weekday())
        return Period(monday, monday + timedelta(days=6))
    return month_period(on.year, on.month)


def rate_bp(part: int, whole: int) -> int | None:
    """``part ÷ whole`` in basis points, rounded down; None over nothing."""
    if whole <= 0:
        return None
    return part * BP // whole


def change_bp(current: int, previous: int) -> int | None:
    """The change from ``previous`` to ``current`` in basis points of ``previous`` (None from zero)."""
    if previous == 0:
        return None
    return (current - previous) * BP // abs(previous)


def roi_bp(signed_fen: int, cost_fen: int) -> int | None:
    """Return on marketing spend: signed amount ÷ cost, in basis points (None when nothing was spent)."""
    return rate_bp(signed_fen, cost_fen)


@dataclass(frozen=True)
class Stage:
    stage: str
    count: int
    rate_bp: int | None  # from the stage before (None for the first, or after an empty stage)
    overall_bp: int | None  # from the first stage


def funnel(counts: Mapping[str, int], stages: Sequence[str] = FUNNEL_STAGES) -> list[Stage]:
    """Each stage's count with its rate from the stage before and from the first."""
    made = []
    first = counts.get(stages[0], 0)
    before: int | None = None
    for stage in stages:
        count = counts.get(stage, 0)
        made.append(Stage(stage, count, rate_bp(count, before) if before is not None else None,
                          rate_bp(count, first)))
        before = count
    return made


@dataclass(frozen=True)
class Completion:
    target: int
    actual: int
    completion_bp: int | None  # actual ÷ target (may pass 10000)
    gap: int  # what is still missing, never negative


def completion(target: int, actual: int) -> Completion:
    return Completion(target, actual, rate_bp(actual, target), max(target - actual, 0))


def weekdays_in(period: Period) -> dict[int, int]:
    """How many Mondays (0) .. Sundays (6) the period holds."""
    counts = dict.fromkeys(range(7), 0)
    for day in period.each_day():
        counts[day.weekday()] += 1
    return counts


def heat_grid(cells: Mapping[tuple[int, int], int], hours: Iterable[int]) -> list[list[int]]:
    """Rows Monday..Sunday, one column per hour: the value of each (weekday, hour) cell."""
    shown = list(hours)
    return [[cells.get((weekday, hour), 0) for hour in shown] for weekday in range(7)]


def occupancy_bp(cells: Mapping[tuple[int, int], int], period: Period) -> dict[tuple[int, int], int | None]:
    """Per (weekday, hour): lessons in the slot ÷ times that weekday occurs in the period (a room
    used every Monday at 18:00 of the period is 10000)."""
    times = weekdays_in(period)
    return {key: rate_bp(value, times[key[0]]) for key, value in cells.items()}


def ranked(rows: Iterable[Mapping[str, object]], key: str) -> list[dict[str, object]]:
    """Rows ordered by ``key`` (highest first, ties by name), each with its rank (ties share one)."""
    ordered = sorted((dict(r) for r in rows), key=lambda r: (-int(r[key] or 0), str(r.get("name") or "")))  # type: ignore[call-overload]
    last_value: object = object()
    rank = 0
    for position, row in enumerate(ordered, start=1):
        if row[key] != last_value:
            rank, last_value = position, row[key]
        row["rank"] = rank
    return ordered
