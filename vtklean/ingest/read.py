"""Raw files to typed polars frames: encodings, delimiters, Norwegian numbers, dates and months."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import io
import logging
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from xml.etree import ElementTree
from xml.parsers import expat

import fastexcel
import polars as pl
from python_calamine import CalamineWorkbook
from tqdm import tqdm

from vtklean.core import machine, progress
from vtklean.core.norsk import normalise_name
from vtklean.ingest.contract import KIND_TEXT, TABLES, Kind, Table
from vtklean.ingest.problems import Problem, Severity

log = logging.getLogger(__name__)
# A cell may be as long as its file (a leader's long assessment): Python's csv module
# refuses fields over 128 KiB by default. 2**31 - 1 is the largest limit Windows accepts.
csv.field_size_limit(2**31 - 1)

FILE = "_fil"  # column holding the file name a row came from
ROW = "_rad"  # column holding the row number as Excel shows it (header = 1)
TEXT_FILE = "_tekstfil"  # while reading: the row came from a text file, not a spreadsheet
TEXT_CELL = "_tekstcelle_"  # while reading, + column: the spreadsheet cell holds text, not a number

DTYPES: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.String(),
    Kind.CODE: pl.String(),
    Kind.DATE: pl.Date(),
    Kind.MONTH: pl.Date(),
    Kind.DECIMAL: pl.Float64(),
    Kind.INTEGER: pl.Int64(),
}

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
# .txt and .tsv: Excel's "Unicode-tekst" (UTF-16, tab-separated) is read like any CSV.
SUPPORTED_SUFFIXES = (".csv", ".txt", ".tsv", *SPREADSHEET_SUFFIXES)
HEADER_SEARCH_ROWS = 50  # the header row is looked for among a file's first rows
MAX_SHEET_CELLS = 20_000_000  # a larger used range is refused (calamine allocates it whole)
MAX_NUMBER = 1e15  # larger numbers cannot be amounts of a municipality
CHUNK_BYTES = 16 * 2**20  # large text files are read in pieces of this size (progress bar)
MAX_PARSE_PROBLEMS = 1000  # per column; the rest of a column written wrong is one line
TYPE_ALONE_ROWS = 100_000  # a file with this many rows is typed in its own thread
PROGRESS_DELAY = 1.0  # seconds before a progress bar shows (none for quick files)
PLAIN_SHEET_BYTES = 64 * 2**20  # a larger sheet's XML is scanned as a stream, not in memory

# calamine's names of Excel's error values, and how Excel shows them.
_EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}
_DELIMITERS = (";", ",", "\t")
_SEP_NAMES = {"\t": "tabulator"}
_NUMBER = r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$"
# A dot followed by exactly three digits may be a thousands separator (958.000 kr).
_DOT_THOUSANDS = r"^[+-]?\d+\.\d{3}$"
_DECIMAL_COMMA = r"^[+-]?\d*,\d+$"
# A spreadsheet text cell that, read as a number, may be ambiguous (`958.000`, `(1.250) kr`).
_TEXT_NUMBER = re.compile(r"[+-]?\(?(kr\.?)?[+-]?\d+[.,]\d{3}\)?-?(kr\.?)?", re.IGNORECASE)
# ... and so may a comma followed by three digits where the column's others use a point.
_COMMA_THOUSANDS = r"^[+-]?\d+,\d{3}$"
_DECIMAL_POINT = r"^[+-]?\d*\.\d+$"
_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}$"
_NO_DATE = r"^\d{1,2}\.\d{1,2}\.\d{4}$"
_TIME_SUFFIX = r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
_ISO_MONTH = r"^\d{4}-\d{1,2}$"
_NO_MONTH = r"^\d{1,2}\.\d{4}$"
_CELL_REF = re.compile(r"\$?([A-Z]+)\$?(\d+)")  # a cell name as Excel writes it (A1)
# Runs of UTF-8 multi-byte sequences: their presence in a file that is not valid UTF-8
# means a damaged or mixed file, which must not be decoded as Windows-1252 silently.
_UTF8_SEQ = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_BOM = b"\xef\xbb\xbf"
_UTF8_PIECE = 2**20  # bytes decoded at a time when a text file is only checked


@dataclass
class TableData:
    """One table stacked from all its files.

    `data` holds the typed canonical columns plus `_fil` and `_rad`; `raw` holds the same
    rows with every canonical column as the text written in the file; `headers` maps each
    file name to {canonical column: header as written}.
    """

    table: Table
    data: pl.DataFrame
    raw: pl.DataFrame
    headers: dict[str, dict[str, str]]
    files: list[str]

    def written(self, file: str, column: str) -> str:
        """The header of `column` as written in `file` (the canonical name if absent)."""
        return self.headers.get(file, {}).get(column, column)


@dataclass
class RawData:
    """Everything read from a raw folder: tables, problems, and file fingerprints."""

    folder: Path
    tables: dict[str, TableData]
    problems: list[Problem] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop the build."""
        return [p for p in self.problems if p.severity is Severity.ERROR]


def discover(folder: Path) -> tuple[dict[str, list[Path]], list[Problem]]:
    """Find each table's files in `folder`: names starting with the table name.

    Lock files (`~$...`) and hidden files are ignored; other files that match no table
    (a README, say) are left alone. A known table in an unsupported format is an error.
    """
    found: dict[str, list[Path]] = {name: [] for name in TABLES}
    problems: list[Problem] = []
    for path in sorted(folder.iterdir(), key=lambda p: (p.name.lower(), p.name)):
        name = path.name
        if name.startswith(("~$", ".")) or not path.is_file():
            continue
        table = next((t for t in TABLES if name.lower().startswith(t)), None)
        if table is None:
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            problems.append(
                Problem.error(
                    "filformat",
                    "Filformat som ikke støttes",
                    "lagre filen som .xlsx, .xls, .ods, .csv eller Unicode-tekst (.txt)",
                    file=name,
                )
            )
            continue
        found[table].append(path)
    for table in TABLES.values():
        if table.required and not found[table.name]:
            problems.append(
                Problem.error(
                    "mangler_tabell",
                    "Tabell som mangler",
                    f"fant ingen fil for tabellen «{table.name}» "
                    f"(filnavnet skal begynne med «{table.name}»)",
                )
            )
    return found, problems


def _unreadable(
    name: str, rule: str, heading: str, expected: str, **where: object
) -> tuple[None, str, list[Problem]]:
    """`decode`'s answer for a text file it cannot read: no text, no encoding, the problem."""
    return None, "", [Problem.error(rule, heading, expected, file=name, **where)]


def decode(data: bytes, name: str) -> tuple[str | None, str, list[Problem]]:
    """Decode text-file bytes: UTF-16 with BOM, UTF-8 (with or without BOM) or Windows-1252.

    Returns the text (None when it cannot be read), the encoding used and the problems.

    Never silently wrong: bytes that fit none of them, or a mix, are an error.
    """
    unreadable = "Tegn som ikke kan leses"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode-tekst"
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as err:
            return _unreadable(
                name,
                "tegnkoding",
                unreadable,
                f"filen er ikke gyldig UTF-16 (Unicode-tekst): {err.reason}",
            )
    if not data or data.isspace():  # (no copy, unlike strip)
        return _unreadable(name, "tom_fil", "Tom fil", "filen er tom")
    if b"\x00" in data:
        return _unreadable(
            name,
            "ikke_csv",
            "Filen er ikke en CSV-fil",
            "filen inneholder binære data; lagre den som CSV (semikolonseparert) eller .xlsx",
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as err:
        bad = err.start
    row = data.count(b"\n", 0, bad) + 1
    byte = f"0x{data[bad]:02X}"
    if _UTF8_SEQ.search(data):
        return _unreadable(
            name,
            "tegnkoding",
            unreadable,
            f"filen blander UTF-8 med andre tegn (byte {byte}); lagre hele filen på nytt som UTF-8",
            row=row,
        )
    try:
        return data.decode("cp1252"), "cp1252", []
    except UnicodeDecodeError as err:
        row = data.count(b"\n", 0, err.start) + 1
        return _unreadable(
            name,
            "tegnkoding",
            unreadable,
            f"ugyldig tegn (byte 0x{data[err.start]:02X}); lagre filen som UTF-8",
            row=row,
        )


@dataclass
class Cells:
    """One file's cells as text: `frame` row 0 is the row Excel numbers `first_row`."""

    frame: pl.DataFrame
    first_row: int
    text_file: bool  # True for CSV and Unicode text; spreadsheets hold native numbers
    first_col: int = 0  # 0-based sheet column of frame column 0 (spreadsheets)
    # 0-based sheet (row, column) of text cells written like an ambiguous number (958.000)
    text_numbers: frozenset[tuple[int, int]] = frozenset()


def _delimiter(lines: list[str]) -> str:
    """The delimiter most used on one line of the file's first lines (tab, `;` or `,`)."""
    best = max(_DELIMITERS, key=lambda d: (max(line.count(d) for line in lines), d == "\t"))
    return best if any(best in line for line in lines) else ","


def _header_delimiter(lines: list[str], table: Table) -> str:
    """The delimiter under which one of the first lines is the table's header line.

    Tried from the most used; a text cell with many `;` (`&amp; &lt;b&gt;`) cannot win over
    the delimiter that actually splits the header. Without a header line: the most used.
    """
    required = {c.name for c in table.columns if c.required}
    used = sorted(_DELIMITERS, key=lambda d: -max(line.count(d) for line in lines))
    for sep in used:
        records = csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)
        if any(required <= {normalise_name(v) for v in record if v} for record in records):
            return sep
    return _delimiter(lines)


def _header_index(records: list[list[str]], table: Table) -> int:
    """The first record holding every required column; else the first non-empty one."""
    required = {c.name for c in table.columns if c.required}
    first = None
    for i, record in enumerate(records):
        names = {normalise_name(v) for v in record if v}
        if first is None and names:
            first = i
        if required <= names:
            return i
    return first or 0


def _line_starts(data: bytes, limit: int, start: int = 0) -> list[int]:
    """Byte offsets of the first `limit` lines of `data[start:]`."""
    starts = [start]
    while len(starts) < limit:
        nl = data.find(b"\n", starts[-1])
        if nl < 0:
            break
        starts.append(nl + 1)
    return starts


def _chunks(data: bytes, start: int, size: int) -> list[tuple[int, int]]:
    """Split `data[start:]` at line ends about every `size` bytes, never inside quotes."""
    out = []
    while start < len(data):
        end = min(len(data), start + size)
        while end < len(data):
            nl = data.find(b"\n", end)
            if nl < 0:
                end = len(data)
                break
            end = nl + 1
            if data.count(b'"', start, end) % 2 == 0:
                break
        out.append((start, end))
        start = end
    return out


def _progress(total: int, name: str) -> tqdm:
    """A progress bar of rows read, on the terminal only (never in CI, a log or --stille)."""
    return progress.bar(total, f"Leser {name}", " rader", PROGRESS_DELAY)


def _utf8_start(data: bytes) -> int | None:
    """Where the text starts (after a BOM) when `decode` would read `data` as UTF-8 alone.

    None for anything else (UTF-16, an empty file, binary data, not UTF-8): `decode` then
    says what it is. The check decodes a piece at a time, so no copy of the whole file is
    made only to be thrown away.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or not data or data.isspace():
        return None
    if b"\x00" in data:
        return None
    start = 3 if data.startswith(_BOM) else 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for lo in range(start, len(data), _UTF8_PIECE):
            decoder.decode(view[lo : lo + _UTF8_PIECE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return start


def _read_csv(path: Path, data: bytes, table: Table) -> tuple[Cells | None, list[Problem]]:
    start = _utf8_start(data)
    payload = data
    if start is None:  # not UTF-8: polars reads UTF-8 bytes
        text, _, problems = decode(data, path.name)
        if text is None:
            return None, problems
        payload, start = text.encode("utf-8"), 0
        del text
    starts = _line_starts(payload, HEADER_SEARCH_ROWS, start)
    head = payload[start : starts[-1]].decode("utf-8").splitlines() or [""]
    sep = _header_delimiter(head, table)
    records = list(csv.reader(io.StringIO("\n".join(head)), delimiter=sep))
    skip = _header_index(records, table)
    body_start = starts[skip] if skip < len(starts) else len(payload)
    width = len(records[skip]) if skip < len(records) else 1
    schema = {f"column_{i + 1}": pl.String() for i in range(width)}
    options = {
        "separator": sep,
        "has_header": False,
        "schema": schema,
        "quote_char": '"',
        "raise_if_empty": False,
    }
    pieces = []
    try:
        if not progress.shown() and body_start < len(payload):
            # No bar to move: one read of the whole file, no copy of it. polars drops a BOM
            # at the very start and skips the lines above the header by line ends alone, as
            # `_line_starts` counts them; a BOM where the body starts is dropped by reading
            # from there, as before.
            if payload.startswith(_BOM, body_start):
                pieces.append(pl.read_csv(payload[body_start:], **options))
            else:
                pieces.append(pl.read_csv(payload, skip_lines=skip, **options))
        else:
            total = max(0, payload.count(b"\n", body_start) - 1)  # rows below the header line
            with _progress(total, path.name) as bar:
                for lo, hi in _chunks(payload, body_start, CHUNK_BYTES):
                    piece = pl.read_csv(io.BytesIO(payload[lo:hi]), **options)
                    bar.update(piece.height - (not pieces))  # the first piece holds the header
                    pieces.append(piece)
    except pl.exceptions.PolarsError:  # a ragged row, or (schema) no row polars could see
        body = payload[body_start:].decode("utf-8")
        return None, [_ragged(body, sep, path.name, skip)]
    frame = pl.concat(pieces, how="vertical") if pieces else pl.DataFrame(schema=schema)
    return Cells(frame, skip + 1, text_file=True), []


def _ragged(text: str, sep: str, name: str, skipped: int) -> Problem:
    """Find the first record whose field count differs from the header's (the first record)."""
    records = csv.reader(io.StringIO(text), delimiter=sep)
    width = None
    try:
        for i, record in enumerate(records, start=skipped + 1):
            if width is None:
                width = len(record)
            elif record and len(record) != width:
                return Problem.error(
                    "ikke_csv",
                    "Filen er ikke en gyldig CSV-fil",
                    f"raden har {len(record)} felt, men overskriftsraden har {width} "
                    f"(skilletegn «{_SEP_NAMES.get(sep, sep)}»)",
                    file=name,
                    row=i,
                )
    except csv.Error:  # a lone carriage return in a field, say: no row to point at
        pass
    return Problem.error(
        "ikke_csv", "Filen er ikke en gyldig CSV-fil", "filen kan ikke tolkes som CSV", file=name
    )


def _cell_name(row: int, col: int) -> str:
    """Excel's name of a 0-based cell position: (0, 0) -> A1."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def _cell_position(ref: str) -> tuple[int, int]:
    """0-based (row, column) of an Excel cell name: A1 -> (0, 0)."""
    m = re.fullmatch(r"\$?([A-Za-z]+)\$?(\d+)", ref)
    if m is None:
        raise ValueError(ref)
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


@dataclass
class _SheetScan:
    """What the first sheet's XML says before calamine loads it."""

    last_row: int = -1
    last_col: int = -1
    far_row: str = ""  # the cell with a value in the last row
    far_col: str = ""  # the cell with a value in the last column
    uncached: list[tuple[str, str]] = field(default_factory=list)  # (cell, formula)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    chart: str | None = None  # the first sheet's name when it is a chart sheet (no cells)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _first_sheet_part(zf: zipfile.ZipFile) -> tuple[str, str]:
    """The zip member and name of the workbook's first sheet (what calamine calls sheet 0)."""
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    sheet = next(e for e in workbook.iter() if _local(e.tag) == "sheet")
    rid = next(v for k, v in sheet.attrib.items() if _local(k) == "id")
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = next(e.get("Target", "") for e in rels if e.get("Id") == rid)
    part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return part, sheet.get("name", "")


def _scan_xlsx(path: Path) -> _SheetScan:
    """Read the first sheet's XML as a stream: used range, uncached formulas, merged cells.

    calamine cannot do this: it drops a formula without a stored value silently, and it
    allocates the whole used range up front (a stray value in XFD1048576 aborts the
    process). openpyxl cannot either: with `data_only` it loses the formula, without it the
    cached value, and its streaming mode has no merged cells. expat's callbacks are used
    directly (no element objects): a national gains register has 300 000 cells.
    """
    scan = _SheetScan()
    with zipfile.ZipFile(path) as zf:
        member, name = _first_sheet_part(zf)
        if "chartsheets/" in member:
            scan.chart = name
            return scan
        if zf.getinfo(member).file_size <= PLAIN_SHEET_BYTES:
            plain = _scan_plain_sheet(zf.read(member))
            if plain is not None:
                return plain
        with zf.open(member) as part:
            _XlsxCells(scan).parse(part)
    return scan


# A plain sheet's XML (as Excel, openpyxl and xlsxwriter write it): every value tag comes
# right after a cell tag `<c r="A1" ...>`, written `<v>` or `<is>` without prefix. Each
# pattern starts with a literal, so Python's `re` skips to it quickly. Below: the column
# letters, and the row digits, of each cell with a value (`<v>` not followed by `<`, as in
# an empty `<v></v>`): two patterns of one group each give lists of byte strings, not a
# tuple per cell (300 000 for the garbage collector to look at).
_VALUE_LETTERS = re.compile(rb'<c r="([A-Z]{1,3})[0-9]{1,7}"(?: [^<>/]*)?>(?:<v>(?!<)|<is>)')
_VALUE_DIGITS = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"(?: [^<>/]*)?>(?:<v>(?!<)|<is>)')
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]{1,3}[0-9]{1,7}):([A-Z]{1,3}[0-9]{1,7})" ?/>')
_ANY_MERGE = re.compile(rb"<mergeCell[\s/>]")
_NOT_PLAIN = (  # a formula, a value tag written otherwise, a prefixed tag
    re.compile(rb"<f[\s/>]"),
    re.compile(rb"<v[\s/]"),
    re.compile(rb"<is[\s/]"),
    re.compile(rb":(?:c|v|is|f|row|mergeCell|sheetData)[\s/>]"),
    re.compile(rb"<!"),  # CDATA or a comment
)


def _scan_plain_sheet(xml: bytes) -> _SheetScan | None:
    """`_XlsxCells`' answer for a plain sheet (no formula), by regular expressions; else None.

    About twice as fast as expat's callbacks on a national gains register. Anything written
    otherwise (a prefix, a formula, a value after spaces, ...) gives None, and the sheet is
    read by `_XlsxCells`; a test checks both give the same answer on plain sheets.
    """
    if any(pattern.search(xml) for pattern in _NOT_PLAIN):
        return None
    letters = _VALUE_LETTERS.findall(xml)
    # Every value, but the empty ones (which count for nothing), right after its cell tag.
    if len(letters) + xml.count(b"<v><") != xml.count(b"<v>") + xml.count(b"<is>"):
        return None
    merges = _MERGE.findall(xml)
    if len(merges) != len(_ANY_MERGE.findall(xml)):
        return None
    scan = _SheetScan()
    for first, last in merges:
        (r1, c1), (r2, c2) = _cell_position(first.decode()), _cell_position(last.decode())
        scan.merges.append((r1, c1, r2, c2))
    if not letters:
        return scan
    digits = _VALUE_DIGITS.findall(xml)  # the same cells, in the same order
    rows = list(map(int, digits))
    scan.last_row = max(rows) - 1
    at = rows.index(scan.last_row + 1)  # the first cell in the last row, as expat finds it
    scan.far_row = (letters[at] + digits[at]).decode()
    columns = {x: _cell_position(f"{x.decode()}1")[1] for x in set(letters)}
    scan.last_col = max(columns.values())
    at = letters.index(next(x for x, c in columns.items() if c == scan.last_col))
    scan.far_col = (letters[at] + digits[at]).decode()
    return scan


class _XlsxCells:
    """expat handlers for `_scan_xlsx`: a cell's direct `v`, `is` and `f` children decide."""

    def __init__(self, scan: _SheetScan) -> None:
        self.scan = scan
        self.row = self.col = -1
        self.depth = 0
        self.cell_depth = -1  # depth of the open `c` element, -1 outside a cell
        self.cell_type: str | None = None
        self.kids: set[str] = set()
        self.text_of = ""  # the direct child whose text is being collected (`v` or `f`)
        self.has_value = False
        self.formula: list[str] = []
        self.locals: dict[str, str] = {}
        self.columns: dict[str, int] = {}

    def parse(self, part: IO[bytes]) -> None:
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.text
        parser.ParseFile(part)

    def _name(self, tag: str) -> str:
        local = self.locals.get(tag)
        if local is None:
            local = self.locals[tag] = tag.rpartition(":")[2]
        return local

    def _position(self, ref: str) -> tuple[int, int]:
        m = _CELL_REF.fullmatch(ref)
        if m is None:
            return _cell_position(ref)  # raises ValueError, as for a damaged file
        letters, digits = m.groups()
        col = self.columns.get(letters)
        if col is None:
            col = self.columns[letters] = _cell_position(f"{letters}1")[1]
        return int(digits) - 1, col

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        local = self._name(tag)
        if self.cell_depth >= 0:  # inside a cell: only the text before a child's own children
            if self.depth == self.cell_depth + 1:
                self.kids.add(local)
            self.text_of = local if self.depth == self.cell_depth + 1 else ""
            return
        if local == "c":
            ref = attrs.get("r")
            self.row, self.col = self._position(ref) if ref else (self.row, self.col + 1)
            self.cell_depth = self.depth
            self.cell_type = attrs.get("t")
            self.kids = set()
            self.has_value = False
            self.formula = []
        elif local == "row":
            r = attrs.get("r")
            self.row = int(r) - 1 if r else self.row + 1
            self.col = -1
        elif local == "mergeCell":
            a, _, b = attrs.get("ref", "").partition(":")
            if b:
                (r1, c1), (r2, c2) = _cell_position(a), _cell_position(b)
                self.scan.merges.append((r1, c1, r2, c2))

    def text(self, data: str) -> None:
        if self.text_of == "v" and data:
            self.has_value = True
        elif self.text_of == "f":
            self.formula.append(data)

    def end(self, tag: str) -> None:
        if self.depth == self.cell_depth:
            self._cell()
            self.cell_depth = -1
        elif self.depth == self.cell_depth + 1:
            self.text_of = ""
        self.depth -= 1

    def _cell(self) -> None:
        scan, row, col = self.scan, self.row, self.col
        has_value = self.has_value or "is" in self.kids
        if "f" in self.kids and not has_value and self.cell_type != "str":
            scan.uncached.append((_cell_name(row, col), "".join(self.formula)))
        if has_value:
            if row > scan.last_row:
                scan.last_row, scan.far_row = row, _cell_name(row, col)
            if col > scan.last_col:
                scan.last_col, scan.far_col = col, _cell_name(row, col)


def _attr(elem: ElementTree.Element, name: str) -> str | None:
    """An attribute by its local name, whatever its namespace."""
    return next((v for k, v in elem.attrib.items() if _local(k) == name), None)


def _scan_ods(path: Path) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, str]]]:
    """Merged cells and error cells of an .ods file's first sheet, from its XML.

    calamine reads neither: a cell covered by a merge is empty, and an error value (`#N/A`)
    comes out as an empty text.
    """
    merges: list[tuple[int, int, int, int]] = []
    errors: list[tuple[int, int, str]] = []
    row = col = 0
    depth = 0  # inside the first table while > 0
    with zipfile.ZipFile(path) as zf, zf.open("content.xml") as part:
        for event, elem in ElementTree.iterparse(part, events=("start", "end")):
            tag = _local(elem.tag)
            if tag == "table":
                if event == "start":
                    depth += 1
                    continue
                break  # the first sheet is done
            if depth == 0 or event == "start":
                continue
            if tag in ("table-cell", "covered-table-cell"):
                rows_spanned = int(_attr(elem, "number-rows-spanned") or 1)
                if tag == "table-cell" and rows_spanned > 1:
                    cols_spanned = int(_attr(elem, "number-columns-spanned") or 1)
                    merges.append((row, col, row + rows_spanned - 1, col + cols_spanned - 1))
                if _attr(elem, "value-type") == "error" or (
                    _attr(elem, "formula") and "".join(elem.itertext()).startswith(("#", "Err:"))
                ):
                    errors.append((row, col, "".join(elem.itertext())))
                col += int(_attr(elem, "number-columns-repeated") or 1)
                elem.clear()
            elif tag == "table-row":
                row += int(_attr(elem, "number-rows-repeated") or 1)
                col = 0
                elem.clear()
    return merges, errors


def _sheet_problem(name: str, expected: str, **where: object) -> Problem:
    return Problem.error(
        "ikke_excel", "Filen kan ikke leses som regneark", expected, file=name, **where
    )


def _read_sheet(path: Path) -> tuple[Cells | None, list[Problem]]:
    """Read the first sheet of .xlsx/.xlsm/.xls/.ods as text cells in Excel's row numbering."""
    name = path.name
    suffix = path.suffix.lower()
    merges: list[tuple[int, int, int, int]] = []
    last: tuple[int, int] | None = None
    problems: list[Problem] = []
    try:
        if suffix in (".xlsx", ".xlsm"):
            scan = _scan_xlsx(path)
            if scan.chart is not None:
                return None, [
                    _sheet_problem(
                        name,
                        f"det første arket («{scan.chart}») er et diagram, ikke en tabell; dra "
                        "arket med tabellen først i Excel og lagre på nytt",
                    )
                ]
            if (scan.last_row + 1) * (scan.last_col + 1) > MAX_SHEET_CELLS:
                far = sorted({scan.far_row, scan.far_col})
                return None, [
                    _sheet_problem(
                        name,
                        f"arket har innhold helt ut til celle {' og '.join(far)}, langt utenfor "
                        f"tabellen ({scan.last_row + 1} rader × {scan.last_col + 1} kolonner); "
                        "slett innholdet i den cellen i Excel og lagre på nytt",
                        column=far[-1],
                    )
                ]
            problems += [
                Problem.error(
                    "formel_uten_verdi",
                    "Formler uten lagret verdi",
                    f"cellen {cell} har formelen «={formula}», men ingen utregnet verdi er "
                    "lagret; åpne filen i Excel og lagre den på nytt (eller lim inn som verdier)",
                    file=name,
                    row=_cell_position(cell)[0] + 1,
                    column=cell,
                )
                for cell, formula in scan.uncached
            ]
            merges, last = scan.merges, (scan.last_row, scan.last_col)
        else:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
            merges = [(a[0], a[1], b[0], b[1]) for a, b in sheet.merged_cell_ranges or []]
            last = sheet.end
            if suffix == ".ods":
                merges, ods_errors = _scan_ods(path)
                problems += [_error_cell(name, r, c, text) for r, c, text in ods_errors]
        loaded = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string")
        batch, errors = loaded.to_arrow_with_errors()
        frame = pl.from_arrow(batch)
        text_numbers = _text_numbers(path) if _may_hold_text_numbers(frame) else frozenset()
    except Exception as err:  # the readers raise several types for damaged files
        log.debug("reading %s failed: %s", path, err)
        if "cell limit" in str(err).lower():
            return None, [
                _sheet_problem(
                    name,
                    "arket har innhold langt utenfor tabellen (en verdi i en celle langt nede "
                    "eller langt til høyre); slett innholdet i celler utenfor tabellen og lagre "
                    "på nytt",
                )
            ]
        return None, [
            _sheet_problem(
                name,
                "filen er skadet eller ikke et regneark (.xlsx, .xlsm, .xls, .ods); "
                "åpne og lagre den på nytt i Excel",
            )
        ]
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0 or last is None:
        return None, [Problem.error("tom_fil", "Tom fil", "arket er tomt", file=name)]
    # calamine starts the frame at the first used row or column; find where, from the end.
    row0 = max(0, last[0] + 1 - frame.height)
    col0 = max(0, last[1] + 1 - frame.width)
    for e in errors.errors if errors else []:
        r, c = e.offset_position
        kind = re.search(r"Error\((\w+)\)", e.detail)
        value = _EXCEL_ERRORS.get(kind.group(1), kind.group(1)) if kind else e.detail
        problems.append(_error_cell(name, r + row0, c + col0, value))
    frame = _fill_merged(frame, merges, row0, col0)
    return Cells(frame, row0 + 1, False, col0, text_numbers), problems


def _text_number_like(expr: pl.Expr) -> pl.Expr:
    """Whether a cell's text reads like `958.000`: `_TEXT_NUMBER` once spaces are removed.

    The spaces removed are those `_text_numbers` removes with Python's `re` (whose class of
    spaces also holds the control separators); a test checks both agree on short texts.
    """
    compact = expr.str.replace_all(r"[\s\x1c-\x1f\u00a0\u202f]", "")
    return compact.str.contains(f"(?i)^(?:{_TEXT_NUMBER.pattern})$")


def _may_hold_text_numbers(frame: pl.DataFrame) -> bool:
    """Whether some cell of the sheet (every cell as text) reads like `958.000`.

    Only then are the sheet's cells read once more to find which of them are text cells
    (`_text_numbers`, cell by cell in Python: 0,6 s for a national gains register).
    """
    if not frame.width:
        return False
    found = frame.select(
        pl.any_horizontal(_text_number_like(pl.col(c)).any() for c in frame.columns)
    )
    return bool(found.item())


def _text_numbers(path: Path) -> frozenset[tuple[int, int]]:
    """0-based (row, column) of the first sheet's text cells written like `958.000`.

    fastexcel gives every cell as text, so a number typed as text in Excel would otherwise
    be read like a native number; such a cell is as ambiguous as in a CSV file.
    """
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    first_col = sheet.start[1] if sheet.start else 0
    return frozenset(
        (r, first_col + c)
        for r, values in enumerate(sheet.iter_rows())  # rows from 0, columns from the first used
        for c, v in enumerate(values)
        if isinstance(v, str) and _TEXT_NUMBER.fullmatch(re.sub(r"[\s\u00a0\u202f]", "", v))
    )


def _error_cell(name: str, row: int, col: int, value: str) -> Problem:
    """An error value (`#N/A`, `#DIV/0!`, ...) in the 0-based cell (row, col)."""
    cell = _cell_name(row, col)
    return Problem.error(
        "feilverdi",
        "Celler med feilverdi",
        f"cellen {cell} har en feilverdi fra regnearket; rett formelen eller verdien",
        file=name,
        row=row + 1,
        column=cell,
        value=value,
    )


def _fill_merged(
    frame: pl.DataFrame, merges: list[tuple[int, int, int, int]], row0: int, col0: int
) -> pl.DataFrame:
    """Give a merged cell's value to every row it spans (in its first column)."""
    index = pl.int_range(pl.len())
    for r1, c1, r2, _c2 in merges:
        c = c1 - col0
        if r2 <= r1 or not 0 <= c < frame.width or not 0 <= r1 - row0 < frame.height:
            continue
        column = frame.columns[c]
        value = frame.item(r1 - row0, column)
        frame = frame.with_columns(
            pl.when(index.is_between(r1 - row0, r2 - row0))
            .then(pl.lit(value, pl.String))
            .otherwise(pl.col(column))
            .alias(column)
        )
    return frame


def _under_header(problem: Problem, header: list[str], first_col: int) -> Problem:
    """A problem located by cell (A1) gets the column's header as written, if it has one."""
    if problem.rule not in ("formel_uten_verdi", "feilverdi") or problem.column is None:
        return problem
    index = _cell_position(problem.column)[1] - first_col
    written = header[index].strip() if 0 <= index < len(header) else ""
    return dataclasses.replace(problem, column=written) if written else problem


def _read_file(path: Path, data: bytes, table: Table) -> tuple[Cells | None, list[Problem]]:
    """Read one file to text cells whose first row is the header row."""
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        cells, problems = _read_sheet(path)
        if cells is None:
            return None, problems
        records = [
            ["" if v is None else str(v) for v in cells.frame.row(i)]
            for i in range(min(HEADER_SEARCH_ROWS, cells.frame.height))
        ]
        skip = _header_index(records, table)
        header = records[skip] if skip < len(records) else []
        problems = [_under_header(p, header, cells.first_col) for p in problems]
        frame = cells.frame.slice(skip)
        return (
            Cells(frame, cells.first_row + skip, False, cells.first_col, cells.text_numbers),
            problems,
        )
    return _read_csv(path, data, table)


def _map_headers(
    table: Table, frame: pl.DataFrame, name: str, row: int
) -> tuple[dict[str, str], dict[str, str], list[Problem]]:
    """Map canonical column -> frame column and -> header as written; check the header row.

    `row` is the header's row number as Excel shows it.
    """
    problems: list[Problem] = []
    header = [("" if v is None else str(v)) for v in frame.row(0)]
    canonical: dict[str, str] = {}
    written: dict[str, str] = {}
    for frame_col, text in zip(frame.columns, header, strict=True):
        norm = normalise_name(text)
        if not norm:
            continue
        if norm in canonical:
            problems.append(
                Problem.error(
                    "dobbel_kolonne",
                    "Kolonne som står to ganger",
                    f"kolonnen «{text}» står to ganger (også som «{written[norm]}»)",
                    file=name,
                    row=row,
                    column=text,
                )
            )
            continue
        canonical[norm] = frame_col
        written[norm] = text
    known = set(table.column_names)
    for norm, text in written.items():
        if norm not in known:
            problems.append(
                Problem.warning(
                    "ukjent_kolonne",
                    "Ukjente kolonner (tas ikke med)",
                    f"kolonnen er ikke en del av tabellen «{table.name}» og tas ikke med",
                    file=name,
                    row=row,
                    column=text,
                )
            )
    for col in table.columns:
        if col.required and col.name not in canonical:
            problems.append(
                Problem.error(
                    "mangler_kolonne",
                    "Påkrevd kolonne som mangler",
                    f"fant ikke kolonnen «{col.name}» i overskriftsraden",
                    file=name,
                    row=row,
                    column=col.name,
                )
            )
    mapping = {k: v for k, v in canonical.items() if k in known}
    return mapping, {k: v for k, v in written.items() if k in known}, problems


def _empty_as_null(column: str) -> pl.Expr:
    """The column with its empty texts as nulls (no value)."""
    return pl.when(pl.col(column) != "").then(pl.col(column)).alias(column)


def _number_text(expr: pl.Expr) -> pl.Expr:
    """Number text without thousands spaces and `kr`, with `1 234-` and `(1 234)` as `-1234`."""
    kr_before, kr_after = r"(?i)^([+-]?)kr\.?", r"(?i)kr\.?$"
    return (
        expr.str.replace_all(r"[\s\u00a0\u202f]", "")
        .str.replace_all("\u2212", "-")
        .str.replace(kr_before, "$1")
        .str.replace(kr_after, "")
        .str.replace(r"^\((.+)\)$", "-$1")
        .str.replace(kr_before, "$1")
        .str.replace(kr_after, "")
        .str.replace(r"^(\d[\d.,]*\d|\d)-$", "-$1")
    )


def _number_failure(
    text: pl.Expr,
    value: pl.Expr,
    money: bool,
    text_cell: pl.Expr,
    comma_in_file: pl.Expr,
    point_in_file: pl.Expr,
) -> pl.Expr:
    """The failure of reading a number: null when read, else a failure code.

    `text` is the compact text (`_number_text`), `value` its float; `comma_in_file` and
    `point_in_file` say whether the row's file writes other values of the column with a
    decimal comma or point. Codes: `ugyldig` (not a number), `tvetydig` (could be a
    thousands separator: `958.000`, or `1,234` among decimal points) or `for_stor`
    (beyond 10^15). A value is only ambiguous in a text file or a spreadsheet's text cell
    (`text_cell`): a spreadsheet's numbers are native.
    """
    valid = text.str.contains(_NUMBER) & value.is_not_null()
    ambiguous = text_cell & (
        (text.str.contains(_DOT_THOUSANDS) & (money | comma_in_file))
        | (text.str.contains(_COMMA_THOUSANDS) & point_in_file)
    )
    return (
        pl.when(text.is_null())
        .then(None)
        .when(~valid.fill_null(False))
        .then(pl.lit("ugyldig"))
        .when(ambiguous)
        .then(pl.lit("tvetydig"))
        .when(value.abs() > MAX_NUMBER)
        .then(pl.lit("for_stor"))
    )


def _as_float(text: pl.Expr) -> pl.Expr:
    """The float of a number text with a decimal comma or point; null where it is none."""
    return text.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


def _quick_number(expr: pl.Expr, text_cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(float, needs a closer look) for a column of number texts, both over whole columns.

    The float is right, and the text needs no rewrite and cannot fail, where polars reads
    the text as a finite float no larger than 10^15 (it then matches `_NUMBER`: a test
    checks it on every short text) and it does not end in a separator and three digits
    (`958.000` may be ambiguous). Every other value is looked at by `_careful_numbers`.
    """
    value = _as_float(expr)
    plain = value.is_finite() & (value.abs() <= MAX_NUMBER)
    near_thousands = text_cell & expr.str.contains(r"[.,]\d{3}$")
    return value, expr.is_not_null() & (~plain.fill_null(False) | near_thousands.fill_null(False))


def _careful_numbers(
    frame: pl.DataFrame, column: str, money: bool, quick: pl.Series, careful: pl.Series
) -> tuple[pl.Series, pl.Series]:
    """(float, failure code) of a number column: `quick` where it is right, else rewritten.

    The rows in `careful` get the full Norwegian rewrite (`_number_text`) and checks
    (`_number_failure`); the decimal comma or point of the other values in a file is
    looked for only in the files where such a row could be ambiguous.
    """
    failure = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(column)
    if not careful.any():
        return quick, failure
    rows = careful.arg_true()
    text_cell = pl.col(TEXT_FILE) | pl.col(TEXT_CELL + column)
    sub = frame.select(
        pl.col(FILE).gather(rows),
        text_cell.gather(rows).alias("cell"),
        _number_text(pl.col(column).gather(rows)).alias("text"),
    ).with_columns(_as_float(pl.col("text")).alias("value"))
    # A file's other values matter for `958.000` outside money columns and for `1,234`.
    dot = pl.col("cell") & pl.col("text").str.contains(_DOT_THOUSANDS) & (not money)
    comma = pl.col("cell") & pl.col("text").str.contains(_COMMA_THOUSANDS)
    asks = sub.select(
        pl.col(FILE).filter(dot.fill_null(False)).unique().implode().alias("dot"),
        pl.col(FILE).filter(comma.fill_null(False)).unique().implode().alias("comma"),
    ).row(0)
    comma_files: list[str] = []
    point_files: list[str] = []
    if asks[0] or asks[1]:
        # Every value's compact text in those files: the quick ones need no rewrite.
        texts = frame.get_column(column).scatter(rows, sub.get_column("text"))
        texts = pl.DataFrame([frame.get_column(FILE), texts.alias("text")]).filter(
            pl.col(FILE).is_in([*asks[0], *asks[1]])
        )
        marks = texts.group_by(FILE).agg(
            pl.col("text").str.contains(_DECIMAL_COMMA).any().alias("comma"),
            pl.col("text").str.contains(_DECIMAL_POINT).any().alias("point"),
        )
        comma_files = marks.filter("comma").get_column(FILE).to_list()
        point_files = marks.filter("point").get_column(FILE).to_list()
    codes = sub.select(
        _number_failure(
            pl.col("text"),
            pl.col("value"),
            money=money,
            text_cell=pl.col("cell"),
            comma_in_file=pl.col(FILE).is_in(comma_files),
            point_in_file=pl.col(FILE).is_in(point_files),
        ).cast(pl.String)
    ).to_series()
    return quick.scatter(rows, sub.get_column("value")), failure.scatter(rows, codes)


def _parse_date(expr: pl.Expr) -> pl.Expr:
    """A date written `YYYY-MM-DD` or `DD.MM.YYYY` (a time after it ignored); else null."""
    text = expr.str.replace(_TIME_SUFFIX, "")
    iso = pl.when(text.str.contains(_ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False))
    nor = pl.when(text.str.contains(_NO_DATE)).then(text.str.to_date("%d.%m.%Y", strict=False))
    return pl.coalesce(iso, nor)


def _parse_month(expr: pl.Expr) -> pl.Expr:
    """The first day of a month written `YYYY-MM`, `MM.YYYY` or as a date in it; else null."""
    iso = pl.when(expr.str.contains(_ISO_MONTH)).then(
        (expr + "-01").str.to_date("%Y-%m-%d", strict=False)
    )
    nor = pl.when(expr.str.contains(_NO_MONTH)).then(
        ("01." + expr).str.to_date("%d.%m.%Y", strict=False)
    )
    return pl.coalesce(iso, nor, _parse_date(expr)).dt.month_start()


def _by_distinct(expr: pl.Expr, parse: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """`parse(expr)` computed once per distinct text: dates and months repeat a lot."""

    def apply(s: pl.Series) -> pl.Series:
        distinct = s.drop_nulls().unique().to_frame("t")
        distinct = distinct.with_columns(parse(pl.col("t")).alias("v"))
        joined = s.to_frame("t").join(distinct, on="t", how="left", maintain_order="left")
        return joined.get_column("v")

    return expr.map_batches(apply, return_dtype=pl.Date)


_PARSE_RULES = {
    Kind.DECIMAL: ("ugyldig_tall", "Verdier som ikke er tall"),
    Kind.INTEGER: ("ugyldig_heltall", "Verdier som ikke er heltall"),
    Kind.DATE: ("ugyldig_dato", "Ugyldige datoer"),
    Kind.MONTH: ("ugyldig_maned", "Ugyldige måneder"),
}
_NUMBER_RULES = {
    "tvetydig": (
        "ugyldig_tvetydig_tall",
        "Tall som kan bety to ting",
        "punktum eller komma fulgt av tre sifre kan være tusenskille (958.000 = 958 000?) "
        "eller desimaltegn; skriv 958 000 eller 958,00",
    ),
    "for_stor": (
        "ugyldig_for_stort_tall",
        "Tall som er for store",
        "tallet er større enn 10^15 og kan ikke være et beløp; kontroller verdien",
    ),
}


def _typed(table: Table, raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type every canonical column; return (typed frame, frame of parse failures).

    A failure column holds null where the value was read, else a failure code. Numbers are
    read by one cast over whole columns, and only the values it cannot be trusted with are
    rewritten and checked one by one (`_quick_number`); dates and months once per distinct
    text. The whole-column work of all columns runs in one polars call (in parallel).
    """
    numeric = [c for c in table.columns if c.kind in (Kind.DECIMAL, Kind.INTEGER)]
    dated = [c for c in table.columns if c.kind in (Kind.DATE, Kind.MONTH)]
    quick_exprs = []
    for col in numeric:
        text_cell = pl.col(TEXT_FILE) | pl.col(TEXT_CELL + col.name)
        quick, careful = _quick_number(pl.col(col.name), text_cell)
        quick_exprs += [quick.alias(f"tall_{col.name}"), careful.alias(f"sjekk_{col.name}")]
    # Lazy: the float each `_quick_number` pair shares is computed once (not so eagerly).
    staged = (
        raw.lazy()
        .select(
            *quick_exprs,
            *(
                _by_distinct(
                    pl.col(c.name), _parse_date if c.kind is Kind.DATE else _parse_month
                ).alias(c.name)
                for c in dated
            ),
            *(
                pl.col(c.name).map_batches(_normalise_series, return_dtype=pl.String)
                for c in table.columns
                if c.kind is Kind.CODE
            ),
        )
        .collect()
    )
    typed: dict[str, pl.Series] = {}
    failed: dict[str, pl.Series] = {}
    for col in table.columns:
        match col.kind:
            case Kind.TEXT:
                typed[col.name] = raw.get_column(col.name)
            case Kind.CODE:
                typed[col.name] = staged.get_column(col.name)
            case Kind.DECIMAL | Kind.INTEGER:
                number, failure = _careful_numbers(
                    raw,
                    col.name,
                    col.name.endswith("_kr"),
                    staged.get_column(f"tall_{col.name}"),
                    staged.get_column(f"sjekk_{col.name}"),
                )
                v, f = pl.col("v"), pl.col("f")
                if col.kind is Kind.INTEGER:
                    f = f.fill_null(pl.when(v.round(0) != v).then(pl.lit("ugyldig")))
                v = pl.when(f.is_null()).then(v)
                if col.kind is Kind.INTEGER:
                    v = v.cast(pl.Int64, strict=False)
                done = pl.DataFrame([number.alias("v"), failure.alias("f")]).select(v, f)
                typed[col.name] = done.get_column("v").alias(col.name)
                failed[col.name] = done.get_column("f").alias(col.name)
            case Kind.DATE | Kind.MONTH:
                parsed = staged.get_column(col.name)
                source = raw.get_column(col.name)
                failed[col.name] = (
                    pl.DataFrame([source.alias("t"), parsed.alias("d")])
                    .select(
                        pl.when(pl.col("t").is_not_null() & pl.col("d").is_null())
                        .then(pl.lit("ugyldig"))
                        .alias(col.name)
                    )
                    .to_series()
                )
                typed[col.name] = parsed
    keys = [raw.get_column(FILE), raw.get_column(ROW)]
    return pl.DataFrame([*keys, *typed.values()]), pl.DataFrame([*keys, *failed.values()])


def _normalise_series(s: pl.Series) -> pl.Series:
    uniques = s.drop_nulls().unique().to_list()
    mapping = {u: normalise_name(u) for u in uniques}
    return s.replace_strict(mapping, default=None, return_dtype=pl.String)


def _parse_problems(table_data: TableData, failures: pl.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    table = table_data.table
    for col in table.columns:
        if col.name not in failures.columns:
            continue
        codes = failures.get_column(col.name)
        if codes.null_count() == len(codes):
            continue
        # The failed rows alone, gathered by position (a filter over the whole table, with
        # the codes added as a column, costs a copy of the table when its pieces differ).
        at = codes.is_not_null().arg_true()
        shown = at.head(MAX_PARSE_PROBLEMS)
        rows = table_data.raw.select(pl.all().gather(shown)).with_columns(
            codes.gather(shown).alias("_feil")
        )
        if len(at) > MAX_PARSE_PROBLEMS:  # a whole column written wrong: say so once
            rest = len(at) - MAX_PARSE_PROBLEMS
            first = rows.row(0, named=True)
            problems.append(
                Problem.error(
                    _PARSE_RULES[col.kind][0],
                    _PARSE_RULES[col.kind][1],
                    f"og {rest} verdier til i samme kolonne som ikke kan leses; "
                    "rett hele kolonnen og kjør på nytt",
                    file=first[FILE],
                    column=table_data.written(first[FILE], col.name),
                )
            )
        for rec in rows.iter_rows(named=True):
            if rec["_feil"] in _NUMBER_RULES:
                rule, heading, expected = _NUMBER_RULES[rec["_feil"]]
            else:
                rule, heading = _PARSE_RULES[col.kind]
                expected = f"forventet {KIND_TEXT[col.kind]}"
            problems.append(
                Problem.error(
                    rule,
                    heading,
                    expected,
                    file=rec[FILE],
                    row=rec[ROW],
                    column=table_data.written(rec[FILE], col.name),
                    value=rec[col.name],
                    key=record_key(table, rec),
                )
            )
    return problems


def record_key(table: Table, rec: dict) -> str:
    """Describe the record's key as `enhet_id=...` (several parts joined by ', ')."""
    return ", ".join(f"{k}={rec.get(k) if rec.get(k) is not None else ''}" for k in table.key)


def _text_number_rows(cells: Cells, frame: pl.DataFrame, column: str | None) -> list[int]:
    """Excel row numbers of `column`'s text cells written like an ambiguous number."""
    if column is None or not cells.text_numbers:
        return []
    sheet_col = cells.first_col + frame.columns.index(column)
    return sorted(r + 1 for r, c in cells.text_numbers if c == sheet_col)


@dataclass
class _FileRead:
    """One file of a table: its hash, problems, headers as written and its rows (or None).

    `raw` holds the rows' texts (with the cell flags until they are typed), `data` the same
    rows typed and `failures` the failure code of each value that could not be typed.
    """

    sha256: str
    problems: list[Problem]
    headers: dict[str, str] | None = None
    raw: pl.DataFrame | None = None
    data: pl.DataFrame | None = None
    failures: pl.DataFrame | None = None


def _read_one(table: Table, path: Path) -> _FileRead:
    """Read one file of `table` to its rows: texts, and typed if the file is long.

    A long file is typed here, in its own thread, so that its typing overlaps the reading
    of the next; shorter files are typed together by `_stack` (a polars call costs some
    milliseconds whatever its size). Every step of `_typed` looks at one row, or at the
    rows of one file, so either way gives the same frames.
    """
    data = path.read_bytes()
    result = _FileRead(hashlib.sha256(data).hexdigest(), [])
    cells, result.problems = _read_file(path, data, table)
    del data
    if cells is None:
        return result
    frame = cells.frame
    mapping, result.headers, header_problems = _map_headers(
        table, frame, path.name, cells.first_row
    )
    result.problems += header_problems
    if any(p.rule in ("mangler_kolonne", "dobbel_kolonne") for p in header_problems):
        return result
    body = frame.slice(1).with_row_index(ROW, offset=cells.first_row + 1)
    cols = [
        (pl.col(mapping[c.name]).str.strip_chars() if c.name in mapping else pl.lit(None))
        .cast(pl.String)
        .alias(c.name)
        for c in table.columns
    ]
    text_cells = [
        pl.col(ROW)
        .is_in(_text_number_rows(cells, frame, mapping.get(c.name)))
        .alias(TEXT_CELL + c.name)
        for c in table.columns
        if c.kind in (Kind.DECIMAL, Kind.INTEGER)
    ]
    body = body.select(
        pl.lit(path.name).alias(FILE),
        pl.col(ROW).cast(pl.Int64),
        pl.lit(cells.text_file).alias(TEXT_FILE),
        *text_cells,
        *cols,
    )
    # A text of spaces only is no value. Apart from the stripping above: in one expression
    # polars strips every text twice.
    body = body.with_columns(_empty_as_null(c) for c in table.column_names)
    # Rows left entirely empty (trailing `;;;;` lines from Excel) are not records.
    body = body.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in table.column_names))
    result.raw = body
    if body.height >= TYPE_ALONE_ROWS:
        _type_reads(table, [result])
    return result


def _type_reads(table: Table, reads: list[_FileRead]) -> None:
    """Type the rows of `reads` (still with their cell flags) in one polars call, in place."""
    typed, failures = _typed(table, pl.concat([r.raw for r in reads], how="vertical"))
    at = 0
    for r in reads:
        assert r.raw is not None
        rows = r.raw.height
        r.data, r.failures = typed.slice(at, rows), failures.slice(at, rows)
        r.raw = r.raw.drop(TEXT_FILE, *(c for c in r.raw.columns if c.startswith(TEXT_CELL)))
        at += rows


def _stack(
    table: Table, paths: list[Path], reads: list[_FileRead]
) -> tuple[TableData | None, list[Problem], dict]:
    """One table from its files' reads (in the files' order): data, problems, file hashes."""
    problems = [p for r in reads for p in r.problems]
    hashes = {path.name: r.sha256 for path, r in zip(paths, reads, strict=True)}
    headers = {
        path.name: r.headers for path, r in zip(paths, reads, strict=True) if r.headers is not None
    }
    done = [r for r in reads if r.raw is not None]
    if not done:
        return None, problems, hashes
    if untyped := [r for r in done if r.data is None]:
        _type_reads(table, untyped)
    td = TableData(
        table=table,
        data=pl.concat([r.data for r in done], how="vertical"),
        raw=pl.concat([r.raw for r in done], how="vertical"),
        headers=headers,
        files=[p.name for p in paths],
    )
    problems += _parse_problems(td, pl.concat([r.failures for r in done], how="vertical"))
    return td, problems, hashes


def _read_all(jobs: list[tuple[Table, Path]]) -> list[_FileRead]:
    """Read the files (of one or more tables) at once, one per core; reads in `jobs`' order.

    The costliest start first, so that no long file is left to run alone at the end: a
    workbook's XML is scanned in Python (about 20 times a text file's time per byte), and
    its interpreter-bound work overlaps the text files' polars work.
    """
    if not jobs:
        return []

    def cost(i: int) -> int:
        path = jobs[i][1]
        weight = 20 if path.suffix.lower() in SPREADSHEET_SUFFIXES else 1
        return -weight * path.stat().st_size

    order = sorted(range(len(jobs)), key=cost)
    # One file per core: polars and hashing free the lock Python's threads share.
    with ThreadPoolExecutor(max_workers=min(machine.cores(), len(jobs))) as pool:
        done = dict(zip(order, pool.map(lambda i: _read_one(*jobs[i]), order), strict=True))
    return [done[i] for i in range(len(jobs))]


def read_table(table: Table, paths: list[Path]) -> tuple[TableData | None, list[Problem], dict]:
    """Read and stack every file of one table; return the data, problems and file hashes.

    The files are read at once, one per core; rows, problems and hashes keep the files' order.
    """
    return _stack(table, paths, _read_all([(table, path) for path in paths]))


def read_folder(folder: Path) -> RawData:
    """Read every table in a raw folder, collecting all problems instead of stopping."""
    folder = Path(folder)
    if not folder.is_dir():
        problem = Problem.error(
            "mangler_mappe", "Mappe som mangler", f"fant ikke mappen {folder}", file=str(folder)
        )
        return RawData(folder=folder, tables={}, problems=[problem])
    found, problems = discover(folder)
    result = RawData(folder=folder, tables={}, problems=problems)
    tables = [(name, paths) for name, paths in found.items() if paths]
    # Every file of every table in one pool: a workbook's Python work overlaps text files'.
    reads = iter(_read_all([(TABLES[name], path) for name, paths in tables for path in paths]))
    for name, paths in tables:
        td, table_problems, hashes = _stack(TABLES[name], paths, [next(reads) for _ in paths])
        log.info("Leste %s (%d filer)", name, len(paths))
        result.problems += table_problems
        result.sha256.update(hashes)
        if td is not None:
            result.tables[name] = td
    return result
