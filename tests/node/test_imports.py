"""Lead imports of the files new schools bring, through the use case, the API, the screens and the
command line: nothing silently dropped, every row reported by its line, every import audited."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.crm.use_cases import import_leads
from campus.node.imports import screens as import_screens
from campus.node.store import NodeStore
from campus.schema.context import Actor
from campus.web.spreadsheets import parse_mapping
from tests.node.import_files import LEAD_HEADER, lead_rows, write_csv, xlsx_bytes

CLI = Actor.machine("cli:test")


def _ctx(config: NodeConfig) -> NodeContext:
    return NodeContext.of(config, clock=lambda: datetime(2026, 11, 24, 4, tzinfo=UTC))


def _import(store: NodeStore, config: NodeConfig, data: bytes, name: str, mapping: str | None = None,
            mode: str = "rows"):  # type: ignore[no-untyped-def]
    return import_leads(store, _ctx(config), CLI, io.BytesIO(data), name,
                        parse_mapping(mapping) if mapping else None, mode=mode)


def _leads(store: NodeStore) -> dict[str, tuple[str, str | None, str | None]]:
    with store.read() as conn:
        return {r.name: (r.phone, r.channel, r.notes) for r in conn.exec_driver_sql(
            "select name, phone, channel, notes from leads")}


def _audits(store: NodeStore) -> list[tuple[str, dict]]:
    with store.read() as conn:
        return [(r.action, json.loads(r.after)) for r in conn.exec_driver_sql(
            "select action, after from audit_events where action like 'leads_import%' order by at, id")]


def test_unrecognised_columns_are_kept_in_notes_and_a_synonym_channel_is_read(node_store: NodeStore,
                                                                               node_config: NodeConfig) -> None:
    data = "\r\n".join([",".join(LEAD_HEADER)] + [",".join(r) for r in lead_rows(3)]).encode("utf-8")

    report = _import(node_store, node_config, data, "crm.csv")

    assert report.counts()["created"] == 3
    assert _leads(node_store)["学员0"] == ("13900000000", "baidu", "想周末上课; 意向课程: 数学; 创建时间: 2026-10-01")
    assert _leads(node_store)["学员1"] == ("13900000001", "douyin", "意向课程: 编程; 创建时间: 2026-10-02")


def test_columns_ignored_by_the_mapping_file_stay_out_of_the_notes(node_store: NodeStore,
                                                                   node_config: NodeConfig) -> None:
    data = "\r\n".join([",".join(LEAD_HEADER)] + [",".join(r) for r in lead_rows(2)]).encode("utf-8")

    _import(node_store, node_config, data, "crm.csv", 'unmapped = "ignore"\n[columns]\n"意向课程" = "keep"\n')

    assert _leads(node_store)["学员1"] == ("13900000001", "douyin", "意向课程: 编程")


def test_a_title_row_a_totals_row_and_blank_lines_are_told_apart_and_lines_match_the_sheet(
        node_store: NodeStore, node_config: NodeConfig, tmp_path: Path) -> None:
    rows = [["张伟", "13800138000", "抖音"], ["", "", ""], ["李娜", "13800040000.0", "百度"], ["合计", "2", ""]]
    path = write_csv(tmp_path / "export.csv", ["姓名", "手机", "来源渠道"], rows, title="客户名单 2026-11")

    report = _import(node_store, node_config, path.read_bytes(), path.name)

    results = [(r.line, r.name, r.outcome, r.reason) for r in report.results()]
    assert results == [(3, "张伟", "created", None), (5, "李娜", "created", None), (6, "合计", "skipped", "totals row")]
    assert report.counts() == {"rows": 3, "created": 2, "merged": 0, "rejected": 0, "skipped": 1, "blank": 1}
    assert _leads(node_store)["李娜"][0] == "13800040000"  # a phone that went through a float


def test_an_xlsx_that_declares_a1_as_its_dimension_imports_every_row(node_store: NodeStore,
                                                                     node_config: NodeConfig) -> None:
    data = xlsx_bytes(["姓名", "手机号"], [[f"学员{k}", 13900000000 + k] for k in range(40)], title="导出",
                      dimension="A1")

    report = _import(node_store, node_config, data, "export.xlsx")

    assert report.counts()["created"] == 40 and [r.line for r in report.results()][:2] == [3, 4]


def test_gb18030_names_outside_gbk_arrive_intact(node_store: NodeStore, node_config: NodeConfig) -> None:
    data = "姓名,手机\n王𠮷,13800138000\n李䶮,13900139000\n".encode("gb18030")

    _import(node_store, node_config, data, "gb.csv")

    assert set(_leads(node_store)) == {"王𠮷", "李䶮"}


def test_a_damaged_byte_rejects_its_line_only_and_the_import_is_audited(node_store: NodeStore,
                                                                        node_config: NodeConfig) -> None:
    text = "姓名,手机\n" + "".join(f"学员{k},139{k:08d}\n" for k in range(2000))
    data = text.encode("utf-8").replace("学员1500,".encode(), "学员1500".encode()[:-1] + b"\xff,")

    report = _import(node_store, node_config, data, "damaged.csv")

    rejected = [r for r in report.results() if r.outcome == "rejected"]
    assert report.counts()["created"] == 1999 and [(r.line, r.field) for r in rejected] == [(1502, "name")]
    assert "not valid UTF-8" in rejected[0].reason
    assert [(action, after["created"], after["rejected"]) for action, after in _audits(node_store)] == [
        ("leads_imported", 1999, 1)]


def test_all_or_nothing_writes_nothing_when_a_row_is_rejected(node_store: NodeStore, node_config: NodeConfig) -> None:
    data = "姓名,手机\n张伟,13800138000\n李娜,12345\n".encode()

    report = _import(node_store, node_config, data, "strict.csv", mode="all")

    assert report.refused and not report.written and _leads(node_store) == {}
    assert [(r.line, r.outcome) for r in report.results()] == [(2, "created"), (3, "rejected")]  # what would be
    assert _audits(node_store)[0][1]["written"] is False


def test_a_sibling_on_a_parents_phone_is_merged_and_said_to_have_another_name(node_store: NodeStore,
                                                                             node_config: NodeConfig) -> None:
    data = "姓名,手机\n张伟,13800138000\n张丽,13800138000\n张伟,13800138000\n".encode()

    report = _import(node_store, node_config, data, "siblings.csv")

    assert [(r.outcome, r.how) for r in report.results()] == [("created", None), ("merged", "other_name"),
                                                              ("merged", "same_name")]
    assert "张伟" in (list(report.results())[1].reason or "")


def test_the_import_applies_the_apis_lengths(node_store: NodeStore, node_config: NodeConfig,
                                             node_client: TestClient) -> None:
    data = f"姓名,手机,渠道\n张伟,13800138000,{'渠' * 33}\n{'长' * 101},13900139000,\n".encode()
    api = node_client.post("/api/v1/leads", json={"name": "王五", "phone": "13700137000", "channel": "渠" * 33})

    report = _import(node_store, node_config, data, "long.csv")

    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "channel"
    assert [(r.outcome, r.field) for r in report.results()] == [("rejected", "channel"), ("rejected", "name")]


def test_a_file_that_cannot_be_read_is_a_422_naming_the_file_and_is_audited(node_client: TestClient,
                                                                             node_config: NodeConfig) -> None:
    response = node_client.post("/api/v1/leads/import", files={"file": ("old.xls", b"\xd0\xcf\x11\xe0" + bytes(600))})

    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "file"
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        assert [a for a, _ in _audits(store)] == ["leads_import_failed"]
    finally:
        store.close()


def test_a_utf16_file_named_csv_imports_over_the_api_and_the_screen(node_client: TestClient) -> None:
    data = "姓名\t手机\t渠道\n张伟\t13800138000\t抖音\n李娜\t13900139000\t百度\n".encode("utf-16")

    api = node_client.post("/api/v1/leads/import", files={"file": ("unicode.csv", data)})
    token = re.search(r'name="csrf_token" value="([^"]+)"', node_client.get("/leads/import").text).group(1)
    preview = node_client.post("/leads/import", data={"csrf_token": token},
                               files={"file": ("unicode.csv", data.replace("张伟".encode("utf-16-le"),
                                                                           "王芳".encode("utf-16-le")))})

    assert api.status_code == 201 and (api.json()["created"], api.json()["encoding"]) == (2, "UTF-16")
    assert preview.status_code == 200 and "UTF-16" in preview.text and "王芳" in preview.text


def test_the_api_dry_run_writes_nothing_and_predicts_each_row(node_client: TestClient) -> None:
    node_client.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"})
    data = "姓名,电话\n张伟,13800138000\n李娜,13900139000\n".encode()

    dry = node_client.post("/api/v1/leads/import", files={"file": ("x.csv", data)}, data={"dry_run": "true"})

    assert dry.status_code == 200 and dry.json()["written"] is False
    assert [(r["outcome"], r["row"]) for r in dry.json()["results"]] == [("merged", 2), ("created", 3)]
    assert node_client.get("/api/v1/leads").json()["total"] == 1


def test_the_screen_maps_by_choice_previews_and_reports_with_a_rejected_file_to_import_again(
        node_client: TestClient) -> None:
    data = "客户名称,电话,创建时间\n张伟,13800138000,2026-10-01\n赵敏,12345,2026-10-02\n".encode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', node_client.get("/leads/import").text).group(1)

    preview = node_client.post("/leads/import", data={"csrf_token": token}, files={"file": ("crm.csv", data)})
    path = str(preview.url.path)
    chosen = {"csrf_token": token, "shown_line": "1", "header_line": "1", "col_A": "name", "col_B": "phone",
              "col_C": "ignore", "mode": "rows"}
    again = node_client.post(path, data={**chosen, "action": "preview"})
    done = node_client.post(path, data={**chosen, "action": "import"})
    rejected = node_client.get(f"{path}/rejected.xlsx")

    assert "保留到备注" in preview.text and "导入为" in preview.text  # the column is kept by default
    assert 'value="ignore" selected' in again.text
    assert "共 2 行:新建 1,合并 0,拒绝 1" in done.text and done.text.count('class="outcome-rejected"') == 1
    rows = list(load_workbook(io.BytesIO(rejected.content)).active.iter_rows(values_only=True))
    assert rows[1][1:] == ("赵敏", "12345", "2026-10-02")
    assert node_client.get("/api/v1/leads").json()["items"][0]["notes"] is None


def test_a_large_file_imports_in_the_background_and_the_page_shows_its_progress(
        node_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_screens, "SYNC_BYTES", 0)
    data = "\r\n".join([",".join(LEAD_HEADER)] + [",".join(r) for r in lead_rows(3000)]).encode("utf-8")
    token = re.search(r'name="csrf_token" value="([^"]+)"', node_client.get("/leads/import").text).group(1)
    preview = node_client.post("/leads/import", data={"csrf_token": token}, files={"file": ("big.csv", data)})

    started = node_client.post(str(preview.url.path), data={"csrf_token": token, "action": "import", "mode": "rows"},
                               follow_redirects=False)
    pages = []
    for _ in range(200):
        pages.append(node_client.get(started.headers["location"]))
        if 'id="import-totals"' in pages[-1].text:
            break
        time.sleep(0.05)

    assert started.status_code == 303
    assert "共 3000 行:新建 3000,合并 0,拒绝 0" in pages[-1].text
    assert all(p.headers.get("refresh") == "2" and "<progress" in p.text for p in pages[:-1])


def test_the_command_line_dry_run_prints_the_mapping_and_first_rows_and_writes_nothing(
        node_config: NodeConfig, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "crm.csv", ["客户名称", "电话", "意向课程"], [["张伟", "13800138000", "编程"]],
                     title="客户名单")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"客户名称" = "name"\n"意向课程" = "ignore"\n', encoding="utf-8")

    done = subprocess.run([sys.executable, "-m", "campus", "import", "leads", str(path), "--dir",
                           str(node_config.directory), "--mapping", str(mapping), "--dry-run"],
                          capture_output=True, text=True, timeout=120)

    out = " ".join(done.stdout.split())
    assert done.returncode == 0, done.stderr
    assert "header on line 2" in out and "ignored" in out and "张伟" in out and "13800138000" in out
    assert "1 rows: 1 created" in out and "dry run: nothing was written" in out
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        assert _leads(store) == {} and _audits(store) == []
    finally:
        store.close()
