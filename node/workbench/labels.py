"""Every code a staff screen shows, with the English label the catalogue translates: screens show
``labels()[kind][code]``, never the stored code (``walk-in``, ``private``, ``one_on_one``...)."""

from __future__ import annotations

from typing import Any

from campus.node.crm.leads import CHANNEL_LABELS, FOLLOW_UP_LABELS
from campus.node.crm.pools import Move, Pool
from campus.node.finance.screens import FUND_LABELS
from campus.node.teaching.scheduling import ClassCategory, Weekday
from campus.node.workbench.reminders import KINDS
from campus.web.i18n import gettext_ as _

POOLS = {Pool.LEAD: "Lead pool", Pool.PRIVATE: "Private pool", Pool.INVITED: "Invited pool",
         Pool.DEPOSIT: "Deposit pool", Pool.SIGNED: "Signed pool", Pool.RETURNED: "Returned pool",
         Pool.INVALID: "Invalid pool"}
MOVES = {Move.CLAIM: "Claim", Move.ASSIGN: "Assign", Move.RELEASE: "Release", Move.INVITE: "Invite to trial",
         Move.DEPOSIT: "Deposit paid", Move.SIGN: "Signed", Move.RETURN: "Give up",
         Move.CONFIRM_INVALID: "Confirm invalid", Move.REVIVE: "Revive", Move.AUTO_RETURN: "Returned automatically",
         "import_merge": "Merged from an import"}
CATEGORIES = {ClassCategory.REGULAR: "Regular class", ClassCategory.EXAM: "Exam class",
              ClassCategory.SELF_STUDY: "Self-study class", ClassCategory.ONLINE: "Online class",
              ClassCategory.ONE_ON_ONE: "One-on-one"}
WEEKDAYS = {Weekday.MON: "Mon", Weekday.TUE: "Tue", Weekday.WED: "Wed", Weekday.THU: "Thu", Weekday.FRI: "Fri",
            Weekday.SAT: "Sat", Weekday.SUN: "Sun"}
LESSON_KINDS = {"regular": "Regular lesson", "makeup": "Make-up lesson", "extra": "Extra lesson"}
LESSON_STATUSES = {"scheduled": "Scheduled", "cancelled": "Cancelled"}
ROLL_CALL = {"confirmed": "Roll call confirmed", "marked": "Marked, not confirmed", "not_marked": "Not marked yet",
             "no_students": "No students", "cancelled": "Cancelled"}
MARKS = {"present": "present", "late": "late", "leave": "leave", "absent": "absent", "forfeited": "forfeited",
         "extra": "extra"}  # the catalogue translates the mark codes themselves (出勤, 迟到...)
SOURCES = {"kiosk": "Kiosk", "teacher": "Teacher", "desk": "Front desk"}
ENROLMENT_STATUSES = {"active": "In class", "transferred": "Transferred", "left": "Left"}
PAYMENT_KINDS = {"deposit": "deposit", "payment": "payment", "deposit_applied": "deposit_applied"}
CONFLICT_KINDS = {"concurrent_edit": "concurrent_edit", "double_claim": "double_claim", "overdraft": "overdraft",
                  "over_refund": "over_refund", "append_only_mismatch": "append_only_mismatch"}
TABLES = {"leads": "Lead", "students": "Student", "contracts": "Contract", "contract_lines": "Contract line",
          "guardians": "Guardian", "lessons": "Lesson", "classes": "Class", "rooms": "Room", "courses": "Course",
          "enrolments": "Enrolment", "refunds": "Refund", "payments": "Payment", "asset_entries": "Ledger entry",
          "attendance_marks": "Attendance mark", "campaigns": "Campaign", "users": "User"}
EXPENSE_CATEGORIES = {"rent": "Rent", "materials": "Materials", "marketing": "Marketing", "utilities": "Utilities",
                      "salaries": "Salaries", "other": "Other"}


def label(table: dict[Any, str], code: str | None) -> str:
    """The translated label of ``code``; a code no table knows (a channel typed by hand) as typed."""
    if code is None or code == "":
        return "—"
    english = table.get(code)
    return _(english) if english else code


def labels() -> dict[str, dict[str, str]]:
    """Every table, translated into the request's language, for a template's context."""
    tables: dict[str, dict[Any, str]] = {
        "channels": dict(CHANNEL_LABELS), "follow_ups": dict(FOLLOW_UP_LABELS), "pools": POOLS, "moves": MOVES,
        "categories": CATEGORIES, "weekdays": WEEKDAYS, "lesson_kinds": LESSON_KINDS,
        "lesson_statuses": LESSON_STATUSES, "roll_call": ROLL_CALL, "marks": MARKS, "sources": SOURCES,
        "enrolment_statuses": ENROLMENT_STATUSES, "payment_kinds": PAYMENT_KINDS, "funds": FUND_LABELS,
        "conflict_kinds": CONFLICT_KINDS, "tables": TABLES, "reminders": KINDS, "expenses": EXPENSE_CATEGORIES}
    return {name: {str(code): _(english) for code, english in table.items()} for name, table in tables.items()}
