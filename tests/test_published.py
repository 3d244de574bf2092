"""Back tests: the shipped sample data, built through the CLI, gives the published figures."""

import csv
import datetime as dt
import re

import polars as pl
import pytest

from vtklean import build
from vtklean.core import norsk, paths
from vtklean.ingest import read


def _whole(folder) -> dict[str, str]:
    with (folder / "nokkeltall.csv").open(encoding="utf-8", newline="") as fh:
        rows = {r["tjenesteomrade"]: r for r in csv.DictReader(fh)}
    return rows["Hele kommunen"]


@pytest.mark.parametrize(
    ("build", "active", "trained", "identified", "realised"),
    [
        ("2017", 76, 43, 46.3, 33.1),
        ("2018", 70, 45, 49.4, 36.3),
        ("2015", None, 27, None, None),
        ("2016-04-30", None, None, 33.0, 21.5),
        ("2012-06-14", None, None, 8.5, None),
    ],
)
def test_published_figures(shipped_builds, build, active, trained, identified, realised):
    row = _whole(shipped_builds[build])
    if active is not None:
        assert int(row["enheter"]) == active
    if trained is not None:
        assert int(row["enheter_lean"]) == trained
    if identified is not None:
        assert float(row["gevinster_identifisert_arsverk"]) == identified
    if realised is not None:
        assert float(row["gevinster_realisert_arsverk"]) == realised


def test_value_stream_share_2017(shipped_builds):
    assert round(float(_whole(shipped_builds["2017"])["andel_verdistromsanalyse_prosent"])) == 80


def test_largest_realised_category_2017_is_quality(shipped_builds):
    gains = pl.read_parquet(shipped_builds["2017:processed"] / "gevinster.parquet")
    sums = (
        gains.group_by("kategori")
        .agg(pl.col("realisert_arsverk_dato").sum())
        .sort("realisert_arsverk_dato", descending=True)
    )
    assert sums.get_column("kategori")[0] == "kvalitet"


def test_municipality_size_2017(shipped_builds):
    row = _whole(shipped_builds["2017"])
    assert float(row["arsverk"]) == pytest.approx(785, abs=5)
    assert int(row["ansatte"]) == pytest.approx(1100, abs=15)
    assert float(row["regnskap_kr"]) == pytest.approx(1.2e9, rel=0.01)


def test_gains_by_14_june_2012_all_from_the_seven_pilots(shipped_builds):
    processed = shipped_builds["2012-06-14:processed"]
    gains = pl.read_parquet(processed / "gevinster.parquet").filter(
        pl.col("identifisert_arsverk") > 0
    )
    units = pl.read_parquet(processed / "enheter.parquet")
    pilots = units.filter(pl.col("pilot").is_not_null())
    assert pilots.height == 7
    assert set(gains.get_column("enhet_id")) <= set(pilots.get_column("enhet_id"))
    assert gains.get_column("enhet_id").n_unique() == 7


def test_pilots_named_in_their_waves(sample_raw):
    units = read.read_folder(sample_raw).tables["enheter"].data
    waves = {
        r["enhet"]: (r["pilot"], r["tjenesteomrade"])
        for r in units.filter(pl.col("pilot").is_not_null()).iter_rows(named=True)
    }
    assert waves == {
        "Gimle sykehjem avd. 1": (1, "Omsorg"),
        "Fysio- og ergoterapitjenesten": (1, "Helse"),
        "Gimle sykehjem avd. 5": (1, "Omsorg"),
        "Hjemmesykepleien Raufoss": (2, "Omsorg"),
        "Politisk saksbehandling": (2, "Sentraladministrasjon"),
        "Barnevern": (2, "Helse"),
        "Teknisk drift veg/park og renovasjon": (2, "Teknisk"),
    }
    starts = units.filter(pl.col("pilot").is_not_null()).get_column("lean_start")
    assert starts.max() <= dt.date(2012, 6, 14)
    assert units.get_column("tjenesteomrade").n_unique() >= 6


def test_development_unit_from_2013(sample_raw):
    data = read.read_folder(sample_raw)
    units = data.tables["enheter"].data
    dev = units.filter(pl.col("enhet") == "Utviklingsenheten")
    assert dev.height == 1
    unit_id = dev.get_column("enhet_id").item()
    res = data.tables["ressursbruk"].data.filter(pl.col("enhet_id") == unit_id)
    assert res.get_column("maned").min() == dt.date(2013, 1, 1)
    y2013 = res.filter(pl.col("maned").dt.year() == 2013)
    assert y2013.get_column("budsjett_kr").sum() == pytest.approx(2_500_000, abs=12)
    assert y2013.get_column("arsverk").sum() / 12 == pytest.approx(3.3)


def test_resource_use_is_monthly_2009_to_2018(sample_raw):
    res = read.read_folder(sample_raw).tables["ressursbruk"].data
    months = res.get_column("maned")
    assert months.min() == dt.date(2009, 1, 1)
    assert months.max() == dt.date(2018, 12, 1)
    assert months.n_unique() == 120
    sick = res.get_column("fravaer_dagsverk").sum() / res.get_column("avtalte_dagsverk").sum()
    assert 0.05 < sick < 0.12


def test_readme_quotes_the_year_make_report_builds(shipped_builds, sample_raw):
    """The README's figures are those of the default build of the sample (the last full year)."""
    lines = paths.ROOT.joinpath("README.md").read_text("utf-8").splitlines()
    text = " ".join(" ".join(line.removeprefix(">") for line in lines).split())
    found = re.search(
        r"bygger siste hele år i dataene, (\d{4}), og viser da (\d+) av (\d+) enheter med "
        r"Lean-opplæring, ([\d,]+) årsverk identifisert og ([\d,]+) realisert per ([\d.]+)",
        text,
    )
    assert found, "the README sentence with the default year's figures"
    year, trained, active, identified, realised, as_of = found.groups()
    resources = read.read_folder(sample_raw).tables["ressursbruk"].data
    period = build.resolve_period(resources, None, None)
    assert (year, as_of) == (str(period.year), norsk.date(period.as_of))
    row = _whole(shipped_builds[year])
    assert (trained, active) == (row["enheter_lean"], row["enheter"])
    assert identified == norsk.number(float(row["gevinster_identifisert_arsverk"]), 1)
    assert realised == norsk.number(float(row["gevinster_realisert_arsverk"]), 1)
