"""``campus node export``: every business table, readable columns, exact amounts, no formula can
run in a spreadsheet, no password hash leaves, and the export is audited."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from starlette.testclient import TestClient

from campus.cli import main
from campus.node.config import NodeConfig
from campus.node.ops.export import business_tables
from campus.node.store import NodeStore
from campus.schema.tables import audit_events

FORMULA = '=HYPERLINK("http://evil.example","点我")'


@pytest.fixture
def school(node_client: TestClient) -> TestClient:
    item = node_client.post("/api/v1/price-list/items", json={"grade": "初二", "subject": "数学", "level": "提高",
                                                              "delivery": "small_class", "unit_price_fen": 18050})
    assert item.status_code == 201, item.text
    lead = node_client.post("/api/v1/leads", json={"name": FORMULA, "phone": "13800138000", "notes": "+1 来电"})
    assert lead.status_code == 201, lead.text
    return node_client


def _csv(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def test_csv_export_holds_every_business_table_with_readable_columns_and_no_formula(
        school: TestClient, node_config: NodeConfig, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    assert main(["node", "export", "--dir", str(node_config.directory), "--to", str(folder)]) == 0

    listing = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    assert {t["table"] for t in listing["tables"]} == {t.name for t in business_tables()}
    assert all((folder / t["file"]).exists() for t in listing["tables"])
    (lead,) = _csv(folder, "leads")
    assert lead["Name"] == "'" + FORMULA and lead["Notes"] == "'+1 来电"  # shown as typed, never evaluated
    assert lead["Phone"] == "13800138000" and lead["Created at"].endswith("Z")
    (price,) = _csv(folder, "price_items")
    assert price["Unit price (yuan)"] == "180.50"
    users = _csv(folder, "users")
    assert users and "Password hash" not in users[0] and not any("argon2" in v for u in users for v in u.values())
    columns = {c["column"]: c for t in listing["tables"] if t["table"] == "price_items" for c in t["columns"]}
    assert columns["unit_price_fen"] == {"name": "Unit price (yuan)", "column": "unit_price_fen", "unit": "yuan"}

    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.read() as conn:
            (event,) = conn.execute(select(audit_events).where(audit_events.c.action == "data_exported")).mappings()
    finally:
        store.close()
    assert event["username"].startswith("cli:")
    assert json.loads(event["after"]) == {"folder": str(folder.resolve()), "format": "csv",
                                          "tables": len(listing["tables"]), "rows": sum(t["rows"] for t in
                                                                                        listing["tables"])}


def test_xlsx_and_json_exports_keep_text_as_text_and_amounts_exact(school: TestClient, node_config: NodeConfig,
                                                                    tmp_path: Path) -> None:
    assert main(["node", "export", "--dir", str(node_config.directory), "--to", str(tmp_path / "x"),
                 "--format", "xlsx"]) == 0
    book = load_workbook(tmp_path / "x" / "leads.xlsx")
    header, row = list(book.active.iter_rows())
    lead = {h.value: cell for h, cell in zip(header, row, strict=True)}
    assert (lead["Name"].value, lead["Name"].data_type) == (FORMULA, "s")  # text shown as typed, never a formula
    assert lead["Name"].quotePrefix
    book.close()
    book = load_workbook(tmp_path / "x" / "price_items.xlsx", read_only=True)
    header, row = list(book.active.iter_rows(values_only=True))
    assert dict(zip(header, row, strict=True))["Unit price (yuan)"] == pytest.approx(180.50)
    book.close()

    assert main(["node", "export", "--dir", str(node_config.directory), "--to", str(tmp_path / "j"),
                 "--format", "json"]) == 0
    (lead,) = json.loads((tmp_path / "j" / "leads.json").read_text(encoding="utf-8"))
    assert lead["Name"] == FORMULA  # JSON is data, not a sheet: kept exactly
    (price,) = json.loads((tmp_path / "j" / "price_items.json").read_text(encoding="utf-8"))
    assert price["Unit price (yuan)"] == "180.50" and price["Active"] is True


def test_export_refuses_a_folder_that_holds_files(node_config: NodeConfig, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    assert main(["node", "export", "--dir", str(node_config.directory), "--to", str(tmp_path / "out")]) == 2
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["notes.txt"]
