"""Key figures (nøkkeltall) per service area and for the whole municipality, from the datasets."""

from __future__ import annotations

import datetime as dt

import polars as pl

from vtklean.core import calendar, measures
from vtklean.core.norsk import sort_key
from vtklean.model import datasets, privacy
from vtklean.model.datasets import WHOLE, Datasets, exact_sum
from vtklean.model.gate import Cells, Gated, passed, seal

# The export's columns come from the registry of measures (the contract's first, in order).
CONTRACT_COLUMNS = measures.CONTRACT
COLUMNS = measures.EXPORT
DECIMALS = {k: measures.get(k).decimals for k in COLUMNS[1:] if measures.get(k).decimals}
_RATIOS = (
    "realiseringsgrad_prosent",
    "andel_verdistromsanalyse_prosent",
    "budsjettavvik_prosent",
    "sykefravaer_prosent",
    "budsjettavvik_kr",
)


def _with_whole(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.with_columns(tjenesteomrade=pl.lit(WHOLE))])


IDEA_COUNTS = (
    "forslag_registrert",
    "forslag_gjennomfort",
    "forslag_avvist",
    "forslag_apne",
    "forslag_median_dager",
)


def _idea_aggregates(year: int) -> list[pl.Expr]:
    """Proposal counts of `year` (up to D), open ones as of D, median days to completion.

    Open proposals are of any year; the median is over proposals completed in `year`.
    """
    closed_in_year = pl.col("avsluttet").dt.year() == year
    done = closed_in_year & (pl.col("status") == "gjennomfort")
    return [
        (pl.col("registrert").dt.year() == year).sum().cast(pl.Int64).alias(IDEA_COUNTS[0]),
        done.sum().cast(pl.Int64).alias(IDEA_COUNTS[1]),
        (closed_in_year & (pl.col("status") == "avvist"))
        .sum()
        .cast(pl.Int64)
        .alias(IDEA_COUNTS[2]),
        pl.col("status").is_in(["ny", "pagar"]).sum().cast(pl.Int64).alias(IDEA_COUNTS[3]),
        (pl.col("avsluttet") - pl.col("registrert"))
        .dt.total_days()
        .filter(done)
        .median()
        .alias(IDEA_COUNTS[4]),
    ]


def _ideas(ds: Datasets) -> pl.DataFrame | None:
    if ds.ideas is None:
        return None
    return ds.ideas.join(
        ds.units.select("enhet_id", "enhet", "tjenesteomrade"),
        on="enhet_id",
        how="left",
        maintain_order="left",
    )


def idea_counts(
    ds: Datasets, area: str | None = None, by_unit: bool = False
) -> pl.DataFrame | None:
    """Improvement proposals of the report year per service area and `Hele kommunen`.

    With `by_unit`, per unit of `area` (every unit, also those without proposals). None
    when the raw folder has no `forbedringer` table.
    """
    ideas = _ideas(ds)
    if ideas is None:
        return None
    aggs = _idea_aggregates(ds.period.year)
    if not by_unit:
        # The municipality's row from the same rows once more, not from a frame twice as long.
        per_area = ideas.group_by("tjenesteomrade").agg(aggs)
        if not ideas.is_empty():
            whole = ideas.select(pl.lit(WHOLE).alias("tjenesteomrade"), *aggs)
            per_area = pl.concat([per_area, whole])
        order = pl.col("tjenesteomrade").map_elements(sort_key, return_dtype=pl.String)
        return per_area.sort(pl.col("tjenesteomrade") == WHOLE, order)
    units = _area(ds.units, area).select("enhet_id", "enhet", "aktiv")
    per_unit = _area(ideas, area).group_by("enhet_id").agg(aggs)
    return (
        units.join(per_unit, on="enhet_id", how="left", maintain_order="left")
        .with_columns(pl.col(*IDEA_COUNTS[:4]).fill_null(0))
        .sort(pl.col("enhet").map_elements(sort_key, return_dtype=pl.String))
    )


def idea_years(ds: Datasets, area: str | None = None) -> pl.DataFrame | None:
    """Proposals registered, completed and rejected in each year up to D, as of D.

    None when the raw folder has no `forbedringer` table.
    """
    ideas = _ideas(ds)
    if ideas is None:
        return None
    ideas = _area(ideas, area)
    first = ideas.get_column("registrert").min()
    years = range(first.year, ds.period.year + 1) if first is not None else []
    rows = [ideas.select(pl.lit(y).alias("ar"), *_idea_aggregates(y)[:3]) for y in years]
    if not rows:
        return pl.DataFrame(schema={"ar": pl.Int32, **dict.fromkeys(IDEA_COUNTS[:3], pl.Int64)})
    return pl.concat(rows)


def _area_years(year: int | None = None) -> dict[str, Cells]:
    """The hidden cells of an area-year frame's sensitive columns (of one year, or every)."""
    on = {"tjenesteomrade": "tjenesteomrade"} | ({} if year is not None else {"ar": "ar"})
    where = {} if year is None else {"ar": year}
    sick = Cells(privacy.AREA_YEAR, privacy.SICK, on, where)
    return {
        privacy.SICK: sick,
        privacy.HEADCOUNT: Cells(privacy.AREA_YEAR, privacy.HEADCOUNT, on, where),
        "fravaer_dagsverk": sick,
        "avtalte_dagsverk": sick,
    }


def key_figures(ds: Datasets) -> Gated:
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
    realised = pl.col("status") == datasets.REALISED
    gain_sums = (
        _with_whole(ds.gains)
        .with_columns(
            gevinster_verdistromsanalyse_arsverk=pl.when(is_vsa)
            .then(pl.col("identifisert_arsverk"))
            .otherwise(0.0),
        )
        .group_by("tjenesteomrade")
        .agg(
            exact_sum("identifisert_arsverk").alias("gevinster_identifisert_arsverk"),
            exact_sum("realisert_arsverk_dato").alias("gevinster_realisert_arsverk"),
            exact_sum("gevinster_verdistromsanalyse_arsverk"),
            exact_sum("identifisert_kr").alias("gevinster_identifisert_kr"),
            exact_sum("realisert_kr_dato").alias("gevinster_realisert_kr"),
            realised.sum().cast(pl.Int64).alias("gevinster_realisert_antall"),
            (realised & pl.col("belop_kr").is_not_null())
            .sum()
            .cast(pl.Int64)
            .alias("gevinster_realisert_med_kr"),
            pl.col("forsinket").sum().cast(pl.Int64).alias("gevinster_forsinket"),
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
    ideas = idea_counts(ds)
    fill = list(IDEA_COUNTS[:4])
    if ideas is None:  # no proposals table: the columns are empty, not 0
        ideas = pl.DataFrame(
            {"tjenesteomrade": [WHOLE]}, schema={"tjenesteomrade": pl.String}
        ).with_columns(
            *(pl.lit(None, pl.Int64).alias(k) for k in fill),
            pl.lit(None, pl.Float64).alias(IDEA_COUNTS[4]),
        )
        fill = []
    counts = (
        "enheter",
        "enheter_lean",
        "gevinster_realisert_antall",
        "gevinster_realisert_med_kr",
        "gevinster_forsinket",
    )
    out = (
        frame.join(unit_counts, on="tjenesteomrade", how="left", maintain_order="left")
        .join(gain_sums, on="tjenesteomrade", how="left", maintain_order="left")
        .join(year, on="tjenesteomrade", how="left", maintain_order="left")
        .join(ideas, on="tjenesteomrade", how="left", maintain_order="left")
        .with_columns(
            pl.col(*counts, *fill).fill_null(0),
            pl.col(
                "gevinster_identifisert_arsverk",
                "gevinster_realisert_arsverk",
                "gevinster_verdistromsanalyse_arsverk",
                "gevinster_identifisert_kr",
                "gevinster_realisert_kr",
            ).fill_null(0.0),
        )
    )
    out = measures.with_ratios(out, _RATIOS).select(COLUMNS)
    cells = _area_years(ds.period.year)
    return passed(out, ds.hidden, {c: cells[c] for c in (privacy.SICK, privacy.HEADCOUNT)})


def rounded(figures: Gated) -> Gated:
    """The key figures rounded as they are exported (sums are rounded, not truncated)."""
    return seal(figures.with_columns(pl.col(c).round(n) for c, n in DECIMALS.items()))


def area_history(ds: Datasets, area: str | None = None) -> Gated:
    """The yearly resource figures of one service area (or the municipality), every year."""
    years = ds.area_years.filter(pl.col("tjenesteomrade") == (area or WHOLE))
    return passed(years, ds.hidden, _area_years())


def _gain_totals(ds: Datasets, area: str | None, by: str, largest: str) -> Gated:
    """Identified and realised årsverk as of D by `by`, largest `largest` first."""
    return seal(
        _area(ds.gains, area)
        .group_by(by)
        .agg(
            exact_sum("identifisert_arsverk"),
            exact_sum("realisert_arsverk_dato").alias("realisert_arsverk"),
        )
        .sort(largest, by, descending=[True, False])
    )


def category_totals(ds: Datasets, area: str | None = None) -> Gated:
    """Identified and realised årsverk by category of gain, as of D, largest realised first."""
    return _gain_totals(ds, area, "kategori", "realisert_arsverk")


def _area(frame: pl.DataFrame, area: str | None) -> pl.DataFrame:
    return frame if area is None else frame.filter(pl.col("tjenesteomrade") == area)


def method_totals(ds: Datasets, area: str | None = None) -> Gated:
    """Identified and realised årsverk by method, as of D, largest identified first."""
    return _gain_totals(ds, area, "metode", "identifisert_arsverk")


def gains_history(ds: Datasets, area: str | None = None) -> Gated:
    """Identified and realised årsverk at each year end up to D (the last row is D itself)."""
    gains = _area(ds.gains, area)
    first = gains.get_column("identifisert").min()
    if first is None:
        return seal(
            pl.DataFrame(
                schema={
                    "ar": pl.Int64,
                    "dato": pl.Date,
                    "identifisert": pl.Float64,
                    "realisert": pl.Float64,
                }
            )
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
    return seal(pl.DataFrame(rows))


def rollout(ds: Datasets, area: str | None = None) -> Gated:
    """Active and trained units at each year end from the first Lean start up to D."""
    units = _area(ds.units, area)
    first = units.get_column("lean_start").min()
    as_of = ds.period.as_of
    if first is None:
        return seal(pl.DataFrame(schema={"ar": pl.Int64, "aktive": pl.Int64, "trent": pl.Int64}))
    rows = []
    for year in range(first.year, as_of.year + 1):
        d = min(dt.date(year, 12, 31), as_of)
        status = calendar.units(units, d)
        rows.append(
            {
                "ar": year,
                "aktive": int(status.get_column("aktiv").sum()),
                "trent": int(status.get_column("lean").sum()),
            }
        )
    return seal(pl.DataFrame(rows))


def backlog(ds: Datasets, area: str | None = None) -> Gated:
    """Gains identified but not yet realised as of D, by unit: how many, how much, how long."""
    pending = _area(ds.gains, area).filter(pl.col("status") == datasets.PENDING)
    return seal(
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


def monthly_sick_leave(ds: Datasets, area: str | None = None) -> Gated:
    """Sick leave per month (sum of absence over sum of agreed days) for an area or all.

    Hidden months (privacy) have no figures, only the reason in `sykefravaer_prosent_prikket`
    (and in the flags of the absence and agreed days).
    """
    frame = (
        _area(ds.unit_months, area)
        .group_by("maned")
        .agg(exact_sum("fravaer_dagsverk"), exact_sum("avtalte_dagsverk"))
        .with_columns(measures.expr("sykefravaer_prosent"))
        .sort("maned")
    )
    cells = Cells(
        privacy.AREA_MONTH, privacy.SICK, {"maned": "maned"}, {"tjenesteomrade": area or WHOLE}
    )
    sensitive = (privacy.SICK, "fravaer_dagsverk", "avtalte_dagsverk")
    return passed(frame, ds.hidden, dict.fromkeys(sensitive, cells))


def lean_starts(ds: Datasets, area: str | None = None) -> Gated:
    """Each unit's Lean start up to D, with the month it falls in."""
    return seal(
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


def unit_table(ds: Datasets, area: str) -> Gated:
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
        .join(gains, on="enhet_id", how="left", maintain_order="left")
        .join(this, on="enhet_id", how="left", maintain_order="left")
        .join(before, on="enhet_id", how="left", maintain_order="left")
        .with_columns(pl.col("identifisert_arsverk", "realisert_arsverk").fill_null(0.0))
        .sort(pl.col("enhet").map_elements(sort_key, return_dtype=pl.String))
    )
    unit = {"enhet_id": "enhet_id"}
    return passed(
        table,
        ds.hidden,
        {
            "sykefravaer_prosent": Cells(privacy.UNIT_YEAR, privacy.SICK, unit, {"ar": year}),
            "sykefravaer_prosent_i_fjor": Cells(
                privacy.UNIT_YEAR, privacy.SICK, unit, {"ar": year - 1}
            ),
        },
    )


def all_units(ds: Datasets) -> Gated:
    """Every unit's figures (unit_table for each area), for the machine-readable download.

    With a `forbedringer` table, each unit's proposal counts of the year are added.
    """
    areas = sorted(ds.units.get_column("tjenesteomrade").unique().to_list(), key=sort_key)
    out = pl.concat(
        [unit_table(ds, a).with_columns(tjenesteomrade=pl.lit(a)) for a in areas]
    ).select("tjenesteomrade", pl.exclude("tjenesteomrade"))
    if ds.ideas is not None:
        ideas = pl.concat([idea_counts(ds, a, by_unit=True) for a in areas])
        out = out.join(
            ideas.drop("enhet", "aktiv"), on="enhet_id", how="left", maintain_order="left"
        )
    return seal(out)


def unit_changes(ds: Datasets, area: str | None = None) -> dict:
    """Units closed and opened in the report year, and like-for-like sums of both years.

    Like for like: the units active on D with resource figures in both years; both years
    cover the same months (those complete on D). Returns `closed` (units closed in the year up to D,
    with last year's figures), `opened` (units with figures this year but none last year),
    `all` and `same` (sums `now` and `before`: `arsverk`, `regnskap_kr`, `budsjett_kr`,
    `enheter`).
    """
    year, months = ds.period.year, ds.period.months
    rows = _area(ds.unit_months, area).filter(pl.col("maned").dt.month() <= months)
    now = rows.filter(pl.col("ar") == year)
    before = rows.filter(pl.col("ar") == year - 1)

    def sums(frame: pl.DataFrame) -> dict:
        out = frame.select(
            exact_sum("arsverk"), exact_sum("regnskap_kr"), exact_sum("budsjett_kr")
        ).row(0, named=True)
        out["arsverk"] = (out["arsverk"] or 0.0) / max(months, 1)
        out["enheter"] = frame.get_column("enhet_id").n_unique()
        return out

    ids_now = set(now.get_column("enhet_id").to_list())
    ids_before = set(before.get_column("enhet_id").to_list())
    both = sorted(ids_now & ids_before)
    units = _area(ds.units, area)
    start = dt.date(year, 1, 1)
    closed_units = units.filter(
        pl.col("lagt_ned").is_not_null()
        & (pl.col("lagt_ned") >= start)
        & (pl.col("lagt_ned") <= ds.period.as_of)
    )
    last_year = (
        before.group_by("enhet_id")
        .agg(exact_sum("arsverk"), exact_sum("regnskap_kr"))
        .with_columns(pl.col("arsverk") / max(months, 1))
    )
    closed = (
        closed_units.select("enhet_id", "enhet", "lagt_ned")
        .join(last_year, on="enhet_id", how="left", maintain_order="left")
        .rename({"arsverk": "arsverk_i_fjor", "regnskap_kr": "regnskap_kr_i_fjor"})
        .sort("lagt_ned", "enhet")
    )
    this_year = (
        now.group_by("enhet_id")
        .agg(exact_sum("arsverk"), exact_sum("regnskap_kr"))
        .with_columns(pl.col("arsverk") / max(months, 1))
    )
    opened = (
        units.filter(pl.col("enhet_id").is_in(sorted(ids_now - ids_before)))
        .select("enhet_id", "enhet")
        .join(this_year, on="enhet_id", how="left", maintain_order="left")
        .sort("enhet")
    )
    # Like for like: figures in both years, and not closed during the year.
    same_units = sorted(set(both) - set(closed.get_column("enhet_id").to_list()))
    keep = pl.col("enhet_id").is_in(same_units)
    return {
        "closed": closed,
        "opened": opened,
        "all": {"now": sums(now), "before": sums(before)},
        "same": {"now": sums(now.filter(keep)), "before": sums(before.filter(keep))},
    }


def followup(ds: Datasets, area: str | None = None, old_days: int = 365, top: int = 5) -> dict:
    """What needs following up as of D (the data contract's reporting semantics).

    `overdue`: pending gains whose `planlagt_realisert` is before D (`forsinket`); `old`:
    pending gains without a plan date that have waited more than `old_days`; `no_gain`:
    trained active units without any gain identified by D (rejected gains do not count);
    `sick_rise`: the `top` units whose sick leave rose most from the year before (hidden
    figures left out).
    """
    gains = _area(ds.gains, area)
    as_of = pl.lit(ds.period.as_of, pl.Date)
    columns = ("gevinst_id", "enhet", "arsverk", "identifisert", "ansvarlig_rolle")
    overdue = (
        gains.filter(pl.col("forsinket"))
        .select(
            *columns,
            "planlagt_realisert",
            dager_forsinket=(as_of - pl.col("planlagt_realisert")).dt.total_days(),
        )
        .sort("dager_forsinket", "gevinst_id", descending=[True, False])
    )
    old = (
        gains.filter(
            (pl.col("status") == datasets.PENDING)
            & pl.col("planlagt_realisert").is_null()
            & (pl.col("ventet_dager") > old_days)
        )
        .select(*columns, "ventet_dager")
        .sort("ventet_dager", "gevinst_id", descending=[True, False])
    )
    # Identified as of D: registered by D and not rejected by D (realised or pending).
    identified = pl.col("status").is_in([datasets.PENDING, datasets.REALISED])
    with_gain = gains.filter(identified).get_column("enhet_id")
    no_gain = (
        _area(ds.units, area)
        .filter(pl.col("lean") & ~pl.col("enhet_id").is_in(with_gain.unique().implode()))
        .select("enhet", "lean_start")
        .sort("lean_start", "enhet")
    )
    rise = pl.DataFrame(schema={"enhet": pl.String, "i_fjor": pl.Float64, "i_ar": pl.Float64})
    if area is not None:
        shown = ["sykefravaer_prosent", "sykefravaer_prosent_i_fjor"]
        rise = (
            unit_table(ds, area)
            .drop_nulls(shown)
            .select(
                "enhet",
                i_fjor=pl.col("sykefravaer_prosent_i_fjor"),
                i_ar=pl.col("sykefravaer_prosent"),
            )
            .with_columns(endring=pl.col("i_ar") - pl.col("i_fjor"))
            # A rise the page shows as ±0,0 percentage points is no rise.
            .filter(
                pl.col("endring").map_elements(
                    lambda d: measures.shown_difference("sykefravaer_prosent", d) > 0,
                    return_dtype=pl.Boolean,
                )
            )
            .sort("endring", "enhet", descending=[True, False])
            .head(top)
        )
    return {"overdue": overdue, "old": old, "no_gain": no_gain, "sick_rise": rise}
