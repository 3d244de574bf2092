"""Every page builds on the data shapes the contract allows, for any municipality.

Each case combines several shapes in one small raw folder, so the whole matrix costs three
page builds: one year of data (report year = first year) without `forbedringer`, `volum`,
`ansatte` or `belop_kr`; no unit trained, no gains, one service area; every unit trained,
no gains in the year, an area with one unit, units opened and closed during the year.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tests import helpers
from vtklean import cli
from vtklean.publish import execute

D = dt.date
KOMMUNE = "Nordre Prøveby kommune"


def _first_year() -> tuple[dict, dict]:
    tables = helpers.tiny_tables()
    tables["ressursbruk"] = [r for r in tables["ressursbruk"] if r["maned"].year == 2017]
    del tables["forbedringer"]
    drop = {"ressursbruk": {"volum", "ansatte"}, "gevinster": {"belop_kr"}}
    return tables, drop


def _none_trained() -> tuple[dict, dict]:
    tables = helpers.tiny_tables()
    for unit in tables["enheter"]:
        unit.update(lean_start=None, pilot=None, tjenesteomrade="Helse")
    tables["gevinster"] = []
    for name in ("mal", "kommentarer"):  # targets and comments of the other areas go
        rows = [r for r in tables.get(name, []) if r["tjenesteomrade"] == "Hele kommunen"]
        if rows:
            tables[name] = rows
        else:
            tables.pop(name, None)
    return tables, {}


def _all_trained() -> tuple[dict, dict]:
    tables = helpers.tiny_tables()
    for unit in tables["enheter"]:
        unit["lean_start"] = unit["lean_start"] or D(2016, 9, 1)
        if unit["enhet_id"] == "E4":
            unit["lagt_ned"] = D(2017, 7, 1)  # closed during the year
        if unit["enhet_id"] == "E5":
            unit["lean_start"] = D(2017, 9, 1)  # opened during the year
    tables["ressursbruk"] = [
        r for r in tables["ressursbruk"] if not (r["enhet_id"] == "E4" and r["maned"].month > 6)
    ]
    tables["ressursbruk"] += [
        dict(
            enhet_id="E5",
            maned=D(2017, m, 1),
            budsjett_kr=20_000.0,
            regnskap_kr=21_000.0,
            arsverk=2.0,
            ansatte=3,
            avtalte_dagsverk=40.0,
            fravaer_dagsverk=2.0,
            volum=10.0,
        )
        for m in range(7, 13)
    ]
    # No gain identified, realised or rejected in 2017.
    tables["gevinster"] = [
        g for g in tables["gevinster"] if g["identifisert"].year == 2016 and g["realisert"]
    ]
    return tables, {}


SHAPES = {"forste-ar": _first_year, "ingen-trent": _none_trained, "alle-trent": _all_trained}
COLUMNS = {name: list(rows[0]) for name, rows in helpers.tiny_tables().items()}


def _write(folder: Path, tables: dict, drop: dict) -> Path:
    folder.mkdir(parents=True)
    for name, rows in tables.items():
        columns = [c for c in COLUMNS[name] if c not in drop.get(name, set())]
        helpers.write_csv(folder / f"{name}.csv", rows, columns=columns)
    return folder


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_page_builds_on_every_shape(shape, tmp_path, monkeypatch):
    tables, drop = SHAPES[shape]()
    _write(tmp_path / "raw", tables, drop)
    (tmp_path / "build.yaml").write_text(f"kommune: {KOMMUNE}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # relative paths, as a newcomer types them
    args = ["build", "--raw", "raw", "--processed", "p", "--reports", "r", "--year", "2017"]
    assert cli.main([*args, "--params", "build.yaml"]) == 0
    folder = tmp_path / "r" / "2017"
    index = (folder / "index.html").read_text("utf-8")
    pages = sorted(p.name for p in folder.glob("*.html"))
    assert {"oversikt.html", "pilot-effekter.html", "datakvalitet.html"} <= set(pages)
    for name in pages:
        text = (folder / name).read_text("utf-8")
        assert "Vestre Toten" not in text, name
        assert KOMMUNE in text, name
        if name not in ("index.html", "tilgjengelighet.html"):
            assert f'href="{name}"' in index
    for path in (folder / execute.NOTEBOOK_DIR).glob("*.ipynb"):
        nb = json.loads(path.read_text("utf-8"))
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert not [o for o in outputs if o["output_type"] == "error"], path
