"""Tickets (问题单): the categories, priorities and statuses, which status may follow which, the
response deadline of each category and when a ticket is overdue. Pure: values in, values out.

A ticket is open when written; a reply the family sees puts it in progress; it is resolved, then
closed, and a resolved or closed ticket may be reopened, which starts a new response deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from campus.schema.errors import Conflict


class Category(StrEnum):
    QUESTION = "question"  # 咨询
    COMPLAINT = "complaint"  # 投诉: counts in the refund-risk score
    REQUEST = "request"  # 申请 (a change of class, an invoice, a certificate...)


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Status(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class Source(StrEnum):
    STAFF = "staff"  # written by staff at the desk
    PHONE = "phone"  # taken by staff during a call
    PORTAL = "portal"  # written by the family in the portal


NEXT: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
}
UNRESOLVED = frozenset({Status.OPEN, Status.IN_PROGRESS, Status.REOPENED})
AWAITING_RESPONSE = frozenset({Status.OPEN, Status.REOPENED})  # a reply moves these in progress
# The order a desk works in: the most urgent first.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class IllegalTicketMove(Conflict):
    """The status asked for cannot follow the ticket's current one."""

    def __init__(self, current: Status, wanted: Status) -> None:
        allowed = ", ".join(sorted(s.value for s in NEXT[current])) or "none"
        super().__init__(f"a {current.value} ticket cannot become {wanted.value}; allowed: {allowed}",
                         field="status", current=current.value, wanted=wanted.value)


def check_move(current: Status, wanted: Status) -> Status:
    """``wanted`` if it may follow ``current``; else :class:`IllegalTicketMove`."""
    if wanted not in NEXT[current]:
        raise IllegalTicketMove(current, wanted)
    return wanted


@dataclass(frozen=True)
class ServiceSettings:
    """campus.toml [service]: hours to the first response per category, and the rating (1–5) at or
    below which a lesson rating or a survey answer is low (a reminder; the risk score counts it)."""

    question_hours: int = 24
    complaint_hours: int = 4
    request_hours: int = 48
    low_rating: int = 2

    def __post_init__(self) -> None:
        for name in ("question_hours", "complaint_hours", "request_hours"):
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= 24 * 30:
                raise ValueError(f"[service] {name} is a whole number of hours from 1 to 720")
        if type(self.low_rating) is not int or not 1 <= self.low_rating <= 4:
            raise ValueError("[service] low_rating is a whole number from 1 to 4")

    def response_hours(self, category: Category) -> int:
        hours: int = getattr(self, f"{category.value}_hours")
        return hours


def respond_by(at: datetime, category: Category, settings: ServiceSettings) -> datetime:
    """When the first response to a ticket written (or reopened) at ``at`` is due."""
    return at + timedelta(hours=settings.response_hours(category))


def is_overdue(status: Status, respond_by_at: datetime, responded: bool, now: datetime) -> bool:
    """Unresolved, not answered yet, and past its response deadline."""
    return status in UNRESOLVED and not responded and now > respond_by_at


def after_reply(status: Status) -> Status:
    """The status a reply the family sees leaves: an open or reopened ticket is now in progress."""
    return Status.IN_PROGRESS if status in AWAITING_RESPONSE else status
