"""Domain errors: named exceptions carrying the facts. One web handler maps them to problem+json.

Each class states the HTTP status it is answered with (``status``); the problem's title and type
default to the class name (``problem_title`` and ``problem_slug`` override them)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every business-rule refusal (400)."""

    status: int = 400
    problem_title: str | None = None  # None: the class name
    problem_slug: str | None = None  # None: the class name in kebab case (``/problems/<slug>``)

    def __init__(self, detail: str, **facts: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.facts = facts


class NotFound(DomainError):
    """The thing named does not exist (404)."""

    status = 404


class Conflict(DomainError):
    """The request clashes with the current state (409)."""

    status = 409


class Invalid(DomainError):
    """A value breaks a business rule (422); ``field`` names it."""

    status = 422

    def __init__(self, field: str, detail: str, **facts: Any) -> None:
        super().__init__(detail, field=field, **facts)
        self.field = field
