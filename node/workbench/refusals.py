"""A refusal said in the screen's language, naming the field or the clash: what a staff form flashes
when a use case or the input model says no (the JSON API keeps its English problem details)."""

from __future__ import annotations

import re
from typing import Any

from campus.schema.errors import DomainError, Invalid
from campus.web.i18n import gettext_ as _

FIELDS = {
    "name": "Name", "capacity": "Capacity", "lesson_hours_x100": "Hours per lesson", "price_item_id": "Price item",
    "course_id": "Course", "category": "Category", "teacher_id": "Teacher", "class_teacher_id": "Class teacher",
    "room_id": "Room", "student_id": "Student", "line_id": "Contract line", "joined_on": "Joins on",
    "weekdays": "Weekdays", "start": "Starts", "end": "Ends", "first_date": "First day", "weeks": "Weeks",
    "starts_at": "Starts", "ends_at": "Ends", "to_class_id": "To class", "on": "From", "reason": "Reason",
    "channel": "Channel", "cost_fen": "Cost", "starts_on": "Starts on", "ends_on": "Ends on", "kind": "Kind",
    "campaign_id": "Campaign", "device_id": "Kiosk", "key": "Reminder", "date": "Date", "resolution": "Resolution",
}
# Pydantic's messages, by how they start, as a person would say them.
PROBLEMS = [
    ("Field required", "required"), ("String should have at least", "too short or empty"),
    ("String should have at most", "too long"), ("String should match pattern", "not in the expected form"),
    ("Input should be greater than or equal to", "too small"), ("Input should be greater than", "too small"),
    ("Input should be less than", "too large"), ("Input should be a valid integer", "not a whole number"),
    ("Input should be", "not one of the choices"), ("List should have at least", "choose at least one"),
]
CLASH_KINDS = {"teacher": "the teacher", "room": "the room", "student": "the student"}


def problem_text(message: str) -> str:
    for start, said in PROBLEMS:
        if message.startswith(start):
            return _(said)
    return _(message)


def field_label(field: str, fields: dict[str, str] | None = None) -> str:
    base = field.split(".", 1)[0]
    known = {**FIELDS, **(fields or {})}
    return _(known[base]) if base in known else field


def refusal(exc: DomainError, names: dict[str, str] | None = None, fields: dict[str, str] | None = None) -> str:
    """``exc`` as a sentence in the request's language: the field it names and what is wrong with it,
    or for a clash who is already booked, when and in which class."""
    clashes: list[dict[str, Any]] = exc.facts.get("clashes") or []
    if clashes:
        first = clashes[0]
        who = (names or {}).get(first["id"]) or first.get("name") or ""
        return _("Clash: %(what)s %(who)s already has a lesson at %(at)s") % {
            "what": _(CLASH_KINDS.get(first["kind"], first["kind"])), "who": who,
            "at": first.get("at") or first.get("starts_at", "")}
    if isinstance(exc, Invalid):
        detail = exc.detail
        prefix = re.match(r"^([a-z_.0-9]+): (.*)$", detail)
        if prefix and prefix.group(1) == exc.field:
            detail = prefix.group(2)
        return _("%(field)s: %(problem)s") % {"field": field_label(exc.field, fields), "problem": problem_text(detail)}
    return _(exc.detail)


class Refused(DomainError):
    """A refusal already said in the screen's language (what :func:`refusal` made of another)."""

    status = 422
