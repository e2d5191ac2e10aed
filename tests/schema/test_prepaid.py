"""The prepaid-fee rule: at most 60 hours or three months at once, no charge while 20 hours remain."""

from __future__ import annotations

from datetime import date

import pytest

from campus.schema.prepaid import check_line

SIGNED = date(2026, 11, 25)


@pytest.mark.parametrize(("hours", "expires", "remaining", "broken"), [
    (6000, date(2027, 2, 25), 0, []),  # 60 hours, 92 days, nothing left: fine
    (6001, date(2027, 2, 25), 0, ["hours"]),
    (4800, date(2027, 2, 26), 0, ["months"]),
    (4800, date(2027, 1, 25), 2000, []),  # exactly 20 hours left: time to renew
    (4800, date(2027, 1, 25), 2001, ["early_renewal"]),
    (9000, date(2027, 11, 25), 4000, ["hours", "months", "early_renewal"]),
])
def test_prepaid_rule(hours: int, expires: date, remaining: int, broken: list[str]) -> None:
    assert [f.rule for f in check_line("数学", hours, SIGNED, expires, remaining)] == broken
