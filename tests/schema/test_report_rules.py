"""The pure rules of the reports: periods and the one before, rates, funnels, completion, the
heatmap's occupancy, ranks; and the SVG charts and the workbook built from a report's JSON."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from campus.schema.report_facts import occupied_hours, sum_over_days
from campus.schema.report_rules import (
    BadPeriod,
    Period,
    change_bp,
    completion,
    funnel,
    occupancy_bp,
    parse_period,
    ranked,
    rate_bp,
    roi_bp,
)
from campus.web.report_charts import bar_chart, format_value, heatmap, render_chart
from campus.web.report_export import report_workbook

TODAY = date(2026, 12, 2)  # a Wednesday


@pytest.mark.parametrize(("params", "first", "last"), [
    ({}, "2026-12-01", "2026-12-31"),
    ({"period": "day"}, "2026-12-02", "2026-12-02"),
    ({"period": "week"}, "2026-11-30", "2026-12-06"),
    ({"period": "week", "on": "2026-03-01"}, "2026-02-23", "2026-03-01"),
    ({"period": "month", "on": "2024-02"}, "2024-02-01", "2024-02-29"),
    ({"from": "2026-03"}, "2026-03-01", "2026-03-31"),
    ({"from": "2026-01", "to": "2026-03"}, "2026-01-01", "2026-03-31"),
    ({"from": "2026-01-15", "to": "2026-02-03"}, "2026-01-15", "2026-02-03"),
])
def test_a_query_string_names_a_period(params: dict[str, str], first: str, last: str) -> None:
    assert parse_period(params, TODAY) == Period(date.fromisoformat(first), date.fromisoformat(last))


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-13"}, "from"), ({"from": "2026-02-30"}, "from"), ({"from": "2026-03", "to": "2026-02"}, "to"),
    ({"period": "quarter"}, "period"), ({"period": "day", "on": "soon"}, "on"), ({"period": "range"}, "from"),
    ({"from": "2020-01-01", "to": "2025-01-01"}, "to"),
])
def test_a_period_that_cannot_be_read_names_its_parameter(params: dict[str, str], field: str) -> None:
    with pytest.raises(BadPeriod) as refused:
        parse_period(params, TODAY)
    assert refused.value.field == field


@pytest.mark.parametrize(("first", "last", "before_first", "before_last"), [
    ("2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28"),  # a month: the month before
    ("2026-01-01", "2026-03-31", "2025-10-01", "2025-12-31"),  # a quarter: the quarter before
    ("2026-03-02", "2026-03-08", "2026-02-23", "2026-03-01"),  # a week: the week before
    ("2026-03-10", "2026-03-10", "2026-03-09", "2026-03-09"),
])
def test_the_previous_period(first: str, last: str, before_first: str, before_last: str) -> None:
    period = Period(date.fromisoformat(first), date.fromisoformat(last))
    assert period.previous() == Period(date.fromisoformat(before_first), date.fromisoformat(before_last))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 1, 1)), st.integers(0, 400))
def test_the_previous_period_ends_the_day_before_and_is_never_longer_in_days_than_a_month_apart(
        first: date, length: int) -> None:
    period = Period(first, first + timedelta(days=length))
    before = period.previous()
    assert before.last == period.first - timedelta(days=1)
    assert before.first <= before.last
    assert abs(before.days - period.days) <= 3 * ((period.days // 28) + 1)


@pytest.mark.parametrize(("part", "whole", "expected"), [(1, 3, 3333), (2, 3, 6666), (3, 3, 10000), (5, 2, 25000),
                                                         (0, 7, 0), (4, 0, None), (4, -1, None)])
def test_rates_are_basis_points_rounded_down_and_none_over_nothing(part: int, whole: int, expected: int | None) -> None:
    assert rate_bp(part, whole) == expected


@given(st.integers(0, 10**12), st.integers(1, 10**12))
def test_a_rate_never_overstates(part: int, whole: int) -> None:
    rate = rate_bp(part, whole)
    assert rate is not None and rate * whole <= part * 10_000 < (rate + 1) * whole


@pytest.mark.parametrize(("now", "before", "expected"), [(150, 100, 5000), (50, 100, -5000), (0, 300, -10000),
                                                        (10, 0, None), (-50, -100, 5000)])
def test_change_from_the_previous_period(now: int, before: int, expected: int | None) -> None:
    assert change_bp(now, before) == expected


def test_roi_is_signed_over_cost() -> None:
    assert (roi_bp(400000, 100000), roi_bp(0, 100000), roi_bp(5, 0)) == (40000, 0, None)


def test_the_funnel_rates_each_stage_from_the_one_before_and_from_the_first() -> None:
    stages = funnel({"new": 10, "claimed": 8, "invited": 4, "deposit": 0, "signed": 0})

    assert [(s.stage, s.count, s.rate_bp, s.overall_bp) for s in stages] == [
        ("new", 10, None, 10000), ("claimed", 8, 8000, 8000), ("invited", 4, 5000, 4000), ("deposit", 0, 0, 0),
        ("signed", 0, None, 0)]


@given(st.lists(st.integers(0, 10**6), min_size=5, max_size=5))
def test_a_funnels_overall_rate_is_its_count_over_the_first_stage(counts: list[int]) -> None:
    stages = funnel(dict(zip(("new", "claimed", "invited", "deposit", "signed"), counts, strict=True)))
    assert [s.count for s in stages] == counts
    assert all(s.overall_bp == rate_bp(s.count, counts[0]) for s in stages)


@pytest.mark.parametrize(("target", "actual", "completion_bp", "gap"), [
    (1000000, 400000, 4000, 600000), (2, 3, 15000, 0), (10, 10, 10000, 0), (0, 5, None, 0)])
def test_completion_and_gap(target: int, actual: int, completion_bp: int | None, gap: int) -> None:
    done = completion(target, actual)
    assert (done.completion_bp, done.gap) == (completion_bp, gap)


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_the_gap_and_the_actual_reach_the_target_when_short(target: int, actual: int) -> None:
    done = completion(target, actual)
    assert done.gap >= 0 and (done.gap == 0 or actual + done.gap == target)


def test_room_occupancy_is_lessons_over_how_often_the_weekday_comes() -> None:
    march = Period(date(2026, 3, 1), date(2026, 3, 31))  # five Tuesdays, four Thursdays
    assert occupancy_bp({(1, 18): 2, (3, 18): 4}, march) == {(1, 18): 4000, (3, 18): 10000}


def test_a_lesson_occupies_each_local_hour_it_touches() -> None:
    assert occupied_hours("2026-03-03T10:00:00Z", "2026-03-03T11:30:00Z", "Asia/Shanghai") == [
        ("2026-03-03", 18), ("2026-03-03", 19)]
    assert occupied_hours("2026-03-03T15:30:00Z", "2026-03-03T16:30:00Z", "Asia/Shanghai") == [
        ("2026-03-03", 23), ("2026-03-04", 0)]


def test_summing_days_keeps_a_heatmaps_weekday() -> None:
    summed = sum_over_days([(("2026-03-03", "heat_attend", "18"), 2), (("2026-03-10", "heat_attend", "18"), 1),
                            (("2026-03-05", "heat_attend", "18"), 4), (("2026-03-03", "leads", "douyin|"), 1)])
    assert summed == {("heat_attend", "1|18"): 3, ("heat_attend", "3|18"): 4, ("leads", "douyin|"): 1}


def test_ranks_are_shared_by_ties() -> None:
    rows = ranked([{"name": "乙", "v": 5}, {"name": "甲", "v": 9}, {"name": "丙", "v": 5}, {"name": "丁", "v": 1}], "v")
    assert [(r["name"], r["rank"]) for r in rows] == [("甲", 1), ("丙", 2), ("乙", 2), ("丁", 4)]


@pytest.mark.parametrize(("value", "unit", "shown"), [(123456, "fen", "¥1234.56"), (6666, "bp", "66.66%"),
                                                      (150, "hours", "1.50"), (7, "count", "7"), (None, "fen", "—")])
def test_figures_read_as_money_percentages_and_hours(value: int | None, unit: str, shown: str) -> None:
    assert format_value(value, unit) == shown


def test_charts_are_svg_that_reference_nothing_outside_themselves() -> None:
    bars = str(bar_chart("签约金额 <按渠道>", [("抖音", 400000), ("百度", 0), ("转介绍", None)], "fen"))
    grid = str(heatmap("出勤", ["一", "二"], [18, 19], [[0, 2], [1, 0]], "count"))

    for svg in (bars, grid):
        assert svg.startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"") and svg.endswith("</svg>")
        lowered = svg.lower()
        assert "<script" not in lowered and "href" not in lowered and "style=" not in lowered
        assert "url(" not in lowered and "http" not in lowered.replace("http://www.w3.org/2000/svg", "")
    assert "&lt;按渠道&gt;" in bars and "¥4000.00" in bars
    assert grid.count("<rect") == 4


def test_a_bar_chart_reads_the_rows_of_the_table_it_names() -> None:
    chart = {"kind": "bar", "title": "T", "table": "t", "label": "name", "value": "v", "unit": "count"}
    svg = str(render_chart(chart, {"t": {"rows": [{"name": "甲", "v": 3}]}}))
    assert "甲" in svg and ">3<" in svg


def test_the_workbook_says_what_the_report_says() -> None:
    report = {"title": "Output report", "period": {"from": "2026-03-01", "to": "2026-03-31"}, "previous": None,
              "figures": [{"key": "consumed_fen", "label": "Lesson value recognised", "unit": "fen", "value": 120001},
                          {"key": "attendance_bp", "label": "Attendance rate", "unit": "bp", "value": 7500},
                          {"key": "students_taught", "label": "Students taught", "unit": "count", "value": 2},
                          {"key": "fill_bp", "label": "Class fill rate", "unit": "bp", "value": None}],
              "tables": [{"key": "t", "title": "Teachers", "columns": [
                  {"key": "name", "label": "Teacher", "unit": "text"},
                  {"key": "hours", "label": "Hours", "unit": "hours"}],
                  "rows": [{"name": "=cmd()", "hours": 450}]}]}

    book = load_workbook(io.BytesIO(report_workbook(report)))

    figures = list(book.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert figures == [("Lesson value recognised (yuan)", 1200.01), ("Attendance rate (%)", 75),
                       ("Students taught", 2), ("Class fill rate (%)", None)]
    assert list(book["Teachers"].iter_rows(values_only=True)) == [("Teacher", "Hours (hours)"), ("'=cmd()", 4.5)]


def test_a_group_of_no_campus_yet_has_every_report_with_zeros() -> None:
    from campus.schema.reports import BUILDERS, Inputs

    empty = Inputs(period=Period(date(2026, 12, 1), date(2026, 12, 31)), campuses=[], sums={}, group=True)
    for name, build in BUILDERS.items():
        report = build(empty)
        assert report["report"] == name
        assert all(f["value"] in (0, None) for f in report["figures"])
