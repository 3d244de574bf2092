"""Raw files to typed polars frames: encodings, delimiters, Norwegian numbers, dates and months."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl

from vtklean.contract import KIND_TEXT, TABLES, Kind, Table
from vtklean.problems import Problem, Severity

log = logging.getLogger(__name__)

FILE = "_fil"  # column holding the file name a row came from
ROW = "_rad"  # column holding the row number as Excel shows it (header = 1)

DTYPES: dict[Kind, pl.DataType] = {
    Kind.TEXT: pl.String(),
    Kind.CODE: pl.String(),
    Kind.DATE: pl.Date(),
    Kind.MONTH: pl.Date(),
    Kind.DECIMAL: pl.Float64(),
    Kind.INTEGER: pl.Int64(),
}

SUPPORTED_SUFFIXES = (".csv", ".xlsx")

_NUMBER = r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$"
_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}$"
_NO_DATE = r"^\d{1,2}\.\d{1,2}\.\d{4}$"
_TIME_SUFFIX = r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
_ISO_MONTH = r"^\d{4}-\d{1,2}$"
_NO_MONTH = r"^\d{1,2}\.\d{4}$"
# Runs of UTF-8 multi-byte sequences: their presence in a file that is not valid UTF-8
# means a damaged or mixed file, which must not be decoded as Windows-1252 silently.
_UTF8_SEQ = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def normalise_name(text: str) -> str:
    """Normalise a header or a coded value as the contract says.

    Trim, lower-case, æ→ae, ø→o, å→a, every run of other non-alphanumeric characters
    becomes `_`, and leading/trailing `_` are dropped. Other accents are removed
    (`é`→`e`) so the result is plain ASCII.

    >>> normalise_name(" Beløp (kr) ")
    'belop_kr'
    """
    s = text.strip().lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


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


def _problem(rule: str, heading: str, expected: str, **where: object) -> Problem:
    return Problem(rule=rule, heading=heading, severity=Severity.ERROR, expected=expected, **where)


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
                _problem(
                    "filformat",
                    "Filformat som ikke støttes",
                    "lagre filen som .xlsx eller .csv",
                    file=name,
                )
            )
            continue
        found[table].append(path)
    for table in TABLES.values():
        if table.required and not found[table.name]:
            problems.append(
                _problem(
                    "mangler_tabell",
                    "Tabell som mangler",
                    f"fant ingen fil for tabellen «{table.name}» "
                    f"(filnavnet skal begynne med «{table.name}», .csv eller .xlsx)",
                )
            )
    return found, problems


def decode(data: bytes, name: str) -> tuple[str | None, list[Problem]]:
    """Decode CSV bytes as UTF-8 (with or without BOM) or Windows-1252, never silently wrong."""
    if not data.strip():
        return None, [_problem("tom_fil", "Tom fil", "filen er tom", file=name)]
    if b"\x00" in data:
        return None, [
            _problem(
                "ikke_csv",
                "Filen er ikke en CSV-fil",
                "filen inneholder binære data; lagre den som CSV (semikolonseparert) eller .xlsx",
                file=name,
            )
        ]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as err:
        bad = err.start
    row = data.count(b"\n", 0, bad) + 1
    byte = f"0x{data[bad]:02X}"
    if _UTF8_SEQ.search(data):
        return None, [
            _problem(
                "tegnkoding",
                "Tegn som ikke kan leses",
                f"filen blander UTF-8 med andre tegn (byte {byte}); "
                "lagre hele filen på nytt som UTF-8",
                file=name,
                row=row,
            )
        ]
    try:
        return data.decode("cp1252"), []
    except UnicodeDecodeError as err:
        row = data.count(b"\n", 0, err.start) + 1
        return None, [
            _problem(
                "tegnkoding",
                "Tegn som ikke kan leses",
                f"ugyldig tegn (byte 0x{data[err.start]:02X}); lagre filen som UTF-8",
                file=name,
                row=row,
            )
        ]


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") >= header.count(",") and ";" in header else ","


def _read_csv(path: Path, data: bytes) -> tuple[pl.DataFrame | None, list[Problem]]:
    text, problems = decode(data, path.name)
    if text is None:
        return None, problems
    sep = _delimiter(text)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=sep,
            has_header=False,
            infer_schema=False,
            quote_char='"',
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError:
        return None, [_ragged(text, sep, path.name)]
    return frame, []


def _ragged(text: str, sep: str, name: str) -> Problem:
    """Find the first record whose field count differs from the header's."""
    records = csv.reader(io.StringIO(text), delimiter=sep)
    width = None
    for i, record in enumerate(records, start=1):
        if width is None:
            width = len(record)
        elif record and len(record) != width:
            return _problem(
                "ikke_csv",
                "Filen er ikke en gyldig CSV-fil",
                f"raden har {len(record)} felt, men overskriftsraden har {width} "
                f"(skilletegn «{sep}»)",
                file=name,
                row=i,
            )
    return _problem(
        "ikke_csv", "Filen er ikke en gyldig CSV-fil", "filen kan ikke tolkes som CSV", file=name
    )


def _read_xlsx(path: Path) -> tuple[pl.DataFrame | None, list[Problem]]:
    try:
        reader = fastexcel.read_excel(path)
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        frame = sheet.to_polars()
    except Exception as err:  # fastexcel raises several types for damaged files
        log.debug("fastexcel failed on %s: %s", path, err)
        return None, [
            _problem(
                "ikke_excel",
                "Filen kan ikke leses som Excel-fil",
                "filen er skadet eller ikke en .xlsx-fil; åpne og lagre den på nytt i Excel",
                file=path.name,
            )
        ]
    if frame.height == 0:
        return None, [_problem("tom_fil", "Tom fil", "arket er tomt", file=path.name)]
    return frame, []


def _read_file(path: Path, data: bytes) -> tuple[pl.DataFrame | None, list[Problem]]:
    """Read one file to a frame of strings whose first row is the header."""
    if path.suffix.lower() == ".xlsx":
        return _read_xlsx(path)
    return _read_csv(path, data)


def _map_headers(
    table: Table, frame: pl.DataFrame, name: str
) -> tuple[dict[str, str], dict[str, str], list[Problem]]:
    """Map canonical column -> frame column and -> header as written; check the header row."""
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
                _problem(
                    "dobbel_kolonne",
                    "Kolonne som står to ganger",
                    f"kolonnen «{text}» står to ganger (også som «{written[norm]}»)",
                    file=name,
                    row=1,
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
                Problem(
                    rule="ukjent_kolonne",
                    heading="Ukjente kolonner (tas ikke med)",
                    severity=Severity.WARNING,
                    expected=f"kolonnen er ikke en del av tabellen «{table.name}» og tas ikke med",
                    file=name,
                    row=1,
                    column=text,
                )
            )
    for col in table.columns:
        if col.required and col.name not in canonical:
            problems.append(
                _problem(
                    "mangler_kolonne",
                    "Påkrevd kolonne som mangler",
                    f"fant ikke kolonnen «{col.name}» i overskriftsraden",
                    file=name,
                    row=1,
                    column=col.name,
                )
            )
    mapping = {k: v for k, v in canonical.items() if k in known}
    return mapping, {k: v for k, v in written.items() if k in known}, problems


def _clean_text(expr: pl.Expr) -> pl.Expr:
    stripped = expr.str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _parse_number(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Return (value, valid) expressions for a Norwegian or plain number in text."""
    compact = expr.str.replace_all(r"[\s\u00a0\u202f]", "").str.replace_all("\u2212", "-")
    valid = compact.str.contains(_NUMBER)
    value = compact.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    return pl.when(valid).then(value), valid & value.is_not_null()


def _parse_date(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    text = expr.str.replace(_TIME_SUFFIX, "")
    iso = pl.when(text.str.contains(_ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False))
    nor = pl.when(text.str.contains(_NO_DATE)).then(text.str.to_date("%d.%m.%Y", strict=False))
    value = pl.coalesce(iso, nor)
    return value, value.is_not_null()


def _parse_month(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    date, _ = _parse_date(expr)
    iso = pl.when(expr.str.contains(_ISO_MONTH)).then(
        (expr + "-01").str.to_date("%Y-%m-%d", strict=False)
    )
    nor = pl.when(expr.str.contains(_NO_MONTH)).then(
        ("01." + expr).str.to_date("%d.%m.%Y", strict=False)
    )
    value = pl.coalesce(iso, nor, date).dt.month_start()
    return value, value.is_not_null()


_PARSE_RULES = {
    Kind.DECIMAL: ("ugyldig_tall", "Verdier som ikke er tall"),
    Kind.INTEGER: ("ugyldig_heltall", "Verdier som ikke er heltall"),
    Kind.DATE: ("ugyldig_dato", "Ugyldige datoer"),
    Kind.MONTH: ("ugyldig_maned", "Ugyldige måneder"),
}


def _typed(table: Table, raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type every canonical column; return (typed frame, frame of parse failures)."""
    exprs: list[pl.Expr] = [pl.col(FILE), pl.col(ROW)]
    bad: list[pl.Expr] = []
    for col in table.columns:
        src = pl.col(col.name)
        match col.kind:
            case Kind.TEXT:
                exprs.append(src.alias(col.name))
                continue
            case Kind.CODE:
                exprs.append(src.map_batches(_normalise_series, return_dtype=pl.String))
                continue
            case Kind.DECIMAL:
                value, ok = _parse_number(src)
            case Kind.INTEGER:
                number, ok = _parse_number(src)
                ok = ok & (number.round(0) == number)
                value = pl.when(ok).then(number.cast(pl.Int64))
            case Kind.DATE:
                value, ok = _parse_date(src)
            case Kind.MONTH:
                value, ok = _parse_month(src)
        exprs.append(value.alias(col.name))
        bad.append((src.is_not_null() & ~ok.fill_null(False)).alias(col.name))
    typed = raw.select(exprs)
    failures = raw.select(pl.col(FILE), pl.col(ROW), *bad) if bad else raw.select(FILE, ROW)
    return typed, failures


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
        mask = failures.get_column(col.name)
        if not mask.any():
            continue
        rule, heading = _PARSE_RULES[col.kind]
        rows = table_data.raw.filter(mask)
        for rec in rows.iter_rows(named=True):
            problems.append(
                _problem(
                    rule,
                    heading,
                    f"forventet {KIND_TEXT[col.kind]}",
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


def read_table(table: Table, paths: list[Path]) -> tuple[TableData | None, list[Problem], dict]:
    """Read and stack every file of one table; return the data, problems and file hashes."""
    problems: list[Problem] = []
    pieces: list[pl.DataFrame] = []
    headers: dict[str, dict[str, str]] = {}
    hashes: dict[str, str] = {}
    for path in paths:
        data = path.read_bytes()
        hashes[path.name] = hashlib.sha256(data).hexdigest()
        frame, file_problems = _read_file(path, data)
        problems += file_problems
        if frame is None:
            continue
        mapping, headers[path.name], header_problems = _map_headers(table, frame, path.name)
        problems += header_problems
        if any(p.rule in ("mangler_kolonne", "dobbel_kolonne") for p in header_problems):
            continue
        body = frame.slice(1).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
        cols = [
            (_clean_text(pl.col(mapping[c.name])) if c.name in mapping else pl.lit(None, pl.String))
            .cast(pl.String)
            .alias(c.name)
            for c in table.columns
        ]
        body = body.select(pl.lit(path.name).alias(FILE), pl.col(ROW), *cols)
        # Rows left entirely empty (trailing `;;;;` lines from Excel) are not records.
        body = body.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in table.column_names))
        pieces.append(body)
    if not pieces:
        return None, problems, hashes
    raw = pl.concat(pieces, how="vertical")
    typed, failures = _typed(table, raw)
    td = TableData(table=table, data=typed, raw=raw, headers=headers, files=[p.name for p in paths])
    problems += _parse_problems(td, failures)
    return td, problems, hashes


def read_folder(folder: Path) -> RawData:
    """Read every table in a raw folder, collecting all problems instead of stopping."""
    folder = Path(folder)
    if not folder.is_dir():
        problem = _problem(
            "mangler_mappe", "Mappe som mangler", f"fant ikke mappen {folder}", file=str(folder)
        )
        return RawData(folder=folder, tables={}, problems=[problem])
    found, problems = discover(folder)
    result = RawData(folder=folder, tables={}, problems=problems)
    for name, paths in found.items():
        if not paths:
            continue
        log.info("Leser %s (%d filer)", name, len(paths))
        td, table_problems, hashes = read_table(TABLES[name], paths)
        result.problems += table_problems
        result.sha256.update(hashes)
        if td is not None:
            result.tables[name] = td
    return result
