import datetime as dt
import json
import subprocess
import sys

import polars as pl
import pytest

from tests import helpers
from tests.conftest import run_build
from vtklean import cli, sample
from vtklean.core import paths
from vtklean.ingest import read


def test_shipped_data_is_exactly_what_the_generator_writes(sample_raw):
    """data/raw, while it holds the sample, is generated and never edited by hand.

    A municipality that puts its own exports in data/raw makes this a skip, not a failure.
    """
    manifest = paths.RAW / sample.MANIFEST
    files = {p.name for p in sample.table_files(paths.RAW)}
    written = json.loads(manifest.read_text("utf-8")) if manifest.is_file() else {}
    if not written or set(written) != files:
        pytest.skip("data/raw har andre filer enn eksempeldataene")
    hashes = helpers.tree_hashes(paths.RAW)
    if any(hashes.get(name) != digest for name, digest in written.items()):
        pytest.skip("data/raw har filer som er endret etter at eksempeldataene ble laget")
    shipped = {k: v for k, v in hashes.items() if k != "README.md"}
    assert helpers.tree_hashes(sample_raw) == shipped


def test_deterministic_and_seed_dependent(tmp_path):
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert (
            cli.main(
                ["sample", "--units", "120", "--seed", str(seed), "--out", str(tmp_path / name)]
            )
            == 0
        )
    a, b, c = (helpers.tree_hashes(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c


def test_refuses_to_overwrite_table_files(tmp_path):
    raw = helpers.write_folder(tmp_path / "raw")
    before = helpers.tree_hashes(raw)
    assert cli.main(["sample", "--out", str(raw)]) == 2
    assert helpers.tree_hashes(raw) == before


@pytest.mark.parametrize("seed", [1, 99])
def test_other_seeds_and_sizes_are_calibrated_and_valid(tmp_path, seed):
    raw = tmp_path / "raw"
    assert cli.main(["sample", "--units", "152", "--seed", str(seed), "--out", str(raw)]) == 0
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    table = pl.read_csv(tmp_path / "out" / "reports" / "2017" / "nokkeltall.csv")
    whole = table.filter(pl.col("tjenesteomrade") == "Hele kommunen").row(0, named=True)
    assert whole["enheter"] == 152
    assert whole["enheter_lean"] == 86
    assert whole["gevinster_identifisert_arsverk"] == pytest.approx(92.6)
    assert whole["gevinster_realisert_arsverk"] == pytest.approx(66.2)


def test_planted_effect_on_sick_leave_is_in_the_records(sample_raw):
    """A crude check that treated units fall below the untreated after lean_start."""
    data = read.read_folder(sample_raw)
    units = data.tables["enheter"].data.select("enhet_id", "lean_start")
    res = data.tables["ressursbruk"].data.join(units, on="enhet_id")
    late = res.filter(pl.col("maned") >= dt.date(2017, 1, 1))
    trained_early = late.filter(pl.col("lean_start") < dt.date(2014, 1, 1))
    early = res.filter(pl.col("maned") < dt.date(2011, 1, 1))

    def rate(frame):
        return (
            frame.get_column("fravaer_dagsverk").sum()
            / frame.get_column("avtalte_dagsverk").sum()
            * 100
        )

    ids = trained_early.get_column("enhet_id").unique()
    others = late.filter(pl.col("lean_start").is_null())
    before_t = rate(early.filter(pl.col("enhet_id").is_in(ids.implode())))
    before_o = rate(early.filter(pl.col("lean_start").is_null()))
    did = (rate(trained_early) - before_t) - (rate(others) - before_o)
    assert did < -0.5 * sample.EFFECT_SICK_LEAVE_PP


def test_units_range_and_years(tmp_path):
    assert cli.main(["sample", "--units", "39", "--out", str(tmp_path / "x")]) == 2
    assert (
        cli.main(["sample", "--start", "2015", "--end", "2014", "--out", str(tmp_path / "y")]) == 2
    )
    assert (
        cli.main(
            [
                "sample",
                "--units",
                "80",
                "--start",
                "2012",
                "--end",
                "2016",
                "--out",
                str(tmp_path / "z"),
            ]
        )
        == 0
    )
    res = read.read_folder(tmp_path / "z").tables["ressursbruk"].data.get_column("maned")
    assert (res.min(), res.max()) == (dt.date(2012, 1, 1), dt.date(2016, 12, 1))


def test_generator_records_match_targets_in_hundredths():
    s = sample.generate()
    at = dt.date(2017, 12, 31)
    assert sum(g.identified_at(at) for g in s.gains) == 4630
    vsa = sum(g.identified_at(at) for g in s.gains if g.method == "verdistromsanalyse")
    assert vsa == round(0.8 * 4630)
    assert all(g.identified >= g.unit.lean_start for g in s.gains)
    assert not any(g.realised and g.rejected for g in s.gains)
    res = s.resources
    assert (res.get_column("fravaer_dagsverk") <= res.get_column("avtalte_dagsverk")).all()


def test_console_script_runs(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vtklean.cli",
            "sample",
            "--units",
            "40",
            "--out",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "Skrev" in out.stdout
