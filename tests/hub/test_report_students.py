"""The hub counts students each once over a span from the report roll-ups: a short edge span from
its day rows, a long one as its month's rows less the month's other days; the same count either way."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from campus.hub.report_rollups import write_days, write_month
from campus.hub.report_views import distinct_students
from campus.hub.store import HubStore
from campus.schema.db import sqlite_url
from campus.schema.report_rules import Period

CAMPUS = "campus-bj01"
# 甲 came on 1 September only, 乙 on the 1st and the 20th, 丙 twice on the 25th, 丁 on 3 October
ATTENDED = {("2026-09-01", "甲"): 1, ("2026-09-01", "乙"): 1, ("2026-09-20", "乙"): 1, ("2026-09-25", "丙"): 2,
            ("2026-10-03", "丁"): 1}


@pytest.fixture
def store(tmp_path: Path) -> HubStore:
    hub = HubStore(sqlite_url(tmp_path / "hub.sqlite"), "hub-test")
    with hub.write() as conn:
        write_days(conn, CAMPUS, date(2026, 9, 1), date(2026, 10, 31),
                   {(day, "taught_student", student): n for (day, student), n in ATTENDED.items()})
        write_month(conn, CAMPUS, "2026-09")
        write_month(conn, CAMPUS, "2026-10")
    return hub


@pytest.mark.parametrize(("first", "last", "expected"), [
    ("2026-09-02", "2026-09-30", 2),  # 29 days: September's rows less the 1st — 乙 and 丙
    ("2026-09-15", "2026-09-30", 2),  # 16 days: less the 1st to the 14th — 乙 and 丙
    ("2026-09-01", "2026-09-05", 2),  # 5 days, read day by day — 甲 and 乙
    ("2026-09-21", "2026-09-24", 0),
    ("2026-09-02", "2026-10-31", 3),  # the edge and the whole of October — 乙, 丙, 丁
    ("2026-08-15", "2026-10-02", 3),  # 甲, 乙, 丙 (丁 came on the 3rd)
])
def test_students_are_counted_once_over_a_span_whichever_rows_it_is_read_from(
        store: HubStore, first: str, last: str, expected: int) -> None:
    with store.read() as conn:
        counted = distinct_students(conn, Period(date.fromisoformat(first), date.fromisoformat(last)),
                                    "taught_student", None)

    assert counted.get(CAMPUS, 0) == expected
