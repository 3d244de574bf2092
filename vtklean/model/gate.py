"""The privacy gate: the one way a frame leaves the model for a notebook, chart, page or export.

`passed` takes a frame, the hidden-cells table (`privacy.hidden_cells`) and, for each
sensitive column, the cells it shows (`Cells`). It nulls every hidden value and attaches
to each sensitive column `c` a flag column `c_prikket`: null where the value is shown,
else why it is hidden (`primær:5`, `sekundær:5`, the rule and its threshold). What comes
out is a `Gated` frame: a polars DataFrame that charts, exports and the pages' unit
tables demand (`views`).
Polars operations that can change values (select, with_columns, join, ...) return a plain
DataFrame, so a frame changed after the gate must pass it again; a view given a plain
frame raises `Ungated`. A frame without sensitive columns, or one the gate wrote earlier
(the processed key figures), passes by `seal`, which checks that every sensitive column
is flagged and that nothing flagged has a value.

Sensitive columns are sick leave, headcount and the absence and agreed days sick leave is
computed from (`SENSITIVE`), any column whose name begins with one of them followed by
`_` (`sykefravaer_prosent_i_fjor`), and any column a caller gives `passed` a rule for.
Downstream code reads flags (`flag`), shows `:` for a hidden value (`SUPPRESSED`, also in
exports: `for_export`) and the footnote (`footnote`, `note`); it never decides what is hidden.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

import polars as pl

from vtklean.core.errors import EXIT_RENDER, VtkleanError
from vtklean.model import privacy

SUPPRESSED = ":"
FLAG = "_prikket"
SENSITIVE = (privacy.SICK, privacy.HEADCOUNT, "fravaer_dagsverk", "avtalte_dagsverk")


class Gated(pl.DataFrame):
    """A frame that has passed the privacy gate: hidden values null, flags attached."""


class Ungated(VtkleanError):
    """A view was given a frame that has not passed the gate: a bug in the code that made it.

    Exit code 3, as a report that failed: it is raised while a page or download is made.
    """

    exit_code = EXIT_RENDER


@dataclass(frozen=True)
class Cells:
    """The hidden cells a column shows: a level and measure of the table, and how to match.

    `on` maps the hidden-cells table's key columns to the frame's, `where` fixes keys to
    values: `Cells(privacy.UNIT_YEAR, privacy.SICK, {"enhet_id": "enhet_id"}, {"ar": 2017})`.
    A row matched by several hidden cells takes the first reason (`primær` before `sekundær`).
    """

    level: str
    measure: str
    on: dict[str, str]
    where: dict[str, object] = field(default_factory=dict)


def flag(column: str) -> str:
    """The name of the column saying why `column` is hidden in a row (null: shown)."""
    return f"{column}{FLAG}"


def is_sensitive(column: str) -> bool:
    """Whether a column of this name may hold a value the reports must not show."""
    if column.endswith(FLAG):
        return False
    return any(column == s or column.startswith(f"{s}_") for s in SENSITIVE)


def _reasons(hidden: pl.DataFrame, cells: Cells) -> pl.DataFrame:
    """The frame's keys (its column names) and the reason (`primær:5`) of each hidden cell."""
    chosen = hidden.filter(
        (pl.col("niva") == cells.level) & (pl.col("maal") == cells.measure),
        *[pl.col(key) == value for key, value in cells.where.items()],
    )
    return (
        chosen.select(
            *[pl.col(k).alias(v) for k, v in cells.on.items()],
            pl.format("{}:{}", "grunn", pl.col("grense").round(6)).alias("_grunn"),
        )
        .sort(pl.all())
        .unique(subset=list(cells.on.values()), keep="first", maintain_order=True)
    )


def passed(frame: pl.DataFrame, hidden: pl.DataFrame, columns: dict[str, Cells]) -> Gated:
    """`frame` with each column of `columns` hidden where its cells are, flagged, sealed."""
    out = frame
    for column, cells in columns.items():
        found = _reasons(hidden, cells).rename({"_grunn": flag(column)})
        out = out.drop(flag(column), strict=False).join(
            found, on=list(cells.on.values()), how="left", maintain_order="left"
        )
        out = out.with_columns(
            pl.when(pl.col(flag(column)).is_null()).then(pl.col(column)).alias(column)
        )
    return seal(out, columns)


def seal(frame: pl.DataFrame, sensitive: Iterable[str] = ()) -> Gated:
    """`frame` as a Gated frame, after checking that its sensitive columns are flagged.

    `sensitive` names columns that are sensitive besides those `is_sensitive` knows.
    Raises Ungated when a sensitive column has no flag or a flagged row keeps its value.
    """
    if isinstance(frame, Gated):
        return frame
    for column in [*[c for c in frame.columns if is_sensitive(c)], *sensitive]:
        if flag(column) not in frame.columns:
            raise Ungated(
                f"Kolonnen {column} har ikke gått gjennom personvernporten "
                f"(vtklean.model.gate): den mangler kolonnen {flag(column)}."
            )
        leaks = frame.filter(pl.col(flag(column)).is_not_null() & pl.col(column).is_not_null())
        if leaks.height:
            raise Ungated(
                f"Kolonnen {column} viser {leaks.height} skjulte tall (prikket i {flag(column)})."
            )
    return Gated._from_pydf(frame._df)


P = ParamSpec("P")
R = TypeVar("R")


def views(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a view (a chart, an export): every polars frame it is given must be Gated."""

    @functools.wraps(function)
    def view(*args: P.args, **kwargs: P.kwargs) -> R:
        for value in (*args, *kwargs.values()):
            if isinstance(value, pl.DataFrame) and not isinstance(value, Gated):
                raise Ungated(
                    f"{function.__qualname__} fikk en tabell som ikke har gått gjennom "
                    "personvernporten (vtklean.model.gate); hent den fra vtklean.model."
                )
        return function(*args, **kwargs)

    return view


def flagged_columns(frame: pl.DataFrame) -> list[str]:
    """Columns of `frame` that have a flag column."""
    return [c for c in frame.columns if flag(c) in frame.columns]


def for_export(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame for CSV: hidden cells as `:` (text), flag columns dropped."""
    out = frame
    for column in flagged_columns(frame):
        if frame.get_column(flag(column)).is_not_null().any():
            out = out.with_columns(
                pl.when(pl.col(flag(column)).is_not_null())
                .then(pl.lit(SUPPRESSED))
                .otherwise(pl.col(column).cast(pl.String))
                .alias(column)
            )
    return out.drop([c for c in frame.columns if c.endswith(FLAG)])


def footnote(frame: pl.DataFrame) -> str | None:
    """The footnote for a table with hidden cells (None when nothing is hidden)."""
    reasons = [
        r for c in flagged_columns(frame) for r in frame.get_column(flag(c)).drop_nulls().to_list()
    ]
    return note(reasons)


def note(reasons: list[str]) -> str | None:
    """The footnote for these reasons (`primær:5`, `sekundær:5`, ...); None when empty."""
    if not reasons:
        return None
    limit = float(reasons[0].split(":")[1])
    text = (
        f"{SUPPRESSED} Skjult for å verne enkeltpersoner: sykefravær og antall ansatte vises "
        f"ikke for enheter og grupper med færre enn {limit:g} ansatte."
    )
    secondary = sum(r.startswith(privacy.SECONDARY) for r in reasons)
    if secondary:
        text += (
            f" {secondary} av de skjulte tallene her er skjult fordi de ellers kunne regnes ut "
            "ved å trekke andre tall fra en sum (sekundærprikking)."
        )
    return text
