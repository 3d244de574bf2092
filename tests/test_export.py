"""The downloads: the workbook for people, the CSV files for systems, and their print setup."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from tests import helpers, hostile
from tests.conftest import run_build
from tests.test_privacy import small_unit_tables
from vtklean.core import escape, measures, norsk
from vtklean.model import figures, gate, privacy
from vtklean.publish import export

SHEETS = ["Nøkkeltall", "Enheter", "Mål", "Forbedringer", "Forklaring"]
HEADER = export.HEADER_ROW + 1  # the header row as Excel numbers it


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The small-unit register (two areas with hidden sick leave) built as data only."""
    base = tmp_path_factory.mktemp("export")
    targets = [
        dict(tjenesteomrade="Teknisk", indikator="sykefravaer_prosent", ar=2017, mal=7.5),
        dict(tjenesteomrade="Hele kommunen", indikator="realiseringsgrad_prosent", ar=2017),
        dict(tjenesteomrade="Omsorg", indikator="arsverk", ar=2016, mal=10.0),  # other year
    ]
    targets[0]["retning"], targets[1]["mal"], targets[1]["retning"] = "hoyst", 50.0, None
    targets[2]["retning"] = None
    raw = helpers.write_folder(base / "raw", small_unit_tables() | {"mal": targets})
    assert run_build(raw, base, "--year", "2017") == 0
    reports = base / "reports" / "2017"
    with (reports / "nokkeltall.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        "raw": raw,
        "reports": reports,
        "csv": rows,
        "book": openpyxl.load_workbook(reports / "nokkeltall.xlsx"),
    }


def _header(sheet) -> list[str]:
    return [c.value for c in sheet[HEADER] if c.value is not None]


def _column(sheet, heading: str) -> int:
    return _header(sheet).index(heading) + 1


def test_sheets_and_no_formulas(built):
    book = built["book"]
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate)


def test_key_figures_sheet_has_title_date_and_norwegian_headings_with_units(built):
    sheet = built["book"]["Nøkkeltall"]
    assert "Nøkkeltall" in sheet["A1"].value and sheet["A1"].font.bold
    assert sheet["A2"].value == "Vestre Toten kommune"
    assert "31.12.2017" in sheet["A3"].value
    header = _header(sheet)
    assert header[0] == "Tjenesteområde"
    assert "Realiseringsgrad (%)" in header and "Budsjett (kr)" in header
    assert not [h for h in header if "_" in h]  # no machine names
    wanted = (*figures.CONTRACT_COLUMNS[1:], "ansatte", "budsjettavvik_kr")
    assert header[1:] == [export.heading(k) for k in built["csv"][0] if k in wanted]
    # Every key figure of the CSV is on the Nøkkeltall or the Forbedringer sheet.
    other = _header(built["book"]["Forbedringer"])
    assert set(header[1:]) | set(other[1:]) == {
        export.heading(k) for k in measures.EXPORT[1:] if k in built["csv"][0]
    }


def test_values_and_formats_per_column(built):
    sheet = built["book"]["Nøkkeltall"]
    rows = {r["tjenesteomrade"]: r for r in built["csv"]}
    expected_formats = {
        "budsjett_kr": '#,##0" kr"',
        "regnskap_kr": '#,##0" kr"',
        "realiseringsgrad_prosent": '0.0" %"',
        "sykefravaer_prosent": '0.0" %"',
        "budsjettavvik_prosent": '0.0" %"',
        "arsverk": "#,##0.0",
        "gevinster_identifisert_arsverk": "#,##0.0",
    }
    seen = 0
    for r in range(HEADER + 1, HEADER + 1 + len(rows)):
        area = sheet.cell(r, 1).value
        for key, fmt in expected_formats.items():
            cell = sheet.cell(r, _column(sheet, export.heading(key)))
            text = rows[area][key]
            if text == gate.SUPPRESSED:
                assert cell.value == gate.SUPPRESSED
            elif text == "":
                assert cell.value is None
            else:
                assert cell.number_format == fmt, (area, key)
                assert cell.value == pytest.approx(float(text)), (area, key)
                seen += 1
    assert seen >= 10
    # Not one format for every column, and no red for an underspend.
    formats = {sheet.cell(HEADER + 1, c).number_format for c in range(2, len(_header(sheet)))}
    assert len(formats) >= 3 and not [f for f in formats if "Red" in f]


def test_whole_municipality_row_is_set_apart_and_hidden_cells_have_a_footnote(built):
    sheet = built["book"]["Nøkkeltall"]
    last = HEADER + len(built["csv"])
    whole = [r for r in range(HEADER + 1, last + 1) if sheet.cell(r, 1).value == privacy.WHOLE]
    assert len(whole) == 1
    other = next(r for r in range(HEADER + 1, last + 1) if r != whole[0])
    assert sheet.cell(whole[0], 2).font.bold and not sheet.cell(other, 2).font.bold
    assert sheet.cell(whole[0], 2).border.top.style
    colons = [c for row in sheet.iter_rows(min_row=HEADER + 1, max_row=last) for c in row]
    assert [c for c in colons if c.value == gate.SUPPRESSED]
    notes = [sheet.cell(r, 1).value or "" for r in range(last + 1, last + 6)]
    assert any(n.startswith(f"{gate.SUPPRESSED} Skjult for å verne") for n in notes)


def test_print_setup_landscape_one_page_wide_with_repeated_header(built):
    for name in ("Nøkkeltall", "Enheter"):
        sheet = built["book"][name]
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        # fitToWidth 1 is the file format's default, so it may be left out.
        assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
        assert sheet.print_title_rows == f"${HEADER}:${HEADER}"
        assert "&P" in sheet.oddFooter.right.text and "&N" in sheet.oddFooter.right.text
        assert sheet.freeze_panes == f"B{HEADER + 1}"
        assert sheet.auto_filter.ref.startswith(f"A{HEADER}:")


def test_units_sheet_has_every_unit(built):
    sheet = built["book"]["Enheter"]
    with (built["reports"] / "enheter.csv").open(encoding="utf-8", newline="") as fh:
        units = list(csv.DictReader(fh))
    names = [sheet.cell(r, _column(sheet, "Enhet")).value for r in range(HEADER + 1, 100)]
    assert [n for n in names if n] == [u["enhet"] for u in units]
    assert len(_header(sheet)) == len(units[0])  # every column of enheter.csv


def test_explanation_has_every_definition_the_rule_and_the_checksums(built):
    sheet = built["book"]["Forklaring"]
    text = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    for key in measures.EXPORT[1:]:
        if key in built["csv"][0]:
            assert measures.get(key).definition in text
            assert export.heading(key) in text
    assert "færre enn 5 ansatte" in text and measures.ZERO_RULE in text
    for path in sorted(built["raw"].iterdir()):
        assert path.name in text
        assert hashlib.sha256(path.read_bytes()).hexdigest() in text


def test_targets_sheet_lists_the_years_targets(built):
    sheet = built["book"]["Mål"]
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=HEADER + 1) if r[0].value]
    targets = {
        (r[0], r[1]): r for r in rows if r[1] in {export.heading(k) for k in measures.EXPORT[1:]}
    }
    assert set(targets) == {
        ("Teknisk", "Sykefravær (%)"),
        ("Hele kommunen", "Realiseringsgrad (%)"),
    }
    teknisk = targets[("Teknisk", "Sykefravær (%)")]
    assert teknisk[2:4] == ["høyst", 7.5]
    sick = float(
        next(r for r in built["csv"] if r["tjenesteomrade"] == "Teknisk")["sykefravaer_prosent"]
    )
    assert teknisk[4] == pytest.approx(sick)
    assert teknisk[5].endswith("nådd") and ("ikke" in teknisk[5]) == (sick > 7.5 + 0.5)


def test_targets_sheet_says_why_it_is_empty(built, tmp_path):
    figures_frame = pl.read_csv(built["reports"] / "nokkeltall.csv", infer_schema_length=0)
    ctx = export.Context("Kommune", "Tittel", dt.date(2017, 12, 31), 2017, "0", 5, ())
    path = tmp_path / "tom.xlsx"
    empty = helpers.gated(figures_frame.head(0))
    export.write_workbook(path, ctx, empty, empty, None)
    sheet = openpyxl.load_workbook(path)["Mål"]
    assert sheet.cell(HEADER, 1).value.startswith("Ingen mål for 2017")


def test_key_figure_csv_keeps_the_contract_columns(built):
    with (built["reports"] / "nokkeltall.csv").open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header[: len(figures.CONTRACT_COLUMNS)]) == figures.CONTRACT_COLUMNS


def test_unit_csv_is_rounded_as_shown(built):
    text = (built["reports"] / "enheter.csv").read_text(encoding="utf-8")
    assert not re.search(r"\d\.\d{2,}", text)  # 3.3000000000000003 and the like
    assert re.search(r"\d\.\d\b", text)


def test_index_says_which_files_are_for_people_and_which_for_systems(built):
    index = (built["reports"] / "index.html").read_text(encoding="utf-8")
    for href, title, note in export.DOWNLOADS:
        assert f'href="{href}">{title}</a> – {note}' in index
    assert "for lesere" in index and "for andre systemer" in index


def _pdf_pages(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True)
    return out.stdout.split("\f")[:-1]


def _squash(text: str) -> str:
    """Text without spaces and hyphens, so a heading wrapped over lines still matches."""
    return re.sub(r"[\s\-\u00ad\u2010]+", "", text)


@pytest.mark.slow  # LibreOffice: CI runs it (`.ci/run`), `make test` leaves it out
def test_workbook_prints_landscape_one_page_wide_in_libreoffice(built, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice or poppler-utils is missing; .ci/run installs them")
        pytest.skip("LibreOffice (libreoffice-calc-nogui) is not installed")
    profile = (tmp_path / "profil").as_uri()
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(built["reports"] / "nokkeltall.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf_path = tmp_path / "nokkeltall.pdf"
    pages = _pdf_pages(pdf_path)
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf_path)], capture_output=True, text=True
    ).stdout
    sizes = [(float(w), float(h)) for w, h in re.findall(r"size:\s+([\d.]+) x ([\d.]+)", info)]
    assert sizes and all(w > h for w, h in sizes)  # landscape
    header = _header(built["book"]["Nøkkeltall"])
    # One page wide: the first page holds every heading, and no cell shows ### (too narrow).
    missing = [h for h in header if _squash(h) not in _squash(pages[0])]
    assert not missing
    assert "###" not in "".join(pages)
    assert norsk.date(dt.date(2017, 12, 31)) in pages[0]
    assert "Side 1 av" in pages[0]


# ---- the column-wise table writer writes what the per-cell one wrote ----------------------


class _PerCell(export._Book):
    """The table written cell by cell through `escape.sheet_cell`: the reference."""

    def table(self, sheet, top, frame, columns, total=None) -> int:
        for col, (key, text, fmt) in enumerate(columns):
            escape.sheet_cell(sheet, top, col, text, self.header_num if fmt else self.header)
            sheet.set_column(col, col, export._width(frame, key, text, fmt))
        row = top
        for rec in frame.iter_rows(named=True):
            row += 1
            is_total = total is not None and rec[columns[0][0]] == total
            for col, (key, _, fmt) in enumerate(columns):
                if rec.get(gate.flag(key)) is not None:
                    style = self.hidden_total if is_total else self.hidden
                    escape.sheet_cell(sheet, row, col, gate.SUPPRESSED, style)
                    continue
                value = rec[key]
                if isinstance(value, bool):
                    value = "ja" if value else "nei"
                escape.sheet_cell(sheet, row, col, value, self.cell_format(fmt, is_total))
        return row


def _style(c) -> tuple:
    """A cell's rules, fill and alignment as a reader sees them."""
    return (
        c.border.top.style,
        c.border.bottom.style,
        c.fill.fgColor.rgb,
        c.alignment.horizontal,
        c.alignment.vertical,
        c.alignment.wrap_text,
    )


def _cells(path: Path) -> dict:
    """Everything a reader sees of a workbook: cells with type, format and style; sheet setup.

    Values also as calamine reads them: it decodes the `_xHHHH_` escapes as Excel does.
    """
    from python_calamine import CalamineWorkbook

    book, shown = openpyxl.load_workbook(path), CalamineWorkbook.from_path(str(path))
    out = {}
    for sheet in book.worksheets:
        out[sheet.title] = {
            "shown": shown.get_sheet_by_name(sheet.title).to_python(skip_empty_area=False),
            "cells": [
                (
                    c.coordinate,
                    c.value,
                    c.data_type,
                    c.number_format,
                    c.font.b,
                    c.font.sz,
                    *_style(c),
                )
                for row in sheet.iter_rows()
                for c in row
                if c.value is not None or c.has_style
            ],
            "widths": {k: d.width for k, d in sheet.column_dimensions.items()},
            "heights": {k: d.height for k, d in sheet.row_dimensions.items() if d.height},
            "setup": (sheet.freeze_panes, sheet.print_title_rows, sheet.auto_filter.ref),
            "page": (sheet.page_setup.orientation, sheet.page_setup.fitToWidth),
            "footer": sheet.oddFooter.left.text,
        }
    return out


def _both_ways(tmp_path: Path, monkeypatch, ctx, figures_, units, goals) -> tuple[dict, dict]:
    new, old = tmp_path / "ny.xlsx", tmp_path / "celle.xlsx"
    export.write_workbook(new, ctx, figures_, units, goals)
    with monkeypatch.context() as m:
        m.setattr(export, "_Book", _PerCell)
        export.write_workbook(old, ctx, figures_, units, goals)
    return _cells(new), _cells(old)


def _frames(raw: Path, params: Path | None = None, year: int | None = None):
    """The export's inputs computed from a raw folder, as the build computes them."""
    from vtklean import build
    from vtklean.ingest import read
    from vtklean.model import datasets, targets
    from vtklean.model import figures as fig

    settings = build.load_params(params) if params else build.DEFAULT_PARAMS
    tables = {n: t.data for n, t in read.read_folder(raw).tables.items()}
    period = build.resolve_period(tables["ressursbruk"], year, None)
    rule = build.privacy_rule(settings)
    ds = datasets.build(tables, period, rule, build.tolerances(settings))
    table = fig.rounded(fig.key_figures(ds))
    ctx = export.Context("Vestre Toten kommune", "Lean", period.as_of, period.year, "1", 5, ())
    return ctx, table, fig.all_units(ds), targets.table(table, ds.targets)


def test_column_writer_same_cells_as_per_cell_on_the_sample(sample_raw, tmp_path, monkeypatch):
    new, old = _both_ways(tmp_path, monkeypatch, *_frames(sample_raw))
    assert len(new["Enheter"]["cells"]) > 1000  # the unit table is there
    assert new == old


def test_column_writer_same_cells_as_per_cell_on_hostile_names(tmp_path, monkeypatch):
    planted = hostile.write_folder(tmp_path / "raw")
    new, old = _both_ways(tmp_path, monkeypatch, *_frames(planted.raw, planted.params, 2017))
    names = {c[1] for c in new["Enheter"]["cells"]}
    assert any(n in names for units in planted.units.values() for n in units)
    assert new == old
    assert not [c for s in new.values() for c in s["cells"] if c[2] == "f"]  # no formula


def test_column_writer_same_cells_for_odd_columns(tmp_path, monkeypatch):
    """Every column type and oddity sheet_column decides per column, against sheet_cell."""
    frame = pl.DataFrame(
        {
            "tjenesteomrade": ["=1+1", None, "@SUM(A1)", "Hele kommunen", "-2", "_x0041_"],
            "ja": [True, None, False, True, False, None],
            "tall": [1.25, None, float("nan"), -0.0, 1e15, 3.0],
            "heltall": [1, None, -5, 0, 2**40, 7],
            "dato": [dt.date(2017, 12, 31), None, dt.date(1900, 3, 1), None, None, None],
            "tid": [dt.datetime(2017, 1, 2, 3, 4, 5), None, None, None, None, None],
            "kat": pl.Series(["a", None, "=b", "a", "c", "a"], dtype=pl.Categorical),
            "tom": [None] * 6,
            "tall_prikket": [None, "liten", None, "liten", None, None],
        },
        strict=False,
    )
    columns = [("tjenesteomrade", "Område", None), ("ja", "Ja", None)]
    columns += [("tall", "Tall", "0.0"), ("heltall", "Heltall", "#,##0")]
    columns += [("dato", "Dato", "dd.mm.yyyy"), ("tid", "Tid", "dd.mm.yyyy hh:mm")]
    columns += [("kat", "Kat", None), ("tom", "Tom", "0")]

    def write(path: Path, cls) -> dict:
        with xlsxwriter.Workbook(
            str(path), escape.WORKBOOK_OPTIONS | {"constant_memory": True}
        ) as wb:
            book = cls(wb)
            book.table(wb.add_worksheet("T"), 4, frame, columns, total="Hele kommunen")
        return _cells(path)

    new, old = write(tmp_path / "ny.xlsx", export._Book), write(tmp_path / "celle.xlsx", _PerCell)
    assert new == old
    cells = {c[0]: c for c in new["T"]["cells"]}
    assert cells["A6"][1:3] == ("=1+1", "s") and cells["C6"][1] == 1.25
    assert cells["C8"][1] is None and cells["C9"][1] == ":"  # blank; hidden in the total row
    assert cells["C9"][4] and cells["B7"][1] is None and cells["B8"][1] == "nei"
    assert new["T"]["shown"][10][0] == "_x0041_"  # Excel shows the text, not `A`
