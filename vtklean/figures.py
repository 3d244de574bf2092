"""Key figures (nøkkeltall) per service area and for the whole municipality, from the datasets."""

from __future__ import annotations

import datetime as dt

import polars as pl

from vtklean import datasets, privacy
from vtklean.datasets import WHOLE, Datasets, exact_sum
from vtklean.norsk import sort_key

# The contract's columns first, in its order; then the extra columns this suite adds.
CONTRACT_COLUMNS = (
    "tjenesteomrade",
    "enheter",
    "enheter_lean",
    "gevinster_identifisert_arsverk",
    "gevinster_realisert_arsverk",
    "realiseringsgrad_prosent",
    "andel_verdistromsanalyse_prosent",
    "arsverk",
    "budsjett_kr",
    "regnskap_kr",
    "budsjettavvik_prosent",
    "sykefravaer_prosent",
)
EXTRA_COLUMNS = ("ansatte", "gevinster_identifisert_kr", "gevinster_realisert_kr")
COLUMNS = CONTRACT_COLUMNS + EXTRA_COLUMNS

# Decimals kept in the machine-readable export.
DECIMALS = {
    "gevinster_identifisert_arsverk": 2,
    "gevinster_realisert_arsverk": 2,
    "realiseringsgrad_prosent": 2,
    "andel_verdistromsanalyse_prosent": 2,
    "arsverk": 2,
    "budsjett_kr": 2,
    "regnskap_kr": 2,
    "budsjettavvik_prosent": 2,
    "sykefravaer_prosent": 2,
    "gevinster_identifisert_kr": 2,
    "gevinster_realisert_kr": 2,
}


def _ratio(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) != 0).then(pl.col(num) / pl.col(den) * 100)


def _with_whole(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.with_columns(tjenesteomrade=pl.lit(WHOLE))])


def key_figures(ds: Datasets) -> pl.DataFrame:
    """One row per service area plus `Hele kommunen`, as the data contract defines them."""
    areas = sorted(ds.units.get_column("tjenesteomrade").unique().to_list(), key=sort_key)
    frame = pl.DataFrame({"tjenesteomrade": [*areas, WHOLE]})
    unit_counts = (
        _with_whole(ds.units)
        .group_by("tjenesteomrade")
        .agg(
            enheter=pl.col("aktiv").sum().cast(pl.Int64),
            enheter_lean=pl.col("lean").sum().cast(pl.Int64),
        )
    )
    is_vsa = pl.col("metode") == "verdistromsanalyse"
    gain_sums = (
        _with_whole(ds.gains)
        .with_columns(_vsa=pl.when(is_vsa).then(pl.col("identifisert_arsverk")).otherwise(0.0))
        .group_by("tjenesteomrade")
        .agg(
            exact_sum("identifisert_arsverk").alias("gevinster_identifisert_arsverk"),
            exact_sum("realisert_arsverk_dato").alias("gevinster_realisert_arsverk"),
            exact_sum("_vsa"),
            exact_sum("identifisert_kr").alias("gevinster_identifisert_kr"),
            exact_sum("realisert_kr_dato").alias("gevinster_realisert_kr"),
        )
    )
    year = ds.area_years.filter(pl.col("ar") == ds.period.year).select(
        "tjenesteomrade",
        "arsverk",
        "budsjett_kr",
        "regnskap_kr",
        "ansatte",
        "avtalte_dagsverk",
        "fravaer_dagsverk",
    )
    out = (
        frame.join(unit_counts, on="tjenesteomrade", how="left")
        .join(gain_sums, on="tjenesteomrade", how="left")
        .join(year, on="tjenesteomrade", how="left")
        .with_columns(
            pl.col("enheter", "enheter_lean").fill_null(0),
            pl.col(
                "gevinster_identifisert_arsverk",
                "gevinster_realisert_arsverk",
                "_vsa",
                "gevinster_identifisert_kr",
                "gevinster_realisert_kr",
            ).fill_null(0.0),
        )
        .with_columns(
            realiseringsgrad_prosent=_ratio(
                "gevinster_realisert_arsverk", "gevinster_identifisert_arsverk"
            ),
            andel_verdistromsanalyse_prosent=_ratio("_vsa", "gevinster_identifisert_arsverk"),
            budsjettavvik_prosent=pl.when(pl.col("budsjett_kr") != 0).then(
                (pl.col("regnskap_kr") - pl.col("budsjett_kr")) / pl.col("budsjett_kr") * 100
            ),
            sykefravaer_prosent=_ratio("fravaer_dagsverk", "avtalte_dagsverk"),
        )
    )
    out = out.select(COLUMNS)
    for measure in (privacy.SICK, privacy.HEADCOUNT):
        out = privacy.hide(
            out,
            ds.hidden,
            level=privacy.AREA_YEAR,
            measure=measure,
            on={"tjenesteomrade": "tjenesteomrade"},
            where={"ar": ds.period.year},
        )
    return out


def rounded(figures: pl.DataFrame) -> pl.DataFrame:
    """The key figures rounded as they are exported (sums are rounded, not truncated)."""
    return figures.with_columns(pl.col(c).round(n) for c, n in DECIMALS.items())


def _gain_totals(ds: Datasets, area: str | None, by: str, largest: str) -> pl.DataFrame:
    """Identified and realised årsverk as of D by `by`, largest `largest` first."""
    return (
        _area(ds.gains, area)
        .group_by(by)
        .agg(
            exact_sum("identifisert_arsverk"),
            exact_sum("realisert_arsverk_dato").alias("realisert_arsverk"),
        )
        .sort(largest, by, descending=[True, False])
    )


def category_totals(ds: Datasets, area: str | None = None) -> pl.DataFrame:
    """Identified and realised årsverk by category of gain, as of D, largest realised first."""
    return _gain_totals(ds, area, "kategori", "realisert_arsverk")


def _area(frame: pl.DataFrame, area: str | None) -> pl.DataFrame:
    return frame if area is None else frame.filter(pl.col("tjenesteomrade") == area)


def method_totals(ds: Datasets, area: str | None = None) -> pl.DataFrame:
    """Identified and realised årsverk by method, as of D, largest identified first."""
    return _gain_totals(ds, area, "metode", "identifisert_arsverk")


def gains_history(ds: Datasets, area: str | None = None) -> pl.DataFrame:
    """Identified and realised årsverk at each year end up to D (the last row is D itself)."""
    gains = _area(ds.gains, area)
    first = gains.get_column("identifisert").min()
    if first is None:
        return pl.DataFrame(
            schema={
                "ar": pl.Int64,
                "dato": pl.Date,
                "identifisert": pl.Float64,
                "realisert": pl.Float64,
            }
        )
    as_of = ds.period.as_of
    dates = [dt.date(y, 12, 31) for y in range(first.year, as_of.year)] + [as_of]
    rows = []
    for d in dates:
        status = datasets.gains(gains, ds.units, d)
        rows.append(
            {
                "ar": d.year,
                "dato": d,
                "identifisert": status.select(exact_sum("identifisert_arsverk")).item(),
                "realisert": status.select(exact_sum("realisert_arsverk_dato")).item(),
            }
        )
    return pl.DataFrame(rows)


def rollout(ds: Datasets, area: str | None = None) -> pl.DataFrame:
    """Active and trained units at each year end from the first Lean start up to D."""
    units = _area(ds.units, area)
    first = units.get_column("lean_start").min()
    as_of = ds.period.as_of
    if first is None:
        return pl.DataFrame(schema={"ar": pl.Int64, "aktive": pl.Int64, "trent": pl.Int64})
    rows = []
    for year in range(first.year, as_of.year + 1):
        d = min(dt.date(year, 12, 31), as_of)
        status = datasets.units(units, d)
        rows.append(
            {
                "ar": year,
                "aktive": int(status.get_column("aktiv").sum()),
                "trent": int(status.get_column("lean").sum()),
            }
        )
    return pl.DataFrame(rows)


def backlog(ds: Datasets, area: str | None = None) -> pl.DataFrame:
    """Gains identified but not yet realised as of D, by unit: how many, how much, how long."""
    pending = _area(ds.gains, area).filter(pl.col("status") == datasets.PENDING)
    return (
        pending.group_by("enhet_id", "enhet", "tjenesteomrade")
        .agg(
            antall=pl.len(),
            arsverk=exact_sum("arsverk"),
            snitt_dager=pl.col("ventet_dager").mean().round(0),
            lengst_dager=pl.col("ventet_dager").max(),
            ansvarlige=pl.col("ansvarlig_rolle").drop_nulls().unique().sort().str.join(", "),
        )
        .sort(["arsverk", "enhet"], descending=[True, False])
    )


def monthly_sick_leave(ds: Datasets, area: str | None = None) -> pl.DataFrame:
    """Sick leave per month (sum of absence over sum of agreed days) for an area or all.

    Hidden months (privacy) have no figures, only the reason in `sykefravaer_prosent_prikket`.
    """
    frame = (
        _area(ds.unit_months, area)
        .group_by("maned")
        .agg(exact_sum("fravaer_dagsverk"), exact_sum("avtalte_dagsverk"))
        .with_columns(
            sykefravaer_prosent=pl.when(pl.col("avtalte_dagsverk") > 0).then(
                pl.col("fravaer_dagsverk") / pl.col("avtalte_dagsverk") * 100
            )
        )
        .sort("maned")
    )
    frame = privacy.hide(
        frame,
        ds.hidden,
        level=privacy.AREA_MONTH,
        measure=privacy.SICK,
        on={"maned": "maned"},
        where={"tjenesteomrade": area or WHOLE},
    )
    hidden = pl.col(privacy.flag(privacy.SICK)).is_not_null()
    return frame.with_columns(
        pl.when(~hidden).then(pl.col(c)).alias(c) for c in ("fravaer_dagsverk", "avtalte_dagsverk")
    )


def lean_starts(ds: Datasets, area: str | None = None) -> pl.DataFrame:
    """Each unit's Lean start up to D, with the month it falls in."""
    return (
        _area(ds.units, area)
        .filter(pl.col("trent"))
        .select(
            "enhet",
            "tjenesteomrade",
            "lean_start",
            "pilot",
            maned=pl.col("lean_start").dt.month_start(),
        )
        .sort("lean_start", "enhet")
    )


def unit_table(ds: Datasets, area: str) -> pl.DataFrame:
    """One row per unit of an area: status, gains and this year's resource figures."""
    year = ds.period.year
    gains = (
        _area(ds.gains, area)
        .group_by("enhet_id")
        .agg(
            exact_sum("identifisert_arsverk"),
            exact_sum("realisert_arsverk_dato").alias("realisert_arsverk"),
        )
    )
    years = ds.unit_years.filter(pl.col("tjenesteomrade") == area)
    this = years.filter(pl.col("ar") == year).select(
        "enhet_id", "arsverk", "sykefravaer_prosent", "budsjettavvik_prosent"
    )
    before = years.filter(pl.col("ar") == year - 1).select(
        "enhet_id", pl.col("sykefravaer_prosent").alias("sykefravaer_prosent_i_fjor")
    )
    table = (
        _area(ds.units, area)
        .select("enhet_id", "enhet", "aktiv", "lean_start", "pilot", "lagt_ned")
        .join(gains, on="enhet_id", how="left")
        .join(this, on="enhet_id", how="left")
        .join(before, on="enhet_id", how="left")
        .with_columns(pl.col("identifisert_arsverk", "realisert_arsverk").fill_null(0.0))
        .sort(pl.col("enhet").map_elements(sort_key, return_dtype=pl.String))
    )
    for column, ar in (("sykefravaer_prosent", year), ("sykefravaer_prosent_i_fjor", year - 1)):
        table = privacy.hide(
            table,
            ds.hidden,
            level=privacy.UNIT_YEAR,
            measure=privacy.SICK,
            column=column,
            on={"enhet_id": "enhet_id"},
            where={"ar": ar},
        )
    return table


def all_units(ds: Datasets) -> pl.DataFrame:
    """Every unit's figures (unit_table for each area), for the machine-readable download."""
    areas = sorted(ds.units.get_column("tjenesteomrade").unique().to_list(), key=sort_key)
    return pl.concat(
        [unit_table(ds, a).with_columns(tjenesteomrade=pl.lit(a)) for a in areas]
    ).select("tjenesteomrade", pl.exclude("tjenesteomrade"))
