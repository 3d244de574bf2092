"""Key figures of a small hand-made folder, checked against numbers computed by hand."""

import csv
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from tests import helpers
from tests.conftest import run_build
from vtklean.model import figures, gate
from vtklean.publish import export


def _rows(reports: Path) -> dict[str, dict[str, str]]:
    with (reports / "nokkeltall.csv").open(encoding="utf-8", newline="") as fh:
        return {r["tjenesteomrade"]: r for r in csv.DictReader(fh)}


@pytest.fixture
def built(tiny_raw, tmp_path) -> dict[str, dict[str, str]]:
    """The tiny register's key figures with suppression off: these tests check the sums.

    (The tiny units are below the privacy threshold; tests/test_privacy.py covers that.)
    """
    params = helpers.params_file(tmp_path / "build.yaml", prikking_grense=0)
    assert run_build(tiny_raw, tmp_path / "out", "--year", "2017", "--params", str(params)) == 0
    return _rows(tmp_path / "out" / "reports" / "2017")


def _f(text: str) -> float:
    return float(text)


def test_columns_in_contract_order(built):
    header = list(next(iter(built.values())))
    assert tuple(header[: len(figures.CONTRACT_COLUMNS)]) == figures.CONTRACT_COLUMNS
    assert list(built) == ["Omsorg", "Oppvekst", "Stab", "Hele kommunen"]


def test_units(built):
    # E3 closed on D; E4 closed after D and trained on D; E2 trained after D; E5 no rows.
    assert (built["Omsorg"]["enheter"], built["Omsorg"]["enheter_lean"]) == ("2", "1")
    assert (built["Oppvekst"]["enheter"], built["Oppvekst"]["enheter_lean"]) == ("0", "0")
    assert (built["Stab"]["enheter"], built["Stab"]["enheter_lean"]) == ("2", "1")
    assert (built["Hele kommunen"]["enheter"], built["Hele kommunen"]["enheter_lean"]) == ("4", "2")


def test_gains(built):
    # Identified: G1 2.0 + G2 1.0 + G7 1.0 (Omsorg), G3 1.5 (Oppvekst, closed unit), G4 0.5 (Stab)
    assert _f(built["Omsorg"]["gevinster_identifisert_arsverk"]) == 2.0 + 1.0 + 1.0
    assert _f(built["Omsorg"]["gevinster_realisert_arsverk"]) == 2.0
    assert _f(built["Omsorg"]["realiseringsgrad_prosent"]) == 50.0
    assert _f(built["Omsorg"]["andel_verdistromsanalyse_prosent"]) == 75.0
    assert _f(built["Oppvekst"]["gevinster_realisert_arsverk"]) == 0.5
    assert _f(built["Oppvekst"]["realiseringsgrad_prosent"]) == round(0.5 / 1.5 * 100, 2)
    assert _f(built["Stab"]["realiseringsgrad_prosent"]) == 0.0
    whole = built["Hele kommunen"]
    assert _f(whole["gevinster_identifisert_arsverk"]) == 6.0
    assert _f(whole["gevinster_realisert_arsverk"]) == 2.5
    assert _f(whole["andel_verdistromsanalyse_prosent"]) == round(4.5 / 6.0 * 100, 2)
    assert _f(whole["gevinster_identifisert_kr"]) == 1_300_000 + 975_000.5
    assert _f(whole["gevinster_realisert_kr"]) == round(1_300_000 + 975_000.5 / 3, 2)


def test_resources(built):
    omsorg = built["Omsorg"]
    assert _f(omsorg["budsjett_kr"]) == 12 * (100_000 + 50_000)
    assert _f(omsorg["regnskap_kr"]) == 12 * (90_000 + 70_000)
    assert _f(omsorg["budsjettavvik_prosent"]) == round(
        (1_920_000 - 1_800_000) / 1_800_000 * 100, 2
    )
    assert _f(omsorg["arsverk"]) == (12 * 10 + 12 * 5) / 12
    assert _f(omsorg["sykefravaer_prosent"]) == (12 * 10 + 12 * 20) / (12 * 200 + 12 * 100) * 100
    assert _f(omsorg["ansatte"]) == 12 + 6
    stab = built["Stab"]
    assert _f(stab["arsverk"]) == 6 * 2 / 12  # half a year of rows still divides by 12
    assert _f(stab["budsjettavvik_prosent"]) == 20.0
    assert _f(built["Oppvekst"]["sykefravaer_prosent"]) == 0.0
    whole = built["Hele kommunen"]
    assert _f(whole["arsverk"]) == 15 + 3 + 1
    assert _f(whole["sykefravaer_prosent"]) == round(384 / 4560 * 100, 2)
    assert _f(whole["budsjettavvik_prosent"]) == round((2_352_000 - 2_220_000) / 2_220_000 * 100, 2)


def test_empty_ratios_stay_empty(tmp_path):
    tables = helpers.tiny_tables()
    # No gain at all for Stab: its rates are empty, not 0
    tables["gevinster"] = [g for g in tables["gevinster"] if g["enhet_id"] != "E4"]
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    rows = _rows(tmp_path / "out" / "reports" / "2017")
    assert rows["Stab"]["realiseringsgrad_prosent"] == ""
    assert rows["Stab"]["andel_verdistromsanalyse_prosent"] == ""
    assert rows["Stab"]["gevinster_identifisert_arsverk"] == "0.0"


def test_xlsx_holds_the_same_table(tiny_raw, tmp_path):
    """The people's workbook (title rows, Norwegian headings) holds the CSV's figures."""
    assert run_build(tiny_raw, tmp_path / "out", "--year", "2017") == 0
    folder = tmp_path / "out" / "reports" / "2017"
    from_csv = pl.read_csv(folder / "nokkeltall.csv", infer_schema=False)
    sheet = openpyxl.load_workbook(folder / "nokkeltall.xlsx")["Nøkkeltall"]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    at = next(i for i, r in enumerate(cells) if r[0] == "Tjenesteområde")
    header = cells[at]
    rows = [r for r in cells[at + 1 : at + 1 + from_csv.height]]
    assert [r[0] for r in rows] == from_csv.get_column("tjenesteomrade").to_list()
    compared = 0
    for key in from_csv.columns[1:]:
        if export.heading(key) not in header:
            continue
        col = header.index(export.heading(key))
        for row, text in zip(rows, from_csv.get_column(key).to_list(), strict=True):
            if text is None:
                assert row[col] is None
            elif text == gate.SUPPRESSED:
                assert row[col] == gate.SUPPRESSED
            else:
                assert row[col] == pytest.approx(float(text)), (row[0], key)
                compared += 1
    assert compared >= 8 * from_csv.height  # the contract's figures, every area


def test_mixed_formats_give_the_same_key_figures(tmp_path):
    plain = helpers.write_folder(tmp_path / "plain")
    mixed = helpers.write_mixed_folder(tmp_path / "mixed")
    assert run_build(plain, tmp_path / "a", "--year", "2017") == 0
    assert run_build(mixed, tmp_path / "b", "--year", "2017") == 0
    a = (tmp_path / "a" / "reports" / "2017" / "nokkeltall.csv").read_bytes()
    b = (tmp_path / "b" / "reports" / "2017" / "nokkeltall.csv").read_bytes()
    assert a == b
