"""Importing the messy real-world lead exports: every row gets the outcome EXPECTED.md names."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.crm.lead_import import parse_birthday
from campus.node.crm.use_cases import import_leads
from campus.node.store import NodeStore
from campus.schema.context import Actor

DATA = Path(__file__).parents[1] / "data" / "leads"
TODAY = date(2026, 11, 24)
CLI = Actor.machine("cli:test")


def _on_today(config: NodeConfig) -> NodeContext:
    return NodeContext.of(config, clock=lambda: datetime(2026, 11, 24, 4, tzinfo=UTC))


def _expected() -> list[tuple[int, str, str, str]]:
    """(row, name, outcome, phone stored) from the table in EXPECTED.md."""
    rows = []
    for line in (DATA / "EXPECTED.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1], cells[3], cells[4]))
    return rows


def _import(store: NodeStore, config: NodeConfig, filename: str):  # type: ignore[no-untyped-def]
    with (DATA / filename).open("rb") as stream:
        return import_leads(store, _on_today(config), CLI, stream, filename)


def _line(filename: str, row: int) -> int:
    """The spreadsheet line of EXPECTED.md's row: after the header, and in the CSV exports after the
    blank line that follows row 13."""
    return row + 1 + (1 if filename.endswith(".csv") and row > 13 else 0)


@pytest.mark.parametrize("filename", ["leads-utf8-bom.csv", "leads-gbk.csv", "leads.xlsx"])
def test_every_row_gets_the_expected_outcome(node_store: NodeStore, node_config: NodeConfig, filename: str) -> None:
    report = _import(node_store, node_config, filename)

    assert report.counts() == {"rows": 28, "created": 17, "merged": 4, "rejected": 7, "skipped": 0,
                               "blank": 2 if filename.endswith(".csv") else 0}
    numbers = {}
    for result, (row, name, outcome, _phone) in zip(report.results(), _expected(), strict=True):
        assert (result.line, result.name) == (_line(filename, row), name)
        kind = outcome.split(":")[0].split(" ")[0]
        assert result.outcome == kind, (row, result)
        if kind == "created":
            numbers[row] = result.number
        if kind == "merged":
            merged_into = int(re.search(r"row (\d+)", outcome).group(1))
            assert result.number == numbers[merged_into]
        if kind == "rejected":
            assert result.field == outcome.split(": ")[1], (row, result)
    with node_store.read() as conn:
        stored = dict(conn.exec_driver_sql("select name, phone from leads").all())
    assert stored == {name: phone for _, name, outcome, phone in _expected() if outcome == "created"}


def test_importing_the_same_file_twice_creates_nothing_the_second_time(
    node_store: NodeStore, node_config: NodeConfig
) -> None:
    _import(node_store, node_config, "leads-utf8-bom.csv")

    again = _import(node_store, node_config, "leads-gbk.csv")

    assert again.counts() == {"rows": 28, "created": 0, "merged": 21, "rejected": 7, "skipped": 0, "blank": 2}
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 17
        merges = conn.exec_driver_sql("select count(*) from lead_history where kind = 'import_merge'").scalar_one()
    assert merges == 4 + 21


def test_a_merge_keeps_the_existing_lead_and_records_the_import_row(
    node_store: NodeStore, node_config: NodeConfig
) -> None:
    _import(node_store, node_config, "leads-utf8-bom.csv")

    with node_store.read() as conn:
        lead = conn.exec_driver_sql("select id, name, channel from leads where phone = '13800138000'").one()
        detail = conn.exec_driver_sql(
            "select detail from lead_history where lead_id = ? and kind = 'import_merge'", (lead.id,)).scalar_one()
    assert (lead.name, lead.channel) == ("张伟", "douyin")
    assert '"row": 7' in detail and '"name": "杨磊"' in detail and "张伟的同学" in detail  # line 7 of the file
    assert '"how": "other_name"' in detail


def test_campaigns_named_in_the_file_are_created_once(node_store: NodeStore, node_config: NodeConfig) -> None:
    _import(node_store, node_config, "leads.xlsx")

    with node_store.read() as conn:
        names = conn.exec_driver_sql("select name from campaigns order by name").scalars().all()
    assert names == ["国庆地推", "暑期体验课"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("2012-05-03", "2012-05-03"), ("2011/7/9", "2011-07-09"), ("2010年3月5日", "2010-03-05"),
     ("20100305", "2010-03-05"), ("2010.3.5", "2010-03-05"), (date(2012, 5, 3), "2012-05-03"), ("", None)],
)
def test_birthdays_typed_many_ways_are_stored_as_iso_dates(typed: object, stored: str | None) -> None:
    assert parse_birthday(typed, TODAY) == stored


@pytest.mark.parametrize("typed", ["2035-01-01", "2026-11-25", "1899-12-31", "2010-02-30", "next spring"])
def test_impossible_birthdays_are_refused(typed: str) -> None:
    with pytest.raises(ValueError):
        parse_birthday(typed, TODAY)


def test_ten_thousand_rows_with_bad_phones_and_duplicates_get_exact_counts(
    node_store: NodeStore, node_config: NodeConfig, tmp_path: Path
) -> None:
    lines, unique = ["姓名,手机号,来源渠道"], []
    for k in range(10_000):
        if k % 20 == 7:  # 5%: one digit short
            phone = f"139{k:07d}"
        elif k % 10 == 3:  # 10%: the phone of a lead an earlier row created
            phone = unique[len(unique) // 2]
        else:
            phone = f"139{k:08d}"
            unique.append(phone)
        lines.append(f"学员{k},{phone},抖音")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines), encoding="utf-8-sig")

    with path.open("rb") as stream:
        report = import_leads(node_store, _on_today(node_config), CLI, stream, "big.csv")

    assert report.counts() == {"rows": 10_000, "created": 8_500, "merged": 1_000, "rejected": 500, "skipped": 0,
                               "blank": 0}
    rejected = [r for r in report.results() if r.outcome == "rejected"]
    assert {(r.field, r.reason) for r in rejected} == {("phone", "a mobile number has 11 digits and starts with 13-19")}
    assert [r.line for r in rejected][:3] == [9, 29, 49]  # the header is line 1
    with node_store.read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == 8_500
    assert node_store.verify_log()[0] == 3 + 8_500 + 1_000 + 1  # campus, first admin and role; leads; merges; audit
    with node_store.read() as conn:
        numbers = conn.exec_driver_sql("select number from leads order by number").scalars().all()
    assert numbers[0] == "BJ01-L-000001" and numbers[-1] == "BJ01-L-008500"  # numbered in one block, no gaps


def test_import_over_the_api_returns_every_row_result(node_client) -> None:  # type: ignore[no-untyped-def]
    with (DATA / "leads.xlsx").open("rb") as upload:
        response = node_client.post("/api/v1/leads/import", files={"file": ("leads.xlsx", upload)})

    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["merged"], body["rejected"]) == (17, 4, 7)
    assert body["results"][25] == {"row": 27, "name": "蒋欣", "outcome": "rejected", "number": None,
                                   "lead_id": None, "field": "campus", "how": None,
                                   "reason": "row is for campus XX99, this import is for BJ01"}


def test_import_of_a_file_without_name_and_phone_columns_is_refused_naming_the_file(node_client) -> None:  # type: ignore[no-untyped-def]
    response = node_client.post("/api/v1/leads/import", files={"file": ("x.csv", b"a,b\n1,2\n")})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert node_client.get("/api/v1/leads").json()["total"] == 0


def test_import_cli_prints_the_totals(node_config: NodeConfig) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "campus", "import", "leads", str(DATA / "leads-gbk.csv"),
                           "--dir", str(node_config.directory)], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "28 rows: 17 created, 4 merged into an existing lead by phone, 7 rejected" in " ".join(done.stdout.split())
