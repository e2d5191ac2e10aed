"""The outbox's pure rules: templates checked when saved and rendered from named fields, retries
with exponential backoff, quiet hours in the campus's day, limits per recipient and channel."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus.node.notify.rules import NotifySettings, backoff, over_limit, quiet_until
from campus.node.notify.templates import DEFAULTS, KINDS, LOCALES, check_template, render
from campus.schema.errors import Invalid

BEIJING = ZoneInfo("Asia/Shanghai")


def at(hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2030, 1, 7, hours, minutes, tzinfo=BEIJING)


@pytest.mark.parametrize(("kind", "locale"), [(k, loc) for k, spec in KINDS.items() if not spec.campaign for loc in LOCALES])
def test_every_default_wording_uses_only_its_kinds_fields(kind: str, locale: str) -> None:
    subject, body = DEFAULTS[(kind, locale)]
    check_template(kind, subject, body)


@pytest.mark.parametrize(("body", "field", "why"), [
    ("{student_name} 还有 {hours} 课时", "body", "hours"),  # a field low_hours does not provide
    ("{student_name.__class__}", "body", "field name only"),  # no attribute access
    ("{student_name!r}", "body", "field name only"),
    ("{student_name:>10}", "body", "field name only"),
    ("{0}", "body", "field name only"),
    ("余额 {remaining_hours", "body", "brace"),
    ("", "body", "empty"),
])
def test_a_template_naming_a_missing_field_is_refused_when_saved(body: str, field: str, why: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_template("low_hours", None, body)
    assert refused.value.field == field and why in refused.value.detail


def test_a_subject_is_checked_too_and_braces_can_be_written_doubled() -> None:
    with pytest.raises(Invalid) as refused:
        check_template("birthday", "{nickname} 生日快乐", "{student_name}")
    assert refused.value.field == "subject"
    check_template("birthday", None, "{{{student_name}}}")
    assert render("{{{student_name}}}", {"student_name": "李雷"}) == "{李雷}"


def test_rendering_fills_named_fields_and_never_interprets_values() -> None:
    assert render("{student_name}：{reply}", {"student_name": "韩梅梅", "reply": "{code} 100%"}) == "韩梅梅：{code} 100%"


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 60), (2, 120), (3, 240), (6, 1920), (30, 6 * 3600)])
def test_retries_back_off_exponentially_up_to_six_hours(attempts: int, seconds: int) -> None:
    assert backoff(attempts, 60) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("now", "start", "end", "until"), [
    ("20:59", "21:00", "08:00", None),
    ("21:00", "21:00", "08:00", "2030-01-08T08:00"),  # into the night: the next morning
    ("23:30", "21:00", "08:00", "2030-01-08T08:00"),
    ("03:00", "21:00", "08:00", "2030-01-07T08:00"),  # after midnight: this morning
    ("08:00", "21:00", "08:00", None),
    ("12:30", "12:00", "14:00", "2030-01-07T14:00"),  # a midday rest
    ("14:00", "12:00", "14:00", None),
    ("03:00", "00:00", "00:00", None),  # equal: no quiet hours
])
def test_quiet_hours(now: str, start: str, end: str, until: str | None) -> None:
    found = quiet_until(at(now), start, end)
    assert (found.strftime("%Y-%m-%dT%H:%M") if found else None) == until


@given(st.integers(0, 24 * 60 - 1), st.integers(0, 24 * 60 - 1), st.integers(0, 24 * 60 - 1))
def test_quiet_hours_end_within_a_day_at_the_end_time(minute: int, start: int, end: int) -> None:
    now = at("00:00") + timedelta(minutes=minute)
    text = [f"{m // 60:02d}:{m % 60:02d}" for m in (start, end)]
    until = quiet_until(now, *text)
    if until is not None:
        assert timedelta(0) < until - now <= timedelta(days=1)
        assert until.strftime("%H:%M") == text[1]
        assert quiet_until(until, *text) is None


@pytest.mark.parametrize(("to_recipient", "on_channel", "broken"), [(5, 59, None), (6, 0, "recipient"),
                                                                     (0, 60, "channel")])
def test_limits_per_recipient_and_per_channel(to_recipient: int, on_channel: int, broken: str | None) -> None:
    assert over_limit(to_recipient, on_channel, NotifySettings()) == broken


def test_notify_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        NotifySettings(quiet_start="25:00")
    with pytest.raises(ValueError):
        NotifySettings(max_attempts=0)
