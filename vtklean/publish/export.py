"""The downloads: nokkeltall.csv and enheter.csv for other systems, nokkeltall.xlsx for people."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter

from vtklean.core import escape, measures, norsk
from vtklean.model import datasets, gate, targets

# What the index says about each download: who it is for.
DOWNLOADS = (
    ("nokkeltall.xlsx", "Nøkkeltall (Excel)", "for lesere: norske overskrifter, forklaringer"),
    ("nokkeltall.csv", "Nøkkeltall (CSV)", "for andre systemer: faste kolonnenavn, punktum"),
    ("enheter.csv", "Alle enhetene med tall (CSV)", "for andre systemer og egne analyser"),
)

# The unit table (figures.all_units): header, Excel format, decimals shown on the pages.
FTE_XL, PERCENT_XL, COUNT_XL = measures.FTE_XL, measures.PERCENT_XL, measures.COUNT_XL
DATE_XL = "dd.mm.yyyy"
UNIT_COLUMNS = {
    "tjenesteomrade": ("Tjenesteområde", None, None),
    "enhet_id": ("Enhet-ID", None, None),
    "enhet": ("Enhet", None, None),
    "aktiv": ("Aktiv", None, None),
    "lean_start": ("Lean-start", DATE_XL, None),
    "pilot": ("Pilotbølge", COUNT_XL, 0),
    "lagt_ned": ("Lagt ned", DATE_XL, None),
    "identifisert_arsverk": (measures.get("gevinster_identifisert_arsverk").heading, FTE_XL, 1),
    "realisert_arsverk": (measures.get("gevinster_realisert_arsverk").heading, FTE_XL, 1),
    "arsverk": ("Årsverk", FTE_XL, 1),
    "sykefravaer_prosent": (measures.get("sykefravaer_prosent").heading, PERCENT_XL, 1),
    "sykefravaer_prosent_i_fjor": ("Sykefravær året før (%)", PERCENT_XL, 1),
    "budsjettavvik_prosent": (measures.get("budsjettavvik_prosent").heading, PERCENT_XL, 1),
}
# The Nøkkeltall sheet: the contract's key figures and these; every other key figure of
# the export (gains in kroner and counts, improvement proposals) is on Forbedringer.
KEY_SHEET_EXTRA = ("ansatte", "budsjettavvik_kr")
HEADER_ROW = 4  # rows above the table: title, municipality, date, blank
EXPLANATION_WIDTH = 80  # characters of the Forklaring sheet's definition column


@dataclass(frozen=True)
class Context:
    """What the workbook says about the build: whose figures, as of when, from which files."""

    kommune: str
    title: str
    as_of: dt.date
    year: int
    version: str
    threshold: float
    files: tuple[tuple[str, str], ...]  # raw file name, SHA-256


def heading(key: str) -> str:
    """A key figure's column heading for people, with its unit (`Realiseringsgrad (%)`)."""
    return measures.get(key).heading


def key_sheet_columns(figures: pl.DataFrame) -> list[str]:
    """The key figures on the Nøkkeltall sheet, in the export's order."""
    wanted = (*measures.CONTRACT[1:], *KEY_SHEET_EXTRA)
    return [k for k in measures.EXPORT if k in wanted and k in figures.columns]


def _unit_columns(units: pl.DataFrame) -> list[tuple[str, str, str | None, int | None]]:
    """The unit table's columns: (key, heading, Excel format, decimals shown on the pages).

    The unit columns of UNIT_COLUMNS, then any key figure of the registry the table holds
    (the proposal counts of the year), with the registry's heading and format.
    """
    shown_decimals = {"arsverk": 1, "prosent": 1, "kr": 0, "mill": 0, "heltall": 0, "dager": 0}
    out = [(c, h, f, d) for c, (h, f, d) in UNIT_COLUMNS.items() if c in units.columns]
    out += [
        (c, heading(c), measures.get(c).excel, shown_decimals[measures.get(c).page])
        for c in units.columns
        if c not in UNIT_COLUMNS and c in measures.MEASURES
    ]
    return out


def rounded_units(units: pl.DataFrame) -> pl.DataFrame:
    """The unit table rounded to the decimals the pages show (no float noise in the CSV)."""
    return units.with_columns(
        pl.col(c).round(d)
        for c, _, _, d in _unit_columns(units)
        if d is not None and units.schema[c].is_float()
    )


@gate.views
def write_csvs(folder: Path, figures: pl.DataFrame, units: pl.DataFrame) -> None:
    """nokkeltall.csv (the contract's columns, `,` and `.`) and enheter.csv (rounded)."""
    # Names are guarded against formula injection before hidden numbers become `:` text.
    gate.for_export(escape.csv_frame(figures)).write_csv(
        folder / "nokkeltall.csv", separator=",", null_value=""
    )
    gate.for_export(escape.csv_frame(rounded_units(units))).write_csv(
        folder / "enheter.csv", null_value=""
    )


class _Book:
    """The workbook's formats, and one way to write a table with hidden cells."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.wb = wb
        base = {"font_name": "Arial", "font_size": 10}
        self.title = wb.add_format({**base, "bold": True, "font_size": 14})
        self.text = wb.add_format({**base, "text_wrap": True, "valign": "top"})
        self.note = wb.add_format(base)  # one line that runs on over the empty cells
        self.bold = wb.add_format({**base, "bold": True, "valign": "top"})
        self.header = wb.add_format(
            {**base, "bold": True, "text_wrap": True, "valign": "bottom", "bottom": 1}
            | {"bg_color": "#DCE6F0"}
        )
        self.header_num = wb.add_format(
            {**base, "bold": True, "text_wrap": True, "valign": "bottom", "bottom": 1}
            | {"bg_color": "#DCE6F0", "align": "right"}
        )
        self.hidden = wb.add_format({**base, "align": "right"})
        self.hidden_total = wb.add_format({**base, "align": "right", "bold": True, "top": 1})
        self._formats: dict[tuple[str | None, bool], object] = {}
        self._base = base

    def cell_format(self, num_format: str | None, total: bool = False):
        """The format of a data cell: number format, and bold with a rule for the total."""
        key = (num_format, total)
        if key not in self._formats:
            spec = dict(self._base)
            if num_format:
                spec["num_format"] = num_format
            if total:
                spec |= {"bold": True, "top": 1, "bg_color": "#F2F2F2"}
            self._formats[key] = self.wb.add_format(spec)
        return self._formats[key]

    def table(
        self,
        sheet,
        top: int,
        frame: pl.DataFrame,
        columns: list[tuple[str, str, str | None]],
        total: str | None = None,
    ) -> int:
        """Write `frame`'s `columns` (key, heading, Excel format) from row `top`.

        Hidden cells show `:` (the footnote follows below); a row whose first cell is
        `total` is set apart. Returns the last row written.
        """
        for col, (key, text, fmt) in enumerate(columns):
            escape.sheet_cell(sheet, top, col, text, self.header_num if fmt else self.header)
            sheet.set_column(col, col, _width(frame, key, text, fmt))
        if total is None:
            is_total = [False] * frame.height
        else:
            is_total = (frame.get_column(columns[0][0]) == total).fill_null(False).to_list()
        cells = [self._column(sheet, frame, key, fmt, is_total) for key, _, fmt in columns]
        row = top
        for row, line in enumerate(zip(*cells, strict=True), start=top + 1):
            for col, (write, value, style) in enumerate(line):
                write(row, col, value, style)
        return row

    def _column(
        self, sheet, frame: pl.DataFrame, key: str, fmt: str | None, is_total: list[bool]
    ) -> list[tuple]:
        """One table column as (writer, value, format) per row, in row order.

        A boolean shows as `ja`/`nei`; a hidden cell (its flag set) as `:` in the hidden
        style; the total row in bold with a rule.
        """
        values = frame.get_column(key)
        if values.dtype == pl.Boolean:
            values = pl.select(
                pl.when(values).then(pl.lit("ja")).when(~values).then(pl.lit("nei"))
            ).to_series()
        styles = {False: self.cell_format(fmt), True: self.cell_format(fmt, True)}
        out = [
            (write, value, styles[t])
            for (write, value), t in zip(escape.sheet_column(sheet, values), is_total, strict=True)
        ]
        if gate.flag(key) in frame.columns:
            hidden = frame.get_column(gate.flag(key)).is_not_null().to_list()
            suppressed = escape.sheet_column(sheet, pl.Series([gate.SUPPRESSED]))[0]
            marks = {False: self.hidden, True: self.hidden_total}
            out = [
                (*suppressed, marks[t]) if h else cell
                for cell, h, t in zip(out, hidden, is_total, strict=True)
            ]
        return out

    def print_setup(self, sheet, header_row: int, title: str) -> None:
        """One page wide, header row on every page, page numbers (landscape: `_intro`).

        Called before the table is written: the workbook writes its rows in order.
        """
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(header_row)
        sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        sheet.set_footer(f"&L{_header_text(title)}&RSide &P av &N")
        sheet.freeze_panes(header_row + 1, 1)
        sheet.set_row(header_row, 45)


def _width(frame: pl.DataFrame, key: str, heading: str, num_format: str | None) -> float:
    """A column's width in characters: its longest value as shown, and its longest word."""
    word = max((len(w) for w in heading.split()), default=0) + 2
    if key not in frame.columns:
        return max(10, word)
    values = frame.get_column(key).drop_nulls()
    if frame.schema[key] == pl.String:
        longest = int(values.str.len_chars().max() or 0) + 2
    elif num_format is not None and frame.schema[key].is_numeric() and len(values):
        # As shown: thousands separators, the format's decimals and unit (` kr`), a sign.
        suffix = num_format.split('"')[1] if '"' in num_format else ""
        decimals = len(num_format.split(".")[1].split('"')[0]) if "." in num_format else 0
        longest = len(f"{values.abs().max():,.{decimals}f}") + len(suffix) + 3
    else:
        longest = 12
    return min(45, max(10, word, longest))


def _header_text(text: str) -> str:
    """Text for an Excel page header or footer (`&` is a control character there)."""
    return text.replace("&", "&&")


def _intro(book: _Book, sheet, ctx: Context, what: str) -> None:
    """Title, municipality and date on top of a sheet; every sheet prints landscape on A4."""
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    escape.sheet_cell(sheet, 0, 0, f"{what} – {ctx.title}", book.title)
    escape.sheet_cell(sheet, 1, 0, ctx.kommune, book.bold)
    escape.sheet_cell(
        sheet, 2, 0, f"Per {norsk.date(ctx.as_of)} (rapportåret {ctx.year})", book.note
    )


def _footnote(book: _Book, sheet, row: int, frame: pl.DataFrame) -> None:
    note = gate.footnote(frame)
    if note:
        escape.sheet_cell(sheet, row + 2, 0, note, book.note)


def _key_figures(book: _Book, ctx: Context, figures: pl.DataFrame) -> None:
    sheet = book.wb.add_worksheet("Nøkkeltall")
    columns = [("tjenesteomrade", measures.AREA_LABEL, None)]
    columns += [(k, heading(k), measures.get(k).excel) for k in key_sheet_columns(figures)]
    _intro(book, sheet, ctx, "Nøkkeltall")
    book.print_setup(sheet, HEADER_ROW, f"Nøkkeltall – {ctx.kommune}")
    last = book.table(sheet, HEADER_ROW, figures, columns, total=datasets.WHOLE)
    sheet.autofilter(HEADER_ROW, 0, last, len(columns) - 1)
    _footnote(book, sheet, last, figures)
    escape.sheet_cell(
        sheet, last + 3, 0, "Definisjonene av kolonnene står i arket Forklaring.", book.note
    )
    sheet.activate()


def _units(book: _Book, ctx: Context, units: pl.DataFrame) -> None:
    sheet = book.wb.add_worksheet("Enheter")
    columns = [(c, h, f) for c, h, f, _ in _unit_columns(units)]
    _intro(book, sheet, ctx, "Enhetene")
    book.print_setup(sheet, HEADER_ROW, f"Enhetene – {ctx.kommune}")
    last = book.table(sheet, HEADER_ROW, units, columns)
    sheet.autofilter(HEADER_ROW, 0, last, len(columns) - 1)
    _footnote(book, sheet, last, units)


def _targets(book: _Book, ctx: Context, goals: pl.DataFrame | None) -> None:
    """The report year's targets (`targets.table`): key figure, target, value and status.

    A value hidden for privacy shows `:` and gets no status (the status would reveal it).
    """
    sheet = book.wb.add_worksheet("Mål")
    _intro(book, sheet, ctx, "Mål")
    if goals is None or goals.is_empty():
        text = f"Ingen mål for {ctx.year}: rådataene har ingen mål (tabellen «mal») for året."
        escape.sheet_cell(sheet, HEADER_ROW, 0, text, book.note)
        return
    book.print_setup(sheet, HEADER_ROW, f"Mål – {ctx.kommune}")
    headings = ("Tjenesteområde", "Nøkkeltall", "Retning", "Mål", "Verdi", "Status")
    for col, text in enumerate(headings):
        style = book.header_num if text in ("Mål", "Verdi") else book.header
        escape.sheet_cell(sheet, HEADER_ROW, col, text, style)
    row = HEADER_ROW
    for rec in goals.iter_rows(named=True):
        row += 1
        number = book.cell_format(measures.get(rec["indikator"]).excel)
        hidden = rec["skjult"] is not None
        cells = (
            (rec["tjenesteomrade"], book.note),
            (heading(rec["indikator"]), book.note),
            (targets.WORDS.get(rec["retning"] or "", ""), book.note),
            (rec["mal"], number),
            (gate.SUPPRESSED if hidden else rec["verdi"], book.hidden if hidden else number),
            (targets.status_text(rec), book.note),
        )
        for col, (value, style) in enumerate(cells):
            escape.sheet_cell(sheet, row, col, value, style)
    for col, width in enumerate((24, 34, 10, 14, 14, 34)):
        sheet.set_column(col, col, width)
    sheet.autofilter(HEADER_ROW, 0, row, len(headings) - 1)
    _footnote(book, sheet, row, goals.rename({"skjult": gate.flag("verdi")}))


def _ideas(book: _Book, ctx: Context, figures: pl.DataFrame) -> None:
    sheet = book.wb.add_worksheet("Forbedringer")
    _intro(book, sheet, ctx, "Gevinster og forbedringsforslag")
    shown = set(key_sheet_columns(figures))
    keys = [k for k in measures.EXPORT[1:] if k in figures.columns and k not in shown]
    if not keys:
        text = "Nøkkeltallene har ingen tall om gevinster i kroner eller forbedringsforslag."
        escape.sheet_cell(sheet, HEADER_ROW, 0, text, book.text)
        sheet.set_column(0, 0, 100)
        return
    book.print_setup(sheet, HEADER_ROW, f"Forbedringer – {ctx.kommune}")
    columns = [("tjenesteomrade", measures.AREA_LABEL, None)]
    columns += [(k, heading(k), measures.get(k).excel) for k in keys]
    last = book.table(sheet, HEADER_ROW, figures, columns, total=datasets.WHOLE)
    sheet.autofilter(HEADER_ROW, 0, last, len(columns) - 1)


def _explanation(book: _Book, ctx: Context, figures: pl.DataFrame) -> None:
    sheet = book.wb.add_worksheet("Forklaring")
    _intro(book, sheet, ctx, "Forklaring")
    row = HEADER_ROW
    for col, text in enumerate(("Overskrift", "Kolonne i nokkeltall.csv", "Definisjon")):
        escape.sheet_cell(sheet, row, col, text, book.header)
    for key in [k for k in measures.EXPORT[1:] if k in figures.columns]:
        row += 1
        escape.sheet_cell(sheet, row, 0, heading(key), book.text)
        escape.sheet_cell(sheet, row, 1, key, book.text)
        escape.sheet_cell(sheet, row, 2, measures.get(key).definition, book.text)
    notes = [
        ("Tomme celler", measures.ZERO_RULE),
        (
            "Prikking (:)",
            f"{gate.SUPPRESSED} betyr at tallet er skjult for å verne enkeltpersoner: "
            "sykefravær og antall ansatte vises ikke for enheter og grupper med færre enn "
            f"{ctx.threshold:g} ansatte, og heller ikke tall som ellers kunne regnes ut ved å "
            "trekke andre tall fra en sum (sekundærprikking).",
        ),
        (
            "Tallene",
            f"Regnet ut fra registrene da filen ble laget (vtklean {ctx.version}), per "
            f"{norsk.date(ctx.as_of)}. Kroner er hele kroner, prosent og årsverk med én "
            "desimal; cellene har flere desimaler enn de viser.",
        ),
    ]
    row += 2
    for title, text in notes:
        escape.sheet_cell(sheet, row, 0, title, book.bold)
        escape.sheet_cell(sheet, row, 2, text, book.text)
        # Spreadsheets do not grow a row for wrapped text written by a program: set it.
        sheet.set_row(row, 13 * math.ceil(len(text) / (EXPLANATION_WIDTH - 5)))
        row += 1
    row += 1
    for col, text in ((0, "Rådatafil"), (1, ""), (2, "SHA-256")):
        escape.sheet_cell(sheet, row, col, text, book.header)
    for name, digest in ctx.files:
        row += 1
        escape.sheet_cell(sheet, row, 0, name, book.note)
        escape.sheet_cell(sheet, row, 2, digest, book.note)
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 1, 34)
    sheet.set_column(2, 2, EXPLANATION_WIDTH)
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(HEADER_ROW)
    sheet.set_footer(f"&L{_header_text('Forklaring – ' + ctx.kommune)}&RSide &P av &N")


@gate.views
def write_workbook(
    path: Path,
    ctx: Context,
    figures: pl.DataFrame,
    units: pl.DataFrame,
    goals: pl.DataFrame | None = None,
) -> None:
    """nokkeltall.xlsx: Nøkkeltall, Enheter, Mål, Forbedringer and Forklaring sheets."""
    created = dt.datetime.combine(ctx.as_of, dt.time())
    # constant_memory: each row goes to the file once the next begins (rows are written in
    # order; print_setup's header row height comes before the header row).
    options = {**escape.WORKBOOK_OPTIONS, "constant_memory": True}
    with xlsxwriter.Workbook(str(path), options) as wb:
        wb.set_properties(
            {
                "created": created,
                "title": f"Nøkkeltall per {norsk.date(ctx.as_of)} – {ctx.kommune}",
                "company": ctx.kommune,
            }
        )
        book = _Book(wb)
        _key_figures(book, ctx, figures)
        _units(book, ctx, units)
        _targets(book, ctx, goals)
        _ideas(book, ctx, figures)
        _explanation(book, ctx, figures)


@gate.views
def write(
    folder: Path,
    ctx: Context,
    figures: pl.DataFrame,
    units: pl.DataFrame,
    goals: pl.DataFrame | None = None,
) -> None:
    """Every download of a build into `folder`: the two CSV files and the workbook."""
    write_csvs(folder, figures, units)
    write_workbook(folder / "nokkeltall.xlsx", ctx, figures, units, goals)
