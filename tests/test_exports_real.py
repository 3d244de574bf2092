"""Real exports: files written the way Excel, LibreOffice and scripts write them.

Each case is read right (the same typed records, so the same key figures, as the plain
CSV) or refused with a message naming file, Excel row, column and value.
"""

import datetime as dt
import html
import io
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from tests import helpers
from tests.conftest import run_build
from vtklean import build, cli
from vtklean.core import paths
from vtklean.ingest import read
from vtklean.ingest.contract import TABLES

RES_COLUMNS = list(helpers.tiny_tables()["ressursbruk"][0])


def _frames(folder: Path) -> dict[str, pl.DataFrame]:
    data = read.read_folder(folder)
    assert not data.problems, [p.line() for p in data.problems]
    return {
        name: td.data.drop(read.FILE, read.ROW).sort(list(TABLES[name].key))
        for name, td in data.tables.items()
    }


def _assert_same(folder: Path, plain: Path) -> None:
    want, got = _frames(plain), _frames(folder)
    assert want.keys() == got.keys()
    for name in want:
        assert want[name].equals(got[name]), name


def _problems(folder: Path, rule: str | None = None) -> list[tuple]:
    data = read.read_folder(folder)
    return [
        (p.file, p.row, p.column, p.value) for p in data.errors if rule is None or p.rule == rule
    ]


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    return helpers.write_folder(tmp_path_factory.mktemp("plain") / "raw")


def _copy_plain(plain: Path, target: Path, *drop: str) -> Path:
    shutil.copytree(plain, target)
    for name in drop:
        (target / name).unlink()
    return target


# --- Excel's "Unicode-tekst" and LibreOffice's .xls / .ods -------------------------


def test_unicode_text_utf16_tabs_equals_plain(plain, tmp_path):
    folder = _copy_plain(plain, tmp_path / "raw", "ressursbruk.csv", "enheter.csv")
    flavour = helpers.Flavour(
        encoding="utf-16", sep="\t", decimal=",", thousands="\u00a0", display_headers=True
    )
    tables = helpers.tiny_tables()
    helpers.write_csv(folder / "ressursbruk.txt", tables["ressursbruk"], flavour)
    helpers.write_csv(folder / "enheter.txt", tables["enheter"], flavour)
    assert (folder / "enheter.txt").read_bytes()[:2] == b"\xff\xfe"  # as Excel writes it
    _assert_same(folder, plain)


SOFFICE = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui",
)


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """Every workbook these tests need, converted to .xls and .ods in ONE soffice run each."""
    work = tmp_path_factory.mktemp("soffice")
    tables = helpers.tiny_tables()
    for name in ("enheter", "gevinster", "ressursbruk"):
        helpers.write_xlsx(work / f"{name}.xlsx", tables[name])
    _titled_workbook(work / "titled.xlsx", tables["ressursbruk"])
    _merged_workbook(work / "merged.xlsx")
    _error_workbook(work / "errors.xlsx", "#N/A")
    _text_number_workbook(work / "textnumber.xlsx")
    stray = _openpyxl_sheet(work / "stray.xlsx", tables["enheter"])
    stray.active["XFD1048576"] = "x"
    stray.save(work / "stray.xlsx")
    sources = sorted(str(p) for p in work.glob("*.xlsx"))
    # A profile of its own: a LibreOffice already open (or another test run) on the default
    # profile would take the conversion over, or refuse it.
    profile = f"-env:UserInstallation={(work / 'profil').as_uri()}"
    for fmt in ("xls", "ods"):
        subprocess.run(
            [SOFFICE, profile, "--headless", "--convert-to", fmt, "--outdir", str(work), *sources],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return work


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_libreoffice_xls_and_ods_equal_plain(plain, converted, tmp_path, fmt):
    folder = _copy_plain(plain, tmp_path / "raw", "enheter.csv", "gevinster.csv", "ressursbruk.csv")
    for name in ("enheter", "gevinster", "ressursbruk"):
        shutil.copy(converted / f"{name}.{fmt}", folder / f"{name}.{fmt}")
    _assert_same(folder, plain)


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_libreoffice_title_rows_give_excel_row_numbers(plain, converted, tmp_path, fmt):
    folder = _copy_plain(plain, tmp_path / "raw", "ressursbruk.csv")
    shutil.copy(converted / f"titled.{fmt}", folder / f"ressursbruk.{fmt}")
    _assert_same(folder, plain)
    data = read.read_folder(folder)
    rows = data.tables["ressursbruk"].data.get_column(read.ROW).to_list()
    assert rows[0] == TITLED_HEADER_ROW + 1 and rows[-1] == TITLED_HEADER_ROW + len(rows)


def _text_number_workbook(path: Path) -> Path:
    """ressursbruk from column B below a title, with `958.000` typed as TEXT in row 5."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B1"] = "Ressursbruk"
    rows = helpers.tiny_tables()["ressursbruk"][:3]
    for j, c in enumerate(RES_COLUMNS, start=2):
        ws.cell(row=3, column=j, value=helpers.DISPLAY_HEADERS.get(c, c))
        for i, row in enumerate(rows, start=4):
            ws.cell(row=i, column=j, value=row[c])
    budget = RES_COLUMNS.index("budsjett_kr") + 2
    ws.cell(row=5, column=budget, value="958.000").data_type = "s"  # a text cell
    ws.cell(row=6, column=budget, value=958.125)  # a native number: never ambiguous
    wb.save(path)
    return path


def _assert_text_number_refused(folder: Path, name: str) -> None:
    data = read.read_folder(folder)
    assert [(p.rule, p.file, p.row, p.column, p.value) for p in data.errors] == [
        ("ugyldig_tvetydig_tall", name, 5, "Budsjett (kr)", "958.000")
    ]
    assert data.tables["ressursbruk"].data.filter(pl.col(read.ROW) == 6)["budsjett_kr"].item() == (
        958.125
    )


def test_ambiguous_number_typed_as_text_in_a_spreadsheet_is_refused(plain, tmp_path):
    folder = _copy_plain(plain, tmp_path / "raw", "ressursbruk.csv")
    _text_number_workbook(folder / "ressursbruk.xlsx")
    _assert_text_number_refused(folder, "ressursbruk.xlsx")


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_libreoffice_ambiguous_number_typed_as_text_is_refused(plain, converted, tmp_path, fmt):
    folder = _copy_plain(plain, tmp_path / "raw", "ressursbruk.csv")
    shutil.copy(converted / f"textnumber.{fmt}", folder / f"ressursbruk.{fmt}")
    _assert_text_number_refused(folder, f"ressursbruk.{fmt}")


def test_xlsm_is_read_like_xlsx(plain, tmp_path):
    folder = _copy_plain(plain, tmp_path / "raw", "gevinster.csv")
    helpers.write_xlsx(folder / "gevinster.xlsm", helpers.tiny_tables()["gevinster"])
    _assert_same(folder, plain)


# --- Negative amounts, kr, ambiguous and too large numbers -----------------------------


def _resource_csv(
    folder: Path, cells: dict[str, str], second: dict[str, str] | None = None
) -> Path:
    """ressursbruk.csv: the plain rows, with some cells of the first (and second) row as written."""
    rows = helpers.tiny_tables()["ressursbruk"]
    helpers.write_csv(folder / "ressursbruk.csv", rows, helpers.NORWEGIAN_BOM)
    lines = (folder / "ressursbruk.csv").read_bytes().decode("utf-8-sig").split("\r\n")
    header = lines[0].split(";")
    for i, edits in ((1, cells), (2, second or {})):
        fields = lines[i].split(";")
        for column, text in edits.items():
            fields[header.index(helpers.DISPLAY_HEADERS[column])] = text
        lines[i] = ";".join(fields)
    (folder / "ressursbruk.csv").write_text("\ufeff" + "\r\n".join(lines), encoding="utf-8")
    return folder / "ressursbruk.csv"


@pytest.mark.parametrize(
    "written",
    ["90 000,00-", "(90 000,00)", "kr -90 000", "-90 000 kr", "(kr 90\u00a0000)", "Kr 90 000-"],
)
def test_negative_amount_forms(plain, tmp_path, written):
    tables = helpers.tiny_tables()
    tables["ressursbruk"][0]["regnskap_kr"] = -90_000.0
    expected = helpers.write_folder(tmp_path / "expected", tables)
    folder = _copy_plain(plain, tmp_path / "raw", "ressursbruk.csv")
    _resource_csv(folder, {"regnskap_kr": written})
    _assert_same(folder, expected)


def test_positive_kr_amounts(plain, tmp_path):
    folder = _copy_plain(plain, tmp_path / "raw", "ressursbruk.csv")
    _resource_csv(folder, {"budsjett_kr": "kr 100 000,00", "regnskap_kr": "90 000 kr"})
    _assert_same(folder, plain)


@pytest.mark.parametrize(
    ("column", "written", "others"),
    [
        ("budsjett_kr", "100.000", {}),  # a dot and three digits in a money column
        ("arsverk", "10.000", {"arsverk": "10,5"}),  # the column's others: a decimal comma
        ("arsverk", "1,250", {"arsverk": "10.5"}),  # and the other way round
    ],
)
def test_ambiguous_number_is_refused(tmp_path, column, written, others):
    folder = helpers.write_folder(tmp_path / "raw")
    _resource_csv(folder, {column: written}, others)
    data = read.read_folder(folder)
    [problem] = data.errors
    assert (problem.rule, problem.file, problem.row, problem.column, problem.value) == (
        "ugyldig_tvetydig_tall",
        "ressursbruk.csv",
        2,
        helpers.DISPLAY_HEADERS[column],
        written,
    )
    assert problem.key == "enhet_id=E1, maned=15.01.2016"
    assert "958 000" in problem.line()


def test_dot_decimals_elsewhere_are_not_ambiguous(tmp_path):
    folder = helpers.write_folder(tmp_path / "raw")
    _resource_csv(folder, {"arsverk": "10.000"})  # no decimal comma in this file
    data = read.read_folder(folder)
    assert not data.errors
    assert data.tables["ressursbruk"].data.get_column("arsverk")[0] == 10.0


@pytest.mark.parametrize("written", ["1e40", "1 000 000 000 000 001", "-2e15"])
def test_number_too_large_is_refused(tmp_path, written):
    folder = helpers.write_folder(tmp_path / "raw")
    _resource_csv(folder, {"regnskap_kr": written})
    assert _problems(folder) == [("ressursbruk.csv", 2, "Regnskap (kr)", written)]
    assert read.read_folder(folder).errors[0].rule == "ugyldig_for_stort_tall"


def test_norwegian_whole_kroner_dash_is_not_a_minus(tmp_path):
    folder = helpers.write_folder(tmp_path / "raw")
    _resource_csv(folder, {"regnskap_kr": "90 000,-"})
    assert _problems(folder) == [("ressursbruk.csv", 2, "Regnskap (kr)", "90 000,-")]


# --- Spreadsheet cells: formulas, errors, merged cells, title rows, stray cells -------


def _openpyxl_sheet(path: Path, rows: list[dict], title_rows: int = 0) -> openpyxl.Workbook:
    """A workbook as a script writes it with openpyxl: header, then native values."""
    wb = openpyxl.Workbook()
    ws = wb.active
    columns = list(rows[0])
    if title_rows:
        ws.cell(row=1, column=1, value="Ressursbruk per måned")
    for j, c in enumerate(columns, start=1):
        ws.cell(row=title_rows + 1, column=j, value=helpers.DISPLAY_HEADERS.get(c, c))
    for i, row in enumerate(rows, start=title_rows + 2):
        for j, c in enumerate(columns, start=1):
            v = row[c]
            if isinstance(v, dt.date):
                v = dt.datetime.combine(v, dt.time())
            if v is not None:
                ws.cell(row=i, column=j, value=v)
    wb.save(path)
    return wb


TITLED_HEADER_ROW = 4  # a title in row 1, two blank rows, the header in row 4


def _titled_workbook(path: Path, rows: list[dict]) -> Path:
    _openpyxl_sheet(path, rows, title_rows=TITLED_HEADER_ROW - 1)
    return path


def test_title_and_blank_rows_skipped_with_excel_row_numbers(plain, tmp_path):
    folder = _copy_plain(plain, tmp_path / "raw", "ressursbruk.csv")
    rows = helpers.tiny_tables()["ressursbruk"]
    _titled_workbook(folder / "ressursbruk.xlsx", rows)
    _assert_same(folder, plain)
    wb = openpyxl.load_workbook(folder / "ressursbruk.xlsx")
    wb.active.cell(row=8, column=RES_COLUMNS.index("arsverk") + 1, value="ti")
    wb.save(folder / "ressursbruk.xlsx")
    assert _problems(folder) == [("ressursbruk.xlsx", 8, "Årsverk", "ti")]


def test_title_rows_in_csv(plain, tmp_path):
    folder = _copy_plain(plain, tmp_path / "raw", "enheter.csv")
    helpers.write_csv(folder / "enheter.csv", helpers.tiny_tables()["enheter"], helpers.NORWEGIAN)
    text = (folder / "enheter.csv").read_bytes()
    (folder / "enheter.csv").write_bytes(b"Enheter per 31.12.2017\r\n\r\n;;;;;;\r\n" + text)
    _assert_same(folder, plain)
    assert read.read_folder(folder).tables["enheter"].data.get_column(read.ROW)[0] == 5


def test_formula_without_cached_value_is_an_error(tmp_path):
    folder = helpers.write_folder(tmp_path / "raw")
    (folder / "gevinster.csv").unlink()
    path = folder / "gevinster.xlsx"
    wb = _openpyxl_sheet(path, helpers.tiny_tables()["gevinster"])
    col = list(helpers.tiny_tables()["gevinster"][0]).index("belop_kr") + 1
    wb.active.cell(row=3, column=col, value="=G2*2")  # a script's formula: no stored value
    wb.save(path)
    data = read.read_folder(folder)
    [problem] = data.errors
    assert (problem.rule, problem.file, problem.row, problem.column) == (
        "formel_uten_verdi",
        "gevinster.xlsx",
        3,
        helpers.DISPLAY_HEADERS["belop_kr"],  # the column as written in the file
    )
    assert "cellen G3 har formelen «=G2*2»" in problem.line()


ERROR_ROW = 4  # the gain row (as Excel numbers it) whose belop_kr holds the error value
BELOP_COLUMN = list(helpers.tiny_tables()["gevinster"][0]).index("belop_kr") + 1


def _error_workbook(path: Path, error: str) -> Path:
    wb = _openpyxl_sheet(path, helpers.tiny_tables()["gevinster"])
    wb.active.cell(row=ERROR_ROW, column=BELOP_COLUMN, value=error)
    assert wb.active.cell(row=ERROR_ROW, column=BELOP_COLUMN).data_type == "e"
    wb.save(path)
    return path


def _assert_error_cell(folder: Path, name: str, error: str) -> None:
    [problem] = read.read_folder(folder).errors
    cell = f"{openpyxl.utils.get_column_letter(BELOP_COLUMN)}{ERROR_ROW}"
    assert (problem.rule, problem.file, problem.row, problem.column, problem.value) == (
        "feilverdi",
        name,
        ERROR_ROW,
        helpers.DISPLAY_HEADERS["belop_kr"],  # the column as written in the file
        error,
    )
    assert f"cellen {cell} har en feilverdi" in problem.line()


@pytest.mark.parametrize("error", ["#N/A", "#DIV/0!", "#REF!"])
def test_excel_error_cell_is_an_error(tmp_path, error):
    folder = helpers.write_folder(tmp_path / "raw")
    (folder / "gevinster.csv").unlink()
    _error_workbook(folder / "gevinster.xlsx", error)
    _assert_error_cell(folder, "gevinster.xlsx", error)


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_error_cell_in_xls_and_ods_is_an_error(converted, tmp_path, fmt):
    folder = helpers.write_folder(tmp_path / "raw")
    (folder / "gevinster.csv").unlink()
    shutil.copy(converted / f"errors.{fmt}", folder / f"gevinster.{fmt}")
    _assert_error_cell(folder, f"gevinster.{fmt}", "#N/A")


def _merged_workbook(path: Path) -> Path:
    """enheter as a workbook whose Pilot cell is merged over the rows of E1 and E2."""
    wb = _openpyxl_sheet(path, helpers.tiny_tables()["enheter"])
    col = list(helpers.tiny_tables()["enheter"][0]).index("pilot") + 1
    letter = openpyxl.utils.get_column_letter(col)
    wb.active.merge_cells(f"{letter}2:{letter}3")
    wb.save(path)
    return path


def _merged_expected(folder: Path) -> Path:
    tables = helpers.tiny_tables()
    tables["enheter"][1]["pilot"] = tables["enheter"][0]["pilot"]  # the merge spans E2 too
    return helpers.write_folder(folder, tables)


def test_merged_cell_counts_for_every_row(tmp_path):
    folder = helpers.write_folder(tmp_path / "raw")
    (folder / "enheter.csv").unlink()
    _merged_workbook(folder / "enheter.xlsx")
    _assert_same(folder, _merged_expected(tmp_path / "expected"))


@needs_soffice
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_merged_cell_in_xls_and_ods_counts_for_every_row(converted, tmp_path, fmt):
    folder = helpers.write_folder(tmp_path / "raw")
    (folder / "enheter.csv").unlink()
    shutil.copy(converted / f"merged.{fmt}", folder / f"enheter.{fmt}")
    _assert_same(folder, _merged_expected(tmp_path / "expected"))


def test_stray_value_in_last_cell_is_refused_not_a_crash(tmp_path):
    folder = helpers.write_folder(tmp_path / "raw")
    (folder / "enheter.csv").unlink()
    path = folder / "enheter.xlsx"
    wb = _openpyxl_sheet(path, helpers.tiny_tables()["enheter"])
    wb.active["XFD1048576"] = "x"
    wb.save(path)
    assert path.stat().st_size < 10_000
    [problem] = read.read_folder(folder).errors
    assert (problem.file, problem.column) == ("enheter.xlsx", "XFD1048576")
    assert "XFD1048576" in problem.line()


def test_refused_export_exits_1_and_writes_nothing(tmp_path, capsys):
    folder = helpers.write_folder(tmp_path / "raw")
    _resource_csv(folder, {"regnskap_kr": "1e40"})
    before = helpers.tree_hashes(folder)
    assert run_build(folder, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "ressursbruk.csv, rad 2, kolonne «Regnskap (kr)»: verdien «1e40»" in err
    assert not (tmp_path / "out").exists()
    assert helpers.tree_hashes(folder) == before


# --- Arguments and build parameters: a message and the right exit code, never a traceback


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (b"prikking_grense: .nan\n", "prikking_grense skal være et tall, ikke nan"),
        (b"prikking_grense: -1\n", "prikking_grense skal være et tall fra 0"),
        (b"prikking_grense: off\n", "prikking_grense skal være et tall, ikke False"),
        (b"budsjettavvik_advarsel_prosent: .inf\n", "budsjettavvik_advarsel_prosent skal"),
        (
            b"prikking_grense: 5\nprikking_grense: 0\n",
            "«prikking_grense» står to ganger (linje 1 og 2)",
        ),
        (b"kommune: \xd8stre Toten\n", "er ikke lagret som UTF-8 (byte 0xD8)"),
        (b"ekstra_roller: Leder\n", "ekstra_roller skal være en liste"),
    ],
    ids=["nan", "negative", "bool", "inf", "twice", "cp1252", "not-a-list"],
)
def test_bad_build_parameters_are_usage_errors(tiny_raw, tmp_path, capsys, params, message):
    path = tmp_path / "build.yaml"
    path.write_bytes(params)
    assert run_build(tiny_raw, tmp_path / "out", "--params", str(path)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_output_folders_are_checked_before_any_work(tiny_raw, tmp_path, capsys):
    cli_build = ["build", "--raw", str(tiny_raw), "--data-only"]
    a_file = tmp_path / "rapporter.txt"
    a_file.write_text("x", encoding="utf-8")
    same = tmp_path / "ut"
    long_name = tmp_path / ("x" * 10_000)
    cases = {
        "samme mappe": ["--processed", str(same), "--reports", str(same)],
        "er en fil, ikke en mappe": ["--processed", str(tmp_path / "p"), "--reports", str(a_file)],
        "kan ikke skrive i /proc": ["--processed", str(tmp_path / "p"), "--reports", "/proc/vt"],
        "navnet er for langt": ["--processed", str(tmp_path / "p"), "--reports", str(long_name)],
    }
    for message, args in cases.items():
        assert cli.main([*cli_build, *args]) == 2, message
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert len(err) < 600  # a 10 000-character name is shortened in the message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rapporter.txt", "raw"]


def test_ctrl_c_exits_130_without_traceback(tiny_raw, tmp_path):
    command = [sys.executable, "-m", "vtklean.cli", "build", "--raw", str(tiny_raw)]
    command += ["--processed", str(tmp_path / "p"), "--reports", str(tmp_path / "r")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the build has started: it is reading the raw files
    assert first.startswith("• Leser rådata"), first
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    out = first + out
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert "Avbrutt" in err
    assert not (tmp_path / "r").exists()


# --- Service-area names and missing months (contract: enheter.tjenesteomrade, semantics) --


@pytest.mark.parametrize(
    ("first", "second"),
    [("Helse og omsorg", "Helse- og omsorg"), ("Omsorg", "OMSORG"), ("Oppvekst", "Opp vekst")],
)
def test_service_areas_differing_only_in_spelling_are_errors(tmp_path, capsys, first, second):
    tables = helpers.tiny_tables()
    tables["enheter"][0]["tjenesteomrade"] = first  # E1, row 2
    tables["enheter"][1]["tjenesteomrade"] = second  # E2, row 3
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert f"enheter.csv, rad 2, kolonne «tjenesteomrade»: verdien «{first}» (enhet_id=E1): " in err
    assert f"skrives også «{second}»" in err
    assert (
        f"enheter.csv, rad 3, kolonne «tjenesteomrade»: verdien «{second}» (enhet_id=E2): " in err
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("written", ["Hele kommunen", "hele  Kommunen"])
def test_service_area_named_whole_municipality_is_an_error(tmp_path, capsys, written):
    tables = helpers.tiny_tables()
    tables["enheter"][2]["tjenesteomrade"] = written  # E3, row 4
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out") == 1
    err = capsys.readouterr().err
    line = f"enheter.csv, rad 4, kolonne «tjenesteomrade»: verdien «{written}» (enhet_id=E3): "
    assert line + "«Hele kommunen» er navnet på summen for hele kommunen" in err
    assert not (tmp_path / "out").exists()


def test_missing_december_is_warned_and_said_on_every_page(tmp_path, capsys):
    tables = helpers.tiny_tables()
    # Only units with a full 2017 stay, then December 2017 is taken out for all of them.
    tables["enheter"] = [u for u in tables["enheter"] if u["enhet_id"] in ("E1", "E2", "E3")]
    tables["gevinster"] = [g for g in tables["gevinster"] if g["enhet_id"] != "E4"]
    areas = {u["tjenesteomrade"] for u in tables["enheter"]} | {"Hele kommunen"}
    for name in ("mal", "kommentarer"):  # targets and comments only for areas still there
        if name in tables:
            tables[name] = [r for r in tables[name] if r["tjenesteomrade"] in areas]
    tables["ressursbruk"] = [
        r
        for r in tables["ressursbruk"]
        if r["enhet_id"] in ("E1", "E2", "E3") and r["maned"] != dt.date(2017, 12, 1)
    ]
    as_of = dt.date(2017, 12, 31)
    active = [u for u in tables["enheter"] if u["lagt_ned"] is None or u["lagt_ned"] > as_of]
    kept = {r["maned"] for r in tables["ressursbruk"] if r["maned"].year == 2017}
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017", pages=True) == 0
    out = capsys.readouterr().out
    for unit in active:
        assert (
            f"(enhet_id={unit['enhet_id']}): enheten er aktiv, men mangler ressursbruk for 12.2017"
            in out
        )
    sentence = (
        f"Ressursbruk for desember 2017 mangler for alle de {len(active)} enhetene, så "
        f"tallene for 2017 gjelder bare {len(kept)} av 12 måneder"
    )
    reports = tmp_path / "out" / "reports" / "2017"
    areas = {u["tjenesteomrade"] for u in active}
    pages = ["index.html", "oversikt.html"]
    for page in pages:
        assert sentence in (reports / page).read_text("utf-8"), page
    for area in areas | {u["tjenesteomrade"] for u in tables["enheter"]}:
        [area_page] = [
            p
            for p in reports.glob("tjenesteomrade-*.html")
            if f"<h1>{area}" in p.read_text("utf-8")
        ]
        text = html.unescape(area_page.read_text("utf-8"))
        units = [u for u in active if u["tjenesteomrade"] == area]
        if not units:  # no active unit in the area: nothing is missing there
            assert "Ressursbruk for" not in text and "Ressursbruk mangler" not in text, area
        elif len(units) == 1:
            assert (
                f"mangler for 1 av 1 aktive enheter i 2017: {units[0]['enhet']} (desember)" in text
            )
        else:
            assert f"desember 2017 mangler for alle de {len(units)} enhetene" in text, area


# --- Large files: read in pieces with a progress bar, the same records ---------------------


def test_large_file_in_pieces_gives_the_same_records(tmp_path, monkeypatch):
    tables = helpers.tiny_tables()
    tables["enheter"][0]["enhet"] = 'Avd "A";\nandre linje'  # a quoted field over two lines
    plain = helpers.write_folder(tmp_path / "plain", tables, helpers.NORWEGIAN_BOM)
    whole = read.read_folder(plain)
    monkeypatch.setattr(read, "CHUNK_BYTES", 64)  # a piece every line or two
    monkeypatch.setattr(read.progress, "shown", lambda: True)  # pieces only behind a bar
    pieces = read.read_folder(plain)
    assert not pieces.problems
    for name, td in whole.tables.items():
        assert td.data.equals(pieces.tables[name].data), name
    assert pieces.tables["enheter"].data.get_column("enhet")[0] == 'Avd "A";\nandre linje'


def test_progress_bar_counts_rows_on_a_terminal_only(tmp_path, monkeypatch):
    rows = helpers.tiny_tables()["ressursbruk"] * 40  # duplicates do not matter to the reader
    path = helpers.write_csv(tmp_path / "ressursbruk.csv", rows, helpers.NORWEGIAN)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(read, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(read, "PROGRESS_DELAY", 0)
    for ci, shown in ((None, True), ("true", False)):
        if ci is None:
            monkeypatch.delenv("CI", raising=False)
        else:
            monkeypatch.setenv("CI", ci)
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        td, problems, _ = read.read_table(TABLES["ressursbruk"], [path])
        assert td is not None and td.data.height == len(rows) and not problems
        bar = terminal.getvalue()
        if shown:
            assert "Leser ressursbruk.csv: 100%" in bar and f"{len(rows)}/{len(rows)}" in bar, bar
        else:
            assert bar == ""


@needs_soffice
def test_stray_far_cell_in_ods_is_refused_not_a_crash(converted, tmp_path):
    folder = helpers.write_folder(tmp_path / "raw")
    (folder / "enheter.csv").unlink()
    shutil.copy(converted / "stray.ods", folder / "enheter.ods")
    [problem] = read.read_folder(folder).errors
    assert problem.file == "enheter.ods"
    assert "langt utenfor tabellen" in problem.line()


def test_sample_into_a_folder_that_cannot_be_made_is_a_usage_error(capsys):
    assert cli.main(["sample", "--out", "/proc/vtklean-finnes-ikke/ut"]) == 2
    err = capsys.readouterr().err
    assert "Feil i kommandoen: /proc/vtklean-finnes-ikke" in err and "Traceback" not in err


def test_a_column_written_wrong_throughout_is_reported_in_bounded_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(read, "MAX_PARSE_PROBLEMS", 5)
    rows = [r | {"arsverk": 7.77} for r in helpers.tiny_tables()["ressursbruk"]]
    path = helpers.write_csv(tmp_path / "ressursbruk.csv", rows, helpers.NORWEGIAN)
    text = path.read_bytes().decode("cp1252").replace(";7,77;", ";ti;")  # every arsverk
    path.write_bytes(text.encode("cp1252"))
    wrong = len(rows)
    assert wrong > 5
    _, problems, _ = read.read_table(TABLES["ressursbruk"], [path])
    assert len(problems) == 6
    assert [p.row for p in problems[1:]] == [2, 3, 4, 5, 6]  # E1's first months
    assert f"og {wrong - 5} verdier til i samme kolonne" in problems[0].line()
    assert problems[0].column == "Årsverk"


@needs_soffice
def test_real_exports_give_the_same_key_figures_as_plain_csv(converted, tmp_path):
    """LibreOffice .ods and .xls, Unicode text with a title row, trailing-minus and
    parenthesised amounts: the build's key figures equal those of the plain CSV."""
    tables = helpers.tiny_tables()
    for r in tables["ressursbruk"]:
        if r["enhet_id"] == "E2":
            r["regnskap_kr"] = -70_000.0  # net income: negative spend
    plain = helpers.write_folder(tmp_path / "plain", tables)
    real = helpers.write_folder(tmp_path / "real", tables)
    for name, fmt in (("enheter", "ods"), ("gevinster", "xls")):
        (real / f"{name}.csv").unlink()
        shutil.copy(converted / f"{name}.{fmt}", real / f"{name}.{fmt}")
    (real / "ressursbruk.csv").unlink()
    flavour = helpers.Flavour(
        encoding="utf-16", sep="\t", decimal=",", thousands="\u00a0", display_headers=True
    )
    path = helpers.write_csv(real / "ressursbruk.txt", tables["ressursbruk"], flavour)
    lines = path.read_bytes().decode("utf-16").split("\r\n")
    negative = [i for i, line in enumerate(lines) if "\t-70\u00a0000\t" in line]
    assert len(negative) == 12
    for n, i in enumerate(negative):
        written = "70\u00a0000-" if n % 2 else "(70\u00a0000)"
        lines[i] = lines[i].replace("\t-70\u00a0000\t", f"\t{written}\t")
    text = "Ressursbruk per måned\r\n\r\n" + "\r\n".join(lines)
    path.write_bytes(text.encode("utf-16"))
    assert run_build(plain, tmp_path / "a", "--year", "2017") == 0
    assert run_build(real, tmp_path / "b", "--year", "2017") == 0
    want = (tmp_path / "a" / "reports" / "2017" / "nokkeltall.csv").read_bytes()
    got = (tmp_path / "b" / "reports" / "2017" / "nokkeltall.csv").read_bytes()
    assert got == want
    # The negative amounts count: Omsorg's spend, computed here from the records.
    omsorg = {u["enhet_id"] for u in tables["enheter"] if u["tjenesteomrade"] == "Omsorg"}
    spend = sum(
        r["regnskap_kr"]
        for r in tables["ressursbruk"]
        if r["enhet_id"] in omsorg and r["maned"].year == 2017
    )
    figures = pl.read_csv(io.BytesIO(got)).filter(pl.col("tjenesteomrade") == "Omsorg")
    assert figures.get_column("regnskap_kr").to_list() == [spend]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        # A list opened on line 2 and never closed: the file ends on line 3.
        (b"prikking_grense: 5\nekstra_roller: [Leder\n", "ikke gyldig YAML (linje 3, kolonne 1)"),
        # A tab as indentation (Notepad) on line 2.
        (b"ekstra_roller:\n\t- Leder\n", "ikke gyldig YAML (linje 2, kolonne 1)"),
    ],
    ids=["unclosed-list", "tab"],
)
def test_broken_yaml_in_build_parameters_is_named_in_bokmal(
    tiny_raw, tmp_path, capsys, text, needle
):
    path = tmp_path / "build.yaml"
    path.write_bytes(text)
    assert run_build(tiny_raw, tmp_path / "out", "--params", str(path)) == 2
    err = capsys.readouterr().err
    assert f"parameterfilen {path}: {needle}" in err, err
    assert "while " not in err and "Traceback" not in err  # PyYAML's English message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (b"utfall: sykefrav\xe6r\n", "er ikke lagret som UTF-8 (byte 0xE6)"),
        (b"utfall: [sykefravaer\n", "ikke gyldig YAML (linje 2, kolonne 1)"),
    ],
    ids=["cp1252", "unclosed-list"],
)
def test_broken_notebook_parameter_file_is_a_usage_error_in_bokmal(
    tiny_raw, tmp_path, capsys, text, needle
):
    params = tmp_path / "params"
    shutil.copytree(paths.PARAMS, params)
    (params / "pilot-effekter.yaml").write_bytes(text)
    options = build.Options(
        raw=tiny_raw, processed=tmp_path / "p", reports=tmp_path / "r", params_dir=params
    )
    with pytest.raises(build.UsageError) as err:
        build.run(options)
    assert f"pilot-effekter.yaml: {needle}" in str(err.value), err.value
    assert "while " not in str(err.value)
    assert not (tmp_path / "p").exists() and not (tmp_path / "r").exists()


def test_a_chart_sheet_first_is_named_not_called_empty(plain, tmp_path):
    folder = _copy_plain(plain, tmp_path / "raw", "enheter.csv")
    rows = helpers.tiny_tables()["enheter"]
    with xlsxwriter.Workbook(str(folder / "enheter.xlsx")) as wb:
        chart_sheet = wb.add_chartsheet("Diagram")  # Excel's "Flytt diagram > Nytt ark"
        ws = wb.add_worksheet("Enheter")
        ws.write_row(0, 0, list(rows[0]))
        for i, row in enumerate(rows, start=1):
            ws.write_row(i, 0, [row[c] for c in rows[0]])
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"values": f"=Enheter!$E$2:$E${len(rows) + 1}"})
        chart_sheet.set_chart(chart)
    [problem] = read.read_folder(folder).errors
    assert (problem.rule, problem.file) == ("ikke_excel", "enheter.xlsx")
    assert "det første arket («Diagram») er et diagram, ikke en tabell" in problem.line()
