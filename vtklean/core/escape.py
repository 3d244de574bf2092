"""One escaping helper per output context: data is always text, never markup, code or formula.

Contexts: HTML text and attributes (`html_text`), JSON inside `<script>` (`script_json`),
plotly's pseudo-HTML labels (`plotly_text`), spreadsheet cells (`sheet_cell` and its
column-wise `sheet_column`, `csv_cell`, `csv_frame`), file names (`slug`) and the terminal
(`terminal_text`). Every call site that puts data into one of these contexts goes through
the helper for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import unicodedata
from collections.abc import Callable, MutableSet
from typing import TYPE_CHECKING, Any

import markupsafe

if TYPE_CHECKING:  # imported where used: the terminal's helper must not cost polars' import
    import polars as pl

from vtklean.core.norsk import normalise_name

# ---- HTML and script ---------------------------------------------------------------------


def html_text(value: object) -> str:
    """`value` as HTML text, safe in element content and in quoted attribute values.

    Escapes `&`, `<`, `>`, `"` and `'` (markupsafe, the escaper Jinja's autoescape uses, so
    templates and Python-built fragments escape alike). None becomes the empty string.
    """
    return str(markupsafe.escape("" if value is None else value))


# What plotly.io.to_html swaps in its JSON (plotly.io.json: `<`, `>`, `/`, U+2028, U+2029),
# plus `&`, so that no character sequence in the data can end or open anything in HTML.
_SCRIPT_SWAPS = (("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def script_json(value: Any) -> str:
    """`value` as a JSON literal safe inside an HTML `<script>` element.

    Uses plotly's own encoder (it handles numpy arrays, dates and NaN, and escapes `<`, `>`
    and `/`), then `&` and the JavaScript line separators U+2028/U+2029. The result parses
    as the same JSON, so it is data, never code.
    """
    from plotly.io.json import to_json_plotly

    text = to_json_plotly(value, engine="json")
    for raw, safe in _SCRIPT_SWAPS:
        text = text.replace(raw, safe)
    return text


# ---- plotly labels -----------------------------------------------------------------------


def plotly_text(value: object) -> str | None:
    """`value` as literal text for a plotly label: trace name, category, tick, hover, annotation.

    plotly.js reads its labels as pseudo-HTML (`<br>`, `<b>`, `<a href>`, ...) and decodes
    the entities `&amp;`, `&lt;` and `&gt;` (but not `&quot;`), so escaping exactly these
    three characters shows any string as itself. None stays None (a gap in the data).
    """
    if value is None:
        return None
    return html.escape(str(value), quote=False)


def plotly_texts(values: list) -> list:
    """`plotly_text` of every item of a list (categories, hover texts)."""
    return [plotly_text(v) for v in values]


# ---- spreadsheets ------------------------------------------------------------------------

# OWASP "CSV injection": a cell starting with one of these is read as a formula (or DDE
# command) by Excel, LibreOffice and Google Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"

# Options for every xlsxwriter workbook the project writes: a string stays a string even
# where something calls the generic write() (polars' write_excel does).
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def csv_cell(value: object) -> object:
    """A value for a CSV file that people open in a spreadsheet (OWASP CSV-injection advice).

    A string starting with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`, so
    Excel and LibreOffice show it as text instead of running it as a formula. Numbers,
    dates and None are returned unchanged: numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`csv_cell` applied to every text column of a frame (other columns unchanged)."""
    import polars as pl

    texts = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_TRIGGER_PATTERN))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in texts
    )


def _sheet_writer(sheet: Any, value: object) -> tuple[Callable[..., Any], object]:
    """The xlsxwriter method for `value`'s type, and the value as that method takes it."""
    if value is None or (isinstance(value, float) and value != value):
        return sheet.write_blank, None
    if isinstance(value, bool):
        return sheet.write_boolean, value
    if isinstance(value, int | float):
        return sheet.write_number, value
    if isinstance(value, dt.datetime):
        return sheet.write_datetime, value
    if isinstance(value, dt.date):
        return sheet.write_datetime, dt.datetime.combine(value, dt.time())
    return sheet.write_string, str(value)


def sheet_cell(sheet: Any, row: int, col: int, value: object, cell_format: Any = None) -> None:
    """Write one value into an xlsxwriter worksheet with the writer for its type.

    Text always goes through `write_string`, so `=HYPERLINK(...)` or `=1+1` is stored and
    shown as the text it is, never as a formula or link; numbers through `write_number`,
    dates through `write_datetime`, None as a blank cell. The text is not prefixed: in a
    workbook a string cell cannot become a formula.
    """
    write, value = _sheet_writer(sheet, value)
    write(row, col, value, cell_format)


def sheet_column(sheet: Any, values: pl.Series) -> list[tuple[Callable[..., Any], object]]:
    """`sheet_cell`'s writer and value for every item of a column, the type chosen per column.

    The same choice as `sheet_cell` makes per value (text through `write_string` only,
    null and NaN blank), decided once from the column's type for text, numbers, dates and
    naive date-times; any other type is decided per value by `sheet_cell`'s own rule. The
    caller writes the pairs in row order (`write(row, col, value, format)`).
    """
    import polars as pl

    dtype = values.dtype
    if dtype in (pl.Categorical, pl.Enum):
        values, dtype = values.cast(pl.String), pl.String
    naive = dtype == pl.Datetime and getattr(dtype, "time_zone", None) is None
    if dtype == pl.Date or naive:
        values, dtype = values.cast(pl.Datetime("us")), pl.Datetime
    if dtype in (pl.String, pl.Boolean, pl.Datetime) or dtype.is_integer() or dtype.is_float():
        blank = values.is_null()
        if dtype.is_float():
            blank = blank | values.is_nan()
        write = {pl.String: sheet.write_string, pl.Boolean: sheet.write_boolean}.get(
            dtype, sheet.write_datetime if dtype == pl.Datetime else sheet.write_number
        )
        return [
            (sheet.write_blank, None) if empty else (write, value)
            for value, empty in zip(values.to_list(), blank.to_list(), strict=True)
        ]
    return [_sheet_writer(sheet, value) for value in values.to_list()]


# ---- terminal ----------------------------------------------------------------------------

# Bidirectional overrides and isolates: they reorder what a terminal shows after them.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def terminal_text(value: object) -> str:
    r"""`value` for a terminal line: control characters shown as escapes, never obeyed.

    A value quoted from a raw file can hold ESC sequences (colours, cursor moves, window
    titles) or bidirectional overrides; each such character (and any other control
    character but the line break) is written as `\x1b`/`\u202e`, so the finance
    officer sees what is in the cell instead of a terminal that was rewritten.
    """
    text = str(value)
    if text.isprintable():
        return text
    return "".join(
        ch
        if ch == "\n" or (unicodedata.category(ch) != "Cc" and ch not in _BIDI)
        else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text
    )


# ---- file names --------------------------------------------------------------------------

SLUG_MAX = 60  # characters of the readable part; well inside every file system's limit
_HASH_CHARS = 8
# Names Windows reserves in every folder (with any extension), and the path names `.`/`..`.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))} | {
    f"lpt{i}" for i in range(10)
}


def _stable_suffix(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]


def slug(name: str, taken: MutableSet[str] | None = None) -> str:
    """A safe file-name part for `name`: ASCII `a-z0-9_-`, at most ~70 characters, never empty.

    The name normalised as the contract normalises names (`norsk.normalise_name`:
    `Helse og omsorg` → `helse_og_omsorg`), cut to SLUG_MAX. A name with nothing left
    (`😀`, `???`, `..`) or a name Windows reserves (`CON`, `NUL`, ...) gets a `-` and a
    suffix from a hash of the name. With `taken` (the slugs already used in this build),
    a slug already taken gets the same stable suffix, so two names that slug alike get two
    files; the result is added to `taken`. A plain slug never holds `-`, so a suffixed
    one cannot clash with it; none holds a path separator or a dot, so none can leave its
    folder.
    """
    base = normalise_name(name)[:SLUG_MAX].strip("_")
    out, n = base, 1
    while not out or out in _RESERVED or (taken is not None and out in taken):
        suffix = _stable_suffix(name) + ("" if n == 1 else f"-{n}")  # -2: same name twice
        out, n = f"{base}-{suffix}".lstrip("-"), n + 1
    if taken is not None:
        taken.add(out)
    return out
