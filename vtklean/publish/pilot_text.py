"""The pilot-effects page in words: the sentences, captions and tables that explain the analysis."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import polars as pl

from vtklean.core import norsk
from vtklean.model import effects, gate
from vtklean.model.pilot import (
    COHORT,
    GRAINS,
    UNIT,
    Analysis,
    Outcome,
    horizon,
    period_text,
    pretrend_rejected,
    span,
)


def _num(value: float, spec: Outcome) -> str:
    return norsk.number(value, spec.decimals)


def _when(event_time: int, grain: str) -> str:
    """An event time in words: `i startåret`, `2 år etter startåret`, `12 måneder etter ...`."""
    if grain == "ar":
        return "i startåret" if event_time == 0 else f"{event_time} år etter startåret"
    if event_time == 0:
        return "i startmåneden"
    return f"{event_time} måned{'' if event_time == 1 else 'er'} etter startmåneden"


def _units_text(units: int) -> str:
    return f"{units} {'enhet' if units == 1 else 'enheter'}"


def _interval_text(row: Mapping[str, Any], spec: Outcome, level: int) -> str:
    """`95 % intervall -1,05 til -0,46; bygger på 44 enheter`, with t named when used."""
    text = (
        f"{level}\u00a0% intervall {_num(row['ci_low'], spec)} til {_num(row['ci_high'], spec)}; "
        f"bygger på {_units_text(row['units'])}"
    )
    if row.get("df") is not None:
        text += f", t-fordeling med {row['df']} frihetsgrader"
    return text


def _verdict(row: Mapping[str, Any], pretrend_rejected: bool) -> str:
    """What an interval says about the sign, tempered when the pre-start test failed."""
    if row["ci_high"] < 0 or row["ci_low"] > 0:
        way = "nedgangen" if row["ci_high"] < 0 else "økningen"
        text = f"Hele intervallet ligger {'under' if row['ci_high'] < 0 else 'over'} null"
        if pretrend_rejected:
            return (
                f"{text}, men utviklingen var ulik allerede før start (se under), så "
                f"{way} kan skyldes annet enn Lean."
            )
        return f"{text}: {way} er større enn tilfeldig variasjon."
    return "Intervallet omfatter null: dataene kan ikke skille en effekt fra tilfeldig variasjon."


def headline_sentence(
    result: effects.DidResult, spec: Outcome, who: str, years: int, grain: str
) -> str:
    """The effect at the pre-specified horizon, with its interval and what it says."""
    e = horizon(years, grain)
    row = effects.average_effect(result, [e])
    if row is None or math.isnan(row["estimate"]):
        return (
            f"For {who} finnes ikke noe anslag {_when(e, grain)} (den forhåndsbestemte "
            "horisonten): dataene går ikke så langt etter start, eller det fantes ingen "
            "enheter å sammenligne med."
        )
    level = round((1 - result.alpha) * 100)
    head = (
        f"For {who} er den anslåtte effekten på {spec.label.lower()} {_when(e, grain)} "
        f"{_num(row['estimate'], spec)} {spec.unit} ({_interval_text(row, spec, level)})."
    )
    return f"{head} {_verdict(row, pretrend_rejected(result))}"


def effect_sentence(result: effects.DidResult, spec: Outcome, who: str) -> str:
    """The overall aggregate in words, with its definition, interval and what it says."""
    o = result.overall
    if math.isnan(o["estimate"]):
        return (
            f"For {who} finnes ingen perioder etter start med enheter å sammenligne med "
            "(alle andre hadde startet), så ingen effekt kan beregnes."
        )
    level = round((1 - result.alpha) * 100)
    head = (
        f"For {who} ({result.treated_units} enheter) er den anslåtte effekten på "
        f"{spec.label.lower()} {_num(o['estimate'], spec)} {spec.unit} i gjennomsnitt etter "
        f"start ({level}\u00a0% intervall {_num(o['ci_low'], spec)} til "
        f"{_num(o['ci_high'], spec)}). Dette samlede tallet er snittet av hver gruppes "
        "effekt i alle periodene etter start, vektet med gruppenes størrelse; det blander "
        "årene mens Lean ble innført med senere år."
    )
    tail = _verdict(o, pretrend_rejected(result))
    if o.get("df") is not None:
        tail += (
            f" Med bare {_units_text(o['units'])} som har startet, bruker intervallet "
            f"t-fordelingen med {o['df']} frihetsgrader i stedet for normalfordelingen: "
            "med så få enheter er spredningen selv usikker, og intervallet blir bredere. "
            "Det skyggelagte båndet i figuren har ingen slik korreksjon og kan være for "
            "smalt med så få enheter (i simuleringer dekket det da hele forløpet sjeldnere "
            "enn i 95 av 100 tilfeller)."
        )
    single = len(result.single_unit_cohorts)
    if single:
        tail += (
            f" {single} av gruppene som startet samtidig, har bare én enhet; der kan ikke "
            "spredningen måles, så intervallet er trolig noe for smalt."
        )
    return f"{head} {tail}"


def horizon_table(result: effects.DidResult, grain: str, years: int) -> pl.DataFrame:
    """Effects 1, 2 and 3 years after the period of start, the first `years` years, overall."""
    rows = []
    for y in (1, 2, 3):
        row = effects.average_effect(result, [horizon(y, grain)])
        if row is not None:
            rows.append((_when(horizon(y, grain), grain).capitalize(), row))
    first = effects.average_effect(result, range(horizon(years, grain)))
    if first is not None:
        span = "startåret" if years == 1 else f"de {years} første årene, startåret med"
        rows.append((f"Snitt over {span}", first))
    if not math.isnan(result.overall["estimate"]):
        rows.append(("Samlet snitt etter start (alle perioder)", result.overall))
    return pl.DataFrame(
        {
            "Tid etter start": [name for name, _ in rows],
            "Anslag": [r["estimate"] for _, r in rows],
            "Nedre grense": [r["ci_low"] for _, r in rows],
            "Øvre grense": [r["ci_high"] for _, r in rows],
            "Enheter": [r["units"] for _, r in rows],
        },
        schema_overrides={"Enheter": pl.Int64},
    )


HORIZON_FORMATS = {
    "Anslag": "tall2",
    "Nedre grense": "tall2",
    "Øvre grense": "tall2",
    "Enheter": "heltall",
}


def horizon_caption(result: effects.DidResult, spec: Outcome) -> str:
    """Caption of the horizon table, with the interval level and what 'Enheter' means."""
    level = round((1 - result.alpha) * 100)
    return (
        f"Anslått effekt på {spec.label.lower()} ({spec.unit}) etter tid fra start, med "
        f"{level}\u00a0% intervall; «Enheter» er hvor mange enheter som har startet anslaget "
        "bygger på"
    )


def pretrend_sentence(result: effects.DidResult) -> str:
    """The joint test of the periods before start: parallel trends and no anticipation."""
    test = result.pretrend
    if not test or test["df"] == 0 or math.isnan(test["p_value"]):
        return "Det finnes ingen perioder før start å kontrollere forutsetningene mot."
    pre = result.event_study.filter(pl.col("event_time") < 0)
    p_value = test["p_value"]
    if p_value < 0.001:
        p_text = "p\u00a0<\u00a00,001"
    else:
        p_text = f"p\u00a0=\u00a0{norsk.number(p_value, 2 if p_value >= 0.01 else 3)}"
    which = (
        "anslaget før start (er det større enn tilfeldig variasjon kan gi?)"
        if pre.height == 1
        else f"alle de {pre.height} anslagene før start samlet (er de sammen større enn "
        "tilfeldig variasjon kan gi?)"
    )
    head = f"En test av {which} gir {p_text}"
    if pretrend_rejected(result):
        return (
            f"{head}: ja. Enhetene som startet, utviklet seg annerledes enn de andre allerede "
            "før start, så forutsetningen om like utviklingsbaner holder trolig ikke, og "
            "anslaget etter start kan være skjevt i begge retninger."
        )
    text = (
        f"{head}: nei. Vi ser ikke tydelige tegn på ulik utvikling før start. Det beviser ikke "
        "at forutsetningene holder, bare at dataene ikke viser klare brudd på dem."
    )
    outside = pre.filter((pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)).height
    if outside:
        text += (
            f" Merk likevel at {outside} av {pre.height} anslag før start ligger utenfor null "
            "hver for seg; se figuren."
        )
    units = int(test["units"])
    if units < effects.FEW_UNITS:
        text += (
            f" Med bare {_units_text(units)} har testen lite styrke: den oppdager bare store "
            "forskjeller."
        )
    return text


def _times(m: float) -> str:
    """A breakdown value in words: `1,4 ganger`, `0,04 ganger`, `under 0,01 ganger`."""
    if m < 0.01:
        return "under 0,01 ganger"
    return f"{norsk.number(m, 1 if m >= 0.1 else 2)} ganger"


def sensitivity_sentence(result: effects.DidResult, spec: Outcome, years: int, grain: str) -> str:
    """How large a departure from parallel trends the effect at the horizon survives."""
    e = horizon(years, grain)
    m = effects.breakdown(result, [e])
    when = _when(e, grain)
    if m is None:
        return (
            f"Hvor robust effekten {when} er, kan ikke vurderes: det trengs både anslag før "
            "start og et anslag ved horisonten."
        )
    if m == 0:
        return (
            f"Effekten {when} kan ikke skilles fra null selv om utviklingen uten Lean hadde "
            "vært helt lik, så det er ingen effekt å teste robustheten til."
        )
    pre = result.event_study.filter(pl.col("event_time") < 0).get_column("estimate")
    largest = _num(float(pre.abs().max()), spec)
    head = (
        f"Hvor robust er effekten {when}? Den beholder fortegnet selv om enhetene som "
        f"startet, ville ha utviklet seg ulikt de andre uten Lean, så lenge forskjellen fra "
        f"én periode til den neste er høyst {_times(m)} den største slike "
        f"forskjellen vi ser før start ({largest} {spec.unit})."
    )
    if m >= 1:
        tail = (
            "Forskjeller like store som dem før start er altså ikke nok til å forklare "
            "effekten bort."
        )
    else:
        tail = (
            "Forskjeller like store som dem vi allerede ser før start, ville altså være nok "
            "til å forklare effekten bort: tallet er skjørt."
        )
    return f"{head} {tail} (Rambachans og Roths mål for relativ størrelse, 2023.)"


def comparison_sentence(analysis: Analysis) -> str:
    """Why the methods differ, with this data's numbers."""
    spec = analysis.panel.outcome
    o, t = analysis.all_units.overall, analysis.twfe
    if t is None or math.isnan(o["estimate"]):
        return (
            "Her kan ikke metodene sammenlignes: dataene har ingen perioder etter start "
            "med enheter å sammenligne med, eller behandlingen varierer ikke mellom enheter "
            "og perioder."
        )
    diff = t["estimate"] - o["estimate"]
    why = (
        "TWFE bruker også enheter som allerede har startet, som sammenligning for enheter "
        "som starter senere. Når effekten bygger seg opp over tid, trekkes da en del av "
        "effekten fra igjen. Hovedanslaget sammenligner bare med enheter som ennå ikke har "
        "startet."
    )
    head = (
        f"Den enkle regresjonen med faste effekter for enhet og periode (TWFE) gir "
        f"{_num(t['estimate'], spec)} {spec.unit}"
    )
    if o["ci_low"] <= t["estimate"] <= o["ci_high"]:
        text = (
            f"{head}, innenfor intervallet til hovedanslaget: her gir metodene omtrent samme "
            f"svar, fordi mange enheter aldri startet og kan brukes som sammenligning. Det er "
            f"ikke alltid slik. {why}"
        )
    else:
        text = (
            f"{head}, {_num(abs(diff), spec)} {spec.unit} "
            f"{'høyere' if diff > 0 else 'lavere'} enn hovedanslaget og utenfor intervallet. "
            f"{why} Derfor er TWFE-anslaget skjevt her."
        )
    naive = analysis.before_after.get_column("endring").drop_nulls()
    if naive.len():
        text += (
            f" Før/etter-tallene for pilotenhetene ({_num(float(naive.mean()), spec)} "
            f"{spec.unit} i snitt) har ingen sammenligningsgruppe: alt annet som endret seg "
            "samtidig, som sesong, trender og tilfeldige svingninger, telles med som effekt."
        )
    return text


def intro_sentence(analysis: Analysis, year: int) -> str:
    """What the page studies: outcome, periods, how many units in each role."""
    p = analysis.panel
    treated = p.frame.filter(pl.col(COHORT).is_not_null()).get_column(UNIT).n_unique()
    units = p.frame.get_column(UNIT).n_unique()
    grain = GRAINS[p.grain]
    if units == 0:
        return f"Siden ser på {p.outcome.label.lower()} per {grain} (data til og med {year})."
    return (
        f"Siden ser på {p.outcome.label.lower()} per {grain} i {span(p)} "
        f"(data til og med {year}). {treated} av {units} enheter startet med Lean i perioden; "
        f"de {units - treated} andre har ikke startet innen utgangen av dataene. "
        "Negative tall betyr nedgang."
    )


def waves_sentence(analysis: Analysis) -> str:
    """Who the pilot waves are and when they started."""
    frame = analysis.panel.frame.filter(pl.col("pilot").is_not_null())
    if frame.height == 0:
        return "Dataene har ingen pilotenheter."
    parts = []
    starts = frame.select(UNIT, "enhet", "pilot", COHORT).unique().sort("pilot", COHORT, UNIT)
    for (wave,), rows in starts.group_by("pilot", maintain_order=True):
        names = ", ".join(rows.get_column("enhet"))
        first, last = rows.get_column(COHORT).min(), rows.get_column(COHORT).max()
        when = period_text(first, analysis.panel.grain)
        if last != first:
            when += f"–{period_text(last, analysis.panel.grain)}"
        parts.append(f"Bølge {wave} ({rows.height} enheter, start {when}): {names}.")
    return (
        " ".join(parts) + " Med så få enheter blir intervallene brede. Alle enheter som ennå "
        "ikke hadde startet, er sammenligningsgrunnlaget også her."
    )


BEFORE_AFTER_FORMATS = {"Før start": "tall2", "Etter start": "tall2", "Endring": "tall2"}


def before_after_caption(analysis: Analysis) -> str:
    """Caption of the pilots' before/after table, naming the window."""
    window = analysis.before_after.get_column("perioder_etter").max() or 0
    unit = "år" if analysis.panel.grain == "ar" else "måneder"
    return (
        f"Enkel før/etter for pilotenhetene: snitt av {analysis.panel.outcome.label.lower()} "
        f"{window} {unit} før og etter start ({analysis.panel.outcome.unit} for endringen)"
    )


def before_after_table(analysis: Analysis) -> pl.DataFrame:
    """Pilot units' naive before/after, ready for the page."""
    grain = analysis.panel.grain
    frame = analysis.before_after
    names = {"for": "Før start", "etter": "Etter start", "endring": "Endring"}
    flags = [
        pl.col(gate.flag(c)).alias(gate.flag(n))
        for c, n in names.items()
        if gate.flag(c) in frame.columns
    ]
    return frame.select(
        pl.col("enhet").alias("Enhet"),
        pl.col("pilot").cast(pl.String).alias("Bølge"),
        pl.col(COHORT)
        .map_elements(lambda v: period_text(v, grain), return_dtype=pl.String)
        .alias("Start"),
        *[pl.col(c).alias(n) for c, n in names.items()],
        *flags,
    )


def coverage_sentence(analysis: Analysis) -> str:
    """Which units the estimates leave out, and why."""
    left = analysis.panel.left_out
    used = analysis.panel.frame.get_column(UNIT).n_unique()
    if not left:
        return f"Alle {used} enhetene med tall i hele perioden er med."
    reasons: dict[str, list[str]] = {}
    names = analysis.panel.names
    for unit, why in sorted(left.items(), key=lambda item: names.get(item[0], item[0])):
        reasons.setdefault(why, []).append(names.get(unit, unit))
    text = " ".join(
        f"{len(units)} {'enhet' if len(units) == 1 else 'enheter'} er utelatt fordi "
        f"{'den' if len(units) == 1 else 'de'} {why} ({', '.join(units)})."
        for why, units in reasons.items()
    )
    return f"{used} enheter er med i beregningen. {text}"
