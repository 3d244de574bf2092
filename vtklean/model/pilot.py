"""The pilot-effects analysis: unit panels from the monthly data and the estimates shown."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from vtklean.core import measures
from vtklean.model import effects, gate, privacy
from vtklean.model.choices import GRAINS, OUTCOME_DECIMALS

UNIT = "enhet_id"


COHORT = "kohort"


@dataclass(frozen=True)
class Outcome:
    """An outcome the analysis can study; its words come from the registry of measures."""

    name: str
    decimals: int  # decimals of an effect estimate on the page

    @property
    def label(self) -> str:
        """The measure's label (`Sykefravær`)."""
        return measures.get(self.name).label

    @property
    def unit(self) -> str:
        """The unit of a difference, as the page writes it (`prosentpoeng`)."""
        return measures.get(self.name).change_unit


OUTCOMES = {name: Outcome(name, decimals) for name, decimals in OUTCOME_DECIMALS.items()}


PRETREND_TEST_LEVEL = 0.05  # below this p-value, the pre-start estimates are more than chance


@dataclass(frozen=True)
class Panel:
    """A balanced unit-by-period panel for one outcome, and the units it leaves out, with why."""

    frame: pl.DataFrame  # enhet_id, enhet, pilot, periode, kohort, utfall
    grain: str
    outcome: Outcome
    left_out: dict[str, str]  # enhet_id -> why
    names: dict[str, str]  # enhet_id -> enhet, for every unit in the data


def _check(outcome: str, grain: str) -> Outcome:
    if outcome not in OUTCOMES:
        raise effects.EffectError(f"Ukjent utfall {outcome!r}: velg ett av {', '.join(OUTCOMES)}.")
    if grain not in GRAINS:
        raise effects.EffectError(f"Ukjent periode {grain!r}: velg 'ar' eller 'maned'.")
    return OUTCOMES[outcome]


def _kahan_sums(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Row sums of a groups x months matrix, compensated (Kahan) in month order.

    Absent values are skipped. This is the arithmetic of polars' grouped sum (compensated,
    in the rows' order), so the yearly figures are the same to the last bit as a
    `group_by(...).agg(pl.col(...).sum())` over the months; a test checks it.
    """
    total = np.zeros(values.shape[0])
    carry = np.zeros(values.shape[0])
    for month in range(values.shape[1]):
        on = present[:, month]
        y = values[:, month] - carry
        t = total + y
        carry = np.where(on, (t - total) - y, carry)
        total = np.where(on, t, total)
    return total


def _yearly(unit_months: pl.DataFrame, outcome: str) -> pl.DataFrame:
    """Unit-years of `outcome` as a ratio of sums (årsverk: mean of the months); complete years.

    A year is complete with all twelve months: a report as of 30.04 has only January to
    April of its year, and four winter months are not a year (sick leave is seasonal).
    The rows are grouped by unit and year with integer keys and a stable sort instead of
    hashing text, and only the sums the outcome needs are taken; a unit's name, wave and
    start are the same in all its rows.
    """
    m = measures.get(outcome)
    if m.denominator is None:  # årsverk
        columns = [outcome]
    else:
        columns = list(dict.fromkeys([*(c for c, _ in m.numerator), m.denominator]))
    keys = unit_months.select(
        pl.col(UNIT).cast(pl.Categorical).to_physical().cast(pl.Int64).fill_null(-1) + 1,
        pl.col("ar").cast(pl.Int64).fill_null(-1) + 1,
    )
    unit_code, year = (keys.to_series(i).to_numpy() for i in range(2))
    key = unit_code * (int(year.max(initial=0)) + 1) + year
    order = np.argsort(key, kind="stable")  # each unit-year's months in the rows' order
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, key.size])
    rows = order[starts[sizes == 12][:, None] + np.arange(12)]  # complete years x months
    years = unit_months.select(UNIT, "enhet", "pilot", "lean_start", "ar")[rows[:, 0]]
    sums = {}
    for column in columns:
        series = unit_months.get_column(column).cast(pl.Float64)
        present = series.is_not_null().to_numpy()[rows]
        total = _kahan_sums(series.fill_null(0.0).to_numpy()[rows], present)
        if column == outcome:  # årsverk: the mean of the months with a value
            count = present.sum(axis=1)
            sums[column] = pl.Series(total / np.maximum(count, 1)).set(pl.Series(count == 0), None)
        elif column == "volum":
            # A month without volume leaves the year's volume empty: 12 months of spend over
            # 11 months of volume would overstate the cost per volume unit.
            sums[column] = pl.Series(total).set(pl.Series(~present.all(axis=1)), None)
        else:
            sums[column] = pl.Series(total)
    years = years.with_columns(**sums)
    if m.denominator is not None:
        years = years.with_columns(measures.expr(outcome))
    return years.with_columns(periode=pl.col("ar"), start=pl.col("lean_start").dt.year())


def panel(unit_months: pl.DataFrame, outcome: str, grain: str = "ar") -> Panel:
    """The balanced panel for an outcome at a period grain ('ar' or 'maned').

    The cohort is the period of the unit's `lean_start`. A unit that starts after the last
    period counts as not treated within the panel; a unit that started in or before the
    first period, or lacks the outcome in some period, is left out (with the reason).
    """
    spec = _check(outcome, grain)
    if grain == "ar":
        frame = _yearly(unit_months, outcome)
    else:
        frame = unit_months.with_columns(
            periode=pl.col("maned"), start=pl.col("lean_start").dt.month_start()
        )
    frame = frame.select(
        UNIT, "enhet", "pilot", "periode", "start", pl.col(outcome).cast(pl.Float64).alias("utfall")
    )
    names = dict(unit_months.select(UNIT, "enhet").unique(UNIT).iter_rows())
    periods = frame.get_column("periode").unique().sort()
    if periods.len() == 0:
        empty = frame.with_columns(pl.lit(None).alias(COHORT)).drop("start")
        why = "har ingen hele perioder med tall"
        return Panel(empty, grain, spec, dict.fromkeys(sorted(names), why), names)
    first, last = periods[0], periods[-1]
    left_out: dict[str, str] = {}
    early = frame.filter(pl.col("start") <= first).get_column(UNIT).unique().sort()
    for u in early:
        left_out[u] = "startet med Lean før eller i første periode med data"
    frame = frame.filter(~pl.col(UNIT).is_in(early.implode())).with_columns(
        pl.when(pl.col("start") <= last).then(pl.col("start")).alias(COHORT)
    )
    complete = effects.complete_units(frame, unit=UNIT, period="periode", outcome="utfall")
    missing = "mangler tall for noen perioder (kom til, ble lagt ned eller har tomme tall)"
    kept = set(complete.to_list())
    for u in pl.Series(list(names)).sort().to_list():
        if u not in kept and u not in left_out:
            left_out[u] = missing
    frame = frame.filter(pl.col(UNIT).is_in(complete.implode())).drop("start")
    return Panel(frame.sort(UNIT, "periode"), grain, spec, left_out, names)


@dataclass(frozen=True)
class Analysis:
    """Everything the pilot-effects page shows for one outcome and grain.

    When the data cannot give an estimate (one period, no unit that started, nobody to
    compare with), `all_units` is None and `gap` says why in plain bokmål; a wave without
    an estimate has its reason in `wave_gaps`.
    """

    panel: Panel
    all_units: effects.DidResult | None
    waves: dict[int, effects.DidResult]  # pilot wave -> its estimates
    twfe: dict[str, float] | None
    before_after: pl.DataFrame  # pilot units only
    gap: str | None = None
    wave_gaps: dict[int, str] = field(default_factory=dict)


def _hide_windows(
    naive: pl.DataFrame, pilots: pl.DataFrame, hidden: pl.DataFrame, window: int
) -> gate.Gated:
    """Hide a unit's before/after figures when a year they draw on is hidden."""
    year = pl.col("periode").dt.year() if pilots.schema["periode"] == pl.Date else pl.col("periode")
    years = (
        effects.within_window(pilots, period="periode", cohort=COHORT, window=window)
        .select(UNIT, year.cast(pl.Int32).alias("ar"))
        .unique()
    )
    drawn_on = hidden.join(years, left_on=["enhet_id", "ar"], right_on=[UNIT, "ar"], how="semi")
    cells = gate.Cells(privacy.UNIT_YEAR, privacy.SICK, {"enhet_id": UNIT})
    return gate.passed(naive, drawn_on, dict.fromkeys(("for", "etter", "endring"), cells))


def span(p: Panel) -> str:
    """The panel's periods as the page writes them: `2016` or `2011–2017`."""
    periods = p.frame.get_column("periode")
    first, last = (period_text(v, p.grain) for v in (periods.min(), periods.max()))
    return first if first == last else f"{first}–{last}"


def gap_sentence(p: Panel, control: str) -> str | None:
    """Why the data cannot give an effect estimate, in plain bokmål; None when it can."""
    frame = p.frame
    label = p.outcome.label.lower()
    if frame.height == 0:
        need = (
            " Kostnad per volumenhet krever tall i kolonnen «volum» i ressursbruk."
            if p.outcome.name == "kostnad_per_volum"
            else ""
        )
        return (
            f"Ingen enhet har tall for {label} i alle periodene, så siden kan ikke vise noen "
            f"effekt.{need}"
        )
    periods = frame.get_column("periode").n_unique()
    if periods < 2:
        what = "ett helt år" if p.grain == "ar" else "én måned"
        return (
            f"Dataene har bare {what} med tall ({span(p)}). En effekt måles som endringen "
            "fra før til etter start sammenlignet med andre enheter, og det krever minst to "
            f"{'år' if p.grain == 'ar' else 'måneder'}; siden kan derfor ikke vise noen "
            "effekt ennå."
        )
    starts = frame.filter(pl.col(COHORT).is_not_null())
    if starts.height == 0:
        return (
            f"Ingen av enhetene med tall i hele perioden {span(p)} startet med Lean etter "
            "første periode, så det finnes ingen før og etter å sammenligne, og siden kan "
            "ikke vise noen effekt."
        )
    never = frame.filter(pl.col(COHORT).is_null()).height
    cohorts = starts.get_column(COHORT).n_unique()
    if never == 0 and cohorts == 1:
        return (
            "Alle enhetene med tall startet med Lean samtidig, så ingen enheter kan vise "
            "hvordan det ville gått uten Lean; siden kan ikke vise noen effekt."
        )
    if control == "nevertreated" and never == 0:
        return (
            "Alle enhetene med tall startet med Lean i perioden, og kontrollgruppen er satt "
            "til enheter som aldri startet (nevertreated); det finnes ingen slike, så siden "
            "kan ikke vise noen effekt. Velg kontrollgruppen notyettreated."
        )
    return None


def _wave_units(frame: pl.DataFrame) -> dict[int, list[str]]:
    waves = (
        frame.filter(pl.col("pilot").is_not_null() & pl.col(COHORT).is_not_null())
        .group_by("pilot")
        .agg(pl.col(UNIT).unique().sort())
        .sort("pilot")
    )
    return {int(w): list(u) for w, u in waves.iter_rows()}


def analyse(
    unit_months: pl.DataFrame,
    outcome: str = "sykefravaer_prosent",
    grain: str = "ar",
    control: str = "notyettreated",
    alpha: float = 0.05,
    window: int | None = None,
    hidden: pl.DataFrame | None = None,
) -> Analysis:
    """Staggered estimates for all trained units and each pilot wave, TWFE and before/after.

    `window` is the number of periods before and after start in the before/after
    comparison (default: 1 year or 12 months). With `hidden` (the privacy table), a pilot
    unit's before/after sick leave is hidden when any of its years in the windows is.
    """
    p = panel(unit_months, outcome, grain)
    keys = {"unit": UNIT, "period": "periode", "cohort": COHORT, "outcome": "utfall"}
    gap = gap_sentence(p, control)
    empty = p.frame.filter(pl.lit(False))
    if gap is not None:
        return Analysis(p, None, {}, None, _naive(empty, p, keys, window, hidden), gap)
    try:
        # Balanced once: every estimate below rests on the same units and periods.
        balanced = effects.balance(p.frame, **keys)
        everyone = effects.staggered_did(balanced, control=control, alpha=alpha, **keys)
    except effects.EffectError as error:
        gap = f"Siden kan ikke vise noen effekt for disse dataene: {error}"
        return Analysis(p, None, {}, None, _naive(empty, p, keys, window, hidden), gap)
    waves, wave_gaps = {}, {}
    for wave, units in _wave_units(p.frame).items():
        try:
            waves[wave] = effects.staggered_did(
                balanced, control=control, alpha=alpha, focus=units, **keys
            )
        except effects.EffectError as error:
            wave_gaps[wave] = f"For bølge {wave} kan ingen effekt beregnes: {error}"
    try:
        static = effects.twfe(balanced, alpha=alpha, **keys)
    except effects.EffectError:
        static = None
    naive = _naive(p.frame, p, keys, window, hidden)
    return Analysis(p, everyone, waves, static, naive, None, wave_gaps)


def _naive(
    frame: pl.DataFrame,
    p: Panel,
    keys: dict[str, str],
    window: int | None,
    hidden: pl.DataFrame | None,
) -> pl.DataFrame:
    """The pilots' before/after table (privacy applied) for the units in `frame`."""
    size = window or (1 if p.grain == "ar" else 12)
    pilots = frame.filter(pl.col("pilot").is_not_null())
    naive = (
        effects.before_after(pilots, window=size, **keys)
        .join(frame.select(UNIT, "enhet", "pilot").unique(), on=UNIT)
        .sort("pilot", UNIT)
    )
    if hidden is not None and p.outcome.name == privacy.SICK:
        return _hide_windows(naive, pilots, hidden, size)
    return gate.seal(naive)


def horizon(years: int, grain: str) -> int:
    """The event time `years` years after the period of start, at the grain."""
    return years * (1 if grain == "ar" else 12)


def pretrend_rejected(result: effects.DidResult) -> bool:
    """Whether the joint test finds the pre-start differences larger than chance."""
    p_value = result.pretrend.get("p_value", math.nan)
    return not math.isnan(p_value) and p_value < PRETREND_TEST_LEVEL


def event_window(result: effects.DidResult, before: int | None, after: int | None) -> gate.Gated:
    """The event-study rows from `before` periods before start to `after` periods after."""
    frame = result.event_study
    if before is not None:
        frame = frame.filter(pl.col("event_time") >= -before)
    if after is not None:
        frame = frame.filter(pl.col("event_time") <= after)
    return gate.seal(frame)


def comparison(analysis: Analysis) -> gate.Gated:
    """The staggered estimate, the static TWFE estimate and the pilots' naive before/after."""
    o, t = analysis.all_units.overall, analysis.twfe
    naive = analysis.before_after.get_column("endring").drop_nulls()
    rows = [("Forskjøvet DiD (Callaway og Sant'Anna)", o["estimate"], o["ci_low"], o["ci_high"])]
    if t is not None:
        rows.append(("Toveis faste effekter (TWFE)", t["estimate"], t["ci_low"], t["ci_high"]))
    if naive.len():
        rows.append(("Før/etter, pilotenhetene (snitt)", float(naive.mean()), None, None))
    return gate.seal(
        pl.DataFrame(rows, schema=["metode", "estimate", "ci_low", "ci_high"], orient="row")
    )


def period_text(value: object, grain: str) -> str:
    """A period as the page writes it: `2011` or `03.2011`."""
    if grain == "maned" and hasattr(value, "strftime"):
        return value.strftime("%m.%Y")
    return str(value)
