"""Pure rules of the refund workflow at a campus: the payout deadline and which step may follow
which. The calculation and the policies themselves are :mod:`campus.schema.refunds` (the hub
keeps the policies too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from campus.schema.errors import Conflict


@dataclass(frozen=True)
class RefundSettings:
    """campus.toml [refunds]: the payout deadline in working days after approval."""

    payout_days_before_start: int = 5  # no hour of the contract consumed yet
    payout_days_after_start: int = 15

    def __post_init__(self) -> None:
        for name in ("payout_days_before_start", "payout_days_after_start"):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= 60:
                raise ValueError(f"[refunds] {name} is a whole number of working days from 1 to 60")


def add_working_days(start: date, days: int) -> date:
    """``days`` working days (Monday to Friday) after ``start``."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def payout_due(approved_on: date, started: bool, settings: RefundSettings) -> date:
    """The day a refund approved on ``approved_on`` must be paid by."""
    days = settings.payout_days_after_start if started else settings.payout_days_before_start
    return add_working_days(approved_on, days)


class WrongStep(Conflict):
    """A step the refund's status does not allow (paying before approval, paying twice...)."""


# status → the steps that may follow it
NEXT: dict[str, frozenset[str]] = {
    "requested": frozenset({"approve", "reject"}),
    "approved": frozenset({"pay", "reject"}),
    "rejected": frozenset(),
    "paid": frozenset(),
}
STEP_LABELS = {"approve": "批准", "reject": "驳回", "pay": "付款"}


def check_step(status: str, step: str) -> None:
    if step not in NEXT.get(status, frozenset()):
        allowed = "、".join(STEP_LABELS[s] for s in sorted(NEXT.get(status, ()))) or "无"
        raise WrongStep(f"a {status} refund cannot be {step}: allowed next: {allowed}", field="status",
                        status=status, step=step)
