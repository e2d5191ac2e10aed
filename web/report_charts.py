"""Report charts as server-side SVG: horizontal bars and the weekday × hour heatmap.

Written by hand rather than with a charting library: two chart kinds of a few dozen lines each,
markup that references nothing outside itself (no script, no stylesheet, no font or image to
fetch), and colours as presentation attributes, so the pages' Content-Security-Policy (no inline
script, no inline style) holds and the charts render with no network at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Any

from markupsafe import Markup

BAR_HEIGHT = 22
LABEL_WIDTH = 220
BAR_WIDTH = 420
VALUE_WIDTH = 110
CELL = 26
BLUE = "#2f6fb0"


def format_value(value: int | None, unit: str) -> str:
    """How a figure reads: fen as yuan, basis points as a percentage, hundredths as hours."""
    if value is None:
        return "—"
    if unit == "fen":
        return f"¥{Decimal(value).scaleb(-2):.2f}"
    if unit == "bp":
        return f"{Decimal(value).scaleb(-2):.2f}%"
    if unit == "hours":
        return f"{Decimal(value).scaleb(-2):.2f}"
    return str(value)


def _text(x: float, y: float, content: str, anchor: str = "start", size: int = 12, fill: str = "#222") -> str:
    return (f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
            f"{escape(content)}</text>")


def bar_chart(title: str, rows: Sequence[tuple[str, int | None]], unit: str) -> Markup:
    """One bar per (label, value), longest for the largest value; negative values draw as none."""
    shown = list(rows)[:30]
    top = max([v for _label, v in shown if v] + [1])
    height = 30 + BAR_HEIGHT * max(len(shown), 1) + 10
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
             _text(0, 16, title, size=14)]
    for index, (label, value) in enumerate(shown):
        y = 30 + index * BAR_HEIGHT
        length = max(int(BAR_WIDTH * max(value or 0, 0) / top), 0)
        parts.append(_text(LABEL_WIDTH - 6, y + 15, label[:24], anchor="end"))
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length}" height="{BAR_HEIGHT - 6}" '
                     f'fill="{BLUE}"/>')
        parts.append(_text(LABEL_WIDTH + length + 6, y + 15, format_value(value, unit)))
    if not shown:
        parts.append(_text(LABEL_WIDTH, 45, "—"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _shade(value: int, top: int) -> str:
    """White for nothing, deepening to the chart blue for the largest cell."""
    if value <= 0 or top <= 0:
        return "#f4f6f8"
    share = min(value / top, 1.0)
    red, green, blue = (int(244 + (end - 244) * share) for end in (47, 111, 176))
    return f"#{red:02x}{green:02x}{blue:02x}"


def heatmap(title: str, weekdays: Sequence[str], hours: Sequence[int], grid: Sequence[Sequence[int | None]],
            unit: str) -> Markup:
    """A cell per weekday (rows) and hour (columns), shaded by its value."""
    left, top_margin = 48, 40
    width = left + CELL * len(hours) + 10
    height = top_margin + CELL * len(weekdays) + 10
    top = max([v for row in grid for v in row if v] + [0])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
             _text(0, 16, title, size=14)]
    for column, hour in enumerate(hours):
        parts.append(_text(left + column * CELL + CELL / 2, top_margin - 6, f"{hour:02d}", anchor="middle", size=10))
    for row_index, (weekday, row) in enumerate(zip(weekdays, grid, strict=True)):
        y = top_margin + row_index * CELL
        parts.append(_text(left - 6, y + CELL / 2 + 4, weekday, anchor="end", size=11))
        for column, value in enumerate(row):
            x = left + column * CELL
            parts.append(f'<rect x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" '
                         f'fill="{_shade(value or 0, top)}"><title>{escape(weekday)} {hours[column]:02d}:00 '
                         f'{escape(format_value(value, unit))}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))


def render_chart(chart: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any]],
                 translate: Callable[[str], str] = lambda text: text) -> Markup:
    """A report's chart from its JSON: a bar chart reads its rows from the table it names."""
    if chart["kind"] == "heatmap":
        return heatmap(translate(chart["title"]), [translate(d) for d in chart["weekdays"]], chart["hours"],
                       chart["grid"], chart["unit"])
    table = tables.get(chart["table"], {"rows": []})
    rows = [((f"{translate(str(row[chart['prefix']]))} · " if chart.get("prefix") else "")
             + translate(str(row.get(chart["label"]) or "—")), row.get(chart["value"])) for row in table["rows"]]
    return bar_chart(translate(chart["title"]), rows, chart["unit"])
