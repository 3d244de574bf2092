"""The vectorised estimator code against straightforward reference computations (model.effects)."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from vtklean.model import effects


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
