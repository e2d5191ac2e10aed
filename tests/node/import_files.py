"""Spreadsheet files as schools send them, made by the tests (and the import bench) themselves."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

LEAD_HEADER = ["姓名", "手机号", "渠道来源", "意向课程", "创建时间", "备注"]
STUDENT_HEADER = ["学员姓名", "手机号", "家长姓名", "关系", "家长电话", "年级", "课程", "上课方式", "剩余课时",
                  "剩余赠送课时", "剩余金额", "单价", "有效期", "校区"]
COURSES = [("数学", "小班", Decimal("180")), ("英语", "一对一", Decimal("300")), ("编程", "网课", Decimal("150"))]


def lead_rows(count: int, start: int = 0) -> list[list[Any]]:
    """Distinct leads with a channel, an intended course and a creation time (columns the import
    does not know: they are kept in the notes)."""
    return [[f"学员{k}", f"139{k:08d}", "抖音" if k % 3 else "百度", "编程" if k % 2 else "数学",
             f"2026-10-{k % 28 + 1:02d}", "" if k % 5 else "想周末上课"] for k in range(start, start + count)]


def student_rows(count: int, campus: str = "BJ01") -> list[list[Any]]:
    """``count`` students, every third with a second course: hours with halves, values to the fen."""
    rows = []
    for k in range(count):
        for course, delivery, price in COURSES[: 2 if k % 3 == 0 else 1]:
            paid = Decimal(k % 40 + 1) + (Decimal("0.5") if k % 4 == 0 else 0)
            value = (paid * price * Decimal("0.9")).quantize(Decimal("0.01"))
            rows.append([f"学员{k:04d}", f"137{k:08d}", f"家长{k:04d}", "妈妈" if k % 2 else "爸爸", f"136{k:08d}",
                         "初二", course, delivery, str(paid), str(k % 3), str(value), str(price), "2027-08-31", campus])
    return rows


def write_csv(path: Path, header: Sequence[Any], rows: Iterable[Sequence[Any]], encoding: str = "utf-8-sig",
              delimiter: str = ",", title: str | None = None) -> Path:
    lines = [title] if title else []
    lines += [delimiter.join(str(c) for c in header)] + [delimiter.join("" if c is None else str(c) for c in row)
                                                       for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def xlsx_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]], title: str | None = None,
               dimension: str | None = None) -> bytes:
    """A workbook as openpyxl writes it; ``dimension`` rewrites the declared ``<dimension ref>``
    (as some writers get it wrong)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    if dimension is None:
        return data
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), content)
            rewritten.writestr(item, content)
    return target.getvalue()
