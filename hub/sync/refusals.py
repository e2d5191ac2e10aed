"""What the hub answers when it turns a sync request down."""

from __future__ import annotations

from typing import Any

from campus.schema.errors import DomainError
from campus.sync import protocol


class Refused(DomainError):
    """A sync request the hub turns down; ``reason`` is one of the protocol's reason names, and the
    problem's type (``/problems/sync-<reason>``) and an extension member."""

    problem_title = "Sync refused"

    def __init__(self, status: int, reason: str, detail: str, authentic: bool = False, **facts: Any) -> None:
        super().__init__(detail, reason=reason, **facts)
        self.status = status
        self.reason = reason
        self.problem_slug = f"sync-{reason}"
        # Whether the refused request carried the node's own signature: only then may it change
        # what the monitor shows of the node (last error, quarantine).
        self.authentic = authentic


def request_count(body: dict[str, Any], name: str, default: int) -> int:
    """A non-negative integer field of a sync request, or a refusal naming it."""
    value = body.get(name, default)
    if type(value) is not int or not 0 <= value < 1 << 63:
        raise Refused(400, protocol.MALFORMED, f"request.{name} must be a non-negative 64-bit integer", field=name)
    return value
