"""The pilot-effects analysis on the sample data: the generator's planted effect is found."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from tests.helpers import planted_truth
from vtklean import sample
from vtklean.core import norsk, paths
from vtklean.core.errors import UsageError
from vtklean.model import datasets, effects, gate, pilot, privacy, processed
from vtklean.publish import execute, pilot_text


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


def result_with(
    estimate: float,
    low: float,
    high: float,
    pre: list[tuple[float, float]],
    *,
    units: int = 40,
    p_value: float = 0.5,
):
    """A hand-made result: pre-start intervals `pre`, one post period with this interval."""
    n = len(pre) + 1
    study = pl.DataFrame(
        {
            "event_time": [*range(-len(pre), 0), 0],
            "estimate": [(a + b) / 2 for a, b in pre] + [estimate],
            "se": [1.0] * n,
            "ci_low": [float(a) for a, _ in pre] + [float(low)],
            "ci_high": [float(b) for _, b in pre] + [float(high)],
            "units": [units] * n,
            "df": [None] * n,
        },
        schema_overrides={"df": pl.Int64},
    )
    overall = {
        "estimate": estimate,
        "se": 0.1,
        "ci_low": low,
        "ci_high": high,
        "units": units,
        "df": None,
    }
    pretrend = {
        "statistic": 1.0,
        "df": len(pre),
        "p_value": p_value if pre else math.nan,
        "units": units,
    }
    return effects.DidResult(
        overall, study, pl.DataFrame(), "notyettreated", 0.05, 10, 4, pretrend=pretrend
    )


def test_effect_sentence_says_what_the_interval_says():
    spec = pilot.OUTCOMES["sykefravaer_prosent"]
    below = pilot_text.effect_sentence(result_with(-0.75, -1.05, -0.46, []), spec, "alle")
    assert "-0,75 prosentpoeng" in below and "-1,05 til -0,46" in below
    assert "under null" in below and "vektet med gruppenes størrelse" in below
    across = pilot_text.effect_sentence(result_with(-0.2, -0.5, 0.1, []), spec, "bølge 1")
    assert "omfatter null" in across and "bølge 1 (4 enheter)" in across
    assert "bare én enhet" not in across
    single = dataclasses.replace(result_with(-0.2, -0.5, 0.1, []), single_unit_cohorts=(2011,))
    assert "1 av gruppene som startet samtidig, har bare én enhet" in pilot_text.effect_sentence(
        single, spec, "bølge 1"
    )
    # Few units: the interval uses t, and the page says the band has no such correction.
    few = result_with(-0.2, -0.5, 0.1, [])
    few = dataclasses.replace(few, overall=few.overall | {"df": 3, "units": 4})
    text = pilot_text.effect_sentence(few, spec, "bølge 1")
    assert "t-fordelingen med 3 frihetsgrader" in text and "kan være for smalt" in text
    assert "kan være for smalt" not in across
    # A failed pre-start test tempers the words about a drop: no "større enn tilfeldig".
    shaky = result_with(-0.75, -1.05, -0.46, [(0.1, 0.9)], p_value=0.01)
    text = pilot_text.effect_sentence(shaky, spec, "bølge 2")
    assert "ulik allerede før start" in text and "større enn tilfeldig" not in text


def test_pretrend_verdict_follows_the_joint_test():
    ok = pilot_text.pretrend_sentence(result_with(-1, -2, -0.5, [(-1, 1)] * 7, p_value=0.4))
    assert "p\u00a0=\u00a00,40: nei" in ok and "7 anslagene" in ok
    bad = pilot_text.pretrend_sentence(result_with(-1, -2, -0.5, [(-1, 1)] * 7, p_value=0.004))
    assert "p\u00a0=\u00a00,004: ja" in bad and "holder trolig ikke" in bad
    # One pre-start interval off zero is named even when the joint test does not reject.
    one_off = result_with(-1, -2, -0.5, [(-1, 1)] * 6 + [(0.1, 0.9)], p_value=0.2, units=4)
    text = pilot_text.pretrend_sentence(one_off)
    assert "1 av 7 anslag før start ligger utenfor null" in text and "lite styrke" in text
    assert "ingen perioder før start" in pilot_text.pretrend_sentence(result_with(-1, -2, -0.5, []))
    tiny = pilot_text.pretrend_sentence(result_with(-1, -2, -0.5, [(-1, 1)], p_value=1e-9))
    assert "gir p\u00a0<\u00a00,001: ja" in tiny and "anslaget før start (er det" in tiny


def test_horizon_table_and_headline_on_a_simulated_panel():
    from tests.test_effects import KEYS, simulate

    result = effects.staggered_did(simulate(12, per_cohort=5, never=10), outcome="y", **KEYS)
    spec = pilot.OUTCOMES["arsverk"]
    table = pilot_text.horizon_table(result, "ar", 3)
    assert table.get_column("Tid etter start").to_list() == [
        "1 år etter startåret",
        "2 år etter startåret",
        "3 år etter startåret",
        "Snitt over de 3 første årene, startåret med",
        "Samlet snitt etter start (alle perioder)",
    ]
    es = result.event_study
    two = es.filter(pl.col("event_time") == 2).row(0, named=True)
    assert table.get_column("Anslag")[1] == pytest.approx(two["estimate"])
    assert table.get_column("Enheter")[1] == two["units"] == 15
    first3 = es.filter(pl.col("event_time").is_between(0, 2)).get_column("estimate").mean()
    assert table.get_column("Anslag")[3] == pytest.approx(first3)
    text = pilot_text.headline_sentence(result, spec, "alle", 2, "ar")
    assert "2 år etter startåret" in text and "bygger på 15 enheter" in text
    assert norsk.number(two["estimate"], 2) in text
    far = pilot_text.headline_sentence(result, spec, "alle", 40, "ar")
    assert "finnes ikke noe anslag 40 år etter startåret" in far
    monthly = pilot_text.headline_sentence(result, spec, "alle", 1, "maned")  # e = 12 > 11
    assert "12 måneder etter startmåneden" in monthly


def test_sensitivity_sentence_states_the_breakdown_value():
    from tests.test_effects import KEYS, simulate

    spec = pilot.OUTCOMES["arsverk"]
    result = effects.staggered_did(simulate(13), outcome="y", **KEYS)
    m = effects.breakdown(result, [2])
    text = pilot_text.sensitivity_sentence(result, spec, 2, "ar")
    assert f"høyst {pilot_text._times(m)} den største" in text
    assert ("ikke nok" in text) == (m >= 1)
    assert (
        pilot_text._times(0.042) == "0,04 ganger"
        and pilot_text._times(0.004) == "under 0,01 ganger"
    )
    # No effect planted: the interval covers zero, and the sentence says so instead.
    flat = effects.staggered_did(simulate(13, slope=0.0), outcome="y", **KEYS)
    assert effects.breakdown(flat, [2]) == 0
    assert "kan ikke skilles fra null" in pilot_text.sensitivity_sentence(flat, spec, 2, "ar")


def test_loading_a_missing_processed_folder_says_what_to_run(tmp_path):
    with pytest.raises(UsageError, match=r"Fant ingen datasett.*make report"):
        processed.load(str(tmp_path / "mangler"), 2017)


def test_coverage_sentence_names_left_out_units_in_good_bokmaal():
    analysis = pilot.analyse(months_frame(), "sykefravaer_prosent", "ar")
    text = pilot_text.coverage_sentence(analysis)
    assert "1 enhet er utelatt fordi den mangler tall" in text and "(Enhet C)" in text


@pytest.mark.parametrize(
    ("outcome", "grain", "label"),
    [("budsjettavvik_prosent", "maned", "Budsjettavvik"), ("arsverk", "ar", "Årsverk")],
)
def test_notebook_runs_for_other_outcomes_and_grains(suite, tmp_path, outcome, grain, label):
    """A researcher's parameters: the notebook renders every section for them."""
    job = execute.Job(
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
    _, _, body = execute.execute(job, paths.NOTEBOOKS, tmp_path)
    assert f"{label}: effekt før og etter start, alle enheter" in body
    assert body.count("Plotly.newPlot(") == 4  # all units, two waves, the methods
    assert ("måneder" if grain == "maned" else "år") in body


# ---- every data shape the contract allows: a sentence instead of a failed page -----------


def shaped_months(
    units: list[tuple[str, dt.date | None, int | None, dt.date, dt.date]],
    *,
    volum: bool = True,
    cutoff: dt.date = dt.date(2018, 12, 31),
    areas: dict[str, str] | None = None,
    staff: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Unit-months through the library from hand-made registers.

    Each unit is (id, lean_start, pilot wave, first month, last month with data); sick leave
    varies by unit and month and drops by 1 point of 20 once the unit has started.
    """
    register, resources = [], []
    for k, (uid, start, wave, first, last) in enumerate(units):
        register.append(
            {
                "enhet_id": uid,
                "enhet": f"Enhet {uid}",
                "tjenesteomrade": (areas or {}).get(uid, "Omsorg"),
                "lean_start": start,
                "pilot": wave,
            }
        )
        month = first
        while month <= last:
            i = (month.year - 2000) * 12 + month.month
            treated = start is not None and month >= start
            resources.append(
                {
                    "enhet_id": uid,
                    "maned": month,
                    "budsjett_kr": 100_000.0,
                    "regnskap_kr": 100_000.0 + 1_000 * ((i * 7 + k) % 5),
                    "arsverk": 10.0,
                    "ansatte": (staff or {}).get(uid, 12),
                    "avtalte_dagsverk": 200.0,
                    "fravaer_dagsverk": 12.0 + (i * 3 + k * 5) % 7 - (2.0 if treated else 0.0),
                    "volum": 50.0 + k if volum else None,
                }
            )
            month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    frame = pl.DataFrame(register, schema_overrides={"lean_start": pl.Date, "pilot": pl.Int64})
    res = pl.DataFrame(resources, schema_overrides={"volum": pl.Float64, "ansatte": pl.Int64})
    return datasets.unit_months(res, frame, cutoff)


Y = dt.date
FIRST, LAST = Y(2014, 1, 1), Y(2018, 12, 1)


def _staggered(first: dt.date = FIRST, last: dt.date = LAST) -> list:
    """Two pilot waves and later starts, two units that never start."""
    return [
        ("P1", Y(2015, 3, 1), 1, first, last),
        ("P2", Y(2015, 9, 1), 1, first, last),
        ("P3", Y(2016, 2, 1), 2, first, last),
        ("L1", Y(2017, 1, 1), None, first, last),
        ("L2", Y(2017, 6, 1), None, first, last),
        ("N1", None, None, first, last),
        ("N2", None, None, first, last),
    ]


def test_a_normal_shape_gives_estimates_for_everyone_and_each_wave():
    analysis = pilot.analyse(shaped_months(_staggered()), "sykefravaer_prosent", "ar")
    assert analysis.gap is None and analysis.all_units is not None
    assert set(analysis.waves) == {1, 2} and not analysis.wave_gaps
    assert analysis.all_units.overall["estimate"] < 0


@pytest.mark.parametrize("grain", ["ar", "maned"])
def test_one_year_of_data_says_why_there_is_no_estimate(grain):
    months = shaped_months(_staggered(Y(2017, 1, 1), Y(2017, 12, 1)), cutoff=Y(2017, 12, 31))
    analysis = pilot.analyse(months, "sykefravaer_prosent", grain)
    if grain == "ar":
        assert analysis.all_units is None
        assert "bare ett helt år med tall (2017)" in analysis.gap
        assert "minst to år" in analysis.gap
        assert "2017" in pilot_text.intro_sentence(analysis, 2017)
    else:  # twelve months are enough at the monthly grain
        assert analysis.gap is None and analysis.all_units is not None


def test_report_year_equal_to_the_first_year_of_data():
    months = shaped_months(_staggered(Y(2014, 1, 1)), cutoff=Y(2014, 12, 31))
    analysis = pilot.analyse(months, "sykefravaer_prosent", "ar")
    assert analysis.all_units is None and "bare ett helt år med tall (2014)" in analysis.gap


def test_no_unit_trained_says_why():
    units = [(u, None, None, Y(2015, 1, 1), Y(2018, 12, 1)) for u in ("A", "B", "C")]
    analysis = pilot.analyse(shaped_months(units), "sykefravaer_prosent", "ar")
    assert analysis.all_units is None and "Ingen av enhetene" in analysis.gap
    assert "2015–2018" in analysis.gap
    assert pilot_text.coverage_sentence(analysis).startswith("Alle 3 enhetene")


def test_every_unit_trained_at_different_times_still_estimates_the_early_starters():
    """No never-treated units: later starters are the controls until they start."""
    units = [u for u in _staggered() if u[1] is not None]
    analysis = pilot.analyse(shaped_months(units), "sykefravaer_prosent", "ar")
    assert analysis.gap is None
    gt = analysis.all_units.group_time
    assert gt.filter(pl.col("cohort") == 2017).filter(pl.col("period") >= 2017).height == 0
    assert np.isfinite(analysis.all_units.overall["estimate"])
    text = pilot_text.effect_sentence(analysis.all_units, analysis.panel.outcome, "alle")
    assert "nan" not in text.lower()
    never = pilot.analyse(shaped_months(units), "sykefravaer_prosent", "ar", "nevertreated")
    assert never.all_units is None and "notyettreated" in never.gap


def test_every_unit_trained_at_once_says_there_is_nobody_to_compare_with():
    units = [(u, Y(2016, 5, 1), 1, Y(2014, 1, 1), Y(2018, 12, 1)) for u in ("A", "B", "C")]
    analysis = pilot.analyse(shaped_months(units), "sykefravaer_prosent", "ar")
    assert analysis.all_units is None and "samtidig" in analysis.gap
    assert analysis.before_after.height == 0


def test_a_wave_without_controls_gets_its_own_sentence():
    """Wave 3 starts last, when everyone else has started: no effect after start."""
    units = [u for u in _staggered() if u[1] is not None] + [
        ("W3", Y(2018, 3, 1), 3, Y(2014, 1, 1), Y(2018, 12, 1))
    ]
    analysis = pilot.analyse(shaped_months(units), "sykefravaer_prosent", "ar")
    assert analysis.all_units is not None
    wave = analysis.waves[3]
    assert np.isnan(wave.overall["estimate"])
    text = pilot_text.effect_sentence(wave, analysis.panel.outcome, "bølge 3")
    assert "For bølge 3 finnes ingen perioder etter start med enheter å sammenligne med" in text


def test_units_opened_or_closed_during_the_year_are_left_out_with_the_reason():
    units = [
        *_staggered(),
        ("NY", Y(2016, 6, 1), 2, Y(2015, 7, 1), Y(2018, 12, 1)),  # opened mid-2015
        ("NED", Y(2015, 4, 1), 1, Y(2014, 1, 1), Y(2017, 3, 1)),  # closed in 2017
    ]
    analysis = pilot.analyse(shaped_months(units), "sykefravaer_prosent", "ar")
    assert {"NY", "NED"} <= set(analysis.panel.left_out)
    assert analysis.all_units is not None
    assert "NY" not in analysis.panel.frame.get_column("enhet_id").to_list()
    # When only such units started, there is nothing left to estimate, and the page says so.
    only = [u for u in units if u[1] is None or u[0] in ("NY", "NED")]
    gap = pilot.analyse(shaped_months(only), "sykefravaer_prosent", "ar").gap
    assert gap is not None and "Ingen av enhetene" in gap


def test_one_service_area_and_an_area_of_one_small_unit_with_privacy():
    """All units in one area, but pilot P3 alone in its own area with 3 employees: its
    sick leave is hidden (primary suppression), so its before/after is hidden too, while
    the estimates, which never show a unit's own figures, are still made."""
    units = _staggered()
    months = shaped_months(units, areas={"P3": "Kultur"}, staff={"P3": 3})
    hidden = privacy.hidden_cells(months, privacy.Rule())
    analysis = pilot.analyse(months, "sykefravaer_prosent", "ar", hidden=hidden)
    assert analysis.gap is None and set(analysis.waves) == {1, 2}
    table = pilot_text.before_after_table(analysis)
    p3 = table.filter(pl.col("Enhet") == "Enhet P3").row(0, named=True)
    assert p3["Endring"] is None and p3[gate.flag("Endring")] is not None
    p1 = table.filter(pl.col("Enhet") == "Enhet P1").row(0, named=True)
    assert p1["Endring"] is not None
    one_area = pilot.analyse(
        shaped_months(units), "sykefravaer_prosent", "ar", hidden=hidden.clear()
    )
    assert (
        one_area.all_units.overall
        == pilot.analyse(months, "sykefravaer_prosent", "ar").all_units.overall
    )


def test_cost_per_volume_without_volume_says_what_is_missing():
    analysis = pilot.analyse(shaped_months(_staggered(), volum=False), "kostnad_per_volum", "ar")
    assert analysis.all_units is None and "volum" in analysis.gap
    assert pilot_text.intro_sentence(analysis, 2018).startswith(
        "Siden ser på kostnad per volumenhet"
    )


def test_notebook_renders_a_sentence_for_data_it_cannot_estimate(tmp_path):
    """The tiny register: its only complete unit started in the first year (exit 0, no chart)."""
    from tests.conftest import run_build
    from tests.helpers import write_folder

    raw = write_folder(tmp_path / "raw")
    assert run_build(raw, tmp_path, "--year", "2017") == 0
    job = execute.Job(
        "pilot-effekter",
        "pilot-effekter",
        "Pilot-effekter",
        (("year", 2017), ("processed_dir", str(tmp_path / "processed" / "2017"))),
    )
    _, _, body = execute.execute(job, paths.NOTEBOOKS, tmp_path / "out")
    assert "ikke vise noen effekt" in body and "bare ett helt år med tall (2017)" in body
    assert "Plotly.newPlot(" not in body
    # Units are named, and the one without a whole year (Kontor) is accounted for.
    assert "(Avd A)" in body and "Kontor" in body


def test_pilot_page_states_horizon_effects_pretrend_verdict_sensitivity_and_caveats(suite):
    """The built page, read as text: the words follow the numbers computed here."""
    import html as html_module
    import re

    body = (suite["reports"] / "pilot-effekter.html").read_text("utf-8")
    text = " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    assert "Sykefravær før og etter Lean-start" in text
    assert "hva Lean gjorde" not in text
    months = processed.load(str(suite["processed"]), 2017).datasets.unit_months
    result = pilot.analyse(months, "sykefravaer_prosent", "ar").all_units
    spec = pilot.OUTCOMES["sykefravaer_prosent"]
    two = effects.average_effect(result, [2])
    assert (
        f"2 år etter startåret {norsk.number(two['estimate'], 2)} prosentpoeng "
        f"(95 % intervall {norsk.number(two['ci_low'], 2)} til "
        f"{norsk.number(two['ci_high'], 2)}; bygger på {two['units']} enheter" in text
    )
    for row in ("1 år etter startåret", "3 år etter startåret", "Snitt over de 3 første"):
        assert row in text
    verdict = pilot_text.pretrend_sentence(result)
    assert " ".join(verdict.split()) in text
    assert ("ja. Enhetene" in verdict) == (result.pretrend["p_value"] < 0.05)
    m = effects.breakdown(result, [2])
    assert " ".join(pilot_text.sensitivity_sentence(result, spec, 2, "ar").split()) in text
    assert f"høyst {pilot_text._times(m)} den største" in text
    assert "Hva som kan gjøre anslaget feil" in text
    for risk in ("Hvem som ble piloter", "Andre tiltak samtidig", "Smitte", "registrering"):
        assert risk in text
    assert "skyggelagte båndet" in text and "Ved den forhåndsbestemte horisonten" in text


def test_a_bug_is_not_mistaken_for_a_data_shape():
    """Only the estimator's own data errors become a sentence; anything else still fails
    (so a broken notebook or library still stops the build with exit code 3)."""
    months = shaped_months(_staggered()).drop("avtalte_dagsverk")
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        pilot.analyse(months, "sykefravaer_prosent", "ar")
