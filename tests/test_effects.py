"""The staggered difference-in-differences estimator, TWFE and before/after (model.effects)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats

from vtklean.model import effects

KEYS = {"unit": "id", "period": "t", "cohort": "g"}


def simulate(
    seed: int,
    *,
    per_cohort: int = 60,
    periods: int = 12,
    cohorts: tuple[int, ...] = (3, 6, 9),
    never: int = 20,
    slope: float = 0.4,
    anticipation: int = 0,
) -> pl.DataFrame:
    """A staggered panel with unit and period effects and an effect that grows with time.

    The effect in period t for a unit starting in g is slope * (t - g + 1) from t = g on;
    the column `tau` holds it, `y` the outcome. With `anticipation` = a, units already
    improve a periods before they start: the effect is slope * (t - g + 1 + a) from g - a.
    """
    rng = np.random.default_rng(seed)
    groups = [(g, per_cohort) for g in cohorts] + [(None, never)]
    rows = []
    uid = 0
    for g, size in groups:
        for _ in range(size):
            level = rng.normal(0, 2)
            for t in range(1, periods + 1):
                early = g is not None and t >= g - anticipation
                tau = slope * (t - g + 1 + anticipation) if early else 0.0
                y = level + 0.3 * t + 0.05 * t * t + rng.normal(0, 1) + tau
                rows.append((f"u{uid:03d}", t, g, y, tau))
            uid += 1
    return pl.DataFrame(rows, schema=["id", "t", "g", "y", "tau"], orient="row")


def true_effects(
    periods: int = 12, cohorts: tuple[int, ...] = (3, 6, 9), slope: float = 0.4
) -> tuple[float, dict[int, float]]:
    """The simulated truth, computed from its definition (equal cohort sizes).

    Overall: each cohort's mean effect over its post periods, averaged over cohorts; by
    event time e: slope * (e + 1) after start, 0 before.
    """
    per_cohort = [np.mean([slope * (t - g + 1) for t in range(g, periods + 1)]) for g in cohorts]
    by_event = {e: (slope * (e + 1) if e >= 0 else 0.0) for e in range(-periods, periods)}
    return float(np.mean(per_cohort)), by_event


def covered(row: dict, value: float) -> bool:
    return row["ci_low"] <= value <= row["ci_high"]


def test_recovers_a_growing_effect_where_twfe_fails():
    panel = simulate(1)
    overall, by_event = true_effects()
    result = effects.staggered_did(panel, outcome="y", **KEYS)
    assert covered(result.overall, overall)
    post = result.event_study.filter(pl.col("event_time") >= 0)
    hits = [covered(r, by_event[r["event_time"]]) for r in post.iter_rows(named=True)]
    assert sum(hits) >= 0.9 * len(hits)
    twfe = effects.twfe(panel, outcome="y", **KEYS)
    # TWFE is far off: the truth lies well outside its interval, below half of it.
    assert not covered(twfe, overall)
    assert twfe["estimate"] < overall / 2


def test_placebo_periods_before_start_are_near_zero():
    result = effects.staggered_did(simulate(2), outcome="y", **KEYS)
    pre = result.event_study.filter(pl.col("event_time") < 0)
    assert pre.height == 7  # the earliest cohort (g = 3) has none before t = 2; g = 9 has 7
    z = (pre.get_column("estimate") / pre.get_column("se")).abs()
    assert z.max() < 3
    outside = pre.filter((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).height
    assert outside <= 1


def test_intervals_are_honest_across_many_panels():
    overall, by_event = true_effects()
    overall_hits, event_hits, event_total = 0, 0, 0
    runs = 60
    for seed in range(100, 100 + runs):
        result = effects.staggered_did(simulate(seed, per_cohort=25, never=10), outcome="y", **KEYS)
        overall_hits += covered(result.overall, overall)
        for r in result.event_study.iter_rows(named=True):
            event_hits += covered(r, by_event[r["event_time"]])
            event_total += 1
    # Nominal 95 %; honest intervals land near it, neither far below nor at 100 %.
    assert 0.88 <= overall_hits / runs <= 1.0
    assert 0.90 <= event_hits / event_total <= 0.99


def _binomial_band(runs: int, rate: float) -> tuple[float, float]:
    """Where the share of `runs` simulated successes falls 99,9 % of the time at `rate`."""
    low, high = stats.binom.interval(0.999, runs, rate)
    return low / runs, high / runs


@pytest.fixture(scope="module")
def clean_runs() -> list[effects.DidResult]:
    """Staggered panels without anticipation (30 units per cohort, 30 never treated)."""
    return [
        effects.staggered_did(simulate(700 + seed, per_cohort=30, never=30), outcome="y", **KEYS)
        for seed in range(CLEAN_RUNS)
    ]


CLEAN_RUNS = 150


def test_joint_pretrend_test_rejects_a_true_null_at_about_its_level(clean_runs):
    rejected = sum(r.pretrend["p_value"] < 0.05 for r in clean_runs) / len(clean_runs)
    low, high = _binomial_band(len(clean_runs), 0.05)
    assert low <= rejected <= high
    assert all(r.pretrend["df"] == 7 for r in clean_runs)  # e = -7 ... -1


def test_uniform_band_covers_the_whole_true_path_about_95_percent_of_the_time(clean_runs):
    _, by_event = true_effects()
    hits = 0
    for r in clean_runs:
        es = r.event_study
        truth = np.array([by_event[e] for e in es.get_column("event_time").to_list()])
        inside = (es.get_column("band_low").to_numpy() <= truth) & (
            truth <= es.get_column("band_high").to_numpy()
        )
        hits += bool(inside.all())
        # Never narrower than the pointwise interval, and wider where it matters.
        assert (es.get_column("band_low") <= es.get_column("ci_low")).all()
        assert (es.get_column("band_high") >= es.get_column("ci_high")).all()
    low, high = _binomial_band(len(clean_runs), 0.95)
    assert low <= hits / len(clean_runs) <= high


def test_joint_pretrend_test_rejects_when_units_improve_before_start():
    runs = 30
    results = [
        effects.staggered_did(
            simulate(800 + seed, per_cohort=30, never=30, anticipation=2), outcome="y", **KEYS
        )
        for seed in range(runs)
    ]
    rejected = sum(r.pretrend["p_value"] < 0.05 for r in results)
    # Measured power is about 85 %; far above the 5 % a true null gives.
    assert rejected / runs >= _binomial_band(runs, 0.6)[0]
    clean = effects.staggered_did(simulate(800, per_cohort=30, never=30), outcome="y", **KEYS)
    assert clean.pretrend["p_value"] > 0.05
    assert results[0].pretrend["p_value"] < 0.05


def test_wald_test_by_hand_and_with_a_rank_deficient_covariance():
    rng = np.random.default_rng(1)
    influence = rng.normal(size=(50, 2))
    est = np.array([0.3, -0.2])
    cov = influence.T @ influence / 50**2
    by_hand = float(est @ np.linalg.solve(cov, est))
    result = effects.wald_test(est, influence, units=50)
    assert result["statistic"] == pytest.approx(by_hand)
    assert result["p_value"] == pytest.approx(stats.f.sf(by_hand / 2, 2, 49))
    # A duplicated estimate adds no information: rank 2, the same statistic.
    twice = effects.wald_test(np.append(est, est[0]), influence[:, [0, 1, 0]], units=50)
    assert twice["df"] == 2 and twice["statistic"] == pytest.approx(by_hand)


def test_t_f_and_chi_square_values_are_scipy_stats_own_to_the_last_bit():
    """The estimator calls scipy.special (a third of scipy.stats' import); same values."""
    for units in range(2, effects.FEW_UNITS):
        for alpha in (0.01, 0.05, 0.1, 0.32):
            assert effects.critical_value(alpha, units) == (
                stats.t.ppf(1 - alpha / 2, units - 1),
                units - 1,
            )
    rng = np.random.default_rng(7)
    for units in (1, 2, 3, 9, 40, 500):
        for k in (1, 2, 5):
            influence = rng.normal(size=(max(units, 6), k))
            est = rng.normal(scale=0.3, size=k)
            result = effects.wald_test(est, influence, units=units)
            rank, statistic = result["df"], result["statistic"]
            assert rank == k
            expected = (
                stats.f.sf(statistic / rank, rank, units - 1)
                if units >= 2
                else stats.chi2.sf(statistic, rank)
            )
            assert result["p_value"] == expected


def test_few_treated_units_use_t_with_g_minus_1_degrees_of_freedom():
    panel = simulate(9, per_cohort=4, cohorts=(4, 8), never=20)
    result = effects.staggered_did(panel, outcome="y", **KEYS)
    es = result.event_study
    row = es.filter(pl.col("event_time") == 0).row(0, named=True)
    assert row["units"] == 8 and row["df"] == 7
    half = row["ci_high"] - row["estimate"]
    assert half == pytest.approx(stats.t.ppf(0.975, 7) * row["se"])
    late = es.filter(pl.col("event_time") == 5).row(0, named=True)  # only cohort 4
    assert late["units"] == 4 and late["df"] == 3
    assert result.overall["units"] == 8
    assert result.pretrend["units"] == 8  # both cohorts have periods before start
    big = effects.staggered_did(simulate(9), outcome="y", **KEYS).event_study.row(0, named=True)
    assert big["df"] is None
    assert big["ci_high"] - big["estimate"] == pytest.approx(stats.norm.ppf(0.975) * big["se"])


def test_horizon_average_and_breakdown_value():
    result = effects.staggered_did(simulate(10), outcome="y", **KEYS)
    es = result.event_study
    first3 = effects.average_effect(result, [0, 1, 2])
    expected = es.filter(pl.col("event_time").is_between(0, 2)).get_column("estimate").mean()
    assert first3["estimate"] == pytest.approx(expected)
    assert first3["event_times"] == (0, 1, 2)
    one = effects.average_effect(result, [1])
    row = es.filter(pl.col("event_time") == 1).row(0, named=True)
    assert one["estimate"] == pytest.approx(row["estimate"])
    assert one["se"] == pytest.approx(row["se"])
    assert effects.average_effect(result, [99]) is None
    # Breakdown: the bias bound M x (e + 1) x max|pre| that just reaches zero.
    m = effects.breakdown(result, [1])
    largest = es.filter(pl.col("event_time") < 0).get_column("estimate").abs().max()
    half = one["ci_high"] - one["estimate"]
    assert m > 0
    assert abs(one["estimate"]) - half == pytest.approx(m * 2 * largest)


def test_band_and_pretrend_are_deterministic():
    panel = simulate(11, per_cohort=10, never=10)
    a = effects.staggered_did(panel, outcome="y", **KEYS)
    b = effects.staggered_did(panel, outcome="y", **KEYS)
    assert a.event_study.equals(b.event_study) and a.pretrend == b.pretrend


def test_small_cohort_correction_widens_only_the_standard_errors():
    panel = simulate(3, per_cohort=3, never=5)
    plain = effects.staggered_did(panel, outcome="y", correction=False, **KEYS)
    fixed = effects.staggered_did(panel, outcome="y", **KEYS)
    assert fixed.overall["estimate"] == pytest.approx(plain.overall["estimate"], abs=1e-12)
    assert fixed.overall["se"] > plain.overall["se"] * 1.1
    gt_plain, gt_fixed = plain.group_time, fixed.group_time
    assert gt_fixed.get_column("estimate").to_list() == gt_plain.get_column("estimate").to_list()


def test_single_unit_cohorts_are_listed():
    panel = simulate(4, per_cohort=1, cohorts=(3, 6), never=5)
    result = effects.staggered_did(panel, outcome="y", **KEYS)
    assert result.single_unit_cohorts == (3, 6)
    assert effects.staggered_did(simulate(4), outcome="y", **KEYS).single_unit_cohorts == ()


def test_pandas_and_polars_inputs_give_the_same_result():
    panel = simulate(5, per_cohort=10, never=5)
    a = effects.staggered_did(panel, outcome="y", **KEYS)
    b = effects.staggered_did(panel.to_pandas(), outcome="y", **KEYS)
    assert a.overall == b.overall
    assert a.event_study.equals(b.event_study)
    assert a.group_time.equals(b.group_time)
    assert effects.twfe(panel, outcome="y", **KEYS) == effects.twfe(
        panel.to_pandas(), outcome="y", **KEYS
    )


def test_never_treated_controls_use_only_units_that_never_start():
    panel = simulate(6, per_cohort=15, never=15)
    result = effects.staggered_did(panel, outcome="y", control="nevertreated", **KEYS)
    assert set(result.group_time.get_column("controls").to_list()) == {15}
    nyt = effects.staggered_did(panel, outcome="y", **KEYS)
    # Not yet treated: cohort 3's first post period also has cohorts 6 and 9 as controls.
    first = nyt.group_time.filter((pl.col("cohort") == 3) & (pl.col("period") == 3))
    assert first.get_column("controls").item() == 45


def test_focus_aggregates_only_the_chosen_units():
    panel = simulate(7, per_cohort=20, never=10)
    chosen = panel.filter(pl.col("g") == 6).get_column("id").unique().to_list()
    result = effects.staggered_did(panel, outcome="y", focus=chosen, **KEYS)
    assert set(result.group_time.get_column("cohort").to_list()) == {6}
    assert result.treated_units == 20
    truth = np.mean([0.4 * (t - 6 + 1) for t in range(6, 13)])
    assert covered(result.overall, truth)
    # Units of cohort 9 still serve as controls until they start.
    cell = result.group_time.filter(pl.col("period") == 6)
    assert cell.get_column("controls").item() == 30


def test_units_without_every_period_are_left_out_and_named():
    panel = simulate(8, per_cohort=10, never=5)
    gap = panel.filter(~((pl.col("id") == "u000") & (pl.col("t") == 5)))
    gap = gap.with_columns(
        pl.when((pl.col("id") == "u001") & (pl.col("t") == 2)).then(None).otherwise("y").alias("y")
    )
    result = effects.staggered_did(gap, outcome="y", **KEYS)
    assert result.dropped_units == ("u000", "u001")
    assert result.units == 3 * 10 + 5 - 2


def test_matches_reference_implementation_on_mpdta():
    moderndid = pytest.importorskip("moderndid")
    mpdta = moderndid.load_mpdta()
    panel = mpdta.with_columns(g=pl.when(pl.col("first.treat") > 0).then(pl.col("first.treat")))
    keys = {"unit": "countyreal", "period": "year", "cohort": "g", "outcome": "lemp"}
    for control in effects.CONTROLS:
        ours = effects.staggered_did(panel, control=control, correction=False, **keys)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = moderndid.att_gt(
                data=mpdta,
                yname="lemp",
                tname="year",
                idname="countyreal",
                gname="first.treat",
                est_method="reg",
                boot=False,
                cband=False,
                control_group=control,
            )
            dynamic = moderndid.aggte(ref, type="dynamic", cband=False)
            group = moderndid.aggte(ref, type="group", cband=False)
        gt = ours.group_time
        np.testing.assert_allclose(gt.get_column("estimate").to_numpy(), ref.att_gt, atol=1e-10)
        np.testing.assert_allclose(gt.get_column("se").to_numpy(), ref.se_gt, atol=1e-10)
        es = ours.event_study
        np.testing.assert_allclose(es.get_column("event_time").to_numpy(), dynamic.event_times)
        np.testing.assert_allclose(es.get_column("estimate").to_numpy(), dynamic.att_by_event)
        np.testing.assert_allclose(es.get_column("se").to_numpy(), dynamic.se_by_event)
        assert ours.overall["estimate"] == pytest.approx(group.overall_att, abs=1e-10)
        assert ours.overall["se"] == pytest.approx(group.overall_se, abs=1e-10)


def test_matches_diff_diff_event_study_covariance_and_band():
    """`diff-diff` (a second, independent implementation): estimates, joint covariance, band."""
    diff_diff = pytest.importorskip("diff_diff")
    panel = simulate(14, per_cohort=20, never=20)
    data = panel.with_columns(first=pl.col("g").fill_null(0)).to_pandas()
    controls = (("notyettreated", "not_yet_treated"), ("nevertreated", "never_treated"))
    columns = {"outcome": "y", "unit": "id", "time": "t", "first_treat": "first"}
    for control, theirs in controls:
        ours = effects.staggered_did(panel, outcome="y", control=control, correction=False, **KEYS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = diff_diff.CallawaySantAnna(control_group=theirs, estimation_method="reg").fit(
                data, aggregate="event_study", **columns
            )
            boot = diff_diff.CallawaySantAnna(
                control_group=theirs,
                estimation_method="reg",
                n_bootstrap=effects.BOOTSTRAP_DRAWS,
                bootstrap_weights="rademacher",
                seed=1,
                cband=True,
            ).fit(data, aggregate="event_study", **columns)
        es = ours.event_study
        times = es.get_column("event_time").to_list()
        effects_ref = ref.event_study_effects
        assert sorted(int(e) for e in effects_ref) == times
        np.testing.assert_allclose(
            es.get_column("estimate").to_numpy(),
            [effects_ref[e]["effect"] for e in times],
            atol=1e-10,
        )
        np.testing.assert_allclose(
            es.get_column("se").to_numpy(), [effects_ref[e]["se"] for e in times], atol=1e-10
        )
        # The joint covariance the pre-trend test uses, and so its statistic.
        order = [times.index(int(e)) for e in ref.event_study_vcov_index]
        n = ours.event_influence.shape[0]
        cov = ours.event_influence.T @ ours.event_influence / n**2
        np.testing.assert_allclose(cov[np.ix_(order, order)], ref.event_study_vcov, atol=1e-12)
        pre = [i for i, e in enumerate(ref.event_study_vcov_index) if e < 0]
        est = np.array([effects_ref[ref.event_study_vcov_index[i]]["effect"] for i in pre])
        v = ref.event_study_vcov[np.ix_(pre, pre)]
        assert ours.pretrend["statistic"] == pytest.approx(float(est @ np.linalg.solve(v, est)))
        # Uniform band: both are bootstrap quantiles of 999 draws, so they agree within the
        # quantile levels two such draws reach 99,9 % of the time (binomial error).
        spread = 3.3 * math.sqrt(2 * 0.95 * 0.05 / effects.BOOTSTRAP_DRAWS)
        se = es.get_column("se").to_numpy()
        low, high = (
            effects.uniform_critical_value(ours.event_influence, se, 0.05 + d)
            for d in (spread, -spread)
        )
        assert low <= boot.cband_crit_value <= high


def test_mpdta_published_results():
    """Point estimates published with R's `did` (Callaway & Sant'Anna) for `mpdta`.

    Never-treated controls, no covariates: group-time effects of the 2004 cohort, the event
    study and the group-weighted overall effect, to the four decimals published.
    """
    moderndid = pytest.importorskip("moderndid")
    mpdta = moderndid.load_mpdta()
    panel = mpdta.with_columns(g=pl.when(pl.col("first.treat") > 0).then(pl.col("first.treat")))
    result = effects.staggered_did(
        panel, unit="countyreal", period="year", cohort="g", outcome="lemp", control="nevertreated"
    )
    cohort_2004 = result.group_time.filter(pl.col("cohort") == 2004)
    published_2004 = [-0.0105, -0.0704, -0.1373, -0.1008]
    np.testing.assert_allclose(
        cohort_2004.get_column("estimate").to_numpy(), published_2004, atol=6e-5
    )
    published_events = [0.0305, -0.0006, -0.0245, -0.0199, -0.0510, -0.1373, -0.1008]
    np.testing.assert_allclose(
        result.event_study.get_column("estimate").to_numpy(), published_events, atol=6e-5
    )
    assert result.overall["estimate"] == pytest.approx(-0.0310, abs=6e-5)


# ---- bad input --------------------------------------------------------------------------


def tiny(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["id", "t", "g", "y"], orient="row")


def test_error_without_never_or_not_yet_treated_units():
    panel = tiny([(u, t, 2, float(t)) for u in ("a", "b") for t in (1, 2, 3)])
    with pytest.raises(effects.EffectError, match="verken enheter som aldri er behandlet"):
        effects.staggered_did(panel, outcome="y", **KEYS)
    with pytest.raises(effects.EffectError, match="ingen enheter som aldri er behandlet"):
        effects.staggered_did(panel, outcome="y", control="nevertreated", **KEYS)


def test_error_for_a_cohort_outside_the_periods():
    rows = [("a", t, 7, 1.0) for t in (1, 2, 3)] + [("b", t, None, 1.0) for t in (1, 2, 3)]
    with pytest.raises(effects.EffectError, match=r"Enheten a har 'g' = 7.*1 til 3"):
        effects.staggered_did(tiny(rows), outcome="y", **KEYS)
    rows = [("a", t, 1, 1.0) for t in (1, 2, 3)] + [("b", t, None, 1.0) for t in (1, 2, 3)]
    with pytest.raises(effects.EffectError, match="panelets første periode"):
        effects.staggered_did(tiny(rows), outcome="y", **KEYS)


def test_error_for_a_unit_with_two_cohorts():
    rows = [("a", 1, 2, 1.0), ("a", 2, 3, 1.0), ("b", 1, None, 1.0), ("b", 2, None, 1.0)]
    with pytest.raises(effects.EffectError, match=r"Enheten a har flere ulike verdier.*2, 3"):
        effects.staggered_did(tiny(rows), outcome="y", **KEYS)


def test_error_for_duplicate_rows_missing_columns_and_unknown_options():
    rows = [("a", 1, 2, 1.0), ("a", 1, 2, 2.0), ("b", 1, None, 1.0), ("b", 2, None, 1.0)]
    with pytest.raises(effects.EffectError, match="Enheten a har 2 rader for perioden 1"):
        effects.staggered_did(tiny(rows), outcome="y", **KEYS)
    with pytest.raises(effects.EffectError, match="mangler kolonnen 'z'"):
        effects.staggered_did(tiny(rows), outcome="z", **KEYS)
    with pytest.raises(effects.EffectError, match="Ukjent kontrollgruppe"):
        effects.staggered_did(tiny(rows), outcome="y", control="alle", **KEYS)
    with pytest.raises(effects.EffectError, match="polars- eller pandas-tabell"):
        effects.staggered_did([1, 2], outcome="y", **KEYS)


# ---- TWFE and before/after, by hand ------------------------------------------------------


def test_twfe_on_two_units_and_two_periods_is_the_plain_difference_in_differences():
    rows = [("a", 1, 2, 10.0), ("a", 2, 2, 15.0), ("b", 1, None, 4.0), ("b", 2, None, 6.0)]
    result = effects.twfe(tiny(rows), outcome="y", **KEYS)
    assert result["estimate"] == pytest.approx((15 - 10) - (6 - 4))


def test_before_after_means_over_the_window():
    rows = [
        ("a", t, 4, y) for t, y in zip(range(1, 7), (9.0, 1.0, 2.0, 5.0, 7.0, 100.0), strict=True)
    ]
    rows += [("b", t, None, 0.0) for t in range(1, 7)]
    table = effects.before_after(tiny(rows), outcome="y", window=2, **KEYS)
    row = table.row(0, named=True)
    assert table.height == 1
    assert (row["for"], row["etter"]) == (1.5, 6.0)  # periods 2-3 before, 4-5 after
    assert row["endring"] == 4.5
