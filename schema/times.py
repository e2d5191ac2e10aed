"""Instants as ISO-8601 UTC text, the one format stored and replicated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def utc_text(moment: datetime) -> str:
    """``2026-11-24T08:00:00Z``: an aware instant as stored; such texts sort as their instants do."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_now_text() -> str:
    return utc_text(datetime.now(UTC))


def local_days_utc(first: date, last: date, timezone: str) -> tuple[str, str]:
    """The instants (as stored text) where local day ``first`` begins and local day ``last`` ends
    in ``timezone``: the bounds of a campus's "today" or "this week" for a query."""
    zone = ZoneInfo(timezone)
    return (utc_text(datetime.combine(first, datetime.min.time(), zone)),
            utc_text(datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)))
