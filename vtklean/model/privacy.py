"""Privacy in what the reports publish: small-cell suppression and gain owners by role only.

Suppression (prikking), as SSB and Udir practise it:

* primary: a unit's (or an aggregate's) sick leave and headcount are hidden when it has
  fewer than `threshold` employees (`ansatte` in its last month of the period; where
  `ansatte` is missing, fewer than `threshold` årsverk);
* secondary: no hidden value may be recovered by subtraction from a shown total. The
  totals the reports show are the service area over its units, the municipality over
  its areas and over its months, and the year over its months. Wherever a shown total has
  exactly one hidden part, the smallest shown part is hidden too (one extra cell per such
  total, the fewest that closes it); a hidden total with every part shown gets its
  smallest part hidden.

Hidden cells are listed in one table (the `prikking` dataset); this module decides them
and nothing else does. The gate (`vtklean.model.gate`) applies them to every frame the
model hands on: the values never leave the library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import polars as pl

WHOLE = "Hele kommunen"
PRIMARY = "primær"
SECONDARY = "sekundær"
SICK = "sykefravaer_prosent"
HEADCOUNT = "ansatte"

UNIT_YEAR, AREA_YEAR, AREA_MONTH = "enhet_ar", "omrade_ar", "omrade_maned"
SCHEMA = {
    "niva": pl.String,
    "tjenesteomrade": pl.String,
    "enhet_id": pl.String,
    "ar": pl.Int32,
    "maned": pl.Date,
    "maal": pl.String,
    "grunn": pl.String,
    "grense": pl.Float64,
}

# Roles a gain owner (`ansvarlig`) may be shown as; anything else may be a person's name
# and is shown as OTHER_ROLE. More roles can be listed in params/build.yaml.
ROLES = (
    "Avdelingsleder",
    "Enhetsleder",
    "Fagkoordinator",
    "Fagleder",
    "Kommunaldirektør",
    "Kommunalsjef",
    "Kommunedirektør",
    "Leanveileder",
    "Lean-koordinator",
    "Prosjektleder",
    "Rektor",
    "Rådmann",
    "Seksjonsleder",
    "Styrer",
    "Teamleder",
    "Tjenesteleder",
    "Virksomhetsleder",
)
OTHER_ROLE = "Annen ansvarlig (ikke vist)"


@dataclass(frozen=True)
class Rule:
    """What is hidden: the threshold, and the roles a gain owner may be shown as."""

    threshold: float = 5
    roles: tuple[str, ...] = field(default=ROLES)


def role(expr: pl.Expr, roles: Iterable[str]) -> pl.Expr:
    """A gain owner as a role from the list, else OTHER_ROLE; empty stays empty."""
    known = {r.casefold(): r for r in roles}
    cleaned = expr.str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()
    return (
        pl.when(expr.is_null() | (cleaned == ""))
        .then(None)
        .otherwise(cleaned.replace_strict(known, default=OTHER_ROLE, return_dtype=pl.String))
    )


# ---- which cells are hidden --------------------------------------------------------------


def _sum(column: str) -> pl.Expr:
    """An exact sum (6 decimals): sizes, and so ties between them, never depend on row order."""
    return pl.col(column).cast(pl.Decimal(38, 6)).sum().cast(pl.Float64)


def _size(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Headcount per group (sum), or årsverk where any member lacks a headcount."""
    return frame.group_by(keys).agg(
        pl.when(pl.col("ansatte").null_count() == 0)
        .then(pl.col("ansatte").sum().cast(pl.Float64))
        .otherwise(_sum("arsverk"))
        .alias("storrelse")
    )


# A unit-year's size is made of the headcount of its last month and how many of its months
# have årsverk (with the exact sum of those). datasets.unit_years makes them in the same
# pass as its own sums; `_sizes` makes them from the months when it is not given them.
LAST_HEADCOUNT, FTE_MONTHS = "_ansatte_siste", "_arsverk_maneder"
SIZE_PARTS = (LAST_HEADCOUNT, FTE_MONTHS)


def size_parts() -> list[pl.Expr]:
    """Aggregations over a unit-year's months: what its size is made of (SIZE_PARTS)."""
    return [
        pl.col("ansatte").get(pl.col("maned").arg_max()).alias(LAST_HEADCOUNT),
        pl.col("arsverk").count().alias(FTE_MONTHS),
    ]


def unit_year_sizes(unit_years: pl.DataFrame) -> pl.DataFrame:
    """The sizes `hidden_cells` takes, from one row per unit-year with its SIZE_PARTS.

    `unit_years` has tjenesteomrade, enhet_id, ar, `arsverk` (the exact sum over the
    months) and SIZE_PARTS; the sizes are the headcount in the last month and the mean
    årsverk of the months (the areas' sizes need both).
    """
    return unit_years.select(
        "enhet_id",
        "ar",
        "tjenesteomrade",
        pl.col(LAST_HEADCOUNT).alias("ansatte"),
        pl.col("arsverk") / pl.col(FTE_MONTHS),
    )


def _sizes(
    unit_months: pl.DataFrame, unit_years: pl.DataFrame | None = None
) -> dict[str, pl.DataFrame]:
    """Sizes of every cell the reports can show, by level (`unit_years`: see hidden_cells)."""
    m = unit_months.lazy().select(
        "enhet_id", "tjenesteomrade", "maned", "ansatte", "arsverk", ar=pl.col("maned").dt.year()
    )
    if unit_years is None:
        unit_years = _unit_year_sizes(m)
    last = unit_years.lazy()
    unit_year = last.with_columns(
        storrelse=pl.coalesce(pl.col("ansatte").cast(pl.Float64), pl.col("arsverk"))
    )
    both = pl.concat([last, last.with_columns(tjenesteomrade=pl.lit(WHOLE))])
    # Months: the areas' sums first, then the municipality's as the sum of the areas'.
    # Årsverk decide only where a headcount is missing, so they are summed only in the
    # months where one is (in every area of such a month: the municipality's needs them).
    areas = m.group_by("tjenesteomrade", "maned").agg(
        pl.col("ansatte").sum(), pl.col("ansatte").null_count().alias("ansatte_nuller")
    )
    gaps = m.filter(pl.col("ansatte").is_null()).select("maned").unique()
    fte = (
        m.join(gaps, on="maned", how="semi", nulls_equal=True)
        .group_by("tjenesteomrade", "maned")
        .agg(_sum("arsverk"))
    )
    areas = areas.join(fte, on=["tjenesteomrade", "maned"], how="left", nulls_equal=True)
    whole = areas.group_by("maned").agg(
        pl.col("ansatte").sum(), pl.col("ansatte_nuller").sum(), _sum("arsverk")
    )
    months = pl.concat([areas, whole.with_columns(tjenesteomrade=pl.lit(WHOLE))], how="diagonal")
    unit_year, area_year, area_month = pl.collect_all(
        [
            unit_year.select("tjenesteomrade", "enhet_id", "ar", "storrelse"),
            _size(both, ["tjenesteomrade", "ar"]),
            months.select(
                "tjenesteomrade",
                "maned",
                storrelse=pl.when(pl.col("ansatte_nuller") == 0)
                .then(pl.col("ansatte").cast(pl.Float64))
                .otherwise(pl.col("arsverk")),
                ar=pl.col("maned").dt.year(),
            ),
        ]
    )
    return {UNIT_YEAR: unit_year, AREA_YEAR: area_year, AREA_MONTH: area_month}


def _unit_year_sizes(m: pl.LazyFrame) -> pl.DataFrame:
    """`unit_year_sizes` from the months (columns enhet_id, tjenesteomrade, maned, ar, ...).

    The rows of a unit-year are one run when the months are sorted by unit (as built); a
    key found in two runs means they are not, and then they are grouped by key.
    """
    parts = [pl.col("enhet_id", "ar", "tjenesteomrade").first(), _sum("arsverk"), *size_parts()]
    run = pl.struct("enhet_id", "ar").rle_id().alias("_run")
    last = m.group_by(run).agg(parts).drop("_run").collect()
    if not last.select(pl.struct("enhet_id", "ar").is_unique().all()).item():
        keys = [pl.col("enhet_id").alias("_id"), pl.col("ar").alias("_ar")]
        last = m.group_by(keys).agg(parts).drop("_id", "_ar").collect()
    return unit_year_sizes(last)


Key = tuple


def _close(
    hidden: dict[Key, str], size: dict[Key, float], relations: list[tuple[Key, list[Key]]]
) -> None:
    """Secondary suppression: hide cells until no relation gives a hidden cell away."""
    pending = list(relations)
    by_member: dict[Key, list[int]] = defaultdict(list)
    for i, (total, parts) in enumerate(relations):
        for k in (total, *parts):
            by_member[k].append(i)
    queue = set(range(len(pending)))
    while queue:
        i = min(queue)
        queue.discard(i)
        total, parts = pending[i]
        n_hidden = sum(p in hidden for p in parts)
        exposed = n_hidden == 0 if total in hidden else n_hidden == 1
        if not exposed or (total in hidden and not parts):
            continue
        shown = [p for p in parts if p not in hidden]
        pick = min(shown, key=lambda k: (size.get(k, 0.0), k)) if shown else total
        hidden[pick] = SECONDARY
        queue.update(by_member[pick])
        queue.add(i)


def _cells(frame: pl.DataFrame, level: str, *columns: str | None) -> list[tuple[Key, float]]:
    """(key, size) for every row; a key is (level, area, unit, year, month)."""
    values = [frame.get_column(c).to_list() if c else [None] * frame.height for c in columns]
    return [
        ((level, *key), size)
        for *key, size in zip(*values, frame.get_column("storrelse").to_list(), strict=True)
    ]


def _unit_parts(unit_year: pl.DataFrame, threshold: float) -> list[tuple[Key, float]]:
    """The unit-years the closing needs: the hidden ones, and each area-year's smallest other.

    A unit-year is a part of its area-year's relation and of no other, and that relation
    hides at most one unit: with one hidden unit under a shown total, or none under a hidden
    total, the smallest shown unit (by size, then id). It therefore closes the same way with
    only its hidden units and its smallest shown unit as parts, so the loop in `_close`
    visits a few cells per area-year instead of every unit-year (found here by polars).
    """
    small = pl.col("storrelse").is_not_null() & (pl.col("storrelse") < threshold)
    smallest = (
        unit_year.filter(~small)
        .group_by("tjenesteomrade", "ar")
        .agg(pl.col("enhet_id", "storrelse").sort_by("storrelse", "enhet_id").first())
    )
    parts = pl.concat([unit_year.filter(small), smallest], how="diagonal")
    return _cells(parts, UNIT_YEAR, "tjenesteomrade", "enhet_id", "ar", None)


def hidden_cells(
    unit_months: pl.DataFrame, rule: Rule, unit_years: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every hidden cell (level, keys, measure, primary or secondary), sorted.

    `unit_years` are the unit-years' sizes (`unit_year_sizes`) when the caller has made
    them from the same months (datasets.build does), else they are made here.
    """
    sizes = _sizes(unit_months, unit_years)
    return _closed(sizes, _unit_parts(sizes[UNIT_YEAR], rule.threshold), rule)


def _closed(
    sizes: dict[str, pl.DataFrame], unit_years: list[tuple[Key, float]], rule: Rule
) -> pl.DataFrame:
    """The hidden cells of every level, with `unit_years` as the area-years' parts."""
    area_years = _cells(sizes[AREA_YEAR], AREA_YEAR, "tjenesteomrade", None, "ar", None)
    area_months = _cells(sizes[AREA_MONTH], AREA_MONTH, "tjenesteomrade", None, "ar", "maned")

    def grouped(cells: list[tuple[Key, float]], total: Callable[[Key], Key]) -> dict:
        out: dict[Key, list[Key]] = defaultdict(list)
        for key, _ in cells:
            t = total(key)
            if t is not None:
                out[t].append(key)
        return out

    # Totals the reports show, each with its parts (kind orders relations sharing a total).
    def year_of(k: Key) -> Key:
        return (AREA_YEAR, k[1], None, k[3], None)

    whole_year = grouped(
        area_years, lambda k: (AREA_YEAR, WHOLE, None, k[3], None) if k[1] != WHOLE else None
    )
    by_unit = grouped(unit_years, year_of)
    by_month = grouped(area_months, year_of)
    whole_month = grouped(
        area_months, lambda k: (AREA_MONTH, WHOLE, None, k[3], k[4]) if k[1] != WHOLE else None
    )
    rows: list[dict] = []
    for measure in (SICK, HEADCOUNT):
        relations = [(t, 0, p) for t, p in whole_year.items()]
        cells = list(area_years)
        if measure == SICK:
            # Unit years and months are shown for sick leave only (headcount: area years).
            relations += [(t, 1, p) for t, p in by_unit.items()]
            relations += [(t, 2, p) for t, p in by_month.items()]
            relations += [(t, 3, p) for t, p in whole_month.items()]
            cells += unit_years + area_months
        size = dict(cells)
        hidden = {k: PRIMARY for k, v in cells if v is not None and v < rule.threshold}
        relations.sort(key=lambda r: (r[0], r[1]))
        _close(hidden, size, [(t, p) for t, _, p in relations])
        rows += [
            {
                "niva": k[0],
                "tjenesteomrade": k[1],
                "enhet_id": k[2],
                "ar": k[3],
                "maned": k[4],
                "maal": measure,
                "grunn": why,
                "grense": float(rule.threshold),
            }
            for k, why in hidden.items()
        ]
    return pl.DataFrame(rows, schema=SCHEMA).sort(pl.all())
