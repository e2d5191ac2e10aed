"""Instants as ISO-8601 UTC text, the one format stored and replicated."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
