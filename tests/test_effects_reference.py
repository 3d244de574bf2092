"""The vectorised estimator and panel code against straightforward reference computations."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from vtklean.core import measures
from vtklean.model import effects, pilot


def random_panel(seed: int, units: int = 40, periods: int = 7) -> pl.DataFrame:
    """A shuffled long panel with gaps, empty outcomes and staggered or no starts."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        start = [None, None, 1, 2, 3, periods - 1][int(rng.integers(0, 6))]
        name = f"u{rng.integers(0, 10**6):06d}-{u}"
        for t in range(periods):
            if rng.random() < 0.03:
                continue  # a missing row
            y = None if rng.random() < 0.02 else float(rng.normal(t * 0.2, 1.0))
            rows.append((name, 2010 + t, start, y))
    frame = pl.DataFrame(rows, schema=["id", "t", "g", "y"], orient="row", strict=False)
    frame = frame.with_columns(pl.col("g") + 2010)
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


def reference_wide(frame: pl.DataFrame) -> tuple[list, list, list, np.ndarray, tuple]:
    """Units, periods, cohort index and Y by plain Python loops over the rows."""
    periods = sorted({t for t in frame.get_column("t").to_list() if t is not None})
    cells: dict[str, dict] = {}
    cohort: dict[str, int | None] = {}
    for unit, t, g, y in frame.iter_rows():
        if y is not None and not math.isnan(y):
            cells.setdefault(unit, {})[t] = y
        cohort[unit] = cohort.get(unit) if g is None else g
    units = sorted(u for u in cohort if len(cells.get(u, {})) == len(periods))
    dropped = tuple(u for u in sorted(cohort) if u not in units)
    y = np.array([[cells[u][t] for t in periods] for u in units])
    index = [-1 if cohort[u] is None else periods.index(cohort[u]) for u in units]
    return units, periods, index, y, dropped


@pytest.mark.parametrize("seed", range(6))
def test_balanced_panel_matches_a_loop_over_rows(seed):
    frame = random_panel(seed)
    got = effects.balance(frame, unit="id", period="t", cohort="g", outcome="y")
    units, periods, index, y, dropped = reference_wide(frame)
    assert got.units == units and got.periods == periods and got.dropped == dropped
    assert got.cohorts.tolist() == index
    assert np.array_equal(got.y, y)


@pytest.mark.parametrize("units", [1, 7, 33, 1001])
def test_rademacher_weights_are_the_draws_of_rng_choice(units):
    expected = np.random.default_rng(effects.BOOTSTRAP_SEED).choice(
        np.array([-1.0, 1.0]), size=(effects.BOOTSTRAP_DRAWS, units)
    )
    assert np.array_equal(effects.rademacher(units), expected)
    assert not np.array_equal(effects.rademacher(units, 7), expected)


def reference_band(influence: np.ndarray, se: np.ndarray, alpha: float) -> float:
    """The uniform band's critical value as first written: rng.choice weights, one product."""
    keep = se > 0
    n = influence.shape[0]
    rng = np.random.default_rng(effects.BOOTSTRAP_SEED)
    weights = rng.choice(np.array([-1.0, 1.0]), size=(effects.BOOTSTRAP_DRAWS, n))
    draws = weights @ influence[:, keep] / n
    return float(np.quantile(np.max(np.abs(draws) / se[keep][None, :], axis=1), 1 - alpha))


@pytest.mark.parametrize("seed", range(4))
def test_uniform_band_equals_the_plain_bootstrap_exactly(seed):
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(20, 400)), int(rng.integers(2, 9))
    influence = rng.normal(size=(n, k))
    se = np.sqrt(np.sum(influence**2, axis=0)) / n
    se[0] = 0.0  # an estimate without spread is left out
    expected = reference_band(influence, se, 0.05)
    assert effects.uniform_critical_value(influence, se, 0.05) == expected
    weights = effects.rademacher(n)
    assert effects.uniform_critical_value(influence, se, 0.05, weights=weights) == expected


def test_estimates_on_one_balanced_panel_equal_those_from_the_table():
    frame = random_panel(11, units=80)
    keys = {"unit": "id", "period": "t", "cohort": "g", "outcome": "y"}
    prepared = effects.balance(frame, **keys)
    focus = prepared.units[::3]
    for chosen in (None, focus):
        a = effects.staggered_did(frame, focus=chosen, **keys)
        b = effects.staggered_did(prepared, focus=chosen, **keys)
        assert a.event_study.equals(b.event_study) and a.group_time.equals(b.group_time)
        assert dict(a.overall) == dict(b.overall) and dict(a.pretrend) == dict(b.pretrend)
    assert effects.twfe(frame, **keys) == effects.twfe(prepared, **keys)
    assert prepared.multipliers() is prepared.multipliers()  # drawn once


def random_months(seed: int, units: int = 30) -> pl.DataFrame:
    """Shuffled unit-months over 2010-2013 with gaps, empty cells and odd magnitudes."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        start = [None, dt.date(2011, 3, 1), dt.date(2012, 1, 1)][int(rng.integers(0, 3))]
        wave = None if start is None or rng.random() < 0.5 else 1
        for year in range(2010, 2014):
            for month in range(1, 13):
                if rng.random() < 0.02:
                    continue  # a month without a row: the year is not complete

                def value(scale: float) -> float | None:
                    empty = rng.random() < 0.03
                    return (
                        None if empty else float(rng.normal(1, 0.5) * 10 ** rng.uniform(0, scale))
                    )

                rows.append(
                    {
                        "enhet_id": f"E{(u * 7919) % 1000:03d}",
                        "enhet": f"Enhet {u}",
                        "pilot": wave,
                        "lean_start": start,
                        "ar": year,
                        "maned": dt.date(year, month, 1),
                        "fravaer_dagsverk": value(3),
                        "avtalte_dagsverk": value(4),
                        "regnskap_kr": value(9),
                        "budsjett_kr": value(9),
                        "volum": value(5),
                        "arsverk": value(2),
                    }
                )
    frame = pl.DataFrame(rows, schema_overrides={"pilot": pl.Int64, "ar": pl.Int32})
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)


def reference_yearly(months: pl.DataFrame, outcome: str) -> pl.DataFrame:
    """Unit-years as first written: one polars group_by over all attributes, every sum."""
    sums = months.group_by("enhet_id", "enhet", "pilot", "lean_start", "ar").agg(
        pl.len().alias("maneder"),
        pl.col("fravaer_dagsverk", "avtalte_dagsverk", "regnskap_kr", "budsjett_kr").sum(),
        pl.when(pl.col("volum").null_count() == 0).then(pl.col("volum").sum()).alias("volum"),
        pl.col("arsverk").mean(),
    )
    return sums.filter(pl.col("maneder") == 12).with_columns(
        measures.expr(k)
        for k in ("sykefravaer_prosent", "budsjettavvik_prosent", "kostnad_per_volum")
    )


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("outcome", list(pilot.OUTCOMES))
def test_yearly_figures_equal_a_plain_group_by_to_the_last_bit(seed, outcome):
    months = random_months(seed)
    # Text categories made earlier in the process, in another order, change nothing.
    pl.Series(sorted(months.get_column("enhet_id").unique(), reverse=True)).cast(pl.Categorical)
    got = pilot._yearly(months, outcome).select("enhet_id", "ar", outcome).sort("enhet_id", "ar")
    expected = reference_yearly(months, outcome).select("enhet_id", "ar", outcome)
    expected = expected.sort("enhet_id", "ar")
    assert got.height > 0 and got.get_column(outcome).null_count() < got.height
    assert got.equals(expected)
