"""``[reports]`` of a campus's campus.toml: the dormant window and the low-hours line are settings,
read into the campus context, and a changed one changes the figures the output report shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.schema.config import ConfigError
from tests.conftest import sign_in
from tests.node.teaching_helpers import set_up_school
from tests.node.test_reports import figures, ok


def _client(config: NodeConfig, **settings: int) -> Iterator[TestClient]:
    from campus.node.app import create_app

    with TestClient(create_app(replace(config, **settings)), raise_server_exceptions=False) as client:
        sign_in(client)
        yield client


@pytest.fixture
def dormant_120(node_config: NodeConfig) -> Iterator[TestClient]:
    yield from _client(node_config, reports_dormant_days=120)


@pytest.fixture
def dormant_30(node_config: NodeConfig) -> Iterator[TestClient]:
    yield from _client(node_config, reports_dormant_days=30)


@pytest.fixture
def low_at_9(node_config: NodeConfig) -> Iterator[TestClient]:
    yield from _client(node_config, reports_low_hours_x100=900)


def _march(client: TestClient) -> None:
    """Two students; on Tuesday 3 March 2026 both attend, on Thursday the 5th one does."""
    school = set_up_school(client)
    first, second = school.students
    for day, marks in (("2026-03-03", ("present", "present")), ("2026-03-05", ("present", "absent"))):
        lesson = school.lesson(school.class_id, f"{day}T18:00:00+08:00", f"{day}T19:30:00+08:00")
        for student, mark in zip((first, second), marks, strict=True):
            school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": mark})
        school.post(f"/api/v1/lessons/{lesson['id']}/confirm")


def _june(client: TestClient) -> tuple[Any, Any]:
    shown = figures(ok(client.get("/api/v1/reports/output?from=2026-06")))
    return shown["active"], shown["dormant"]


def test_a_longer_dormant_window_keeps_march_students_active_in_june(dormant_120: TestClient) -> None:
    _march(dormant_120)

    # 120 days back from 30 June reach 3 March: both attended then (90 days, the default: both dormant)
    assert _june(dormant_120) == (2, 0)
    assert ok(dormant_120.get("/api/v1/reports/output?from=2026-06"))["dormant_days"] == 120


def test_a_shorter_dormant_window_forgets_march_students_by_june(dormant_30: TestClient) -> None:
    _march(dormant_30)

    # 30 days active, 30 more before them lapsed: March is further back than both
    assert _june(dormant_30) == (0, 0)
    assert figures(ok(dormant_30.get("/api/v1/reports/output?from=2026-04")))["dormant"] == 2  # 2 Mar–31 Mar


def _ran_down_to_ten_hours(client: TestClient) -> dict[str, Any]:
    """Two students on 11.5 hours; one 1.5-hour lesson leaves each 10, then the first renews."""
    school = set_up_school(client, hours_x100=1150)
    lesson = school.lesson(school.class_id, "2026-03-03T18:00:00+08:00", "2026-03-03T19:30:00+08:00")
    for student in school.students:
        school.post(f"/api/v1/lessons/{lesson['id']}/marks", {"student_id": student["id"], "mark": "present"})
    school.post(f"/api/v1/lessons/{lesson['id']}/confirm")
    school.post("/api/v1/contracts", {"student_id": school.students[0]["id"], "lines": [
        {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "hours_x100": 2000}]})
    return figures(ok(client.get("/api/v1/reports/output")))


def test_a_lower_low_hours_line_is_not_reached_by_ten_hours_left(low_at_9: TestClient) -> None:
    shown = _ran_down_to_ten_hours(low_at_9)

    # at the default 10 hours both ran low and one renewed (5000 bp); at 9 hours nobody ran low
    assert shown["renewal_rate_bp"] is None


def test_the_reports_section_of_campus_toml_is_read_and_checked(node_config: NodeConfig) -> None:
    path = node_config.directory / "campus.toml"
    written = path.read_text()
    assert "[reports]\ndormant_days = 90\nlow_hours_x100 = 1000\n" in written  # init writes the defaults
    path.write_text(written.replace("dormant_days = 90", "dormant_days = 60").replace("low_hours_x100 = 1000",
                                                                                      "low_hours_x100 = 600"))

    loaded = NodeConfig.load(node_config.directory)

    assert (loaded.reports_dormant_days, loaded.reports_low_hours_x100) == (60, 600)
    assert (loaded.report_settings().dormant_days, loaded.report_settings().low_hours_x100) == (60, 600)
    path.write_text(path.read_text().replace("dormant_days = 60", "dormant_days = 0"))
    with pytest.raises(ConfigError, match=r"\[reports\] dormant_days"):
        NodeConfig.load(node_config.directory)
