"""Headquarters' reports: the group (each campus and the total) or one campus (``?campus=``), read
from the report roll-ups (campus.hub.report_rollups), never from the raw tables; built by the same
code a node builds its own with, so a campus's report reads the same at the hub as at home.

A span is read as its whole months (one row per campus, month, metric and dimension) plus the
days at either edge, so a month costs the same however long the history grows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select, union
from starlette.requests import Request
from starlette.routing import Route

from campus.hub.report_rollups import timezones
from campus.schema.books.projection import DEFAULT_TIMEZONE
from campus.schema.context import CampusContext
from campus.schema.report_facts import dim, local_day, weekday_dim
from campus.schema.report_rules import Period, ReportSettings, month_period
from campus.schema.reports import (
    BUILDERS,
    CampusRef,
    Inputs,
    Sums,
    at_risk_for,
    campus_refs,
    dashboard_report,
    dormant_window,
    lookback_window,
    names,
    payroll_totals,
    targets_for,
)
from campus.schema.tables import campaigns, hub_report_rollups
from campus.web.api import Api
from campus.web.problems import InvalidInput
from campus.web.report_pages import ReportSource, register_report_api, report_routes
from campus.web.usecase import query

# (the output's per-student metrics, taught_student, ran_low and renewed, are counted in the database)
MARKETING = ("leads", "funnel", "claims", "signed_fen", "signed_n", "cash_fen", "cost_fen")
OUTPUT = ("consumed_fen", "hours_taught", "hours_scheduled", "roster", "attended", "seats_taken", "seats_offered",
          "refund_fen", "refund_n", "cash_fen")
METRICS = {"marketing": MARKETING, "output": OUTPUT,
           "leaderboard": ("claims", "signed_fen", "signed_n", "cash_fen", "consumed_fen", "taught_fen", "leads"),
           "heatmap": ("heat_attend", "heat_lessons"),
           "dashboard": tuple(sorted(set(MARKETING) | set(OUTPUT) | {"taught_fen"}))}
DORMANT_DAYS = ReportSettings().dormant_days


def pieces(period: Period) -> tuple[list[str], list[tuple[str, str]]]:
    """The period as whole months and the day spans at its edges."""
    months: list[str] = []
    days: list[tuple[str, str]] = []
    day = period.first
    while day <= period.last:
        whole = month_period(day.year, day.month)
        if day == whole.first and whole.last <= period.last:
            months.append(day.strftime("%Y-%m"))
            day = whole.last + timedelta(days=1)
        else:
            end = min(whole.last, period.last)
            days.append((day.isoformat(), end.isoformat()))
            day = end + timedelta(days=1)
    return months, days


def _where(metrics: Iterable[str], campus_ids: list[str] | None) -> list[Any]:
    conditions = [hub_report_rollups.c.metric.in_(list(metrics))]
    if campus_ids is not None:
        conditions.append(hub_report_rollups.c.campus_id.in_(campus_ids))
    return conditions


def rollup_sums(conn: Connection, period: Period, metrics: Iterable[str], campus_ids: list[str] | None = None
                ) -> dict[str, Sums]:
    """``campus → (metric, dimension) → value`` over the period, off the roll-ups."""
    wanted = list(metrics)
    plain = [m for m in wanted if not m.startswith("heat_")]
    heat = [m for m in wanted if m.startswith("heat_")]
    sums: dict[str, Sums] = defaultdict(lambda: defaultdict(int))
    rollup = hub_report_rollups.c
    months, spans = pieces(period)
    if months:
        for campus_id, metric, key, value in conn.execute(
                select(rollup.campus_id, rollup.metric, rollup.dim, func.sum(rollup.value))
                .where(*_where(wanted, campus_ids), rollup.period.in_(months))
                .group_by(rollup.campus_id, rollup.metric, rollup.dim)):
            sums[campus_id][(metric, key)] += int(value)
    for first, last in spans:
        in_span = (rollup.period >= first, rollup.period <= last, func.length(rollup.period) == 10)
        if plain:
            for campus_id, metric, key, value in conn.execute(
                    select(rollup.campus_id, rollup.metric, rollup.dim, func.sum(rollup.value))
                    .where(*_where(plain, campus_ids), *in_span).group_by(rollup.campus_id, rollup.metric,
                                                                         rollup.dim)):
                sums[campus_id][(metric, key)] += int(value)
        if heat:
            for campus_id, day, metric, key, value in conn.execute(
                    select(rollup.campus_id, rollup.period, rollup.metric, rollup.dim, rollup.value)
                    .where(*_where(heat, campus_ids), *in_span)):
                sums[campus_id][(metric, weekday_dim(day, key))] += int(value)
    return {campus_id: dict(values) for campus_id, values in sums.items()}


def _span_students(metric: str, campus_ids: list[str] | None, first: str, last: str) -> Any:
    """``(campus_id, dim)`` of the metric on days ``first``..``last`` of one month. A span longer
    than the rest of its month is read as the month's row less its other days (each row is a count
    of one student's days, the month's row the sum of its days): the month's rows and a few days'
    instead of most of a month of day rows."""
    rollup = hub_report_rollups.c
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    whole = month_period(start.year, start.month)
    if (end - start).days + 1 <= whole.days // 2:
        return select(rollup.campus_id, rollup.dim).where(
            *_where([metric], campus_ids), rollup.period >= first, rollup.period <= last,
            func.length(rollup.period) == 10)
    others = [(whole.first, start - timedelta(days=1)), (end + timedelta(days=1), whole.last)]
    outside = select(rollup.campus_id, rollup.dim, func.sum(rollup.value).label("days")).where(
        *_where([metric], campus_ids), func.length(rollup.period) == 10,
        or_(*(rollup.period.between(a.isoformat(), b.isoformat()) for a, b in others if a <= b))
    ).group_by(rollup.campus_id, rollup.dim).subquery()
    month = hub_report_rollups.alias("month")
    conditions = [month.c.metric == metric, month.c.period == start.strftime("%Y-%m")]
    if campus_ids is not None:
        conditions.append(month.c.campus_id.in_(campus_ids))
    return select(month.c.campus_id, month.c.dim).select_from(month.outerjoin(
        outside, (outside.c.campus_id == month.c.campus_id) & (outside.c.dim == month.c.dim))).where(
        *conditions, month.c.value - func.coalesce(outside.c.days, 0) > 0)


def _students(period: Period, metric: str, campus_ids: list[str] | None) -> Any:
    """``(campus_id, dim)`` of a per-student metric over the period, each pair once: a union of
    index ranges (its whole months and edge days), never the metric's whole history."""
    rollup = hub_report_rollups.c
    months, spans = pieces(period)
    parts = []
    if months:
        parts.append(select(rollup.campus_id, rollup.dim).where(*_where([metric], campus_ids),
                                                                 rollup.period.in_(months)))
    for first, last in spans:
        parts.append(_span_students(metric, campus_ids, first, last))
    return union(*parts).subquery() if len(parts) > 1 else parts[0].distinct().subquery()


def distinct_students(conn: Connection, period: Period, metric: str, campus_ids: list[str] | None) -> dict[str, int]:
    """Per campus: how many students the metric names in ``period``, counted by the database."""
    seen = _students(period, metric, campus_ids)
    return {campus_id: int(count) for campus_id, count in conn.execute(
        select(seen.c.campus_id, func.count()).group_by(seen.c.campus_id))}


def active_students(conn: Connection, period: Period, campus_ids: list[str] | None) -> dict[str, int]:
    """Per campus: students who attended in ``period``."""
    return distinct_students(conn, period, "taught_student", campus_ids)


def counted_students(conn: Connection, period: Period, campus_ids: list[str] | None) -> dict[str, dict[str, int]]:
    """Per campus, the output report's figures of students each counted once (students taught,
    those whose hours ran low, and those of them who renewed), all counted by the database."""
    counted: dict[str, dict[str, int]] = defaultdict(dict)
    for campus_id, count in distinct_students(conn, period, "taught_student", campus_ids).items():
        counted[campus_id]["students_taught"] = count
    for campus_id, count in distinct_students(conn, period, "ran_low", campus_ids).items():
        counted[campus_id]["ran_low"] = count
    low, renewed = _students(period, "ran_low", campus_ids), _students(period, "renewed", campus_ids)
    for campus_id, count in conn.execute(
            select(low.c.campus_id, func.count()).select_from(
                low.join(renewed, (low.c.campus_id == renewed.c.campus_id) & (low.c.dim == renewed.c.dim)))
            .group_by(low.c.campus_id)):
        counted[campus_id]["renewed_after_low"] = int(count)
    return dict(counted)


def group_costs(conn: Connection, period: Period) -> Sums:
    """The group's own campaigns' costs (made at headquarters, of no one campus) launched in the
    period, on the day each starts (its creation day at headquarters otherwise): they count in the
    group's marketing cost and ROI, by channel and campaign, and in no campus's."""
    made: Sums = defaultdict(int)
    for row in conn.execute(select(campaigns.c.id, campaigns.c.channel, campaigns.c.cost_fen, campaigns.c.created_at,
                                   campaigns.c.starts_on).where(campaigns.c.campus_id.is_(None),
                                                                campaigns.c.deleted.is_(False))):
        launched = row.starts_on or local_day(row.created_at, DEFAULT_TIMEZONE)
        if period.first.isoformat() <= launched <= period.last.isoformat() and row.cost_fen:
            made[("cost_fen", dim(row.channel, row.id))] += int(row.cost_fen)
    return dict(made)


def group_report(conn: Connection, name: str, period: Period, compare: bool = False, campus_id: str | None = None,
                 dormant_days: int = DORMANT_DAYS) -> dict[str, Any]:
    """Report ``name`` of the group (``campus_id`` None: every campus and the total) or one campus;
    ``dormant_days`` is the hub's ``[reports]`` (the roll-ups hold its low-hours line)."""
    if name == "dashboard":
        period = month_period(period.first.year, period.first.month)
    every = campus_refs(conn)
    chosen: list[CampusRef] = [c for c in every if c.id == campus_id] if campus_id else every
    ids = [c.id for c in chosen]
    scope = ids if campus_id else None
    users, campaigns, rooms = names(conn, ids)
    metrics = list(METRICS[name]) + (["heat_room"] if name == "heatmap" and campus_id else [])
    inputs = Inputs(period=period, campuses=chosen, sums=rollup_sums(conn, period, metrics, scope),
                    group=campus_id is None, users=users, campaigns=campaigns, rooms=rooms, dormant_days=dormant_days)
    if compare and name != "heatmap":
        inputs.previous = period.previous()
        inputs.previous_sums = rollup_sums(conn, inputs.previous, metrics, scope)
    if campus_id is None and name in ("marketing", "dashboard"):
        inputs.group_costs = group_costs(conn, period)
        if inputs.previous is not None:
            inputs.previous_group_costs = group_costs(conn, inputs.previous)
    if name in ("output", "dashboard"):
        for which, span in (("", period), ("previous_", inputs.previous)):
            if span is None:
                continue
            window, lookback = dormant_window(span, dormant_days), lookback_window(span, dormant_days)
            getattr(inputs, f"{which}active").update(active_students(conn, window, scope))
            getattr(inputs, f"{which}ever").update(active_students(conn, lookback, scope))
            setattr(inputs, f"{which}counted", counted_students(conn, span, scope))
            getattr(inputs, f"{which}payroll").update(payroll_totals(conn, ids, span))
        inputs.at_risk = at_risk_for(conn, ids)
    if name == "dashboard":
        inputs.targets = targets_for(conn, ids, period.first.strftime("%Y-%m"))
        report = dashboard_report(inputs)
    else:
        report = BUILDERS[name](inputs)
    report["campuses_all"] = [{"id": c.id, "code": c.code, "name": c.name} for c in every]
    return report


# --- the edges ------------------------------------------------------------------------------------------


async def _build(request: Request, name: str, period: Period, compare: bool, campus_id: str | None
                 ) -> dict[str, Any]:
    hub = request.app.state.hub
    if campus_id is not None:
        _known_campus(request, campus_id)
    return await query(hub.store, group_report, name, period, compare, campus_id, hub.config.reports_dormant_days)


def _known_campus(request: Request, campus_id: str | None) -> str:
    known = {c["id"] for c in request.app.state.hub.store.list_campuses()}
    if campus_id not in known:
        raise InvalidInput([{"field": "campus", "message": "a campus of the group"}])
    return str(campus_id)


def _campus_field(request: Request, campus_id: str | None) -> str:
    try:
        return _known_campus(request, campus_id)
    except InvalidInput:
        raise InvalidInput([{"field": "campus_id", "message": "a campus of the group"}]) from None


async def _timezone(request: Request, campus_id: str) -> str:
    def read(conn: Connection) -> str:
        return timezones(conn)[campus_id]

    return await query(request.app.state.hub.store, read)


def _context(_request: Request) -> CampusContext:
    return CampusContext(id="", code="", timezone=DEFAULT_TIMEZONE)  # headquarters acts for every campus


def _today(request: Request) -> date:
    return _context(request).today()  # headquarters' day


SOURCE = ReportSource(build=_build, today=_today, campus_of=lambda r, c: _campus_field(r, c) if c else
                      _campus_field(r, r.query_params.get("campus")), timezone_of=_timezone, context=_context,
                      read_action="reports.group", dashboard_action="reports.group", group=True)


def register_group_report_api(api: Api) -> None:
    register_report_api(api, SOURCE)


def group_report_routes() -> list[Route]:
    return report_routes(SOURCE)
