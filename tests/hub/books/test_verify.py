"""``campus hub books verify`` recomputes every campus's journal from the facts and the roll-ups from
the lines, against a real hub store fed by a real push, and says what differs."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from campus.cli import main
from campus.schema.tables import hub_book_rollups, hub_journal_lines
from tests.e2e.sync_helpers import Group
from tests.e2e.test_cross_campus import LINE
from tests.hub.books.test_group_books import _ok, keeper


@pytest.fixture
def synced(group: Group) -> Group:
    bj = group.campuses["BJ01"]
    _ok(group.hub_http.post("/api/v1/price-list/items", json={**LINE, "unit_price_fen": 20000}))
    bj.sync()
    student = _ok(bj.http.post("/api/v1/students", json={"name": "张三", "phone": "13800138003", "guardians": [
        {"name": "张母", "relation": "mother", "phone": "13700137003"}]}))
    contract = _ok(bj.http.post("/api/v1/contracts", json={"student_id": student["id"], "lines": [
        {**LINE, "hours_x100": 1000}]}))
    _ok(bj.http.post("/api/v1/payments", json={"contract_id": contract["id"], "amount_fen": 80000,
                                               "fund_account": "pos"}))
    bj.sync()
    keeper(group).run_once()
    return group


def verify(group: Group, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["hub", "books", "verify", "--dir", str(group.hub_config.directory)])
    return code, capsys.readouterr().out


def test_books_kept_by_the_hub_verify_clean(synced: Group, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(synced, capsys) == (0, "0 difference(s) between the hub's books and a recompute from the facts\n")


def test_a_roll_up_that_drifted_from_its_lines_is_reported(synced: Group, capsys: pytest.CaptureFixture[str]) -> None:
    with synced.hub_store.write() as conn:
        conn.execute(update(hub_book_rollups).where(hub_book_rollups.c.account == "1012.03")
                     .values(debit_fen=hub_book_rollups.c.debit_fen + 1))

    code, out = verify(synced, capsys)

    assert code == 1
    assert "hub_book_rollups" in out and "1012.03: holds (80001, 0), the lines sum to (80000, 0)" in out


def test_a_lost_journal_line_is_reported_and_a_rebuild_repairs_it(synced: Group,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with synced.hub_store.write() as conn:
        entry_id = conn.execute(select(hub_journal_lines.c.entry_id)).scalars().first()
        conn.execute(delete(hub_journal_lines).where(hub_journal_lines.c.entry_id == entry_id))

    code, out = verify(synced, capsys)
    assert code == 1 and f"entry {entry_id} (receipt) is missing from the hub" in out

    keeper(synced).rebuild()
    assert verify(synced, capsys)[0] == 0
