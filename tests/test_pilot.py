"""The pilot-effects analysis on the sample data: the generator's planted effect is found."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from tests.helpers import planted_truth
from vtklean import datasets, effects, paths, pilot, processed, render, sample


@pytest.fixture(scope="module")
def shipped_months(shipped_builds) -> pl.DataFrame:
    return processed.load(str(shipped_builds["2018:processed"]), 2018).datasets.unit_months


def test_sample_data_shows_the_planted_effect_inside_its_interval(shipped_months):
    analysis = pilot.analyse(shipped_months, "sykefravaer_prosent", "ar")
    truth = planted_truth(shipped_months, analysis.panel)
    assert truth < -0.5  # the generator plants a clear effect
    o = analysis.all_units.overall
    assert o["ci_low"] <= truth <= o["ci_high"]
    assert o["ci_high"] < 0  # and the estimator tells it from zero


def test_placebo_outcome_shows_no_effect_on_the_sample(shipped_months):
    """The generator plants nothing on årsverk: the interval covers zero."""
    o = pilot.analyse(shipped_months, "arsverk", "ar").all_units.overall
    assert o["ci_low"] <= 0 <= o["ci_high"]


def test_monthly_grain_also_finds_the_effect(shipped_months):
    analysis = pilot.analyse(shipped_months, "sykefravaer_prosent", "maned")
    o = analysis.all_units.overall
    assert o["ci_high"] < 0
    assert analysis.panel.frame.get_column("periode").n_unique() == 120


def _unit_months(s: sample.Sample) -> pl.DataFrame:
    units = pl.DataFrame(
        {
            "enhet_id": [u.enhet_id for u in s.units],
            "enhet": [u.enhet for u in s.units],
            "tjenesteomrade": [u.area for u in s.units],
            "lean_start": [u.lean_start for u in s.units],
            "pilot": [u.pilot for u in s.units],
        },
        schema_overrides={"lean_start": pl.Date, "pilot": pl.Int64},
    )
    return datasets.unit_months(s.resources, units, dt.date(s.end, 12, 31))


def test_intervals_cover_the_planted_effect_across_generated_samples():
    """Thirty samples from other seeds: the 95 % interval covers the truth about as often."""
    hits, z = 0, []
    runs = 30
    for seed in range(runs):
        months = _unit_months(sample.generate(seed=1000 + seed))
        analysis = pilot.analyse(months, "sykefravaer_prosent", "ar")
        truth = planted_truth(months, analysis.panel)
        o = analysis.all_units.overall
        hits += o["ci_low"] <= truth <= o["ci_high"]
        z.append((o["estimate"] - truth) / o["se"])
    assert hits >= 0.85 * runs
    assert 0.7 < float(np.std(z)) < 1.3  # the standard errors are the right size


# ---- panels and words, on small hand-made frames -----------------------------------------


def months_frame() -> pl.DataFrame:
    """Three units over 2010-2012 (Dec 2012 missing for C): A starts 05.2011, B in 2013."""
    rows = []
    for unit, start, pilot_wave in (
        ("A", dt.date(2011, 5, 20), 1),
        ("B", dt.date(2013, 2, 1), None),
        ("C", None, None),
    ):
        for year in (2010, 2011, 2012):
            for month in range(1, 13):
                if unit == "C" and (year, month) == (2012, 12):
                    continue
                rows.append(
                    {
                        "enhet_id": unit,
                        "enhet": f"Enhet {unit}",
                        "pilot": pilot_wave,
                        "lean_start": start,
                        "maned": dt.date(year, month, 1),
                        "ar": year,
                        "avtalte_dagsverk": 20.0 if month <= 6 else 10.0,
                        "fravaer_dagsverk": 2.0 if month <= 6 else 0.5,
                        "regnskap_kr": 110.0,
                        "budsjett_kr": 100.0,
                        "volum": 11.0,
                        "arsverk": float(month),
                    }
                )
    frame = pl.DataFrame(rows, schema_overrides={"pilot": pl.Int64})
    return frame.with_columns(
        sykefravaer_prosent=pl.col("fravaer_dagsverk") / pl.col("avtalte_dagsverk") * 100,
        budsjettavvik_prosent=(pl.col("regnskap_kr") / pl.col("budsjett_kr") - 1) * 100,
        kostnad_per_volum=pl.col("regnskap_kr") / pl.col("volum"),
    )


def test_yearly_panel_is_ratio_of_sums_with_cohort_years():
    p = pilot.panel(months_frame(), "sykefravaer_prosent", "ar")
    a = p.frame.filter(pl.col("enhet_id") == "A")
    # (6 x 2 + 6 x 0,5) / (6 x 20 + 6 x 10) x 100, not the mean of the monthly percentages
    assert a.get_column("utfall").to_list() == pytest.approx([15 / 180 * 100] * 3)
    assert a.get_column("kohort").unique().to_list() == [2011]
    # B starts after the last period: not treated within the panel.
    assert p.frame.filter(pl.col("enhet_id") == "B").get_column("kohort").null_count() == 3
    # C lacks December 2012, so its 2012 is incomplete: C is left out, with the reason.
    assert "C" in p.left_out and "mangler tall" in p.left_out["C"]
    years = pilot.panel(months_frame(), "arsverk", "ar").frame
    assert years.get_column("utfall").to_list()[0] == pytest.approx(6.5)  # mean of 1..12


def test_monthly_panel_uses_the_start_month():
    p = pilot.panel(months_frame(), "budsjettavvik_prosent", "maned")
    a = p.frame.filter(pl.col("enhet_id") == "A")
    assert a.get_column("kohort").unique().to_list() == [dt.date(2011, 5, 1)]
    assert a.get_column("utfall").to_list()[0] == pytest.approx(10.0)


def test_unit_started_before_the_data_is_left_out():
    frame = months_frame().with_columns(
        lean_start=pl.when(pl.col("enhet_id") == "A")
        .then(pl.lit(dt.date(2009, 6, 1)))
        .otherwise(pl.col("lean_start"))
    )
    p = pilot.panel(frame, "sykefravaer_prosent", "ar")
    assert "A" not in p.frame.get_column("enhet_id").to_list()
    assert "før eller i første periode" in p.left_out["A"]


def test_unknown_outcome_or_grain_is_a_clear_error():
    with pytest.raises(
        effects.EffectError, match=r"Ukjent utfall 'sykefravær'.*sykefravaer_prosent"
    ):
        pilot.panel(months_frame(), "sykefravær", "ar")
    with pytest.raises(effects.EffectError, match="Ukjent periode 'uke'"):
        pilot.panel(months_frame(), "arsverk", "uke")


def result_with(estimate: float, low: float, high: float, pre: list[tuple[float, float]]):
    study = pl.DataFrame(
        {
            "event_time": [*range(-len(pre), 0), 0],
            "estimate": [0.0] * len(pre) + [estimate],
            "se": [1.0] * (len(pre) + 1),
            "ci_low": [float(a) for a, _ in pre] + [float(low)],
            "ci_high": [float(b) for _, b in pre] + [float(high)],
            "cohorts": [1] * (len(pre) + 1),
        }
    )
    overall = {"estimate": estimate, "se": 0.1, "ci_low": low, "ci_high": high}
    return effects.DidResult(overall, study, pl.DataFrame(), "notyettreated", 0.05, 10, 4)


def test_effect_sentence_says_what_the_interval_says():
    spec = pilot.OUTCOMES["sykefravaer_prosent"]
    below = pilot.effect_sentence(result_with(-0.75, -1.05, -0.46, []), spec, "alle")
    assert "-0,75 prosentpoeng" in below and "-1,05 til -0,46" in below
    assert "under null" in below
    across = pilot.effect_sentence(result_with(-0.2, -0.5, 0.1, []), spec, "bølge 1")
    assert "omfatter null" in across and "bølge 1 (4 enheter)" in across
    assert "bare én enhet" not in across
    single = dataclasses.replace(result_with(-0.2, -0.5, 0.1, []), single_unit_cohorts=(2011,))
    assert "1 av gruppene som startet samtidig, har bare én enhet" in pilot.effect_sentence(
        single, spec, "bølge 1"
    )


def test_placebo_sentence_flags_only_more_misses_than_chance():
    spec_ok = result_with(-1, -2, -0.5, [(-1, 1)] * 7 + [(0.1, 0.9)])
    assert "rimelige" in pilot.placebo_sentence(spec_ok)
    spec_bad = result_with(-1, -2, -0.5, [(-1, 1)] * 5 + [(0.1, 0.9)] * 3)
    assert "forsiktighet" in pilot.placebo_sentence(spec_bad)


def test_loading_a_missing_processed_folder_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Fant ingen datasett.*make report"):
        processed.load(str(tmp_path / "mangler"), 2017)


def test_coverage_sentence_names_left_out_units_in_good_bokmaal():
    analysis = pilot.analyse(months_frame(), "sykefravaer_prosent", "ar")
    text = pilot.coverage_sentence(analysis)
    assert "1 enhet er utelatt fordi den mangler tall" in text and "(C)" in text


@pytest.mark.parametrize(
    ("outcome", "grain", "label"),
    [("budsjettavvik_prosent", "maned", "Budsjettavvik"), ("arsverk", "ar", "Årsverk")],
)
def test_notebook_runs_for_other_outcomes_and_grains(suite, tmp_path, outcome, grain, label):
    """A researcher's parameters: the notebook renders every section for them."""
    job = render.Job(
        "pilot-effekter",
        "pilot-effekter",
        "Pilot-effekter",
        (
            ("year", 2017),
            ("processed_dir", str(suite["processed"])),
            ("utfall", outcome),
            ("periode", grain),
            ("vis_perioder_for", 24),
            ("vis_perioder_etter", 36),
        ),
    )
    _, _, body = render.execute(job, paths.NOTEBOOKS, tmp_path)
    assert f"{label}: effekt før og etter start, alle enheter" in body
    assert body.count("Plotly.newPlot(") == 4  # all units, two waves, the methods
    assert ("måneder" if grain == "maned" else "år") in body
