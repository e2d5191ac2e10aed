"""Migrating a school's students with what they still hold: the file's totals equal the ledger's
and the books' opening 2204; a second run changes nothing; a bad row stops the whole file."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.finance import migration
from campus.node.finance.payments import contract_money
from campus.node.imports.use_cases import migrate_students
from campus.node.store import NodeStore
from campus.schema.books import chart
from campus.schema.books.projection import journal, read_facts, trial_balance
from campus.schema.context import Actor
from campus.schema.errors import Invalid
from tests.node.import_files import STUDENT_HEADER, student_rows, write_csv, xlsx_bytes

CLI = Actor.machine("cli:test")
AS_OF = date(2026, 10, 31)


def _ctx(config: NodeConfig) -> NodeContext:
    return NodeContext.of(config, clock=lambda: datetime(2026, 11, 24, 4, tzinfo=UTC))


def _file_totals(rows: list[list[str]]) -> dict[str, int]:
    column = {name: STUDENT_HEADER.index(name) for name in ("剩余课时", "剩余赠送课时", "剩余金额")}
    return {"paid_hours_x100": sum(int(Decimal(r[column["剩余课时"]]) * 100) for r in rows),
            "gift_hours_x100": sum(int(Decimal(r[column["剩余赠送课时"]]) * 100) for r in rows),
            "value_fen": sum(int(Decimal(r[column["剩余金额"]]) * 100) for r in rows)}


def _ledger(store: NodeStore) -> dict[str, int]:
    with store.read() as conn:
        paid, gift, value = conn.exec_driver_sql(
            "select sum(case when gift then 0 else hours_x100 end), sum(case when gift then hours_x100 else 0 end), "
            "sum(value_fen) from asset_entries").one()
    return {"paid_hours_x100": paid or 0, "gift_hours_x100": gift or 0, "value_fen": value or 0}


def test_a_thousand_students_arrive_with_the_files_totals_in_the_ledger_and_as_opening_2204(
        node_store: NodeStore, node_config: NodeConfig) -> None:
    rows = student_rows(1000)
    data = xlsx_bytes(STUDENT_HEADER, rows, title="学员剩余课时 截至 2026-10-31")

    report = migrate_students(node_store, _ctx(node_config), CLI, io.BytesIO(data), "old-system.xlsx", as_of=AS_OF)

    stated = _file_totals(rows)
    assert report.written and report.counts()["rejected"] == 0 and report.counts()["rows"] == len(rows) == 1334
    assert {k: report.totals[k] for k in stated} == stated == _ledger(node_store)
    assert report.totals["students"] == 1000
    with node_store.read() as conn:
        entries = journal(conn, node_config.campus_id)
        december = {r.code: r for r in trial_balance(entries, "2026-11", "2026-11")}
        kinds = conn.exec_driver_sql("select distinct kind from contracts").scalars().all()
        notes = conn.exec_driver_sql("select note from payments where kind = 'opening' limit 1").scalar_one()
        contract_id = conn.exec_driver_sql("select id from contracts limit 1").scalar_one()
        owed = contract_money(conn, contract_id)["arrears_fen"]
        causes = conn.exec_driver_sql("select distinct cause_table from asset_entries").scalars().all()
    assert december[chart.DEFERRED_TUITION].opening_fen == -stated["value_fen"]  # a credit balance
    assert december[chart.OPENING_BALANCE_EQUITY].opening_fen == stated["value_fen"]
    assert kinds == ["migrated"] and causes == ["payments"] and owed == 0
    assert notes == "opening balance migrated from old-system.xlsx, line 3"


def test_migrating_the_same_file_again_changes_nothing(node_store: NodeStore, node_config: NodeConfig,
                                                       tmp_path: Path) -> None:
    path = write_csv(tmp_path / "students.csv", STUDENT_HEADER, student_rows(30))
    with path.open("rb") as stream:
        migrate_students(node_store, _ctx(node_config), CLI, stream, path.name, as_of=AS_OF)
    before = _ledger(node_store)

    with path.open("rb") as stream:
        again = migrate_students(node_store, _ctx(node_config), CLI, stream, path.name, as_of=AS_OF)

    assert again.refused and again.counts()["rejected"] == again.counts()["rows"]
    assert {r.reason.split(" at ")[0][:16] for r in again.results()} == {"already student "}
    assert _ledger(node_store) == before


def test_one_bad_row_stops_the_whole_file_by_default_and_is_named_by_its_line(
        node_store: NodeStore, node_config: NodeConfig, tmp_path: Path) -> None:
    rows = student_rows(10)
    rows[4][STUDENT_HEADER.index("剩余金额")] = "12.345"
    rows[6][STUDENT_HEADER.index("校区")] = "SH01"
    path = write_csv(tmp_path / "students.csv", STUDENT_HEADER, rows)

    with path.open("rb") as stream:
        report = migrate_students(node_store, _ctx(node_config), CLI, stream, path.name, as_of=AS_OF)

    assert [(r.line, r.field) for r in report.results() if r.outcome == "rejected"] == [(6, "value"), (8, "campus")]
    assert report.refused and _ledger(node_store) == {"paid_hours_x100": 0, "gift_hours_x100": 0, "value_fen": 0}
    with node_store.read() as conn:
        audit = json.loads(conn.exec_driver_sql(
            "select after from audit_events where action = 'students_migrated'").scalar_one())
    assert audit["written"] is False and audit["rejected"] == 2 and audit["file"] == "students.csv"


@pytest.mark.parametrize(("values", "field"), [
    ({"paid_hours": "10", "value": "-1"}, "value"),
    ({"paid_hours": "1.005", "value": "10"}, "paid_hours"),
    ({"paid_hours": "0", "gift_hours": "0", "value": "0"}, "paid_hours"),
    ({"paid_hours": "0", "gift_hours": "2", "value": "100"}, "value"),
    ({"paid_hours": "10", "value": "100", "expires_on": "2026-10-30"}, "expires_on"),
    ({"paid_hours": "10", "value": "100", "delivery": "面授"}, "delivery"),
    ({"paid_hours": "10", "value": "100", "guardian_name": "王妈妈"}, "guardian_phone"),
    ({"paid_hours": "10", "value": "100", "course": "数" * 33}, "course"),
    ({"paid_hours": "10", "value": "abc"}, "value"),
])
def test_a_position_breaking_a_rule_is_refused_naming_the_column(values: dict[str, str], field: str) -> None:
    row = {"name": "王小明", "course": "数学", **values}

    with pytest.raises(Invalid) as refused:
        migration.check_position(row, _Campus(), "北京", AS_OF)

    assert refused.value.field == field


@pytest.mark.parametrize(("typed", "expected"), [
    ("12.5", 1250), (12.5, 1250), ("1,234.56", 123456), ("¥180", 18000), (3, 300), ("", 0), (0.1, 10),
])
def test_amounts_and_hours_are_read_exactly_as_hundredths(typed: object, expected: int) -> None:
    assert migration.hundredths(typed, "value", "an amount") == expected


def test_gift_only_positions_and_a_derived_unit_price_are_kept() -> None:
    gift = migration.check_position({"name": "甲", "course": "数学", "gift_hours": "3"}, _Campus(), "北京", AS_OF)
    priced = migration.check_position({"name": "乙", "course": "数学", "paid_hours": "8", "value": "1000"},
                                      _Campus(), "北京", AS_OF)

    assert (gift.paid_hours_x100, gift.gift_hours_x100, gift.value_fen) == (0, 300, 0)
    assert priced.unit_price_fen == 12500 and priced.expires_on == "2027-10-31"


def test_the_screen_shows_the_file_totals_before_and_after_committing(node_client: TestClient) -> None:
    rows = student_rows(5)
    data = xlsx_bytes(STUDENT_HEADER, rows)
    token = re.search(r'name="csrf_token" value="([^"]+)"', node_client.get("/students/import").text).group(1)

    preview = node_client.post("/students/import", data={"csrf_token": token, "as_of": "2026-10-31"},
                               files={"file": ("students.xlsx", data)})
    done = node_client.post(str(preview.url.path), data={"csrf_token": token, "action": "import", "mode": "all"})

    assert "学员迁移" in preview.text and "剩余购买课时" in preview.text
    value = sum(Decimal(r[STUDENT_HEADER.index("剩余金额")]) for r in rows)
    assert f"¥{value:.2f}" in preview.text and "检查 7 行，拒绝 0 行" in preview.text  # before committing
    assert done.status_code == 200 and "与导入后的学员资产账户一致" in done.text
    assert "学员 5" in done.text and "¥" in done.text


def test_the_api_dry_run_states_the_totals_and_writes_nothing(node_client: TestClient) -> None:
    rows = student_rows(4)
    data = xlsx_bytes(STUDENT_HEADER, rows)

    dry = node_client.post("/api/v1/students/import", files={"file": ("s.xlsx", data)},
                           data={"dry_run": "true", "as_of": "2026-10-31"})
    bad_day = node_client.post("/api/v1/students/import", files={"file": ("s.xlsx", data)},
                               data={"as_of": "2999-01-01"})

    assert dry.status_code == 200 and dry.json()["totals"]["value_fen"] == _file_totals(rows)["value_fen"]
    assert bad_day.status_code == 422 and bad_day.json()["errors"][0]["field"] == "as_of"
    assert node_client.get("/api/v1/students").json()["total"] == 0


def test_the_books_read_the_opening_balance_as_a_fact_of_the_contracts_campus(
        node_store: NodeStore, node_config: NodeConfig) -> None:
    data = xlsx_bytes(STUDENT_HEADER, student_rows(2))
    migrate_students(node_store, _ctx(node_config), CLI, io.BytesIO(data), "s.xlsx", as_of=AS_OF)

    with node_store.read() as conn:
        facts = [f for f in read_facts(conn, node_config.campus_id) if f.kind == "opening_balance"]

    assert len(facts) == 3 and {f.date for f in facts} == {"2026-10-31"}


class _Campus:
    id = "campus-id"
    code = "BJ01"
