"""Prepaid-fee compliance (预收费监管) for training aimed at primary and secondary pupils.

Local rules limit one prepayment to at most 60 lesson hours or 3 months per subject, and
forbid charging again while more than 20 hours of the subject remain. Each product says
whether its line is covered: ``off`` (adult and vocational lines, the default), ``warn``
(the contract is signed and the findings are returned and audited) or ``block`` (refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from campus.schema.errors import Conflict
from campus.schema.quantities import LessonHours

MAX_PREPAID_HOURS_X100 = 6000
MAX_PREPAID_DAYS = 92  # three months
RENEW_WHEN_BELOW_X100 = 2000
RULES = ("off", "warn", "block")


@dataclass(frozen=True)
class Finding:
    subject: str
    rule: str  # hours | months | early_renewal
    detail: str


class PrepaidRuleBroken(Conflict):
    """The contract breaks the prepaid-fee rule of a product set to block."""


def check_line(subject: str, paid_hours_x100: int, signed_on: date, expires_on: date,
               remaining_in_subject_x100: int) -> list[Finding]:
    """What one line of a covered product breaks; ``remaining_in_subject_x100`` counts the paid and
    gift hours the student still holds in the subject before this contract."""
    found = []
    if paid_hours_x100 > MAX_PREPAID_HOURS_X100:
        found.append(Finding(subject, "hours", f"{subject}: {LessonHours(paid_hours_x100)} hours prepaid; at most "
                                               f"{LessonHours(MAX_PREPAID_HOURS_X100)} at once"))
    if (expires_on - signed_on).days > MAX_PREPAID_DAYS:
        found.append(Finding(subject, "months", f"{subject}: prepaid for {(expires_on - signed_on).days} days; "
                                                f"at most three months ({MAX_PREPAID_DAYS} days) at once"))
    if remaining_in_subject_x100 > RENEW_WHEN_BELOW_X100:
        found.append(Finding(subject, "early_renewal", f"{subject}: {LessonHours(remaining_in_subject_x100)} hours "
                                                       f"still remain; charge again only below "
                                                       f"{LessonHours(RENEW_WHEN_BELOW_X100)}"))
    return found
