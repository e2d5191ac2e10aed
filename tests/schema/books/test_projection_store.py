"""The journal read from a real node store written by the real use-case functions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, insert, select

from campus.node.config import NodeConfig
from campus.node.crm.leads import Campus
from campus.node.finance import contracts, ledger, payments, students
from campus.node.finance.contracts import LineSpec
from campus.node.store import NodeStore
from campus.schema.books.posting import BooksSettings
from campus.schema.books.projection import (
    close_period,
    deferred_tuition,
    journal,
    next_period,
    project,
    read_facts,
    trial_balance,
)
from campus.schema.db import create_store_engine, sqlite_url, write_transaction
from campus.schema.permissions import Role
from campus.schema.tables import campuses, metadata
from campus.web.prices.store import set_price
from tests.schema.books.builders import balances

OTHER = "00000000-0000-7000-8000-00000000b0b0"  # a second campus, as the hub's directory names it
MATHS = {"grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class"}


@pytest.fixture
def campus(node_config: NodeConfig, node_store: NodeStore) -> Campus:
    with node_store.write() as conn:
        conn.execute(insert(campuses).values(id=OTHER, code="SH01", name="上海徐汇校区",
                                             created_at="2026-01-01T00:00:00Z", deleted=False))
    with node_store.unit_of_work() as uow:
        set_price(uow, MATHS["grade"], MATHS["subject"], MATHS["level"], MATHS["delivery"], 200_00)
    return Campus(node_config.campus_id, node_config.campus_code)


def sign(store: NodeStore, campus: Campus, *, study_campus_id: str | None = None, deposit_fen: int = 0,
         manual_discount_fen: int = 0) -> dict:
    """A student with a 10-hour contract (¥2000 list) and 2 gift hours; a deposit applied at signing."""
    with store.unit_of_work() as uow:
        student = students.create_student(uow, campus, "学员甲", "13900000001")
        deposits = [payments.take_deposit(uow, campus, deposit_fen, "wechat", student_id=student["id"])["id"]
                    ] if deposit_fen else []
        return contracts.sign_contract(
            uow, campus, student["id"], [LineSpec(**MATHS, hours_x100=1000, gift_hours_x100=200,
                                                  study_campus_id=study_campus_id)],
            roles=frozenset({Role.HQ_ADMIN}), by_user_id=None, today=date.today(), deposit_ids=deposits,
            manual_discount_fen=manual_discount_fen)


def pay(store: NodeStore, campus: Campus, contract_id: str, amount_fen: int, fund: str = "cash") -> None:
    with store.unit_of_work() as uow:
        payments.take_payment(uow, campus, contract_id, amount_fen, fund)


def teach(store: NodeStore, line_id: str, hours_x100: int, at_campus: str) -> list[str]:
    with store.unit_of_work() as uow:
        return ledger.post_consumption(uow, line_id, hours_x100, recorded_campus_id=at_campus,
                                       cause_table="attendance_confirmations", cause_id="c-1")


def books_of(conn: Connection, campus_id: str, **kwargs: object) -> list:
    return journal(conn, campus_id, **kwargs)  # type: ignore[arg-type]


def test_a_discounted_contract_paid_in_part_then_taught_beyond_the_payment(node_store: NodeStore,
                                                                           campus: Campus) -> None:
    contract = sign(node_store, campus, deposit_fen=500_00, manual_discount_fen=200_00)  # ¥1800 due
    line_id = contract["lines"][0]["id"]
    pay(node_store, campus, contract["id"], 800_00)
    teach(node_store, line_id, 800, campus.id)  # 8 of 10 paid hours: ¥1440
    teach(node_store, line_id, 300, campus.id)  # the last 2 paid hours (¥360) and 1 gift hour (nothing)

    with node_store.read() as conn:
        entries = books_of(conn, campus.id)

    assert balances(entries) == {"1001": 800_00, "1012.01": 500_00, "1122": 500_00, "6001": -1800_00}
    assert [e.rule for e in entries].count("consumption") == 2  # the gift hour posted nothing
    month = entries[0].period
    assert sum(row.closing_fen for row in trial_balance(entries, month, month)) == 0
    rows, total = deferred_tuition(entries, month, month)
    assert [(r.contract_id, r.received_fen, r.recognised_fen, r.deferred_fen, r.receivable_fen) for r in rows] == [
        (contract["id"], 1300_00, 1800_00, 0, 500_00)]


def test_a_reconfirmed_lesson_reverses_its_revenue(node_store: NodeStore, campus: Campus) -> None:
    contract = sign(node_store, campus)
    pay(node_store, campus, contract["id"], 2000_00, "bank")
    (entry_id,) = teach(node_store, contract["lines"][0]["id"], 150, campus.id)
    with node_store.unit_of_work() as uow:
        ledger.reverse_entry(uow, entry_id, recorded_campus_id=campus.id, by_user_id=None)

    with node_store.read() as conn:
        entries = books_of(conn, campus.id, settings=BooksSettings(vat_rate_bp=300))

    assert [e.rule for e in entries] == ["receipt", "consumption", "consumption.reversal"]
    assert balances(entries) == {"1002": 2000_00, "2204": -2000_00}


def test_a_lesson_taught_at_another_campus_is_revenue_here_and_a_settlement_at_both(node_store: NodeStore,
                                                                                   campus: Campus) -> None:
    contract = sign(node_store, campus, study_campus_id=OTHER)
    pay(node_store, campus, contract["id"], 2000_00)
    teach(node_store, contract["lines"][0]["id"], 100, OTHER)  # one ¥200 hour, confirmed at SH01
    share = BooksSettings(inter_campus_share_bp=7000)

    with node_store.read() as conn:
        here, there = books_of(conn, campus.id, settings=share), books_of(conn, OTHER, settings=share)

    assert balances(here) == {"1001": 2000_00, "1221.SH01": -140_00, "2204": -1800_00, "6001": -200_00,
                              "6401": 140_00}
    assert balances(there) == {f"1221.{campus.code}": 140_00, "6001": -140_00}


def test_a_payment_after_the_month_closed_posts_in_the_next_month_as_an_adjustment(node_store: NodeStore,
                                                                                   campus: Campus) -> None:
    contract = sign(node_store, campus)
    pay(node_store, campus, contract["id"], 500_00)
    with node_store.read() as conn:
        before = project(read_facts(conn, campus.id))
    month = before.entries[0].period
    closes = [close_period(before, campus.id, month)]
    pay(node_store, campus, contract["id"], 300_00)  # dated this month, arrives after its close

    with node_store.read() as conn:
        entries = books_of(conn, campus.id, closes=closes)

    assert [e for e in entries if e.period == month] == list(before.entries)
    (late,) = [e for e in entries if e.period != month]
    assert (late.period, late.date, late.origin_period) == (next_period(month), f"{next_period(month)}-01", month)
    assert late.debit_fen == 300_00


def test_a_write_off_and_other_contract_changes_read_from_the_store(node_store: NodeStore, campus: Campus) -> None:
    contract = sign(node_store, campus)
    line_id = contract["lines"][0]["id"]
    pay(node_store, campus, contract["id"], 100_00)
    teach(node_store, line_id, 100, campus.id)  # ¥200 taught, ¥100 paid
    with node_store.unit_of_work() as uow:
        contracts.change_contract(uow, campus, contract["id"], "extend", by_user_id=None, today=date.today(),
                                  expires_on="2099-12-31")
        contracts.change_contract(uow, campus, contract["id"], "write_off", by_user_id=None, today=date.today(),
                                  amount_fen=1900_00, reason="学员失联")

    with node_store.read() as conn:
        entries = books_of(conn, campus.id)

    assert balances(entries) == {"1001": 100_00, "6001": -200_00, "6702": 100_00}


def test_the_same_rows_inserted_in_another_order_give_the_same_journal(node_store: NodeStore, campus: Campus,
                                                                       tmp_path: Path) -> None:
    contract = sign(node_store, campus, deposit_fen=300_00, study_campus_id=OTHER)
    line_id = contract["lines"][0]["id"]
    teach(node_store, line_id, 200, OTHER)
    pay(node_store, campus, contract["id"], 600_00, "alipay")
    teach(node_store, line_id, 500, campus.id)
    copy = create_store_engine(sqlite_url(tmp_path / "copy.sqlite"))
    metadata.create_all(copy)
    with node_store.read() as source, write_transaction(copy) as target:
        for table in metadata.sorted_tables:
            rows = [dict(r) for r in source.execute(select(table)).mappings()]
            for row in reversed(rows):  # the order another store might have received them in
                target.execute(insert(table).values(**row))

    with node_store.read() as conn, copy.connect() as other:
        for campus_id in (campus.id, OTHER):
            assert books_of(conn, campus_id) == books_of(other, campus_id)
    copy.dispose()
