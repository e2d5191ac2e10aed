"""The service desk's codes with the English labels the catalogue translates (screens never show a
stored code where a label belongs)."""

from __future__ import annotations

from campus.web.i18n import gettext_ as _

CATEGORIES = {"question": "Question", "complaint": "Complaint", "request": "Request"}
PRIORITIES = {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"}
STATUSES = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved", "closed": "Closed",
            "reopened": "Reopened"}
SOURCES = {"staff": "At the desk", "phone": "By phone", "portal": "In the portal", "call": "During a call"}
EVENTS = {"reply": "Reply", "note": "Internal note", "status": "Status", "assign": "Assigned"}
# The buttons that move a ticket, by the status they lead to
MOVES = {"in_progress": "Start working on it", "resolved": "Mark resolved", "closed": "Close",
         "reopened": "Reopen"}
QUESTION_KINDS = {"single": "Single choice", "multiple": "Multiple choice", "rating": "Rating (1–5)",
                  "text": "Text"}
SURVEY_STATUSES = {"draft": "Draft", "open": "Open", "closed": "Closed"}


def translated() -> dict[str, dict[str, str]]:
    tables = {"categories": CATEGORIES, "priorities": PRIORITIES, "statuses": STATUSES, "sources": SOURCES,
              "events": EVENTS, "moves": MOVES, "question_kinds": QUESTION_KINDS,
              "survey_statuses": SURVEY_STATUSES}
    return {name: {code: _(english) for code, english in table.items()} for name, table in tables.items()}
