"""Reading spreadsheets as schools send them, and writing ones that cannot carry a formula: the
pure rules of campus.web.spreadsheets, by tables of cases, on files the tests make."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from campus.web.spreadsheets import (
    ERROR_HEADER,
    IGNORE,
    KEEP,
    Field,
    MappingChoice,
    Spool,
    SpreadsheetInvalid,
    csv_bytes,
    data_rows,
    detect_encoding,
    find_layout,
    is_totals,
    open_sheet,
    parse_mapping,
    read_rows,
    rejected_workbook,
    sniff_delimiter,
    workbook_bytes,
)
from tests.node.import_files import xlsx_bytes

FIELDS = [Field("name", "Name", ("姓名", "学员姓名"), required=True),
          Field("phone", "Phone", ("手机", "手机号", "联系电话", "电话"), required=True),
          Field("channel", "Channel", ("渠道", "来源", "渠道来源", "来源渠道"))]
TEXT = "姓名,手机号,渠道来源\n张伟,13800138000,抖音\n李娜,13900139000,百度\n" * 50


def _sheet(data: bytes, name: str = "x.csv"):  # type: ignore[no-untyped-def]
    return open_sheet(io.BytesIO(data), name)


@pytest.mark.parametrize(("data", "expected"), [
    (TEXT.encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
    (TEXT.encode("utf-16"), "utf-16"),  # Excel's "Unicode text": a BOM, then UTF-16LE
    (TEXT.encode("utf-16-le"), "utf-16-le"),  # no BOM: the zero bytes tell
    (TEXT.encode("utf-16-be"), "utf-16-be"),
    (TEXT.encode("gbk"), "gb18030"),
    ("姓名,备注\n王𠮷,䶮\n".encode("gb18030"), "gb18030"),  # characters outside GBK
    (TEXT.encode("utf-8")[:40] + b"\xff" + TEXT.encode("utf-8")[40:], "utf-8"),  # one damaged byte, early
    (b"name,phone\n", "utf-8"),
])
def test_the_encoding_comes_from_the_bytes(data: bytes, expected: str) -> None:
    assert detect_encoding(data, complete=True) == expected


@pytest.mark.parametrize(("sample", "delimiter"), [
    ("a,b,c\n1,2,3\n", ","), ("a\tb\tc\n1\t2,5\t3\n", "\t"), ("a;b;c\n1;2;3\n", ";"), ("name\nx\n", ","),
])
def test_the_delimiter_is_read_off_the_text(sample: str, delimiter: str) -> None:
    assert sniff_delimiter(sample) == delimiter


@pytest.mark.parametrize(("cells", "totals"), [
    (("合计", "", "12"), True), (("", "总计：", 3), True), (("Total", 5), True), (("小计(3人)",), True),
    (("张伟", "13800138000"), False), ((None, 12, "合计"), False), (("合作方",), False),
])
def test_totals_rows_are_told_by_their_first_filled_cell(cells: tuple[object, ...], totals: bool) -> None:
    assert is_totals(cells) is totals


def test_a_title_row_above_the_header_is_passed_over() -> None:
    data = "2026年11月 客户名单（内部）\n\n姓名,联系电话,来源渠道\n张伟,13800138000,抖音\n".encode()

    layout = find_layout(_sheet(data), FIELDS)

    assert (layout.header_line, layout.targets) == (3, ("name", "phone", "channel"))


def test_unrecognised_columns_are_kept_or_ignored_by_choice_and_a_mapping_file_renames() -> None:
    data = "客户名称,电话,意向课程,创建时间\n张伟,13800138000,编程,2026-10-01\n".encode()
    choice = parse_mapping('unmapped = "keep"\n[columns]\n"客户名称" = "name"\n"创建时间" = "ignore"\n')

    layout = find_layout(_sheet(data), FIELDS, choice)
    values, kept = layout.values(next(row for kind, row in data_rows(_sheet(data), layout) if kind == "row").cells)

    assert layout.targets == ("name", "phone", KEEP, IGNORE)
    assert values == {"name": "张伟", "phone": "13800138000"} and kept == [("意向课程", "编程")]


@pytest.mark.parametrize(("mapping", "fault"), [
    ('[columns]\n"没有这列" = "name"\n', "no column"),
    ('[columns]\n"电话" = "birthday"\n', "becomes one of"),
    ('[columns]\n"客户名称" = "phone"\n"电话" = "phone"\n', "more than one column"),
    ('unmapped = "drop"\n', "unmapped"),
    ('header_line = 0\n', "header_line"),
    ('[columns\n', "not TOML"),
])
def test_a_wrong_mapping_is_refused_naming_what_is_wrong(mapping: str, fault: str) -> None:
    data = "客户名称,电话\n张伟,13800138000\n".encode()

    with pytest.raises(SpreadsheetInvalid) as refused:
        find_layout(_sheet(data), FIELDS, parse_mapping(mapping))

    assert refused.value.field == "mapping" and fault in refused.value.detail


def test_an_xlsx_is_read_whatever_dimension_it_declares_with_numbers_dates_and_line_numbers() -> None:
    rows = [["张伟", 13800138000, datetime(2012, 5, 3)], [None, None, None], ["李娜", 13900139000.0, None]]
    data = xlsx_bytes(["姓名", "手机", "生日"], rows, title="导出", dimension="A1")

    read = list(_sheet(data, "x.xlsx").rows())

    assert [row.line for row in read if any(c not in (None, "") for c in row.cells)] == [1, 2, 3, 5]
    assert read[2].cells == ("张伟", 13800138000, datetime(2012, 5, 3))
    assert read[-1].cells[:2] == ("李娜", 13900139000)


def test_a_utf16_tab_separated_file_named_csv_reads_like_any_other() -> None:
    data = "姓名\t手机\n张伟\t13800138000\n".encode("utf-16")

    sheet = _sheet(data, "unicode.csv")

    assert (sheet.encoding, sheet.delimiter) == ("utf-16", "\t")
    assert [row.cells for row in sheet.rows()] == [("姓名", "手机"), ("张伟", "13800138000")]


def test_a_damaged_line_is_marked_and_the_old_readers_refuse_the_file_naming_it() -> None:
    good = "姓名,手机\n" + "".join(f"学员{k},139{k:08d}\n" for k in range(30))
    data = good.encode("utf-8").replace("学员7,".encode(), "学员7".encode()[:-1] + b"\xff,")

    sheet = _sheet(data)
    damaged = [row.line for row in sheet.rows() if row.damaged]

    assert sheet.encoding == "utf-8" and damaged == [9]
    with pytest.raises(SpreadsheetInvalid, match="line 9"):
        list(read_rows(io.BytesIO(data), "x.csv", {"name": {"姓名"}, "phone": {"手机"}}, {"name", "phone"}))


@pytest.mark.parametrize(("data", "name", "fault"), [
    (b"", "x.csv", "empty"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.xls", "save it as .xlsx"),
    (b"PK\x03\x04 not a zip at all", "x.xlsx", "not a readable .xlsx"), (b"\x00\x01\x02\x03abc" * 20, "x.csv", "neither"),
])
def test_what_is_no_spreadsheet_is_refused_saying_what_it_is(data: bytes, name: str, fault: str) -> None:
    with pytest.raises(SpreadsheetInvalid, match=fault):
        _sheet(data, name)


def test_a_spool_gives_back_what_it_was_given_in_order_across_its_file() -> None:
    spool: Spool[tuple[int, str]] = Spool(batch=7, in_memory_bytes=64)
    for k in range(100):
        spool.append((k, f"行{k}"))

    assert list(spool) == [(k, f"行{k}") for k in range(100)] == list(spool) and len(spool) == 100


# --- writing ---------------------------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil\",\"点我\")", "+86 138", "-1+2", "@SUM(A1)", "\tTAB", "\rCR", "=1+1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_looking_text_is_written_to_xlsx_as_text_and_numbers_stay_numbers(text: str) -> None:
    book = load_workbook(io.BytesIO(workbook_bytes([("s", ["名字", "数"], [[text, -5], [text, 12.5]])])))
    name, number = book.active["A2"], book.active["B2"]

    assert (name.value, name.data_type, name.quotePrefix) == (text.replace("\r", "\n"), "s", True)  # XML reads CR as LF
    assert (number.value, number.data_type) == (-5, "n") and book.active["B3"].value == 12.5


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_looking_text_gets_an_apostrophe_in_csv_and_numbers_do_not(text: str) -> None:
    rows = list(csv.reader(io.StringIO(csv_bytes(["名字", "数"], [[text, -5]]).decode("utf-8-sig"))))

    assert rows[1] == ["'" + text, "-5"]


@given(st.text(max_size=40))
def test_any_text_comes_back_from_the_xlsx_as_text_never_as_a_formula(text: str) -> None:
    cell = load_workbook(io.BytesIO(workbook_bytes([("s", ["x"], [[text]])]))).active["A2"]

    assert cell.data_type != "f"


def test_the_rejected_rows_file_leads_with_the_reason_and_keeps_numbers_as_numbers() -> None:
    content = rejected_workbook(["姓名", "手机"], [(("=evil()", 12345), "phone: too short")])
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))

    assert rows == [(ERROR_HEADER, "姓名", "手机"), ("phone: too short", "=evil()", 12345)]
    assert find_layout(_sheet(content, "r.xlsx"), FIELDS, MappingChoice()).targets[0] == IGNORE
