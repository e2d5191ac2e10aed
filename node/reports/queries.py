"""A campus's reports from its own store: the period's facts summed straight from the replicated
tables (a campus's history is small enough to read), then built as the hub builds them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from campus.schema.context import CampusContext
from campus.schema.report_facts import (
    MARKETING,
    MONEY,
    RAN_LOW,
    TEACHING,
    campus_facts,
    last_attended,
    sum_over_days,
)
from campus.schema.report_rules import Period, ReportSettings, month_period
from campus.schema.reports import (
    BUILDERS,
    CampusRef,
    Inputs,
    at_risk_for,
    dashboard_report,
    dormant_window,
    lookback_window,
    names,
    payroll_totals,
    targets_for,
)
from campus.schema.times import local_days_utc

GROUPS = {"marketing": {MARKETING}, "output": {MARKETING, TEACHING, MONEY, RAN_LOW},
          "leaderboard": {MARKETING, MONEY}, "heatmap": {TEACHING}, "dashboard": {MARKETING, TEACHING, MONEY, RAN_LOW}}


def _sums(conn: Connection, ctx: CampusContext, period: Period, groups: set[str], low_hours_x100: int
          ) -> dict[str, Any]:
    facts = campus_facts(conn, ctx.id, ctx.timezone, period.first, period.last, groups, low_hours_x100)
    return {ctx.id: sum_over_days(facts.items())}


def campus_report(conn: Connection, ctx: CampusContext, name: str, period: Period, compare: bool = False,
                  viewer: str | None = None, settings: ReportSettings | None = None) -> dict[str, Any]:
    """Report ``name`` of the campus for ``period`` (and the period before it, with ``compare``), by
    the campus's ``[reports]`` settings (the defaults when None)."""
    settings = settings or ReportSettings()
    dormant_days, low_hours = settings.dormant_days, settings.low_hours_x100
    if name == "dashboard":
        period = month_period(period.first.year, period.first.month)
    groups = GROUPS[name]
    users, campaigns, rooms = names(conn, [ctx.id])
    inputs = Inputs(period=period, campuses=[CampusRef(ctx.id, ctx.code, ctx.name or ctx.code)],
                    sums=_sums(conn, ctx, period, groups, low_hours), users=users, campaigns=campaigns, rooms=rooms,
                    dormant_days=dormant_days)
    if compare and name != "heatmap":
        inputs.previous = period.previous()
        inputs.previous_sums = _sums(conn, ctx, inputs.previous, groups, low_hours)
    if name in ("output", "dashboard"):
        for which, span in (("", period), ("previous_", inputs.previous)):
            if span is None:
                continue
            window, lookback = dormant_window(span, dormant_days), lookback_window(span, dormant_days)
            seen = last_attended(conn, ctx.id, ctx.timezone, lookback.first, lookback.last)
            since = local_days_utc(window.first, window.last, ctx.timezone)[0]
            getattr(inputs, f"{which}active")[ctx.id] = sum(1 for at in seen.values() if at >= since)
            getattr(inputs, f"{which}ever")[ctx.id] = len(seen)
            getattr(inputs, f"{which}payroll").update(payroll_totals(conn, [ctx.id], span))
        inputs.at_risk = at_risk_for(conn, [ctx.id])
    if name == "dashboard":
        inputs.targets = targets_for(conn, [ctx.id], period.first.strftime("%Y-%m"))
        return dashboard_report(inputs, viewer)
    return BUILDERS[name](inputs)
