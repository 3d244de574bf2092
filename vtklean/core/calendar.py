"""The contract's report calendar: complete months of a period, units as of D, missing months."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Period:
    """The months of a report year that are complete on the as-of date."""

    year: int
    as_of: dt.date

    @property
    def first(self) -> dt.date:
        """First month of the period."""
        return dt.date(self.year, 1, 1)

    @property
    def cutoff(self) -> dt.date:
        """First day of the last month, of any year, that is complete on the as-of date."""
        month = dt.date(self.as_of.year, self.as_of.month, 1)
        if (self.as_of + dt.timedelta(days=1)).day == 1:
            return month
        prev = month - dt.timedelta(days=1)
        return dt.date(prev.year, prev.month, 1)

    @property
    def last(self) -> dt.date | None:
        """Last month of the period (first day), or None when no month is complete."""
        last = min(self.cutoff, dt.date(self.year, 12, 1))
        return last if last >= self.first else None

    @property
    def months(self) -> int:
        """Number of months in the period (12 for a whole year)."""
        return 0 if self.last is None else self.last.month


def units(enheter: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Units with their status as of D: `aktiv` unless closed on or before D, `trent`."""
    d = pl.lit(as_of, pl.Date)
    return (
        enheter.select(
            "enhet_id",
            "enhet",
            "tjenesteomrade",
            "lean_start",
            "pilot",
            "lagt_ned",
            "volumenhet",
        )
        .with_columns(
            aktiv=pl.col("lagt_ned").is_null() | (pl.col("lagt_ned") > d),
            trent=pl.col("lean_start").is_not_null() & (pl.col("lean_start") <= d),
        )
        .with_columns(lean=pl.col("aktiv") & pl.col("trent"))
        .sort("enhet_id")
    )


def missing_months(
    unit_frame: pl.DataFrame, ressursbruk: pl.DataFrame, period: Period
) -> pl.DataFrame:
    """Months of the period in which a unit active as of D has no resource row.

    The contract calls such a month *missing*: a year with a month missing is not a full
    year. Columns: enhet_id, enhet, tjenesteomrade, maned (first day of the month).
    """
    columns = ["enhet_id", "enhet", "tjenesteomrade"]
    if period.last is None:
        return unit_frame.select(columns).clear().with_columns(maned=pl.lit(None, pl.Date))
    months = pl.date_range(period.first, period.last, "1mo", eager=True).alias("maned")
    # Only the period's rows can match (a tenth of a national history, unique'd in a tenth).
    in_period = pl.col("maned").is_between(period.first, period.last)
    have = ressursbruk.select("enhet_id", "maned").filter(in_period).drop_nulls().unique()
    return (
        unit_frame.filter(pl.col("aktiv"))
        .select(columns)
        .join(months.to_frame(), how="cross")
        .join(have, on=["enhet_id", "maned"], how="anti")
        .sort("enhet_id", "maned")
    )
