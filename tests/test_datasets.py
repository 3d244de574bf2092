import datetime as dt

import polars as pl
import pytest

from tests import helpers
from vtklean.core import calendar
from vtklean.ingest import read
from vtklean.model import datasets

D = dt.date


@pytest.fixture
def tables(tiny_raw):
    data = read.read_folder(tiny_raw)
    return {name: td.data for name, td in data.tables.items()}


def _gains(tables, as_of):
    ds = datasets.build(tables, calendar.Period(as_of.year, as_of))
    return {r["gevinst_id"]: r for r in ds.gains.iter_rows(named=True)}


def test_gain_status_as_of_edge_cases(tables):
    g = _gains(tables, D(2017, 12, 31))
    # identified exactly on D counts; identified after D does not
    assert (g["G2"]["status"], g["G2"]["identifisert_arsverk"]) == ("identifisert", 1.0)
    assert (g["G6"]["status"], g["G6"]["identifisert_arsverk"]) == ("ikke_registrert", 0.0)
    # rejected after D still counts; rejected on D does not
    assert (g["G4"]["status"], g["G4"]["identifisert_arsverk"]) == ("identifisert", 0.5)
    assert (g["G5"]["status"], g["G5"]["identifisert_arsverk"]) == ("forkastet", 0.0)
    # partial realisation counts realisert_arsverk; realised after D counts nothing yet
    assert (g["G3"]["status"], g["G3"]["realisert_arsverk_dato"]) == ("realisert", 0.5)
    assert (g["G7"]["status"], g["G7"]["realisert_arsverk_dato"]) == ("identifisert", 0.0)
    assert g["G1"]["realisert_arsverk_dato"] == 2.0
    # kroner are realised in the same share as årsverk
    assert g["G3"]["realisert_kr_dato"] == pytest.approx(975_000.5 * 0.5 / 1.5)
    # waiting time for a gain not realised yet
    assert g["G7"]["ventet_dager"] == (D(2017, 12, 31) - D(2017, 1, 1)).days
    assert g["G1"]["ventet_dager"] is None


def test_gain_realised_later_becomes_realised(tables):
    g = _gains(tables, D(2018, 12, 31))
    assert g["G7"]["status"] == "realisert"
    assert g["G4"]["status"] == "forkastet"


def test_unit_status_as_of(tables):
    ds = datasets.build(tables, calendar.Period(2017, D(2017, 12, 31)))
    u = {r["enhet_id"]: r for r in ds.units.iter_rows(named=True)}
    assert u["E3"]["aktiv"] is False  # closed on D
    assert u["E4"]["aktiv"] is True  # closed after D
    assert u["E4"]["trent"] is True  # Lean start exactly on D
    assert u["E2"]["trent"] is False  # Lean start after D
    assert u["E5"]["aktiv"] is True  # active with no resource rows
    assert [k for k, r in u.items() if r["lean"]] == ["E1", "E4"]
    earlier = datasets.build(tables, calendar.Period(2016, D(2016, 12, 31)))
    assert earlier.units.filter(pl.col("enhet_id") == "E3").get_column("aktiv").item() is True


def test_period_months():
    assert calendar.Period(2017, D(2017, 12, 31)).months == 12
    assert calendar.Period(2016, D(2016, 4, 30)).months == 4
    assert calendar.Period(2016, D(2016, 4, 29)).months == 3
    assert calendar.Period(2012, D(2012, 6, 14)).months == 5
    assert calendar.Period(2017, D(2018, 3, 1)).months == 12
    assert calendar.Period(2017, D(2017, 1, 15)).months == 0


def test_resources_stop_at_as_of(tables):
    ds = datasets.build(tables, calendar.Period(2017, D(2017, 12, 31)))
    assert ds.unit_months.get_column("maned").max() == D(2017, 12, 1)
    e1_2016 = ds.unit_years.filter((pl.col("enhet_id") == "E1") & (pl.col("ar") == 2016))
    assert e1_2016.get_column("sykefravaer_prosent").item() == pytest.approx(10 / 200 * 100)


def test_ratio_with_zero_denominator_is_empty():
    months = pl.DataFrame(
        {
            "enhet_id": ["X"],
            "enhet": ["X"],
            "tjenesteomrade": ["A"],
            "ar": [2017],
            "maned": [D(2017, 1, 1)],
            "budsjett_kr": [0.0],
            "regnskap_kr": [10.0],
            "arsverk": [0.0],
            "ansatte": [0],
            "avtalte_dagsverk": [0.0],
            "fravaer_dagsverk": [0.0],
            "volum": [0.0],
        }
    )
    out = datasets.unit_years(months, calendar.Period(2017, D(2017, 12, 31)))
    row = out.row(0, named=True)
    assert row["sykefravaer_prosent"] is None
    assert row["budsjettavvik_prosent"] is None
    assert row["kostnad_per_volum"] is None


def test_ideas_as_of(tables):
    ds = datasets.build(tables, calendar.Period(2017, D(2017, 2, 15)))
    assert ds.ideas.get_column("forslag_id").to_list() == ["F1"]
    assert ds.ideas.row(0, named=True)["status"] == "pagar"  # closed only after D
    assert ds.ideas.row(0, named=True)["avsluttet"] is None


def test_every_unit_has_an_area_in_gains(tables):
    ds = datasets.build(tables, calendar.Period(2017, D(2017, 12, 31)))
    assert ds.gains.get_column("tjenesteomrade").null_count() == 0
    assert set(ds.gains.get_column("gevinst_id")) == {
        r["gevinst_id"] for r in helpers.tiny_tables()["gevinster"]
    }


def _months(tables) -> pl.DataFrame:
    period = calendar.Period(2017, D(2017, 12, 31))
    return datasets.unit_months(
        tables["ressursbruk"], calendar.units(tables["enheter"], period.as_of), period.cutoff
    )


def test_unit_years_do_not_depend_on_the_order_of_the_months(tables):
    """The months as built (rising within each unit-year), reversed within each unit-year,
    and in no order give the same unit-years, also where the last month has no headcount."""
    period = calendar.Period(2017, D(2017, 12, 31))
    months = _months(tables)
    last = months.group_by("enhet_id").agg(pl.col("maned").max())
    no_head = last.row(0, named=True)  # one unit's last month without a headcount
    months = months.with_columns(
        ansatte=pl.when(
            (pl.col("enhet_id") == no_head["enhet_id"]) & (pl.col("maned") == no_head["maned"])
        )
        .then(None)
        .otherwise(pl.col("ansatte"))
    )
    built = datasets.unit_years(months, period)
    reversed_ = months.sort("enhet_id", "maned", descending=[False, True])
    assert datasets.unit_years(reversed_, period).equals(built)
    assert datasets.unit_years(months.sample(fraction=1.0, shuffle=True, seed=3), period).equals(
        built
    )
    # The headcount is the last month's (hand-computed from the months), 0 where it is empty.
    for row in built.iter_rows(named=True):
        unit = months.filter((pl.col("enhet_id") == row["enhet_id"]) & (pl.col("ar") == row["ar"]))
        expected = unit.sort("maned").get_column("ansatte")[-1]
        assert row["ansatte"] == (expected or 0)
    assert built.filter(pl.col("enhet_id") == no_head["enhet_id"]).get_column("ansatte")[-1] == 0


def test_unit_ids_are_found_in_the_register_in_any_order():
    register = pl.Series(["E1", "E2", "E3"])
    ids = pl.Series(["E2", "E2", "E1", "E3", "E3", "E9", "E2", None, "E1"])
    expected = [1, 1, 0, 2, 2, None, 1, None, 0]
    assert datasets._places(ids, register).to_list() == expected
    shuffled = [3, 0, 8, 5, 1, 7, 2, 6, 4]
    assert datasets._places(ids[shuffled], register).to_list() == [expected[i] for i in shuffled]
    # An id listed twice in the register has no one place: nothing is taken by place.
    twice = pl.Series(["E1", "E2", "E2"])
    assert datasets._places(ids, twice).null_count() == len(ids)
