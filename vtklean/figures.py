"""Key figures (nøkkeltall) per service area and for the whole municipality, from the datasets."""

from __future__ import annotations

import polars as pl

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
    return out.select(COLUMNS)


def rounded(figures: pl.DataFrame) -> pl.DataFrame:
    """The key figures rounded as they are exported (sums are rounded, not truncated)."""
    return figures.with_columns(pl.col(c).round(n) for c, n in DECIMALS.items())


def category_totals(ds: Datasets) -> pl.DataFrame:
    """Identified and realised årsverk by category of gain, as of D, largest realised first."""
    return (
        ds.gains.group_by("kategori")
        .agg(
            exact_sum("identifisert_arsverk"),
            exact_sum("realisert_arsverk_dato").alias("realisert_arsverk"),
        )
        .sort("realisert_arsverk", "kategori", descending=[True, False])
    )
