"""What the screens, payslips and the export call each category, state, position and column (msgids,
translated where shown)."""

from __future__ import annotations

from campus.web.i18n import gettext_ as _

CATEGORY_LABELS = {"base": "Base pay", "commission": "Commission", "renewal_vesting": "Renewal commission (consumed)",
                   "lesson_fee": "Lesson fee", "add_on": "Class-size add-on", "bonus": "Class bonus",
                   "clawback": "Refund clawback", "carried_in": "Clawback carried from last month",
                   "carry_forward": "Clawback carried to next month", "adjustment": "Adjustment"}
STATUS_LABELS = {"draft": "Draft", "review": "In review", "approved": "Approved", "paid": "Paid out"}
POSITION_LABELS = {"consultant": "Consultant", "academic_advisor": "Academic advisor", "teacher": "Teacher",
                   "front_desk": "Front desk", "manager": "Manager"}
COLUMN_LABELS = {"base_fen": "Base pay", "commission_fen": "Commission", "lesson_fee_fen": "Lesson fees",
                 "bonus_fen": "Class bonus", "clawback_fen": "Clawbacks", "adjustment_fen": "Adjustments",
                 "carry_out_fen": "Carried to next month", "total_fen": "Total pay"}


def category_label(code: str) -> str:
    return _(CATEGORY_LABELS.get(code, code))


def column_label(key: str) -> str:
    return _(COLUMN_LABELS.get(key, key))


def translated() -> dict[str, dict[str, str]]:
    """Every label in the current locale, as templates take them."""
    return {"categories": {k: _(v) for k, v in CATEGORY_LABELS.items()},
            "statuses": {k: _(v) for k, v in STATUS_LABELS.items()},
            "positions": {k: _(v) for k, v in POSITION_LABELS.items()},
            "columns": {k: _(v) for k, v in COLUMN_LABELS.items()}}
