"""Effects of Lean on the units that adopted it: staggered difference-in-differences.

The estimator is Callaway & Sant'Anna (2021), "Difference-in-Differences with multiple time
periods", J. Econometrics 225(2), without covariates, on a balanced panel:

* ATT(g, t) = mean(Y_t - Y_b | cohort g) - mean(Y_t - Y_b | controls), with b the period
  before g for t >= g, and b = t - 1 for the placebo periods t < g ("varying" base, as the
  reference implementation in R's `did`);
* controls are the units not yet treated at max(t, b) (never-treated units included), or
  only the never-treated units;
* aggregations as in `did::aggte`: overall = the cohorts' average post-period effects
  weighted by cohort size, and by event time e = t - g (pre-periods kept as placebos);
* standard errors from the units' influence functions, which makes them clustered by unit;
  the influence of estimating the cohort-size weights is included; an estimate resting on
  fewer than FEW_UNITS treated units gets a t interval with G - 1 degrees of freedom;
* a joint Wald test that all pre-start event-study effects are zero (`pretrend`), from
  their joint influence-function covariance;
* a uniform band over event times by multiplier bootstrap (as `did` with `cband = TRUE`),
  the mean effect over chosen event times (`average_effect`) and a relative-magnitudes
  breakdown value after Rambachan and Roth (2023) (`breakdown`).

Why written here rather than taken from a package (evaluated November 2026): `moderndid`
is a faithful port of R's `did` and agrees with this module to 1e-10 on the `mpdta`
example it ships (a test checks it), but its releases after 0.2.0 need Python 3.12, it
took 17 s per monthly panel of the sample data (this module: well under a second), and it
cannot aggregate a subset of units (a pilot wave) while the other units still serve as
not-yet-treated controls. `csdid` pulls in plotnine and twine at run time, `differences`
is GPL-3, and `diff-diff` is a 20 MB package with a compiled Rust part, of which the
build would use one estimator; pyfixest's event studies are TWFE or imputation
estimators, not group-time effects. The unconditional estimator is short; `moderndid` and
`diff-diff` are the test references.

Also here: the static two-way fixed-effects estimate (biased when effects build up over
time and units start at different times, shown for comparison) and the naive
before/after difference for single units.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import polars as pl
from scipy import special  # t, F and chi-square: what scipy.stats calls, without its 1 s import

from vtklean.core.errors import UsageError
from vtklean.model.choices import CONTROLS

FEW_UNITS = 10  # below this many treated units, intervals use t with G - 1 df
BOOTSTRAP_DRAWS = 999  # multiplier-bootstrap draws for the uniform band
BOOTSTRAP_SEED = 2021  # fixed, so that builds are byte-identical


class EffectError(UsageError, ValueError):
    """Input that the estimator cannot use; the message is in bokmål and names the value."""


@dataclass(frozen=True)
class DidResult:
    """Staggered difference-in-differences estimates with their uncertainty."""

    overall: Mapping[str, float]
    event_study: pl.DataFrame
    group_time: pl.DataFrame
    control: str
    alpha: float
    units: int
    treated_units: int
    dropped_units: tuple[str, ...] = field(default_factory=tuple)
    single_unit_cohorts: tuple[Any, ...] = field(default_factory=tuple)
    pretrend: Mapping[str, float] = field(default_factory=dict)
    event_influence: np.ndarray | None = field(default=None, repr=False, compare=False)


def _as_polars(panel: Any) -> pl.DataFrame:
    """A polars frame from a polars or pandas table."""
    if isinstance(panel, pl.DataFrame):
        return panel
    if isinstance(panel, pl.LazyFrame):
        return panel.collect()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(panel, pd.DataFrame):
        return pl.from_pandas(panel)
    raise EffectError(f"Panelet må være en polars- eller pandas-tabell, ikke {type(panel)}.")


def _check_columns(frame: pl.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise EffectError(
            f"Panelet mangler kolonnen {', '.join(repr(c) for c in missing)} "
            f"(kolonner: {', '.join(frame.columns)})."
        )


def _wide(
    frame: pl.DataFrame, *, unit: str, period: str, cohort: str, outcome: str
) -> tuple[list[Any], list[Any], np.ndarray, np.ndarray, tuple[str, ...]]:
    """Units, periods, cohort index per unit (-1 never treated) and the Y matrix.

    Units missing a period or the outcome in some period are dropped (balanced panel).
    """
    frame = frame.select(unit, period, cohort, outcome)
    dup = frame.group_by(unit, period).len().filter(pl.col("len") > 1)
    if dup.height:
        row = dup.sort(unit, period).row(0, named=True)
        raise EffectError(
            f"Enheten {row[unit]} har {row['len']} rader for perioden {row[period]} "
            f"(kolonnene {unit!r} og {period!r} skal være unike sammen)."
        )
    cohorts = frame.group_by(unit).agg(pl.col(cohort).drop_nulls().unique().sort())
    two = cohorts.filter(pl.col(cohort).list.len() > 1)
    if two.height:
        row = two.sort(unit).row(0, named=True)
        values = ", ".join(str(v) for v in row[cohort])
        raise EffectError(
            f"Enheten {row[unit]} har flere ulike verdier i kolonnen {cohort!r}: {values}. "
            "En enhet kan bare starte én gang."
        )
    grid = frame.get_column(period).drop_nulls().unique().sort()
    periods = grid.to_list()
    if len(periods) < 2:
        raise EffectError(f"Panelet har færre enn to perioder i kolonnen {period!r}.")
    position = {p: i for i, p in enumerate(periods)}
    first = cohorts.with_columns(pl.col(cohort).list.first()).sort(unit)
    for row in first.filter(pl.col(cohort).is_not_null()).iter_rows(named=True):
        g = row[cohort]
        if g not in position:
            raise EffectError(
                f"Enheten {row[unit]} har {cohort!r} = {g}, som ikke er en av periodene i "
                f"panelet ({periods[0]} til {periods[-1]})."
            )
        if position[g] == 0:
            raise EffectError(
                f"Enheten {row[unit]} har {cohort!r} = {g}, panelets første periode: da finnes "
                "ingen periode før start å sammenligne med."
            )
    keep = complete_units(frame, unit=unit, period=period, outcome=outcome)
    all_units = first.get_column(unit).to_list()
    kept = set(keep.to_list())
    dropped = tuple(str(u) for u in all_units if u not in kept)
    first = first.filter(pl.col(unit).is_in(keep.implode()))
    units = first.get_column(unit).to_list()
    g_index = np.array([-1 if g is None else position[g] for g in first.get_column(cohort)])
    # Each kept unit's row and each period's column, by joins rather than a Python lookup
    # per row; the cells are unique (checked above), so their order does not matter.
    rows = first.select(unit, _row=pl.int_range(pl.len(), dtype=pl.Int64))
    cols = grid.to_frame().with_columns(_col=pl.int_range(pl.len(), dtype=pl.Int64))
    cells = frame.join(rows, on=unit).join(cols, on=period)
    y = np.full((len(units), len(periods)), np.nan)
    y[cells.get_column("_row").to_numpy(), cells.get_column("_col").to_numpy()] = (
        cells.get_column(outcome).cast(pl.Float64).to_numpy()
    )
    return units, periods, g_index, y, dropped


@dataclass(frozen=True, eq=False)
class Balanced:
    """A balanced panel as arrays, made once for several estimates on the same units.

    `cohorts` holds each unit's period index of start (-1: never treated) and `y` the
    outcome (units x periods). The bootstrap's multipliers depend only on the number of
    units, so they are drawn once here and shared by every estimate on the panel.
    """

    units: list[Any]
    periods: list[Any]
    cohorts: np.ndarray
    y: np.ndarray
    dropped: tuple[str, ...]
    _multipliers: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def multipliers(self, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
        """Rademacher weights (draws x units) of the multiplier bootstrap, from `seed`."""
        if seed not in self._multipliers:
            self._multipliers[seed] = rademacher(len(self.units), seed)
        return self._multipliers[seed]


def balance(panel: Any, *, unit: str, period: str, cohort: str, outcome: str) -> Balanced:
    """The balanced panel of a long pandas or polars table (see `staggered_did`)."""
    frame = _as_polars(panel)
    _check_columns(frame, (unit, period, cohort, outcome))
    return Balanced(*_wide(frame, unit=unit, period=period, cohort=cohort, outcome=outcome))


def _balanced(panel: Any, **columns: str) -> Balanced:
    """`panel` itself when already balanced (by `balance`), else its balanced panel."""
    return panel if isinstance(panel, Balanced) else balance(panel, **columns)


def rademacher(units: int, seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """BOOTSTRAP_DRAWS x `units` weights of -1 or 1 with equal odds, from a fixed seed.

    The same draws as `rng.choice([-1.0, 1.0], size)`: taken as 0/1 integers (the same
    random stream, one 32-bit word per draw, also when drawn a block of rows at a time)
    and written as -1/1 into one array, without choice's indexing or full-size temporaries.
    """
    rng = np.random.default_rng(seed)
    weights = np.empty((BOOTSTRAP_DRAWS, units))
    for first in range(0, BOOTSTRAP_DRAWS, 32):
        block = weights[first : first + 32]
        np.multiply(rng.integers(0, 2, size=block.shape), 2.0, out=block)
        block -= 1.0
    weights.flags.writeable = False
    return weights


def _wif(indicators: np.ndarray, pg: np.ndarray) -> np.ndarray:
    """Influence of estimating the weights pg / sum(pg) (units x keepers), as `did::wif`."""
    total = pg.sum()
    centred = indicators - pg[None, :]
    return centred / total - centred.sum(axis=1, keepdims=True) * (pg / total**2)[None, :]


def _scale(size: int, correction: bool) -> float:
    """Factor on a group's deviations from its mean: sqrt(n / (n - 1)) when corrected."""
    return math.sqrt(size / (size - 1)) if correction and size > 1 else 1.0


def _se(influence: np.ndarray) -> float:
    """Standard error of an estimate from its per-unit influence function."""
    n = influence.shape[0]
    return float(math.sqrt(np.sum(influence**2)) / n)


@functools.lru_cache(maxsize=1024)  # every cell, event time and table row asks again
def critical_value(alpha: float, units: int) -> tuple[float, int | None]:
    """The two-sided critical value for an estimate resting on `units` treated units.

    With fewer than FEW_UNITS (and at least two) it is Student's t with units - 1 degrees of
    freedom, as for a cluster-robust estimate with G clusters; otherwise the normal one.
    Returns (value, degrees of freedom or None for normal).
    """
    if 2 <= units < FEW_UNITS:
        return float(special.stdtrit(units - 1, 1 - alpha / 2)), units - 1
    return NormalDist().inv_cdf(1 - alpha / 2), None


def _interval(est: float, se: float, alpha: float, units: int) -> dict[str, Any]:
    crit, df = critical_value(alpha, units)
    return {
        "estimate": est,
        "se": se,
        "ci_low": est - crit * se,
        "ci_high": est + crit * se,
        "units": units,
        "df": df,
    }


def wald_test(estimates: np.ndarray, influence: np.ndarray, units: int) -> dict[str, float]:
    """Joint Wald test that all `estimates` are zero, from their influence functions.

    The covariance is the influence functions' (units x estimates) cross product / n^2; it
    may be rank deficient (overlapping cells), so the statistic uses its pseudo-inverse on
    the eigenvalues above a relative tolerance, and df is that rank. The p-value is from
    F(df, G - 1) on statistic / df, G the treated units the estimates rest on (the usual
    small-sample form of a cluster-robust Wald test; chi-square(df) / df as G grows).
    Measured on simulated staggered panels at the 5 % level (tests/test_effects.py): 30
    units per cohort and 30 never treated, 4,2 % rejections of a true null in 450 panels
    (chi-square 5,3 %); 8 per cohort and 8 never treated, 13 % (chi-square 22 %). With very
    few units the test is too eager rather than too lax: it then flags pre-trends a little
    too often, which errs on the side of caution for the page's claims.
    """
    if estimates.size == 0:
        return {"statistic": math.nan, "df": 0, "p_value": math.nan, "units": units}
    n = influence.shape[0]
    cov = influence.T @ influence / n**2
    values, vectors = np.linalg.eigh(cov)
    keep = values > max(values.max(), 0.0) * 1e-10
    rank = int(keep.sum())
    if rank == 0:
        return {"statistic": math.nan, "df": 0, "p_value": math.nan, "units": units}
    projected = vectors[:, keep].T @ estimates
    statistic = float(np.sum(projected**2 / values[keep]))
    if units >= 2:
        p_value = float(special.fdtrc(rank, units - 1, statistic / rank))
    else:
        p_value = float(special.chdtrc(rank, statistic))
    return {"statistic": statistic, "df": rank, "p_value": p_value, "units": units}


def uniform_critical_value(
    influence: np.ndarray,
    se: np.ndarray,
    alpha: float,
    seed: int = BOOTSTRAP_SEED,
    weights: np.ndarray | None = None,
) -> float:
    """Critical value of a uniform band over several estimates (multiplier bootstrap).

    As R's `did` with `cband = TRUE`: each draw multiplies the units' influence functions by
    independent Rademacher weights; the band's value is the 1 - alpha quantile over draws
    of the largest |deviation| / se across the estimates. Estimates without spread
    (se = 0) are left out of the maximum. The seed is fixed, so the value is deterministic;
    `weights` are `rademacher(units, seed)` when already drawn.
    """
    keep = se > 0
    if not keep.any():
        return math.nan
    n = influence.shape[0]
    if weights is None:
        weights = rademacher(n, seed)
    draws = weights @ influence[:, keep] / n
    largest = np.max(np.abs(draws) / se[keep][None, :], axis=1)
    return float(np.quantile(largest, 1 - alpha))


def staggered_did(
    panel: Any,
    *,
    unit: str,
    period: str,
    cohort: str,
    outcome: str,
    control: str = "notyettreated",
    alpha: float = 0.05,
    focus: Iterable[Any] | None = None,
    correction: bool = True,
) -> DidResult:
    """Callaway & Sant'Anna group-time effects, aggregated overall and by event time.

    `panel` is a long pandas or polars table with one row per unit and period, or the same
    panel made once by `balance` for several estimates; `cohort` is the unit's first
    treated period (one of the periods, not the first), null for never treated. Units
    without the outcome in every period are left out and listed in `dropped_units`. With
    `focus`, only those units form the treated cohorts; the other units still serve as
    controls while not yet treated. Intervals are pointwise, at level 1 - alpha, from
    influence-function (unit-clustered) standard errors, with t (G - 1 df) for estimates
    resting on fewer than FEW_UNITS treated units (`units`, `df` columns);
    `band_low`/`band_high` are the uniform band and `pretrend` the joint test.

    With `correction` (the default) each group mean's spread is scaled by n / (n - 1), as
    in the unequal-variance t-test: the plain influence function (as in R's `did`) makes a
    cohort of two units look 1,4 times as precise as it is, which matters in a
    municipality where a cohort is a handful of units. A cohort of one unit has no spread
    to measure; its own noise is then missing from the standard errors, and such cohorts
    are listed in `single_unit_cohorts`.
    """
    if control not in CONTROLS:
        raise EffectError(f"Ukjent kontrollgruppe {control!r}: bruk {' eller '.join(CONTROLS)}.")
    if not 0 < alpha < 1:
        raise EffectError(f"alpha må være mellom 0 og 1, ikke {alpha}.")
    panel = _balanced(panel, unit=unit, period=period, cohort=cohort, outcome=outcome)
    units, periods, g_index, y = panel.units, panel.periods, panel.cohorts, panel.y
    n = len(units)
    focus_set = None if focus is None else set(focus)
    is_focus = np.array([focus_set is None or u in focus_set for u in units])
    treated_cohorts = sorted(
        {int(g) for g, f in zip(g_index, is_focus, strict=True) if g >= 0 and f}
    )
    if not treated_cohorts:
        raise EffectError("Panelet har ingen behandlede enheter (alle har tom kohort).")
    never = g_index < 0
    if control == "nevertreated" and not never.any():
        raise EffectError(
            "Panelet har ingen enheter som aldri er behandlet; bruk kontrollgruppen "
            "'notyettreated' eller ta med enheter uten start."
        )
    n_periods = len(periods)
    big = n_periods + 1
    g_eff = np.where(never, big, g_index)

    cells: list[tuple[int, int, float, int, int]] = []  # (g, t, att, n_treated, n_control)
    # One row per cell: its influence function over the units, written in place (a list of
    # vectors stacked afterwards would hold them twice).
    influences = np.empty((len(treated_cohorts) * (n_periods - 1), n))
    for g in treated_cohorts:
        treated = (g_index == g) & is_focus
        n_g = int(treated.sum())
        for t in range(1, n_periods):
            b = g - 1 if t >= g else t - 1
            # Not yet treated at max(t, b), never treated included; never the cohort itself.
            never_only = control == "nevertreated"
            controls = never if never_only else (g_eff > max(t, b)) & (g_index != g)
            n_c = int(controls.sum())
            if n_c == 0:
                continue
            dy = y[:, t] - y[:, b]
            mean_t = dy[treated].mean()
            mean_c = dy[controls].mean()
            inf = influences[len(cells)]
            inf.fill(0.0)
            inf[treated] = (dy[treated] - mean_t) * (n / n_g) * _scale(n_g, correction)
            inf[controls] -= (dy[controls] - mean_c) * (n / n_c) * _scale(n_c, correction)
            cells.append((g, t, float(mean_t - mean_c), n_g, n_c))
    if not cells:
        raise EffectError(
            "Ingen kohort har kontrollenheter: det finnes verken enheter som aldri er "
            "behandlet eller enheter som ennå ikke er behandlet i periodene."
        )
    cell_g = np.array([c[0] for c in cells])
    cell_t = np.array([c[1] for c in cells])
    att = np.array([c[2] for c in cells])
    influences = influences[: len(cells)]

    def psi(chosen: np.ndarray) -> np.ndarray:
        """The chosen cells' influence functions, units x cells."""
        return influences[chosen].T

    groups = np.array(treated_cohorts)
    indicator = np.column_stack([(g_index == g) & is_focus for g in groups]).astype(float)
    pg_group = indicator.mean(axis=0)
    group_of_cell = np.searchsorted(groups, cell_g)
    pg_cell = pg_group[group_of_cell]
    se_cell = np.array([_se(row) for row in influences])
    n_cell = np.array([c[3] for c in cells], dtype=np.int64)
    crit_cell = np.array([critical_value(alpha, int(m))[0] for m in n_cell])
    group_size = indicator.sum(axis=0).astype(np.int64)

    group_time = pl.DataFrame(
        {
            "cohort": [periods[g] for g in cell_g],
            "period": [periods[t] for t in cell_t],
            "event_time": (cell_t - cell_g).astype(np.int64),
            "estimate": att,
            "se": se_cell,
            "ci_low": att - crit_cell * se_cell,
            "ci_high": att + crit_cell * se_cell,
            "treated": n_cell,
            "controls": np.array([c[4] for c in cells], dtype=np.int64),
        }
    )

    # Overall: average post effect per cohort, then cohorts weighted by their size.
    post = cell_t >= cell_g
    theta, theta_inf, theta_groups = [], [], []
    for j in range(len(groups)):
        mine = post & (group_of_cell == j)
        if mine.any():
            theta.append(att[mine].mean())
            theta_inf.append(psi(mine).mean(axis=1))
            theta_groups.append(j)
    if theta:
        pg = pg_group[theta_groups]
        w = pg / pg.sum()
        theta_arr = np.array(theta)
        inf_overall = (
            np.column_stack(theta_inf) @ w + _wif(indicator[:, theta_groups], pg) @ theta_arr
        )
        used = int(group_size[theta_groups].sum())
        overall = _interval(float(theta_arr @ w), _se(inf_overall), alpha, used)
    else:
        overall = _interval(math.nan, math.nan, alpha, 0)

    rows, event_inf = [], []
    for e in sorted(set((cell_t - cell_g).tolist())):
        mine = (cell_t - cell_g) == e
        pg = pg_cell[mine]
        w = pg / pg.sum()
        wif = _wif(indicator[:, group_of_cell[mine]], pg)
        inf_e = psi(mine) @ w + wif @ att[mine]
        est = float(att[mine] @ w)
        used = int(n_cell[mine].sum())
        rows.append(
            {"event_time": e, **_interval(est, _se(inf_e), alpha, used), "cohorts": int(mine.sum())}
        )
        event_inf.append(inf_e)
    influence = np.column_stack(event_inf)
    event_study = pl.DataFrame(rows, schema_overrides={"df": pl.Int64}).with_columns(
        pl.col("event_time").cast(pl.Int64),
        pl.col("cohorts").cast(pl.Int64),
        pl.col("units").cast(pl.Int64),
    )
    event_study = _with_band(event_study, influence, alpha, panel.multipliers())
    pre = (event_study.get_column("event_time") < 0).to_numpy()
    # The pre-start estimates rest on the cohorts with a pre-start cell: their units.
    pre_cohorts = np.unique(group_of_cell[cell_t < cell_g])
    pre_units = int(group_size[pre_cohorts].sum())
    pretrend = wald_test(
        event_study.get_column("estimate").to_numpy()[pre], influence[:, pre], pre_units
    )
    return DidResult(
        overall=overall,
        event_study=event_study,
        group_time=group_time,
        control=control,
        alpha=alpha,
        units=n,
        treated_units=int(((g_index >= 0) & is_focus).sum()),
        dropped_units=panel.dropped,
        single_unit_cohorts=tuple(
            periods[g] for g, size in zip(groups, group_size, strict=True) if size == 1
        ),
        pretrend=pretrend,
        event_influence=influence,
    )


def _with_band(
    event_study: pl.DataFrame, influence: np.ndarray, alpha: float, weights: np.ndarray
) -> pl.DataFrame:
    """`band_low` and `band_high`: the uniform band, never narrower than the pointwise one."""
    se = event_study.get_column("se").to_numpy()
    uniform = uniform_critical_value(influence, se, alpha, weights=weights)
    pointwise = (event_study.get_column("ci_high") - event_study.get_column("estimate")) / se
    crit = np.fmax(np.nan_to_num(pointwise.to_numpy(), nan=0.0), np.nan_to_num(uniform, nan=0.0))
    est = event_study.get_column("estimate").to_numpy()
    return event_study.with_columns(
        band_low=pl.Series(est - crit * se), band_high=pl.Series(est + crit * se)
    )


def average_effect(
    result: DidResult, event_times: Iterable[int], alpha: float | None = None
) -> dict[str, Any] | None:
    """The mean of the event-study effects at `event_times`, with its interval.

    Its influence function is the mean of theirs, so the interval accounts for their
    covariance. `units` is the fewest treated units any of the periods rests on (which sets
    the small-sample degrees of freedom). None when none of the event times is estimated.
    """
    wanted = set(event_times)
    study = result.event_study
    rows = [i for i, e in enumerate(study.get_column("event_time").to_list()) if e in wanted]
    if not rows or result.event_influence is None:
        return None
    chosen = study[rows]
    est = float(chosen.get_column("estimate").mean())
    se = _se(result.event_influence[:, rows].mean(axis=1))
    units = int(chosen.get_column("units").min())
    out = _interval(est, se, result.alpha if alpha is None else alpha, units)
    return out | {"event_times": tuple(chosen.get_column("event_time").to_list())}


def breakdown(result: DidResult, event_times: Iterable[int]) -> float | None:
    """Relative-magnitudes breakdown value for the mean effect at `event_times` (e >= 0).

    Rambachan and Roth (2023) bound how far the trends may part after start by M times the
    largest part between consecutive periods before start. Here the pre-start event-study
    estimates are those one-period parts (the base period varies before start), and the
    effect at e >= 0 is measured from the period before start, so it can carry at most
    (e + 1) such parts: the bias is at most M x (e + 1) x max|pre-start estimate|, averaged
    over the event times. The breakdown value is the largest M for which the interval,
    widened by that bias, still excludes zero: (|estimate| - half-width) / (mean(e + 1) x
    max|pre|), 0 when the interval already covers zero. A simple version of HonestDiD's
    relative-magnitudes bound: the pre-start maximum is taken as estimated, without its
    own uncertainty. None when there is no pre-start estimate or no such effect.
    """
    times = [e for e in event_times if e >= 0]
    effect = average_effect(result, times)
    pre = result.event_study.filter(pl.col("event_time") < 0).get_column("estimate")
    if effect is None or pre.len() == 0 or math.isnan(effect["estimate"]):
        return None
    largest = float(pre.abs().max())
    half = effect["ci_high"] - effect["estimate"]
    margin = abs(effect["estimate"]) - half
    if margin <= 0:
        return 0.0
    if largest == 0:
        return math.inf
    steps = float(np.mean([e + 1 for e in effect["event_times"]]))
    return margin / (steps * largest)


def twfe(
    panel: Any, *, unit: str, period: str, cohort: str, outcome: str, alpha: float = 0.05
) -> dict[str, float]:
    """Static two-way fixed-effects estimate of Y on unit and period effects and 'treated now'.

    On the same balanced panel as `staggered_did` (`panel` may be one made by `balance`);
    standard error clustered by unit (CR1, G / (G - 1)). Biased when effects change with
    time since start and units start at different times: already treated units then act
    as controls for later ones.
    """
    panel = _balanced(panel, unit=unit, period=period, cohort=cohort, outcome=outcome)
    g_index, y = panel.cohorts, panel.y
    n, t_count = y.shape
    t = np.arange(t_count)[None, :]
    d = ((g_index[:, None] >= 0) & (t >= g_index[:, None])).astype(float)

    def within(m: np.ndarray) -> np.ndarray:
        return m - m.mean(axis=1, keepdims=True) - m.mean(axis=0, keepdims=True) + m.mean()

    dt, yt = within(d), within(y)
    sxx = float(np.sum(dt * dt))
    if sxx == 0:
        raise EffectError("Behandlingen varierer ikke i panelet; TWFE kan ikke beregnes.")
    beta = float(np.sum(dt * yt) / sxx)
    resid = yt - beta * dt
    scores = np.sum(dt * resid, axis=1)
    se = math.sqrt(n / (n - 1) * float(np.sum(scores**2))) / sxx
    z = NormalDist().inv_cdf(1 - alpha / 2)
    return {"estimate": beta, "se": se, "ci_low": beta - z * se, "ci_high": beta + z * se}


def within_window(frame: pl.DataFrame, *, period: str, cohort: str, window: int) -> pl.DataFrame:
    """Rows from `window` periods before start to `window` - 1 after, with `offset` (0 = start).

    Periods are counted on the grid of the frame's periods, so dates work as well as years.
    """
    periods = frame.get_column(period).drop_nulls().unique().sort().to_list()
    if not periods:
        return frame.clear().with_columns(offset=pl.lit(None, pl.Int64))
    position = {p: i for i, p in enumerate(periods)}
    pos = pl.col(period).replace_strict(position, return_dtype=pl.Int64)
    start = pl.col(cohort).replace_strict(position, default=None, return_dtype=pl.Int64)
    return frame.with_columns(offset=pos - start).filter(
        pl.col("offset").is_between(-window, window - 1)
    )


def complete_units(frame: pl.DataFrame, *, unit: str, period: str, outcome: str) -> pl.Series:
    """Units with a value of `outcome` in every period of the frame (a balanced panel)."""
    periods = frame.get_column(period).drop_nulls().n_unique()
    counts = (
        frame.filter(pl.col(outcome).is_not_null() & pl.col(outcome).is_not_nan())
        .group_by(unit)
        .agg(pl.col(period).n_unique().alias("n"))
    )
    return counts.filter(pl.col("n") == periods).get_column(unit)


def before_after(
    panel: Any, *, unit: str, period: str, cohort: str, outcome: str, window: int
) -> pl.DataFrame:
    """Naive before/after per treated unit: mean over `window` periods after start minus before.

    The period of start counts as 'after'. No comparison group: anything else that changed
    at the same time (trends, other reforms) is counted as the effect.
    """
    frame = _as_polars(panel)
    _check_columns(frame, (unit, period, cohort, outcome))
    treated = frame.filter(pl.col(cohort).is_not_null() & pl.col(outcome).is_not_null())
    return (
        within_window(treated, period=period, cohort=cohort, window=window)
        .group_by(unit, cohort)
        .agg(
            pl.col(outcome).filter(pl.col("offset") < 0).mean().alias("for"),
            pl.col(outcome).filter(pl.col("offset") >= 0).mean().alias("etter"),
            (pl.col("offset") < 0).sum().alias("perioder_for"),
            (pl.col("offset") >= 0).sum().alias("perioder_etter"),
        )
        .with_columns(endring=pl.col("etter") - pl.col("for"))
        .sort(cohort, unit)
    )
