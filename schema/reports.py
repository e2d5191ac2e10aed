"""The reports, built the same way at a campus and for the group: from summed facts
(campus.schema.report_facts) per campus, plus the few figures that are snapshots (students at
risk, payroll runs, KPI targets), into one JSON shape that the screen, its charts and the Excel
export all render from::

    {"report", "title", "period": {"from", "to"}, "previous", "campus", "figures": [{"key", "label",
     "unit", "value", "previous", "change_bp"}], "tables": [{"key", "title", "columns": [{"key",
     "label", "unit"}], "rows": [...]}], "charts": [...]}

Units: ``fen`` (money), ``hours`` (hundredths), ``bp`` (rates), ``count``, ``text``. A group report
has a row per campus with the link that drills into it; a campus report links each person to
the records behind their figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, func, select

from campus.schema.refund_report import students_at_risk
from campus.schema.report_rules import (
    FUNNEL_STAGES,
    Period,
    ReportSettings,
    change_bp,
    completion,
    funnel,
    heat_grid,
    occupancy_bp,
    ranked,
    rate_bp,
    roi_bp,
)
from campus.schema.tables import campaigns, campuses, kpi_targets, payroll_runs, rooms, users

Sums = dict[tuple[str, str], int]  # (metric, dimension) → value over the period
REPORTS = ("marketing", "output", "leaderboard", "heatmap", "dashboard")
TITLES = {"marketing": "Marketing report", "output": "Output report", "leaderboard": "Leaderboards",
          "heatmap": "Attendance heatmap", "dashboard": "Dashboard"}
KPI_METRICS = {"signed_fen": "fen", "renewal_fen": "fen", "cash_fen": "fen", "consumed_fen": "fen",
               "new_leads": "count", "signings": "count"}
KPI_LABELS = {"signed_fen": "Signed amount", "renewal_fen": "Renewal amount", "cash_fen": "Cash received",
              "consumed_fen": "Lesson value recognised", "new_leads": "New leads", "signings": "New signings"}
CHANNEL_LABELS = {"douyin": "Douyin", "baidu": "Baidu", "referral": "Referral", "walk-in": "Walk-in",
                  "event": "Event", "xiaohongshu": "Xiaohongshu", "wechat": "WeChat"}
STAGE_LABELS = {"new": "New leads", "claimed": "Claimed", "invited": "Invited to a trial", "deposit": "Deposit paid",
                "signed": "Signed"}
REFUND_STAGE_LABELS = {"new": "New signing", "continuing": "Continuing (renewal)"}
REASON_LABELS = {"school": "School's reason", "customer": "Customer's reason", "other": "Other reason"}
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOURS = range(7, 23)  # the heatmap's columns: 07:00 to 22:00
# no attended lesson for this many days, having attended in as many before: dormant ([reports] dormant_days)
DORMANT_DAYS = ReportSettings().dormant_days


# --- what a report is built from -------------------------------------------------------------------


@dataclass(frozen=True)
class CampusRef:
    id: str
    code: str
    name: str


@dataclass
class Inputs:
    """Everything a report reads, already summed per campus for its period (and the one before)."""

    period: Period
    campuses: list[CampusRef]
    sums: dict[str, Sums]
    group: bool = False
    previous: Period | None = None
    previous_sums: dict[str, Sums] | None = None
    active: dict[str, int] = field(default_factory=dict)  # students who attended in the dormant window
    ever: dict[str, int] = field(default_factory=dict)  # ... or in as many days before it (lookback_window)
    previous_active: dict[str, int] = field(default_factory=dict)
    previous_ever: dict[str, int] = field(default_factory=dict)
    at_risk: list[dict[str, Any]] = field(default_factory=list)
    payroll: dict[str, int] = field(default_factory=dict)
    previous_payroll: dict[str, int] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)
    campaigns: dict[str, str] = field(default_factory=dict)
    rooms: dict[str, str] = field(default_factory=dict)
    dormant_days: int = DORMANT_DAYS
    base_path: str = "/reports"
    # per campus, figures of students counted once however many days they appear on, when the
    # caller counted them itself (the hub, in its database): students_taught, ran_low, renewed_after_low
    counted: dict[str, dict[str, int]] | None = None
    previous_counted: dict[str, dict[str, int]] | None = None
    group_costs: Sums = field(default_factory=dict)  # the group's own (headquarters') marketing costs
    previous_group_costs: Sums = field(default_factory=dict)


def dormant_window(period: Period, days: int = DORMANT_DAYS) -> Period:
    """The days whose attendance makes a student active at the period's end."""
    return Period(period.last - timedelta(days=days - 1), period.last)


def lookback_window(period: Period, days: int = DORMANT_DAYS) -> Period:
    """The dormant window and as many days before it: a student who attended in it but not in the
    dormant window has lapsed (is dormant); one gone longer is no longer counted, so the figure
    costs the same however long the history."""
    return Period(period.last - timedelta(days=2 * days - 1), period.last)


def metric_sum(sums: Sums, metric: str, where: Callable[[list[str]], bool] | None = None) -> int:
    return sum(v for (m, d), v in sums.items() if m == metric and (where is None or where(d.split("|"))))


def by_part(sums: Sums, metric: str, part: int, where: Callable[[list[str]], bool] | None = None) -> dict[str, int]:
    made: dict[str, int] = defaultdict(int)
    for (m, d), v in sums.items():
        if m == metric:
            parts = d.split("|")
            if where is None or where(parts):
                made[parts[part] if part < len(parts) else ""] += v
    return dict(made)


def dims_of(sums: Sums, metric: str) -> set[str]:
    return {d for (m, d), v in sums.items() if m == metric and v}


def merged(sums: Iterable[Sums]) -> Sums:
    total: Sums = defaultdict(int)
    for one in sums:
        for key, value in one.items():
            total[key] += value
    return dict(total)


# --- the numbers, per campus (rates are made from summed numerators and denominators) ------------------

NEW = lambda parts: parts[0] == "new"  # noqa: E731
RENEWAL = lambda parts: parts[0] == "renewal"  # noqa: E731


def marketing_numbers(s: Sums) -> dict[str, int]:
    stages = by_part(s, "funnel", 0)
    return {"leads": metric_sum(s, "leads"), **{stage: stages.get(stage, 0) for stage in FUNNEL_STAGES[1:]},
            "new_fen": metric_sum(s, "signed_fen", NEW), "new_n": metric_sum(s, "signed_n", NEW),
            "renewal_fen": metric_sum(s, "signed_fen", RENEWAL), "renewal_n": metric_sum(s, "signed_n", RENEWAL),
            "signed_fen": metric_sum(s, "signed_fen"), "cash_fen": metric_sum(s, "cash_fen"),
            "cost_fen": metric_sum(s, "cost_fen")}


COUNTED = ("students_taught", "ran_low", "renewed_after_low")  # students, each counted once


def output_numbers(s: Sums, active: int, ever: int, payroll_fen: int, at_risk: list[dict[str, Any]],
                   counted: Mapping[str, int] | None = None) -> dict[str, int]:
    low = dims_of(s, "ran_low")
    numbers = {"consumed_fen": metric_sum(s, "consumed_fen"), "hours_taught": metric_sum(s, "hours_taught"),
            "hours_scheduled": metric_sum(s, "hours_scheduled"), "students_taught": len(dims_of(s, "taught_student")),
            "roster": metric_sum(s, "roster"), "attended": metric_sum(s, "attended"), "ran_low": len(low),
            "renewed_after_low": len(low & dims_of(s, "renewed")), "seats_taken": metric_sum(s, "seats_taken"),
            "seats_offered": metric_sum(s, "seats_offered"), "active": active, "dormant": max(ever - active, 0),
            "refund_fen": metric_sum(s, "refund_fen"), "refund_n": metric_sum(s, "refund_n"),
            "cash_fen": metric_sum(s, "cash_fen"), "payroll_fen": payroll_fen, "at_risk": len(at_risk),
            "at_risk_fen": sum(r["remaining_value_fen"] for r in at_risk)}
    if counted is not None:
        numbers.update({key: counted.get(key, 0) for key in COUNTED})
    return numbers


RATES: dict[str, tuple[str, str, Callable[[int, int], int | None]]] = {
    "roi_bp": ("signed_fen", "cost_fen", roi_bp),
    "conversion_bp": ("new_n", "leads", rate_bp),
    "attendance_bp": ("attended", "roster", rate_bp),
    "renewal_rate_bp": ("renewed_after_low", "ran_low", rate_bp),
    "fill_bp": ("seats_taken", "seats_offered", rate_bp),
    "utilisation_bp": ("hours_taught", "hours_scheduled", rate_bp),
    "refund_rate_bp": ("refund_fen", "cash_fen", rate_bp),
}


def with_rates(numbers: Mapping[str, int]) -> dict[str, int | None]:
    made: dict[str, int | None] = dict(numbers)
    for key, (part, whole, rule) in RATES.items():
        if part in numbers and whole in numbers:
            made[key] = rule(numbers[part], numbers[whole])
    return made


def add_numbers(rows: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for row in rows:
        for key, value in row.items():
            total[key] += value
    return dict(total)


MARKETING_FIGURES = [("leads", "New leads", "count"), ("new_n", "New signings", "count"),
                     ("new_fen", "New signing amount", "fen"), ("renewal_n", "Renewals", "count"),
                     ("renewal_fen", "Renewal amount", "fen"), ("cash_fen", "Cash received", "fen"),
                     ("cost_fen", "Marketing cost", "fen"), ("roi_bp", "ROI (signed ÷ cost)", "bp"),
                     ("conversion_bp", "Lead conversion", "bp")]
OUTPUT_FIGURES = [("consumed_fen", "Lesson value recognised", "fen"), ("hours_taught", "Hours taught", "hours"),
                  ("students_taught", "Students taught", "count"), ("attendance_bp", "Attendance rate", "bp"),
                  ("renewal_rate_bp", "Renewal rate", "bp"), ("fill_bp", "Class fill rate", "bp"),
                  ("active", "Active students", "count"), ("dormant", "Dormant students", "count"),
                  ("utilisation_bp", "Teacher utilisation", "bp"), ("refund_fen", "Refunded", "fen"),
                  ("refund_n", "Refunds", "count"), ("refund_rate_bp", "Refund rate", "bp"),
                  ("payroll_fen", "Payroll (approved runs)", "fen"), ("at_risk", "Students at risk", "count"),
                  ("at_risk_fen", "Value at risk", "fen")]


def _figures(spec: list[tuple[str, str, str]], now: Mapping[str, int | None],
             before: Mapping[str, int | None] | None) -> list[dict[str, Any]]:
    made = []
    for key, label, unit in spec:
        figure: dict[str, Any] = {"key": key, "label": label, "unit": unit, "value": now.get(key)}
        if before is not None:
            figure["previous"] = before.get(key)
            value, earlier = now.get(key), before.get(key)
            figure["change_bp"] = change_bp(value, earlier) if value is not None and earlier is not None else None
        made.append(figure)
    return made


def _table(key: str, title: str, columns: list[tuple[str, str, str]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"key": key, "title": title, "columns": [{"key": k, "label": label, "unit": unit}
                                                    for k, label, unit in columns], "rows": rows}


def _link(inputs: Inputs, path: str, **params: str | None) -> str:
    query = {**inputs.period.as_dict(), **{k: v for k, v in params.items() if v}}
    return f"{inputs.base_path}/{path}?{urlencode(query)}"


def _name(names: Mapping[str, str], key: str) -> str:
    return names.get(key, key) if key else "—"


def _campus_rows(inputs: Inputs, per_campus: Mapping[str, Mapping[str, int | None]], report: str
                 ) -> list[dict[str, Any]]:
    return [{"campus_id": c.id, "campus": f"{c.code} {c.name}", **per_campus[c.id],
             "href": _link(inputs, report, campus=c.id)} for c in inputs.campuses]


def _header(inputs: Inputs, report: str) -> dict[str, Any]:
    campus = inputs.campuses[0] if len(inputs.campuses) == 1 and not inputs.group else None
    return {"report": report, "title": TITLES[report], "period": inputs.period.as_dict(),
            "previous": inputs.previous.as_dict() if inputs.previous else None,
            "scope": "group" if inputs.group else "campus",
            "campus": {"id": campus.id, "code": campus.code, "name": campus.name} if campus else None,
            "campuses": [{"id": c.id, "code": c.code, "name": c.name} for c in inputs.campuses]}


# --- marketing -------------------------------------------------------------------------------------------


def _stage_is(stage: str) -> Callable[[list[str]], bool]:
    return lambda parts: parts[0] == stage


def marketing_report(inputs: Inputs) -> dict[str, Any]:
    per_campus = {c.id: marketing_numbers(inputs.sums.get(c.id, {})) for c in inputs.campuses}
    zero = marketing_numbers({})  # a group of no campus yet still has every figure
    # the group's own campaigns cost the group, in its total and its channels and campaigns, no campus
    total = with_rates(add_numbers([zero, *per_campus.values(), marketing_numbers(inputs.group_costs)]))
    before = None
    if inputs.previous_sums is not None:
        before = with_rates(add_numbers([zero, *(marketing_numbers(inputs.previous_sums.get(c.id, {}))
                                                 for c in inputs.campuses),
                                         marketing_numbers(inputs.previous_group_costs)]))
    s = merged([*(inputs.sums.get(c.id, {}) for c in inputs.campuses), inputs.group_costs])
    leads_by_channel = by_part(s, "leads", 0)
    stages = {stage: by_part(s, "funnel", 1, _stage_is(stage)) for stage in FUNNEL_STAGES[1:]}
    signed_by_channel = by_part(s, "signed_fen", 2)
    signings_by_channel = by_part(s, "signed_n", 2)
    cost_by_channel = by_part(s, "cost_fen", 0)
    channels = sorted(set(leads_by_channel) | set(signed_by_channel) | set(cost_by_channel)
                      | {ch for counts in stages.values() for ch in counts})
    channel_rows = []
    for channel in channels:
        counts = {"new": leads_by_channel.get(channel, 0), **{st: stages[st].get(channel, 0) for st in stages}}
        row: dict[str, Any] = {"channel": channel, "channel_label": CHANNEL_LABELS.get(channel, channel or "—")}
        for stage in funnel(counts):
            row[stage.stage] = stage.count
            row[f"{stage.stage}_rate_bp"] = stage.rate_bp
        row.update(signed_fen=signed_by_channel.get(channel, 0), signed_n=signings_by_channel.get(channel, 0),
                   cost_fen=cost_by_channel.get(channel, 0),
                   roi_bp=roi_bp(signed_by_channel.get(channel, 0), cost_by_channel.get(channel, 0)))
        channel_rows.append(row)
    overall = {"new": total["leads"] or 0, **{st: total[st] or 0 for st in FUNNEL_STAGES[1:]}}
    funnel_rows = [{"stage": st.stage, "stage_label": STAGE_LABELS[st.stage], "count": st.count,
                    "rate_bp": st.rate_bp, "overall_bp": st.overall_bp} for st in funnel(overall)]
    leads_by_campaign = by_part(s, "leads", 1)
    signed_by_campaign, cost_by_campaign = by_part(s, "signed_fen", 3), by_part(s, "cost_fen", 1)
    signings_by_campaign = by_part(s, "signed_n", 3)
    campaign_rows = [{"campaign": key, "campaign_name": _name(inputs.campaigns, key),
                      "leads": leads_by_campaign.get(key, 0), "signed_n": signings_by_campaign.get(key, 0),
                      "signed_fen": signed_by_campaign.get(key, 0), "cost_fen": cost_by_campaign.get(key, 0),
                      "roi_bp": roi_bp(signed_by_campaign.get(key, 0), cost_by_campaign.get(key, 0))}
                     for key in sorted(set(leads_by_campaign) | set(signed_by_campaign) | set(cost_by_campaign))
                     if key]
    consultant_rows = []
    for c in inputs.campuses:
        cs = inputs.sums.get(c.id, {})
        claims, signings = by_part(cs, "claims", 0), by_part(cs, "signed_n", 1, NEW)
        amounts = by_part(cs, "signed_fen", 1, NEW)
        for person in sorted((set(claims) | set(signings)) - {""}):
            consultant_rows.append({
                "campus": c.code, "user_id": person, "name": _name(inputs.users, person),
                "claims": claims.get(person, 0), "signed_n": signings.get(person, 0),
                "signed_fen": amounts.get(person, 0), "conversion_bp": rate_bp(signings.get(person, 0),
                                                                                claims.get(person, 0)),
                "href": _link(inputs, "records", kind="signings", campus=c.id, person=person)})
    tables = [
        _table("funnel", "Conversion funnel", [("stage_label", "Stage", "text"), ("count", "Leads", "count"),
                                                ("rate_bp", "From the stage before", "bp"),
                                                ("overall_bp", "From new leads", "bp")], funnel_rows),
        _table("by_channel", "By channel", [
            ("channel_label", "Channel", "text"), ("new", "New leads", "count"), ("claimed", "Claimed", "count"),
            ("claimed_rate_bp", "Claimed rate", "bp"), ("invited", "Invited to a trial", "count"),
            ("invited_rate_bp", "Invited rate", "bp"), ("deposit", "Deposit paid", "count"),
            ("deposit_rate_bp", "Deposit rate", "bp"), ("signed", "Signed", "count"),
            ("signed_rate_bp", "Signed rate", "bp"), ("signed_fen", "Signed amount", "fen"),
            ("cost_fen", "Marketing cost", "fen"), ("roi_bp", "ROI", "bp")], channel_rows),
        _table("by_campaign", "By campaign", [
            ("campaign_name", "Campaign", "text"), ("leads", "New leads", "count"), ("signed_n", "Signed", "count"),
            ("signed_fen", "Signed amount", "fen"), ("cost_fen", "Marketing cost", "fen"), ("roi_bp", "ROI", "bp")],
            campaign_rows),
        _table("consultants", "Consultant conversion", [
            ("campus", "Campus", "text"), ("name", "Consultant", "text"), ("claims", "Leads claimed", "count"),
            ("signed_n", "New signings", "count"), ("signed_fen", "New signing amount", "fen"),
            ("conversion_bp", "Conversion rate", "bp")], consultant_rows)]
    if inputs.group:
        tables.insert(0, _table("by_campus", "By campus", [
            ("campus", "Campus", "text"), ("leads", "New leads", "count"), ("new_n", "New signings", "count"),
            ("new_fen", "New signing amount", "fen"), ("renewal_n", "Renewals", "count"),
            ("renewal_fen", "Renewal amount", "fen"), ("cash_fen", "Cash received", "fen"),
            ("cost_fen", "Marketing cost", "fen"), ("roi_bp", "ROI", "bp")],
            _campus_rows(inputs, {k: with_rates(v) for k, v in per_campus.items()}, "marketing")))
    charts = [{"kind": "bar", "title": "Conversion funnel", "table": "funnel", "label": "stage_label",
               "value": "count", "unit": "count"},
              {"kind": "bar", "title": "Signed amount by channel", "table": "by_channel", "label": "channel_label",
               "value": "signed_fen", "unit": "fen"}]
    return {**_header(inputs, "marketing"), "figures": _figures(MARKETING_FIGURES, total, before), "tables": tables,
            "charts": charts}


# --- output ------------------------------------------------------------------------------------------


def _output_per_campus(inputs: Inputs, sums: Mapping[str, Sums], active: Mapping[str, int], ever: Mapping[str, int],
                       payroll: Mapping[str, int], with_risk: bool,
                       counted: Mapping[str, Mapping[str, int]] | None) -> dict[str, dict[str, int]]:
    return {c.id: output_numbers(sums.get(c.id, {}), active.get(c.id, 0), ever.get(c.id, 0), payroll.get(c.id, 0),
                                 [r for r in inputs.at_risk if r["campus_id"] == c.id] if with_risk else [],
                                 None if counted is None else counted.get(c.id, {}))
            for c in inputs.campuses}


def output_report(inputs: Inputs) -> dict[str, Any]:
    per_campus = _output_per_campus(inputs, inputs.sums, inputs.active, inputs.ever, inputs.payroll, True,
                                    inputs.counted)
    zero = output_numbers({}, 0, 0, 0, [])
    total = with_rates(add_numbers([zero, *per_campus.values()]))
    before = None
    if inputs.previous_sums is not None:
        before = with_rates(add_numbers([zero, *_output_per_campus(inputs, inputs.previous_sums,
                                                                   inputs.previous_active, inputs.previous_ever,
                                                                   inputs.previous_payroll, True,
                                                                   inputs.previous_counted).values()]))
    teacher_rows = []
    for c in inputs.campuses:
        cs = inputs.sums.get(c.id, {})
        scheduled, taught = by_part(cs, "hours_scheduled", 0), by_part(cs, "hours_taught", 0)
        for person in sorted(set(scheduled) | set(taught)):
            teacher_rows.append({"campus": c.code, "user_id": person, "name": _name(inputs.users, person),
                                 "hours_scheduled": scheduled.get(person, 0), "hours_taught": taught.get(person, 0),
                                 "utilisation_bp": rate_bp(taught.get(person, 0), scheduled.get(person, 0)),
                                 "href": _link(inputs, "records", kind="lessons", campus=c.id, person=person)})
    s = merged(inputs.sums.get(c.id, {}) for c in inputs.campuses)
    amounts, counts = by_part(s, "refund_fen", 0), by_part(s, "refund_n", 0)
    reason_amounts: dict[tuple[str, str], int] = defaultdict(int)
    reason_counts: dict[tuple[str, str], int] = defaultdict(int)
    for (m, d), v in s.items():
        if m in ("refund_fen", "refund_n"):
            category, reason = (d.split("|") + ["", ""])[:2]
            (reason_amounts if m == "refund_fen" else reason_counts)[(category, reason)] += v
    reason_rows = [{"category": cat, "category_label": REASON_LABELS.get(cat, cat), "reason": reason,
                    "amount_fen": reason_amounts[(cat, reason)], "count": reason_counts[(cat, reason)]}
                   for cat, reason in sorted(reason_amounts)]
    stage_amounts = by_part(s, "refund_fen", 2)
    stage_rows = [{"stage": st, "stage_label": REFUND_STAGE_LABELS.get(st, st), "amount_fen": v,
                   "count": by_part(s, "refund_n", 2).get(st, 0)} for st, v in sorted(stage_amounts.items())]
    codes = {c.id: c.code for c in inputs.campuses}
    risk_rows = [{"campus": codes.get(r["campus_id"], ""), "student": f"{r['student_name']} ({r['student_number']})",
                  "score": r["score"], "remaining_value_fen": r["remaining_value_fen"]}
                 for r in inputs.at_risk if r["campus_id"] in codes]
    tables = [
        _table("teachers", "Teacher utilisation", [
            ("campus", "Campus", "text"), ("name", "Teacher", "text"), ("hours_scheduled", "Hours scheduled", "hours"),
            ("hours_taught", "Hours taught", "hours"), ("utilisation_bp", "Utilisation", "bp")], teacher_rows),
        _table("refund_reasons", "Refunds by reason", [
            ("category_label", "Category", "text"), ("reason", "Reason", "text"), ("amount_fen", "Refunded", "fen"),
            ("count", "Refunds", "count")], reason_rows),
        _table("refund_stages", "Refunds by stage", [("stage_label", "Stage", "text"), ("amount_fen", "Refunded", "fen"),
                                                     ("count", "Refunds", "count")], stage_rows),
        _table("at_risk", "Students at risk of refund", [
            ("campus", "Campus", "text"), ("student", "Student", "text"), ("score", "Score", "count"),
            ("remaining_value_fen", "Value at risk", "fen")], risk_rows)]
    del amounts, counts
    if inputs.group:
        tables.insert(0, _table("by_campus", "By campus", [
            ("campus", "Campus", "text"), ("consumed_fen", "Lesson value recognised", "fen"),
            ("hours_taught", "Hours taught", "hours"), ("students_taught", "Students taught", "count"),
            ("attendance_bp", "Attendance rate", "bp"), ("renewal_rate_bp", "Renewal rate", "bp"),
            ("fill_bp", "Class fill rate", "bp"), ("utilisation_bp", "Teacher utilisation", "bp"),
            ("refund_fen", "Refunded", "fen"), ("refund_rate_bp", "Refund rate", "bp")],
            _campus_rows(inputs, {k: with_rates(v) for k, v in per_campus.items()}, "output")))
    charts = [{"kind": "bar", "title": "Teacher utilisation", "table": "teachers", "label": "name",
               "value": "utilisation_bp", "unit": "bp"},
              {"kind": "bar", "title": "Refunds by reason", "table": "refund_reasons", "label": "reason",
               "value": "amount_fen", "unit": "fen"}]
    if inputs.group:
        charts.insert(0, {"kind": "bar", "title": "Lesson value recognised by campus", "table": "by_campus",
                          "label": "campus", "value": "consumed_fen", "unit": "fen"})
    return {**_header(inputs, "output"), "dormant_days": inputs.dormant_days,
            "figures": _figures(OUTPUT_FIGURES, total, before), "tables": tables, "charts": charts}


# --- leaderboards ------------------------------------------------------------------------------------------


def leaderboard_report(inputs: Inputs) -> dict[str, Any]:
    consultants, advisors = [], []
    campus_rows = []
    for c in inputs.campuses:
        cs = inputs.sums.get(c.id, {})
        numbers = with_rates({**marketing_numbers(cs), "consumed_fen": metric_sum(cs, "consumed_fen")})
        campus_rows.append({"campus_id": c.id, "name": f"{c.code} {c.name}", "signed_fen": numbers["signed_fen"],
                            "cash_fen": numbers["cash_fen"], "consumed_fen": numbers["consumed_fen"],
                            "conversion_bp": numbers["conversion_bp"], "href": _link(inputs, "leaderboard",
                                                                                     campus=c.id)})
        claims, signed_n = by_part(cs, "claims", 0), by_part(cs, "signed_n", 1, NEW)
        signed_fen = by_part(cs, "signed_fen", 1, NEW)
        for person in sorted((set(signed_fen) | set(claims)) - {""}):
            consultants.append({"campus": c.code, "user_id": person, "name": _name(inputs.users, person),
                                "signed_fen": signed_fen.get(person, 0), "signed_n": signed_n.get(person, 0),
                                "conversion_bp": rate_bp(signed_n.get(person, 0), claims.get(person, 0)),
                                "href": _link(inputs, "records", kind="signings", campus=c.id, person=person)})
        renewal_fen, renewal_n = by_part(cs, "signed_fen", 1, RENEWAL), by_part(cs, "signed_n", 1, RENEWAL)
        taught = by_part(cs, "taught_fen", 0)
        for person in sorted((set(renewal_fen) | set(taught)) - {""}):
            advisors.append({"campus": c.code, "user_id": person, "name": _name(inputs.users, person),
                             "renewal_fen": renewal_fen.get(person, 0), "renewal_n": renewal_n.get(person, 0),
                             "taught_fen": taught.get(person, 0),
                             "href": _link(inputs, "records", kind="renewals", campus=c.id, person=person)})
    tables = [
        _table("consultants", "Consultants by new signing amount", [
            ("rank", "Rank", "count"), ("campus", "Campus", "text"), ("name", "Consultant", "text"),
            ("signed_fen", "New signing amount", "fen"), ("signed_n", "New signings", "count"),
            ("conversion_bp", "Conversion rate", "bp")], ranked(consultants, "signed_fen")),
        _table("advisors", "Academic advisors by renewal amount", [
            ("rank", "Rank", "count"), ("campus", "Campus", "text"), ("name", "Academic advisor", "text"),
            ("renewal_fen", "Renewal amount", "fen"), ("renewal_n", "Renewals", "count"),
            ("taught_fen", "Lesson value of their classes", "fen")], ranked(advisors, "renewal_fen"))]
    charts = [{"kind": "bar", "title": "Consultants by new signing amount", "table": "consultants", "label": "name",
               "value": "signed_fen", "unit": "fen"}]
    if inputs.group:
        tables.insert(0, _table("campuses", "Campuses by signed amount", [
            ("rank", "Rank", "count"), ("name", "Campus", "text"), ("signed_fen", "Signed amount", "fen"),
            ("cash_fen", "Cash received", "fen"), ("consumed_fen", "Lesson value recognised", "fen"),
            ("conversion_bp", "Lead conversion", "bp")], ranked(campus_rows, "signed_fen")))
        charts.insert(0, {"kind": "bar", "title": "Campuses by signed amount", "table": "campuses", "label": "name",
                          "value": "signed_fen", "unit": "fen"})
    return {**_header(inputs, "leaderboard"), "figures": [], "tables": tables, "charts": charts}


# --- the attendance heatmap --------------------------------------------------------------------------------


def _cells(sums: Sums, metric: str, room: str | None = None) -> dict[tuple[int, int], int]:
    cells: dict[tuple[int, int], int] = defaultdict(int)
    for (m, d), v in sums.items():
        if m != metric:
            continue
        parts = d.split("|")
        if room is not None:
            if parts[1] != room:
                continue
        cells[(int(parts[0]), int(parts[-1]))] += v
    return dict(cells)


def _heat(title: str, cells: Mapping[tuple[int, int], int | None], unit: str, key: str) -> dict[str, Any]:
    return {"kind": "heatmap", "key": key, "title": title, "unit": unit, "hours": list(HOURS),
            "weekdays": list(WEEKDAY_LABELS), "grid": heat_grid({k: v or 0 for k, v in cells.items()}, HOURS)}


def heatmap_report(inputs: Inputs) -> dict[str, Any]:
    charts = []
    s = merged(inputs.sums.get(c.id, {}) for c in inputs.campuses)
    charts.append(_heat("Attendances by weekday and hour", _cells(s, "heat_attend"), "count", "attendance"))
    charts.append(_heat("Lessons running by weekday and hour", _cells(s, "heat_lessons"), "count", "lessons"))
    if inputs.group:
        for c in inputs.campuses:
            charts.append(_heat(f"{c.code} {c.name}", _cells(inputs.sums.get(c.id, {}), "heat_attend"), "count",
                                f"campus:{c.id}"))
    else:
        room_ids = sorted({d.split("|")[1] for (m, d) in s if m == "heat_room"})
        for room in room_ids:
            charts.append(_heat(_name(inputs.rooms, room), occupancy_bp(_cells(s, "heat_room", room), inputs.period),
                                "bp", f"room:{room}"))
    rows = []
    for chart in charts:
        for weekday, values in enumerate(chart["grid"]):
            rows.append({"chart_label": chart["title"], "weekday_label": WEEKDAY_LABELS[weekday],
                         **{f"h{hour:02d}": value for hour, value in zip(HOURS, values, strict=True)}})
    columns = [("chart_label", "Chart", "text"), ("weekday_label", "Weekday", "text"),
               *((f"h{hour:02d}", f"{hour:02d}:00", "count") for hour in HOURS)]
    return {**_header(inputs, "heatmap"), "figures": [], "tables": [_table("cells", "Heatmap cells", columns, rows)],
            "charts": charts}


# --- KPI targets and the dashboard ------------------------------------------------------------------------


def kpi_actuals(sums: Sums, user_id: str | None) -> dict[str, int]:
    """What counts against each KPI metric, for a campus (``user_id`` None) or one person."""
    if user_id is None:
        m = marketing_numbers(sums)
        return {"signed_fen": m["signed_fen"], "renewal_fen": m["renewal_fen"], "cash_fen": m["cash_fen"],
                "consumed_fen": metric_sum(sums, "consumed_fen"), "new_leads": m["leads"], "signings": m["new_n"]}
    mine = lambda parts: parts[1] == user_id if len(parts) > 1 else False  # noqa: E731
    return {"signed_fen": metric_sum(sums, "signed_fen", mine),
            "renewal_fen": metric_sum(sums, "signed_fen", lambda p: RENEWAL(p) and mine(p)),
            "cash_fen": by_part(sums, "cash_fen", 0).get(user_id, 0),
            "consumed_fen": by_part(sums, "taught_fen", 0).get(user_id, 0),
            "new_leads": by_part(sums, "claims", 0).get(user_id, 0),
            "signings": metric_sum(sums, "signed_n", lambda p: NEW(p) and mine(p))}


def dashboard_report(inputs: Inputs, viewer: str | None = None) -> dict[str, Any]:
    """KPI targets of the period's month with completion and gap (the campuses', and each person's),
    with the headline figures; ``viewer`` puts that person's own targets first."""
    codes = {c.id: c for c in inputs.campuses}
    rows = []
    for target in inputs.targets:
        campus = codes.get(target["campus_id"])
        if campus is None:
            continue
        actual = kpi_actuals(inputs.sums.get(campus.id, {}), target["user_id"])[target["metric"]]
        done = completion(int(target["target"]), actual)
        rows.append({"id": target["id"], "campus": campus.code, "campus_id": campus.id, "period": target["period"],
                     "user_id": target["user_id"], "who": _name(inputs.users, target["user_id"] or "")
                     if target["user_id"] else f"{campus.code} {campus.name}",
                     "metric": target["metric"], "metric_label": KPI_LABELS[target["metric"]],
                     "unit": KPI_METRICS[target["metric"]], "target": done.target, "actual": done.actual,
                     "completion_bp": done.completion_bp, "gap": done.gap, "mine": target["user_id"] == viewer})
    rows.sort(key=lambda r: (not r["mine"], r["user_id"] is not None, r["campus"], str(r["who"]), r["metric"]))
    if inputs.group:  # the group's own line per metric: the campuses' targets and actuals added up
        for metric in KPI_METRICS:
            mine = [r for r in rows if r["metric"] == metric and r["user_id"] is None]
            if mine:
                done = completion(sum(r["target"] for r in mine), sum(r["actual"] for r in mine))
                rows.insert(0, {"id": "", "campus": "", "campus_id": "", "period": mine[0]["period"],
                                "user_id": None, "who": "Group total", "metric": metric,
                                "metric_label": KPI_LABELS[metric], "unit": KPI_METRICS[metric], "target": done.target,
                                "actual": done.actual, "completion_bp": done.completion_bp, "gap": done.gap,
                                "mine": False})
    kpi_table = _table("kpi", "KPI targets", [
        ("campus", "Campus", "text"), ("who", "Who", "text"), ("metric_label", "Metric", "text"),
        ("target", "Goal", "unit"), ("actual", "Actual", "unit"), ("completion_bp", "Completion", "bp"),
        ("gap", "Gap", "unit")], rows)
    headline = marketing_report(inputs)["figures"][:6] + output_report(inputs)["figures"][:4]
    own = []
    if viewer is not None:  # a consultant's or academic advisor's own figures of the month
        own_actuals = kpi_actuals(merged(inputs.sums.get(c.id, {}) for c in inputs.campuses), viewer)
        own = [{"key": metric, "label": KPI_LABELS[metric], "unit": unit, "value": own_actuals[metric]}
               for metric, unit in KPI_METRICS.items()]
    charts = [{"kind": "bar", "title": "KPI completion", "table": "kpi", "label": "metric_label", "prefix": "who",
               "value": "completion_bp", "unit": "bp"}]
    return {**_header(inputs, "dashboard"), "figures": headline, "own_figures": own, "tables": [kpi_table],
            "charts": charts}


BUILDERS: dict[str, Callable[[Inputs], dict[str, Any]]] = {
    "marketing": marketing_report, "output": output_report, "leaderboard": leaderboard_report,
    "heatmap": heatmap_report, "dashboard": dashboard_report}


# --- what both sides read straight from the store (small tables and snapshots) ------------------------


def campus_refs(conn: Connection, campus_ids: Iterable[str] | None = None) -> list[CampusRef]:
    query = select(campuses.c.id, campuses.c.code, campuses.c.name).where(campuses.c.deleted.is_(False))
    if campus_ids is not None:
        query = query.where(campuses.c.id.in_(list(campus_ids)))
    return [CampusRef(r.id, r.code, r.name) for r in conn.execute(query.order_by(campuses.c.code))]


def names(conn: Connection, campus_ids: Iterable[str]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Display names of users, and names of the campuses' campaigns and rooms."""
    ids = list(campus_ids)
    people = {r.id: r.display_name for r in conn.execute(select(users.c.id, users.c.display_name))}
    made = {r.id: r.name for r in conn.execute(select(campaigns.c.id, campaigns.c.name).where(
        (campaigns.c.campus_id.in_(ids)) | campaigns.c.campus_id.is_(None)))}
    places = {r.id: r.name for r in conn.execute(select(rooms.c.id, rooms.c.name).where(rooms.c.campus_id.in_(ids)))}
    return people, made, places


def months_of(period: Period) -> list[str]:
    months, day = [], period.first.replace(day=1)
    while day <= period.last:
        months.append(day.strftime("%Y-%m"))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def payroll_totals(conn: Connection, campus_ids: Iterable[str], period: Period) -> dict[str, int]:
    """Approved (or paid) payroll per campus for the months the period touches."""
    query = (select(payroll_runs.c.campus_id, func.coalesce(func.sum(payroll_runs.c.total_fen), 0))
             .where(payroll_runs.c.campus_id.in_(list(campus_ids)), payroll_runs.c.period.in_(months_of(period)),
                    payroll_runs.c.status.in_(("approved", "paid")), payroll_runs.c.deleted.is_(False))
             .group_by(payroll_runs.c.campus_id))
    return {campus_id: int(total) for campus_id, total in conn.execute(query)}


def targets_for(conn: Connection, campus_ids: Iterable[str], month: str) -> list[dict[str, Any]]:
    query = select(kpi_targets).where(kpi_targets.c.campus_id.in_(list(campus_ids)), kpi_targets.c.period == month,
                                      kpi_targets.c.deleted.is_(False))
    return [dict(r) for r in conn.execute(query.order_by(kpi_targets.c.campus_id, kpi_targets.c.metric)).mappings()]


def at_risk_for(conn: Connection, campus_ids: list[str]) -> list[dict[str, Any]]:
    """The students at risk now (risk_alerts, as the refund report lists them) at these campuses."""
    if len(campus_ids) == 1:
        return students_at_risk(conn, campus_ids[0])
    wanted = set(campus_ids)
    return [r for r in students_at_risk(conn, None) if r["campus_id"] in wanted]


def today_month(today: date) -> str:
    return today.strftime("%Y-%m")
