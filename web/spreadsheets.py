"""Spreadsheets in and out, as people actually send and open them.

Reading (every import: leads, students, prices, bank statements) goes through :class:`Sheet`:

* what the file is comes from its bytes, not its name: an ``.xlsx`` (a zip) or text; an old
  ``.xls`` is refused with the advice to save it as ``.xlsx``;
* text is decoded by what its bytes say: a UTF-8, UTF-16 or UTF-32 byte-order mark, UTF-16
  without one (its zero bytes), UTF-8, or else GB18030 (a superset of GBK and GB2312, with the
  characters outside GBK too). A UTF-8 file with a few damaged bytes stays UTF-8: the rows holding
  them are marked ``damaged`` (the bytes show as U+FFFD), and each import decides what a damaged
  row means (lead and student imports reject that row and import the rest; the older readers
  refuse the file naming the line). The delimiter (comma, tab, semicolon) is read off the text;
* an ``.xlsx`` sheet is streamed straight from its XML, never trusting the dimension the file
  declares (several writers set it to ``A1``), with shared strings, inline strings, booleans and
  date cells (by their number format) read as Excel shows them;
* every row carries its line number as the spreadsheet shows it (the record number of a CSV);
* :func:`find_layout` finds the header within the first :data:`HEADER_ROWS` rows (a title row
  above it is usual), maps each column to a field by the names it goes by, and marks each
  other column as kept in the record's notes or ignored; :func:`data_rows` then tells blank rows,
  totals rows (合计, 总计…) and repeated headers from the data rows.

Writing (every export and rejected-rows file) goes through :func:`append_safe` and :func:`csv_bytes`:
text that starts like a formula (``= + - @``, tab, carriage return) is written so that it
cannot evaluate, while numbers stay numbers (OWASP's CSV-injection guidance).
"""

from __future__ import annotations

import codecs
import csv
import io
import pickle
import re
import shutil
import tempfile
import tomllib
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from typing import IO, Any, Generic, TypeVar
from xml.etree import ElementTree
from xml.parsers import expat

from campus.schema.errors import Invalid

SNIFF_BYTES = 64 * 1024
HEADER_ROWS = 20  # the header is looked for among the first rows that are not blank
KEEP = "keep"  # an unmapped column, kept in the record's notes as "header: value"
IGNORE = "ignore"  # an unmapped column, left out on purpose
ERROR_HEADER = "导入错误 / Import error"  # the column a rejected-rows file adds; ignored when it comes back
TOTAL_WORDS = frozenset({"合计", "总计", "小计", "共计", "总数", "total", "totals", "grandtotal", "subtotal", "sum"})
TOTAL_PREFIXES = ("合计", "总计", "小计", "共计")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

T = TypeVar("T")


class SpreadsheetInvalid(Invalid):
    """The file as a whole cannot be read (unknown type, no header, a required column missing)."""


def cell_text(value: Any) -> str:
    """A cell as text: whole numbers without ``.0`` (a phone in a numeric cell), dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def header_key(text: Any) -> str:
    """A header as compared with the names a field goes by: width-folded, lower case, without
    spaces, asterisks, colons or a trailing (必填)."""
    folded = unicodedata.normalize("NFKC", cell_text(text)).strip().lower()
    folded = re.sub(r"[\s*:]+", "", folded)
    return re.sub(r"[(\[【](必填|选填|必选|可选|required|optional)[)\]】]$", "", folded)


# --- what the bytes are ------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def detect_encoding(head: bytes, complete: bool = False) -> str:
    """The text encoding of a file from its first bytes (``complete``: they are the whole file).

    A byte-order mark decides; then zero bytes at every other place mean UTF-16 without one; then
    UTF-8 if the bytes are UTF-8, or nearly so (at least ten well-formed non-ASCII characters for
    each damaged sequence: a damaged UTF-8 file, not GBK, which reads as UTF-8 almost nowhere);
    otherwise GB18030."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    sample = head[:4096]
    if b"\x00" in sample:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) // 8 and odd > 4 * even:
            return "utf-16-le"
        if even > len(sample) // 8 and even > 4 * odd:
            return "utf-16-be"
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=complete)
    damaged = text.count("\ufffd")
    if not damaged:
        return "utf-8"
    wide = sum(1 for ch in text if ch > "\x7f") - damaged
    return "utf-8" if wide >= 10 * damaged else "gb18030"


def encoding_label(encoding: str | None) -> str:
    return {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16LE",
            "utf-16-be": "UTF-16BE", "utf-32": "UTF-32", "gb18030": "GB18030/GBK"}.get(encoding or "", "xlsx")


def sniff_delimiter(sample: str) -> str:
    """Comma, tab, semicolon or bar: whichever separates the most of the first lines."""
    lines = [line for line in sample.splitlines()[:HEADER_ROWS * 2] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in (",", "\t", ";", "|"):
        counts = [line.count(delimiter) for line in lines]
        score = (sum(1 for c in counts if c), sum(counts))
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- rows ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row as read: its line number as the spreadsheet shows it and its cells. ``damaged``:
    some of its bytes were not valid in the file's encoding (shown as U+FFFD)."""

    line: int
    cells: tuple[Any, ...]
    damaged: bool = False


class Sheet:
    """An uploaded spreadsheet, read from the start each time :meth:`rows` is called."""

    def __init__(self, stream: IO[bytes], filename: str) -> None:
        self.filename = filename
        if not stream.seekable():
            spooled = tempfile.SpooledTemporaryFile(max_size=8 << 20)
            shutil.copyfileobj(stream, spooled)
            stream = spooled
        stream.seek(0)
        head = stream.read(SNIFF_BYTES)
        stream.seek(0)
        self.stream = stream
        self.encoding: str | None = None
        self.delimiter = ","
        self._xlsx: _Xlsx | None = None
        if not head.strip():
            raise SpreadsheetInvalid("file", f"{filename} is empty")
        if head.startswith(b"PK\x03\x04"):
            self.kind = "xlsx"
            self._xlsx = _Xlsx(stream, filename)
        elif head.startswith(b"\xd0\xcf\x11\xe0"):
            raise SpreadsheetInvalid("file", f"{filename} is an old Excel .xls workbook (or a password-protected "
                                             "one): open it in Excel or WPS and save it as .xlsx or .csv")
        else:
            self.kind = "csv"
            self.encoding = detect_encoding(head, complete=len(head) < SNIFF_BYTES)
            sample = head.decode(self.encoding, errors="replace")
            if "\x00" in sample:
                raise SpreadsheetInvalid("file", f"{filename} is neither a .csv text file nor an .xlsx workbook")
            self.delimiter = sniff_delimiter(sample)

    def rows(self) -> Iterator[RawRow]:
        """Every row of the file (the active sheet of a workbook), blank ones too, in order."""
        if self._xlsx is not None:
            return self._xlsx.rows()
        return self._text_rows()

    def _text_rows(self) -> Iterator[RawRow]:
        self.stream.seek(0)
        text = io.TextIOWrapper(self.stream, encoding=self.encoding or "utf-8", errors="replace", newline="")
        line = 0
        try:
            for line, cells in enumerate(csv.reader(text, delimiter=self.delimiter), 1):
                yield RawRow(line, tuple(cells), any("\ufffd" in cell for cell in cells))
        except csv.Error as exc:
            raise SpreadsheetInvalid("file", f"{self.filename}: line {line + 1} cannot be read: {exc}") from None
        finally:
            text.detach()  # the stream stays open for the next pass


def open_sheet(stream: IO[bytes], filename: str) -> Sheet:
    return Sheet(stream, filename)


# --- .xlsx, streamed -----------------------------------------------------------------------------------

_RELATIONSHIP_ID = re.compile(r"^\{[^}]*relationships\}id$")
_DATE_FORMAT_IDS = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].rpartition(":")[2]


def _column_index(ref: str) -> int:
    number = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            number = number * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            number = number * 26 + ord(ch) - 96
        else:
            break
    return number - 1


class _Xlsx:
    """The active sheet of a workbook, parsed as a stream of XML events (expat), with the shared
    strings and the date styles it needs; the dimension the file declares is never read."""

    def __init__(self, stream: IO[bytes], filename: str) -> None:
        self.filename = filename
        try:
            self.zip = zipfile.ZipFile(stream)
            names = set(self.zip.namelist())
            if "xl/workbook.xml" not in names:
                raise SpreadsheetInvalid("file", f"{filename} is a zip file but not an Excel workbook")
            self.sheet_path, date1904 = self._active_sheet(names)
            self.shared = self._shared_strings() if "xl/sharedStrings.xml" in names else []
            self.date_styles = self._date_styles() if "xl/styles.xml" in names else frozenset()
        except (zipfile.BadZipFile, ElementTree.ParseError, expat.ExpatError, KeyError) as exc:
            raise SpreadsheetInvalid("file", f"{filename} is not a readable .xlsx workbook: {exc}") from None
        from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

        self.epoch = MAC_EPOCH if date1904 else WINDOWS_EPOCH

    def _active_sheet(self, names: set[str]) -> tuple[str, bool]:
        book = ElementTree.fromstring(self.zip.read("xl/workbook.xml"))
        sheets, active, date1904 = [], 0, False
        for element in book.iter():
            tag = _local(element.tag)
            if tag == "sheet":
                sheets.append(next((v for k, v in element.attrib.items() if _RELATIONSHIP_ID.match(k)), ""))
            elif tag == "workbookView" and element.get("activeTab", "").isdigit():
                active = int(element.get("activeTab", "0"))
            elif tag == "workbookPr":
                date1904 = element.get("date1904", "").lower() in ("1", "true")
        targets = {}
        if "xl/_rels/workbook.xml.rels" in names:
            for rel in ElementTree.fromstring(self.zip.read("xl/_rels/workbook.xml.rels")).iter():
                if _local(rel.tag) == "Relationship":
                    target = rel.get("Target", "")
                    targets[rel.get("Id", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if not sheets:
            raise SpreadsheetInvalid("file", f"{self.filename} has no worksheet")
        chosen = targets.get(sheets[min(active, len(sheets) - 1)]) or targets.get(sheets[0]) or "xl/worksheets/sheet1.xml"
        if chosen not in names:
            raise SpreadsheetInvalid("file", f"{self.filename}: its worksheet {chosen} is missing")
        return chosen, date1904

    def _shared_strings(self) -> list[str]:
        strings: list[str] = []
        parts: list[str] = []
        state = {"text": False, "phonetic": 0}

        def start(name: str, _attrs: dict[str, str]) -> None:
            name = name.rpartition(":")[2]
            if name == "si":
                parts.clear()
            elif name == "rPh":
                state["phonetic"] += 1
            elif name == "t" and not state["phonetic"]:
                state["text"] = True

        def end(name: str) -> None:
            name = name.rpartition(":")[2]
            if name == "si":
                strings.append("".join(parts))
            elif name == "rPh":
                state["phonetic"] -= 1
            elif name == "t":
                state["text"] = False

        def chars(data: str) -> None:
            if state["text"]:
                parts.append(data)

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
        with self.zip.open("xl/sharedStrings.xml") as source:
            parser.ParseFile(source)
        return strings

    def _date_styles(self) -> frozenset[int]:
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        styles = ElementTree.fromstring(self.zip.read("xl/styles.xml"))
        custom = {int(e.get("numFmtId", "0")): e.get("formatCode", "") for e in styles.iter()
                  if _local(e.tag) == "numFmt"}
        found = set()
        for section in styles.iter():
            if _local(section.tag) != "cellXfs":
                continue
            for index, xf in enumerate(e for e in section if _local(e.tag) == "xf"):
                number = int(xf.get("numFmtId", "0") or 0)
                code = custom.get(number) or BUILTIN_FORMATS.get(number, "")
                if number in _DATE_FORMAT_IDS or (code and is_date_format(code)):
                    found.add(index)
        return frozenset(found)

    def rows(self) -> Iterator[RawRow]:
        from openpyxl.utils.datetime import from_excel

        shared, date_styles, epoch = self.shared, self.date_styles, self.epoch
        ready: list[RawRow] = []
        cells: list[Any] = []
        text: list[str] = []
        cell: dict[str, Any] = {"line": 0, "col": 0, "t": None, "s": None, "on": False, "phonetic": 0}

        def start(name: str, attrs: dict[str, str]) -> None:
            if ":" in name:
                name = name.rpartition(":")[2]
            if name == "c":
                ref = attrs.get("r")
                cell["col"] = _column_index(ref) if ref else len(cells)
                cell["t"], cell["s"] = attrs.get("t"), attrs.get("s")
                text.clear()
            elif name == "v" or (name == "t" and not cell["phonetic"]):
                cell["on"] = True
            elif name == "row":
                cells.clear()
                number = attrs.get("r")
                cell["line"] = int(number) if number and number.isdigit() else cell["line"] + 1
            elif name == "rPh":
                cell["phonetic"] += 1

        def end(name: str) -> None:
            if ":" in name:
                name = name.rpartition(":")[2]
            if name == "c":
                raw = "".join(text)
                kind = cell["t"]
                value: Any
                if kind == "s":
                    value = shared[int(raw)] if raw.strip().isdigit() and int(raw) < len(shared) else None
                elif kind in ("inlineStr", "str", "e"):
                    value = raw
                elif kind == "b":
                    value = raw.strip() in ("1", "true")
                elif kind == "d":
                    value = datetime.fromisoformat(raw.strip()) if raw.strip() else None
                elif not raw.strip():
                    value = None
                else:
                    number = raw.strip()
                    value = int(number) if number.lstrip("-").isdigit() else float(number)
                    if cell["s"] is not None and cell["s"].isdigit() and int(cell["s"]) in date_styles:
                        value = from_excel(value, epoch)
                column = cell["col"]
                if column >= len(cells):
                    cells.extend([None] * (column - len(cells)))
                    cells.append(value)
                else:
                    cells[column] = value
            elif name == "v" or name == "t":
                cell["on"] = False
            elif name == "row":
                ready.append(RawRow(cell["line"], tuple(cells)))
            elif name == "rPh":
                cell["phonetic"] -= 1

        def chars(data: str) -> None:
            if cell["on"]:
                text.append(data)

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
        try:
            with self.zip.open(self.sheet_path) as source:
                while chunk := source.read(1 << 16):
                    parser.Parse(chunk, False)
                    yield from ready
                    ready.clear()
                parser.Parse(b"", True)
                yield from ready
        except (expat.ExpatError, ValueError, zipfile.BadZipFile) as exc:
            raise SpreadsheetInvalid("file", f"{self.filename}: the worksheet cannot be read near line "
                                             f"{cell['line']}: {exc}") from None


# --- header and column mapping -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A field an import fills, and the header texts that name it (Chinese or English)."""

    key: str
    label: str  # English; screens translate it
    names: tuple[str, ...] = ()
    required: bool = False

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({header_key(name) for name in (self.key, *self.names)})


def is_blank(cells: Sequence[Any]) -> bool:
    return all(cell is None or (type(cell) is str and not cell.strip()) for cell in cells)


def is_totals(cells: Sequence[Any]) -> bool:
    """A totals row (合计, 总计, 小计, Total…) as exports end with: its first filled cell says so."""
    first = next((cell for cell in cells if cell is not None and cell_text(cell).strip()), None)
    if not isinstance(first, str):
        return False
    word = header_key(first)
    return word in TOTAL_WORDS or word.startswith(TOTAL_PREFIXES)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class Layout:
    """Where the header is and what each column becomes: a field's key, :data:`KEEP` (into the
    record's notes as "header: value") or :data:`IGNORE`. Columns right of the header follow
    ``beyond``."""

    header_line: int
    headers: tuple[str, ...]
    targets: tuple[str, ...]
    beyond: str = KEEP
    _fields: tuple[tuple[int, str], ...] = field(init=False, repr=False, compare=False)
    _kept: tuple[tuple[int, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fields", tuple((i, t) for i, t in enumerate(self.targets) if t not in (KEEP, IGNORE)))
        object.__setattr__(self, "_kept", tuple((i, self.label(i)) for i, t in enumerate(self.targets) if t == KEEP))

    def label(self, index: int) -> str:
        header = self.headers[index].strip() if index < len(self.headers) else ""
        return header or column_letter(index)

    def column_of(self, key: str) -> int | None:
        return next((i for i, target in self._fields if target == key), None)

    def missing(self, required: Iterable[str]) -> list[str]:
        mapped = {target for _, target in self._fields}
        return sorted(set(required) - mapped)

    def values(self, cells: Sequence[Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """``({field: cell}, [(header, text) of each kept column that is filled])``."""
        count = len(cells)
        values = {key: cells[i] for i, key in self._fields if i < count}
        kept = [(header, cell_text(cells[i]).strip()) for i, header in self._kept
                if i < count and cells[i] is not None and cell_text(cells[i]).strip()]
        if count > len(self.targets) and self.beyond == KEEP:
            kept += [(column_letter(i), cell_text(cells[i]).strip()) for i in range(len(self.targets), count)
                     if cells[i] is not None and cell_text(cells[i]).strip()]
        return values, kept

    def field_of_column(self, index: int) -> str:
        """The field a column fills, or its header: how a report names a column."""
        target = self.targets[index] if index < len(self.targets) else IGNORE
        return target if target not in (KEEP, IGNORE) else self.label(index)

    def as_dict(self) -> dict[str, Any]:
        return {"header_line": self.header_line,
                "columns": [{"column": column_letter(i), "header": h, "target": t}
                            for i, (h, t) in enumerate(zip(self.headers, self.targets, strict=True))]}


@dataclass(frozen=True)
class MappingChoice:
    """What someone chose: ``columns`` maps a header text (or a column letter) to a field's key,
    :data:`KEEP` or :data:`IGNORE`; ``unmapped`` is what happens to the other unrecognised columns."""

    columns: Mapping[str, str] = field(default_factory=dict)
    unmapped: str = KEEP
    header_line: int | None = None


def parse_mapping(text: str) -> MappingChoice:
    """A mapping file (TOML)::

        header_line = 3          # optional: where the header is
        unmapped = "keep"        # or "ignore": columns not recognised and not named below
        [columns]
        "客户名称" = "name"
        "渠道来源" = "channel"
        "创建时间" = "ignore"
        "意向课程" = "keep"
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpreadsheetInvalid("mapping", f"the mapping file is not TOML: {exc}") from None
    unknown = set(raw) - {"header_line", "unmapped", "columns"}
    if unknown:
        raise SpreadsheetInvalid("mapping", f"the mapping file has unknown keys: {', '.join(sorted(unknown))}")
    columns = raw.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise SpreadsheetInvalid("mapping", "[columns] maps header texts to field names")
    line = raw.get("header_line")
    if line is not None and (type(line) is not int or line < 1):
        raise SpreadsheetInvalid("mapping", "header_line is a line number, from 1")
    return MappingChoice({str(k): v for k, v in columns.items()}, str(raw.get("unmapped", KEEP)), line)


def suggest(headers: Sequence[str], fields: Sequence[Field], unmapped: str = KEEP) -> list[str]:
    """Each column's field by the names it goes by (each field once, the first column naming it)."""
    by_name = {name: f.key for f in fields for name in f.keys}
    taken: set[str] = set()
    targets = []
    for header in headers:
        key = header_key(header)
        found = by_name.get(key)
        if header.strip() == ERROR_HEADER or not key:
            targets.append(IGNORE)
        elif found and found not in taken:
            taken.add(found)
            targets.append(found)
        else:
            targets.append(unmapped)
    return targets


def _score(cells: Sequence[Any], names: Mapping[str, str]) -> int:
    return len({names[k] for k in (header_key(c) for c in cells if isinstance(c, str)) if k in names})


def find_layout(sheet: Sheet, fields: Sequence[Field], choice: MappingChoice | None = None) -> Layout:
    """The header row (within the first rows, the one naming the most fields, or the line chosen) and
    each column's target: the suggestion, overridden by ``choice``."""
    choice = choice or MappingChoice()
    if choice.unmapped not in (KEEP, IGNORE):
        raise SpreadsheetInvalid("mapping", f"unmapped columns are {KEEP!r} or {IGNORE!r}")
    keys = {f.key for f in fields}
    names = {name: f.key for f in fields for name in f.keys}
    names.update({header_key(header): header for header in choice.columns})
    first = list(islice((row for row in sheet.rows() if not is_blank(row.cells)), HEADER_ROWS))
    if not first:
        raise SpreadsheetInvalid("file", f"{sheet.filename} has no rows")
    if choice.header_line is not None:
        header = next((row for row in first if row.line == choice.header_line), None)
        if header is None:
            raise SpreadsheetInvalid("mapping", f"line {choice.header_line} is not among the first rows of the file")
    else:
        header = max(first, key=lambda row: (_score(row.cells, names), -row.line))
    headers = [cell_text(cell).strip() for cell in header.cells]
    while headers and not headers[-1]:
        headers.pop()
    targets = suggest(headers, fields, choice.unmapped)
    by_key = {header_key(h): i for i, h in reversed(list(enumerate(headers)))}
    chosen: dict[str, str] = {}
    for named, target in choice.columns.items():
        index = by_key.get(header_key(named))
        if index is None and re.fullmatch(r"[A-Za-z]{1,3}", named.strip()):
            index = _column_index(named.strip())
        if index is None or index >= len(headers):
            raise SpreadsheetInvalid("mapping", f"the file has no column {named!r} (its header, line "
                                                f"{header.line}: {', '.join(h for h in headers if h)})")
        if target not in keys | {KEEP, IGNORE}:
            raise SpreadsheetInvalid("mapping", f"{named!r} → {target!r}: a column becomes one of "
                                                f"{', '.join(sorted(keys))}, {KEEP} or {IGNORE}")
        if target in chosen:
            raise SpreadsheetInvalid("mapping", f"more than one column is mapped to {target}: {chosen[target]!r} "
                                                f"and {named!r}")
        if target in keys:  # the field moves to this column
            chosen[target] = named
            targets = [choice.unmapped if t == target else t for t in targets]
        targets[index] = target
    doubled = sorted({t for t in targets if t in keys and targets.count(t) > 1})
    if doubled:
        raise SpreadsheetInvalid("mapping", f"more than one column is mapped to {', '.join(doubled)}")
    return Layout(header.line, tuple(headers), tuple(targets), choice.unmapped)


def data_rows(sheet: Sheet, layout: Layout) -> Iterator[tuple[str, RawRow]]:
    """Each row below the header as ``(kind, row)``: ``row``, ``blank``, ``totals`` or ``header``
    (the header repeated, as paged exports do)."""
    first = layout.headers[0] if layout.headers else None
    for row in sheet.rows():
        if row.line <= layout.header_line:
            continue
        cells = row.cells
        if is_blank(cells):
            yield "blank", row
        elif is_totals(cells):
            yield "totals", row
        elif first and cells and cell_text(cells[0]).strip() == first and \
                tuple(cell_text(c).strip() for c in cells[:len(layout.headers)]) == layout.headers:
            yield "header", row
        else:
            yield "row", row


def read_rows(stream: IO[bytes], filename: str, headers: Mapping[str, set[str]],
              required: set[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line, {column: value})`` for each data row, for imports that take rows one by one:
    ``headers`` maps each column to the header texts that name it; other columns are ignored;
    a row with damaged bytes stops the file with an error naming its line."""
    sheet = open_sheet(stream, filename)
    layout = find_layout(sheet, [Field(k, k, tuple(v)) for k, v in headers.items()], MappingChoice(unmapped=IGNORE))
    missing = layout.missing(required)
    if missing:
        raise SpreadsheetInvalid("file", f"{filename}: the header has no column for {', '.join(missing)}")
    for kind, row in data_rows(sheet, layout):
        if kind != "row":
            continue
        if row.damaged:
            raise SpreadsheetInvalid("file", f"{filename}: line {row.line} has bytes that are not valid "
                                             f"{encoding_label(sheet.encoding)}: nothing was imported")
        yield row.line, layout.values(row.cells)[0]


# --- a spool: rows kept in order on a temporary file -----------------------------------------------------


class Spool(Generic[T]):
    """Items appended in order and read back as often as needed, kept in a temporary file once
    they outgrow a few megabytes: a long import's memory stays bounded."""

    def __init__(self, batch: int = 2000, in_memory_bytes: int = 4 << 20) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=in_memory_bytes)
        self._pending: list[T] = []
        self._batch = batch
        self._count = 0

    def append(self, item: T) -> None:
        self._pending.append(item)
        self._count += 1
        if len(self._pending) >= self._batch:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._file.seek(0, io.SEEK_END)
            pickle.dump(self._pending, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._pending = []

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        self._flush()
        position = 0
        while True:
            self._file.seek(position)
            try:
                batch: list[T] = pickle.load(self._file)  # noqa: S301 (our own temporary file)
            except EOFError:
                return
            position = self._file.tell()
            yield from batch

    def close(self) -> None:
        self._file.close()


# --- writing: text that cannot evaluate, numbers as numbers ------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def safe_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """Cells for ``sheet.append``: text that starts like a formula becomes a text cell with Excel's
    quote prefix (shown as typed, never evaluated, and it stays text when edited); characters no
    .xlsx may hold are dropped; numbers, dates and everything else are written as they are."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    row = []
    for value in values:
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if value.startswith(FORMULA_STARTS):
                text = WriteOnlyCell(sheet, value=None)
                text.value, text.data_type, text.quotePrefix = value, "s", True
                value = text
        row.append(value)
    return row


def append_safe(sheet: Any, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` for a write-only sheet, written safe (:func:`safe_row`)."""
    sheet.append(safe_row(sheet, values))


def workbook_bytes(sheets: Iterable[tuple[str, Sequence[Any], Iterable[Sequence[Any]]]]) -> bytes:
    """An .xlsx of ``(title, header, rows)`` sheets, every cell written safe."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        append_safe(sheet, header)
        for row in rows:
            append_safe(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def safe_csv_value(value: Any) -> Any:
    """A CSV cell: text that starts like a formula gets a leading apostrophe; numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads Chinese), every cell written safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_csv_value(v) for v in header])
    for row in rows:
        writer.writerow([safe_csv_value(v) for v in row])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def rejected_workbook(headers: Sequence[str], rows: Iterable[tuple[Sequence[Any], str]]) -> bytes:
    """The rejected rows of an import as they were read, under the file's own header, after a first
    column saying why: fix them and import this file again (that column is ignored then)."""
    return workbook_bytes([("rejected", [ERROR_HEADER, *headers], ([reason, *cells] for cells, reason in rows))])
