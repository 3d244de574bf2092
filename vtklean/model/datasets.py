"""Processed datasets as of a date: units, gains with status, unit-month, unit-year, area-year.

All functions are pure: typed frames in, frames out. The as-of rules are the data
contract's: a report as of D shows the registers as they stood on D.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from vtklean.core import measures
from vtklean.core.calendar import Period, missing_months, units
from vtklean.model import privacy, targets

WHOLE = privacy.WHOLE

# Gain status as of D.
NOT_YET = "ikke_registrert"  # identified after D
REJECTED = "forkastet"
REALISED = "realisert"
PENDING = "identifisert"  # identified, not realised, not rejected


def gains(
    gevinster: pl.DataFrame,
    unit_frame: pl.DataFrame,
    as_of: dt.date,
    roles: tuple[str, ...] = privacy.ROLES,
) -> pl.DataFrame:
    """Gains with their status and counted årsverk and kroner as of D.

    `identifisert_arsverk` is the gain's årsverk when it counts as identified on D;
    `realisert_arsverk_dato` what counts as realised on D (`realisert_arsverk`, or the
    whole gain where that is empty); kroner are realised in the same share. The gain
    owner is kept only as a role (`ansvarlig_rolle`): a value that is not one of `roles`
    may be a person's name and is not carried on.
    """
    d = pl.lit(as_of, pl.Date)
    # Raw gains carry `ansvarlig`; gains already processed carry only the role.
    if "ansvarlig" in gevinster.columns:
        owner = privacy.role(pl.col("ansvarlig"), roles).alias("ansvarlig_rolle")
    else:
        owner = pl.col("ansvarlig_rolle")
    known = pl.col("identifisert") <= d
    rejected = known & pl.col("forkastet").is_not_null() & (pl.col("forkastet") <= d)
    realised = known & pl.col("realisert").is_not_null() & (pl.col("realisert") <= d)
    counted = known & ~rejected
    realised_fte = pl.coalesce(pl.col("realisert_arsverk"), pl.col("arsverk"))
    share = realised_fte / pl.col("arsverk")
    return (
        gevinster.select(
            "gevinst_id",
            "enhet_id",
            "beskrivelse",
            "metode",
            "kategori",
            "arsverk",
            "belop_kr",
            "identifisert",
            "realisert",
            "realisert_arsverk",
            "forkastet",
            "planlagt_realisert",
            owner,
        )
        .join(
            unit_frame.select("enhet_id", "enhet", "tjenesteomrade"),
            on="enhet_id",
            how="left",
        )
        .with_columns(
            status=pl.when(~known)
            .then(pl.lit(NOT_YET))
            .when(rejected)
            .then(pl.lit(REJECTED))
            .when(realised)
            .then(pl.lit(REALISED))
            .otherwise(pl.lit(PENDING)),
            identifisert_arsverk=pl.when(counted).then(pl.col("arsverk")).otherwise(0.0),
            identifisert_kr=pl.when(counted).then(pl.col("belop_kr")),
            realisert_arsverk_dato=pl.when(counted & realised).then(realised_fte).otherwise(0.0),
            realisert_kr_dato=pl.when(counted & realised).then(pl.col("belop_kr") * share),
            ventet_dager=pl.when(counted & ~realised)
            .then((d - pl.col("identifisert")).dt.total_days())
            .cast(pl.Int64),
            # Overdue: pending on D with a planned realisation date before D.
            forsinket=(counted & ~realised & (pl.col("planlagt_realisert") < d)).fill_null(False),
        )
        .sort("gevinst_id")
    )


def unit_months(
    ressursbruk: pl.DataFrame, unit_frame: pl.DataFrame, cutoff: dt.date
) -> pl.DataFrame:
    """Monthly resource rows up to the cutoff month, with the unit's area and Lean timing."""
    frame = ressursbruk.filter(pl.col("maned") <= pl.lit(cutoff, pl.Date)).select(
        "enhet_id",
        "maned",
        "budsjett_kr",
        "regnskap_kr",
        "arsverk",
        "ansatte",
        "avtalte_dagsverk",
        "fravaer_dagsverk",
        "volum",
    )
    unit = (
        unit_frame.select("enhet_id", "enhet", "tjenesteomrade", "lean_start", "pilot")
        .sort("enhet_id")
        # The Lean start's month as one number, once per unit rather than per row.
        .with_columns(_lean=_month_number("lean_start").cast(pl.Int32))
    )
    place = _places(frame.get_column("enhet_id"), unit.get_column("enhet_id"))
    # Sorted by unit and month. The unit's place in enhet_id order sorts as its text id
    # does, and far faster as one number with the month; the unit's columns are then taken
    # by place (a unit not in the register: joined and sorted by text).
    if place.null_count() == 0:
        order = pl.col("_nr").cast(pl.Int64) * 2**32 + pl.col("maned").cast(pl.Int64)
        frame = frame.with_columns(_nr=place).sort(order)
        frame = pl.concat(
            [frame.drop("_nr"), unit.drop("enhet_id")[frame.get_column("_nr")]],
            how="horizontal",
        )
    else:
        frame = frame.join(unit, on="enhet_id", how="left").sort("enhet_id", "maned")
    months_since = _month_number("maned") - pl.col("_lean")
    return measures.with_ratios(
        frame.with_columns(ar=pl.col("maned").dt.year(), lean_maned=months_since.cast(pl.Int64)),
        RATIOS,
    ).drop("_lean")


def _places(ids: pl.Series, register: pl.Series) -> pl.Series:
    """Each id's row number in `register` (null where it is not there, or not once).

    Looked up once per run of equal ids: the exports list a unit's months together, so
    a national file needs a twelfth of the lookups of text ids. Rows in any order give the
    same numbers.
    """
    if not register.is_unique().all():
        return pl.Series(ids.name, [None] * len(ids), pl.UInt32)
    runs = ids.rle().struct.field("value").to_frame("enhet_id")
    place = runs.join(
        register.to_frame("enhet_id").with_row_index("_nr"),
        on="enhet_id",
        how="left",
        maintain_order="left",  # one place per run, in the runs' order
    ).get_column("_nr")
    return place.gather(ids.rle_id())


def _month_number(column: str) -> pl.Expr:
    """A date's month as one number (year * 12 + month), so months apart is a difference."""
    return pl.col(column).dt.year().cast(pl.Int64) * 12 + pl.col(column).dt.month().cast(pl.Int64)


MONTH_NAMES = (
    "januar", "februar", "mars", "april", "mai", "juni",
    "juli", "august", "september", "oktober", "november", "desember",
)  # fmt: skip


def _month_list(months: list[dt.date]) -> str:
    names = [MONTH_NAMES[m.month - 1] for m in months]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} og {names[-1]}"


def missing_months_sentence(
    missing: pl.DataFrame, period: Period, active: int, limit: int = 8
) -> str | None:
    """Say in bokmål which months of the report year are missing, or None when none are.

    `missing` is `missing_months` for the `active` units of a page (one service area, or
    all). A year with a month missing is not a full year: its sums cover fewer months, and
    årsverk is still the sum divided by the period's months (12 for a whole year).
    """
    if missing.is_empty():
        return None
    year, months = period.year, period.months
    by_unit = (
        missing.group_by("enhet_id", "enhet")
        .agg(pl.col("maned").sort())
        .sort("enhet_id")
        .with_columns(key=pl.col("maned").cast(pl.List(pl.String)).list.join(","))
    )
    if active > 1 and by_unit.height == active and by_unit.get_column("key").n_unique() == 1:
        gone = by_unit.get_column("maned")[0].to_list()
        return (
            f"Ressursbruk for {_month_list(gone)} {year} mangler for alle de {active} "
            f"enhetene, så tallene for {year} gjelder bare {months - len(gone)} av {months} "
            f"måneder (årsverk er likevel summen delt på {months}). Året er ikke komplett."
        )

    def which(gone: list[dt.date]) -> str:
        return "alle månedene" if len(gone) == months else _month_list(gone)

    parts = [
        f"{r['enhet']} ({which(r['maned'])})" for r in by_unit.head(limit).iter_rows(named=True)
    ]
    more = by_unit.height - limit
    listed = ", ".join(parts) + (f" og {more} enheter til" if more > 0 else "")
    return (
        f"Ressursbruk mangler for {by_unit.height} av {active} aktive enheter i {year}: "
        f"{listed}. Tallene for {year} er derfor ikke komplette (årsverk er summen av "
        f"månedene delt på {months})."
    )


def missing_note(ds: Datasets, area: str | None = None) -> str | None:
    """The sentence a page shows about missing months (one service area, or all)."""
    unit_frame = ds.units if area is None else ds.units.filter(pl.col("tjenesteomrade") == area)
    missing = missing_months(unit_frame, ds.unit_months, ds.period)
    active = unit_frame.filter(pl.col("aktiv")).height
    return missing_months_sentence(missing, ds.period, active)


def exact_sum(column: str) -> pl.Expr:
    """Sum a column in exact decimals (6 places), so the result never depends on the order.

    Float sums in a parallel group-by depend on how rows are split between threads; exact
    decimal sums make the processed files byte-identical from run to run.
    """
    return pl.col(column).cast(pl.Decimal(38, 6)).sum().cast(pl.Float64).alias(column)


_SUMS = ("budsjett_kr", "regnskap_kr", "arsverk", "avtalte_dagsverk", "fravaer_dagsverk", "volum")
RATIOS = ("sykefravaer_prosent", "budsjettavvik_prosent", "kostnad_per_volum")


def _with_ratios(frame: pl.DataFrame) -> pl.DataFrame:
    """Yearly ratios from yearly sums (never averages of monthly ratios)."""
    return measures.with_ratios(frame, RATIOS)


def unit_years(month_frame: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Yearly resource figures per unit (ratios of sums, never averages of ratios).

    Headcount (`ansatte`) is the count in the year's last month in the data.
    """
    return _unit_years(month_frame, period)[0]


def _unit_years(month_frame: pl.DataFrame, period: Period) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`unit_years`, and the unit-years' sizes for suppression (privacy.unit_year_sizes).

    Both come from one pass over the months: the sizes need the same groups and the same
    exact sum of årsverk.
    """
    keys = ["enhet_id", "enhet", "tjenesteomrade", "ar"]
    months_in_year = (
        pl.when(pl.col("ar") == period.year).then(period.months).otherwise(12).cast(pl.Float64)
    )

    def sums(frame: pl.DataFrame) -> pl.DataFrame:
        """One row per run of rows of one unit-year, in the order of the runs."""
        run = pl.col("_run")
        frame = frame.with_columns(pl.struct("enhet_id", "ar").rle_id().alias("_run"))
        # Headcount of the run's last month. Where the months rise within every run (as
        # unit_months sorts them), that is the run's last row; otherwise the rows of its
        # latest month are marked over whole columns (a filter inside the aggregation runs
        # group by group). A sum, so that a missing headcount counts 0.
        rising = (run != run.shift()) | (pl.col("maned") > pl.col("maned").shift())
        if frame.select(rising.slice(1).all(ignore_nulls=False)).item() is True:
            headcount = pl.col("ansatte").last().sum()
        else:
            last = pl.col("maned") == pl.col("maned").max().over(run)
            frame = frame.with_columns(ansatte=pl.when(last).then(pl.col("ansatte")))
            headcount = pl.col("ansatte").sum()
        return (
            frame.group_by(run, maintain_order=True)
            .agg(
                pl.col(keys).first(),
                *[exact_sum(c) for c in _SUMS],
                pl.len().alias("maneder"),
                headcount.alias("ansatte"),
                # The last month's headcount as it is there (missing stays missing).
                *privacy.size_parts(),
            )
            .drop("_run")
        )

    # Rows sorted by unit and month (unit_months) make each unit-year one run, and the
    # runs come in key order; otherwise the rows are sorted first.
    out = sums(month_frame)
    after = (pl.col("enhet_id") > pl.col("enhet_id").shift()) | (
        (pl.col("enhet_id") == pl.col("enhet_id").shift()) & (pl.col("ar") > pl.col("ar").shift())
    )
    if out.select(after.slice(1).all(ignore_nulls=False)).item() is not True:
        out = sums(month_frame.sort("enhet_id", "maned"))
    sizes = privacy.unit_year_sizes(out)
    # årsverk is the sum over the months / the months in the year's period (12 for a year).
    out = out.drop(privacy.SIZE_PARTS).with_columns(arsverk=pl.col("arsverk") / months_in_year)
    return _with_ratios(out), sizes


def area_years(unit_year: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Yearly resource figures per service area, plus one row per year for the municipality.

    Built from the unit-year sums (sums are additive; within a year every unit's årsverk
    is divided by the same number of months), not from every month again.
    """
    # The areas and the municipality as two lazy parts of one query: polars runs them at once.
    units = unit_year.lazy()
    columns = unit_year.drop("enhet_id", "enhet").columns
    parts = [
        frame.group_by("tjenesteomrade", "ar")
        .agg(*[exact_sum(c) for c in _SUMS], pl.col("maneder").sum(), pl.col("ansatte").sum())
        .with_columns(measures.expr(k) for k in RATIOS)
        .select(columns)
        for frame in (units, units.with_columns(tjenesteomrade=pl.lit(WHOLE)))
    ]
    return pl.concat(parts).sort("tjenesteomrade", "ar").collect()


@dataclass(frozen=True)
class Datasets:
    """Every processed dataset of one build."""

    period: Period
    units: pl.DataFrame
    gains: pl.DataFrame
    unit_months: pl.DataFrame
    unit_years: pl.DataFrame
    area_years: pl.DataFrame
    ideas: pl.DataFrame | None
    hidden: pl.DataFrame  # cells the reports must not show (privacy.hidden_cells)
    targets: pl.DataFrame | None = None  # the report year's targets (targets.prepare)
    comments: pl.DataFrame | None = None  # the leaders' comments for the report year

    def frames(self) -> dict[str, pl.DataFrame]:
        """The datasets by file stem (FILES), as written to the processed folder."""
        found = {stem: getattr(self, name) for name, stem in FILES.items()}
        return {stem: frame for stem, frame in found.items() if frame is not None}


# Each dataset (a field of Datasets) with its file stem in the processed folder, in the
# order they are written; the OPTIONAL ones are None, and have no file, when absent.
FILES = {
    "units": "enheter",
    "gains": "gevinster",
    "unit_months": "enhet_maned",
    "unit_years": "enhet_ar",
    "area_years": "tjenesteomrade_ar",
    "hidden": "prikking",
    "ideas": "forbedringer",
    "targets": "mal",
    "comments": "kommentarer",
}
OPTIONAL = ("ideas", "targets", "comments")


def build(
    tables: dict[str, pl.DataFrame],
    period: Period,
    rule: privacy.Rule | None = None,
    tolerances: dict[str, float] | None = None,
) -> Datasets:
    """Build every dataset from typed raw tables for a report period.

    `tolerances` overrides the registry's target tolerance per key figure.
    """
    rule = rule or privacy.Rule()
    unit_frame = units(tables["enheter"], period.as_of)
    months = unit_months(tables["ressursbruk"], unit_frame, period.cutoff)
    ideas = tables.get("forbedringer")
    if ideas is not None:
        ideas = (
            ideas.filter(pl.col("registrert") <= pl.lit(period.as_of, pl.Date))
            .select("forslag_id", "enhet_id", "registrert", "status", "avsluttet")
            .with_columns(
                # Status as it stood on D: a proposal closed after D was still in progress.
                status=pl.when(pl.col("avsluttet") > pl.lit(period.as_of, pl.Date))
                .then(pl.lit("pagar"))
                .otherwise(pl.col("status")),
                avsluttet=pl.when(pl.col("avsluttet") <= pl.lit(period.as_of, pl.Date)).then(
                    pl.col("avsluttet")
                ),
            )
            .sort("forslag_id")
        )
    unit_year_frame, sizes = _unit_years(months, period)
    return Datasets(
        period=period,
        units=unit_frame,
        gains=gains(tables["gevinster"], unit_frame, period.as_of, rule.roles),
        unit_months=months,
        unit_years=unit_year_frame,
        area_years=area_years(unit_year_frame, period),
        ideas=ideas,
        hidden=privacy.hidden_cells(months, rule, sizes),
        targets=targets.prepare(tables["mal"], period.year, tolerances)
        if "mal" in tables
        else None,
        comments=tables["kommentarer"]
        .filter(pl.col("ar") == period.year)
        .select("tjenesteomrade", "ar", "tekst", "rolle")
        if "kommentarer" in tables
        else None,
    )
