"""Domain errors: named exceptions carrying the facts. One web handler maps them to problem+json."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every business-rule refusal."""

    def __init__(self, detail: str, **facts: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.facts = facts


class NotFound(DomainError):
    """The thing named does not exist (404)."""


class Conflict(DomainError):
    """The request clashes with the current state (409)."""


class Invalid(DomainError):
    """A value breaks a business rule (422); ``field`` names it."""

    def __init__(self, field: str, detail: str, **facts: Any) -> None:
        super().__init__(detail, field=field, **facts)
        self.field = field
