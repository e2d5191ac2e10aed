"""Screens show stored UTC instants in the campus's time zone."""

from __future__ import annotations

from types import SimpleNamespace

from campus.web.templating import _local_time


def _context(zone: str | None) -> dict:
    if zone is None:
        return {"request": None}
    return {"request": SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(timezone=zone)))}


def test_utc_text_is_shown_in_the_campus_zone() -> None:
    assert _local_time(_context("Asia/Shanghai"), "2026-11-24T20:30:00Z") == "2026-11-25 04:30"
    assert _local_time(_context("Asia/Urumqi"), "2026-11-24T20:30:00Z") == "2026-11-25 02:30"
    assert _local_time(_context(None), "2026-11-24T08:00:00+00:00") == "2026-11-24 16:00"
    assert _local_time(_context(None), None) == "—"
