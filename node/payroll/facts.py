"""The facts one campus's payroll run is computed from, as frozen values (no store, no clock).

Money is integer fen, hours integer hundredths, rates integer basis points: a float in any
field is refused as the fact is made (:class:`FloatRefused`). Each fact names its source row and
the month (``period``) it belongs to; a fact of an earlier month whose run was approved without
it is still here, and is paid as a late line.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import date
from typing import Any

from campus.schema.quantities import FloatRefused
from campus.web.payroll.plans import Plan


def whole(value: object, name: str) -> int:
    """``value`` if it is an int; a float (or a bool, or text) is refused."""
    if isinstance(value, float):
        raise FloatRefused(f"{name} takes integer units (fen, hundredths, basis points), not the float {value!r}")
    if type(value) is not int:
        raise TypeError(f"{name} takes an int, got {type(value).__name__}")
    return value


def integers_only(value: object) -> None:
    """Refuse a float in any ``*_fen``, ``*_x100``, ``*_bp`` or numeric field of a fact."""
    if not is_dataclass(value):
        return
    for f in fields(value):
        item = getattr(value, f.name)
        if isinstance(item, float):
            raise FloatRefused(f"{type(value).__name__}.{f.name} takes integer units, not the float {item!r}")
        if f.name.endswith(("_fen", "_x100", "_bp")) and item is not None:
            whole(item, f"{type(value).__name__}.{f.name}")


def period_days(period: str) -> tuple[date, date]:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True, slots=True)
class StaffPosition:
    """A staff record: a user's position at the campus, from ``start_on`` to ``end_on`` (inclusive)."""

    record_id: str
    user_id: str
    position: str
    level: str | None
    base_salary_fen: int
    start_on: str
    end_on: str | None = None

    def __post_init__(self) -> None:
        integers_only(self)

    def active_in(self, period: str) -> bool:
        first, last = period_days(period)
        return self.start_on <= last.isoformat() and (self.end_on is None or self.end_on >= first.isoformat())


@dataclass(frozen=True, slots=True)
class Sale:
    """A signing (signed basis: the contract) or money received on one (cash basis: the payment)."""

    source_table: str
    source_id: str
    ref: str
    contract_id: str
    kind: str  # new | renewal
    amount_fen: int
    closer_id: str | None
    at: str
    period: str  # the month it belongs to
    inviter_id: str | None = None

    def __post_init__(self) -> None:
        integers_only(self)


@dataclass(frozen=True, slots=True)
class Consumed:
    """Hours of a renewal contract consumed in a confirmed lesson (a re-confirmation: the change)."""

    source_id: str  # attendance_confirmations
    ref: str
    advisor_id: str | None
    contract_id: str
    hours_x100: int
    contract_amount_fen: int
    contract_hours_x100: int  # paid and gift hours as signed
    at: str
    period: str

    def __post_init__(self) -> None:
        integers_only(self)


@dataclass(frozen=True, slots=True)
class Taught:
    """A confirmed lesson at this campus."""

    source_id: str  # lessons
    ref: str
    teacher_id: str
    course_type: str
    hours_x100: int
    students: int  # attended (present, late, extra)
    at: str
    period: str

    def __post_init__(self) -> None:
        integers_only(self)


@dataclass(frozen=True, slots=True)
class PaidRefund:
    source_id: str  # refunds
    ref: str
    consultant_id: str | None
    contract_id: str
    stage: str  # new | continuing
    amount_fen: int
    at: str
    period: str

    def __post_init__(self) -> None:
        integers_only(self)


@dataclass(frozen=True, slots=True)
class Earned:
    """What a consultant was paid on a contract in approved runs, and on how much money."""

    user_id: str
    contract_id: str
    commission_fen: int
    basis_fen: int

    def __post_init__(self) -> None:
        integers_only(self)


@dataclass(frozen=True, slots=True)
class Carried:
    """A clawback the previous run could not cover, to take from this one."""

    user_id: str
    amount_fen: int  # positive: owed back
    payslip_id: str
    period: str

    def __post_init__(self) -> None:
        integers_only(self)


@dataclass(frozen=True, slots=True)
class Adjustment:
    adjustment_id: str
    user_id: str
    amount_fen: int
    reason: str

    def __post_init__(self) -> None:
        integers_only(self)
        if not self.reason.strip():
            raise ValueError("an adjustment needs a reason")


@dataclass(frozen=True)
class RunFacts:
    """Everything one campus's run for ``period`` is computed from (facts of earlier months whose
    run is approved but which it did not include are here too: they are paid as late lines)."""

    period: str
    staff: tuple[StaffPosition, ...] = ()
    plans: Mapping[str, Plan] = field(default_factory=dict)  # position → the plan in force
    sales: tuple[Sale, ...] = ()
    consumed: tuple[Consumed, ...] = ()
    taught: tuple[Taught, ...] = ()
    refunds: tuple[PaidRefund, ...] = ()
    earned: tuple[Earned, ...] = ()
    carried: tuple[Carried, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {"_": type(value).__name__, **{k: _plain(v) for k, v in asdict(value).items()}}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def facts_digest(facts: RunFacts) -> str:
    """SHA-256 of the facts in a canonical form: the same facts, in any order, give the same digest."""
    plain = _plain(facts)
    for key, value in plain.items():
        if isinstance(value, list):
            plain[key] = sorted(value, key=lambda item: json.dumps(item, sort_keys=True))
    return hashlib.sha256(json.dumps(plain, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
