"""Targets (mål) and their status as of D: `nådd`, `nær` or `ikke nådd`, in words and symbol."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from vtklean.core import measures, norsk
from vtklean.core.measures import Direction
from vtklean.model import gate

REACHED, NEAR, MISSED = "nådd", "nær", "ikke nådd"
SYMBOL = {REACHED: "✔", NEAR: "◐", MISSED: "✘"}
CSS = {REACHED: "status-nadd", NEAR: "status-naer", MISSED: "status-ikke-nadd"}
WORDS = {"minst": "minst", "hoyst": "høyst"}
SCHEMA = {
    "tjenesteomrade": pl.String,
    "indikator": pl.String,
    "ar": pl.Int64,
    "mal": pl.Float64,
    "retning": pl.String,
    "toleranse": pl.Float64,
}


def default_direction(key: str) -> str | None:
    """`minst` or `hoyst` from the measure's own direction; None for a neutral measure."""
    match measures.get(key).direction:
        case Direction.HIGHER:
            return "minst"
        case Direction.LOWER:
            return "hoyst"
    return None


def prepare(
    mal: pl.DataFrame | None, year: int, tolerances: Mapping[str, float] | None = None
) -> pl.DataFrame:
    """The report year's targets with their direction and tolerance filled in.

    An empty `retning` takes the measure's own direction; the tolerance is the registry's,
    unless the build parameters give one for the key (`tolerances`).
    """
    if mal is None:
        return pl.DataFrame(schema=SCHEMA)
    tolerances = tolerances or {}
    rows = []
    for rec in mal.filter(pl.col("ar") == year).iter_rows(named=True):
        key = rec["indikator"]
        rows.append(
            {
                "tjenesteomrade": rec["tjenesteomrade"],
                "indikator": key,
                "ar": rec["ar"],
                "mal": rec["mal"],
                "retning": rec["retning"] or default_direction(key),
                "toleranse": float(tolerances.get(key, measures.get(key).tolerance)),
            }
        )
    return pl.DataFrame(rows, schema=SCHEMA)


def status(
    value: float | None, target: float, direction: str | None, tolerance: float
) -> str | None:
    """The status of a value against a target; None without a value or a direction.

    `nådd` on the right side of the target, `nær` on the wrong side within the tolerance,
    else `ikke nådd`.
    """
    if value is None or direction is None:
        return None
    margin = value - target if direction == "minst" else target - value
    # Rounding error of the ratio (2,2 / 40 × 100 = 5.500000000000001) is no distance.
    margin = round(margin, 9)
    if margin >= 0:
        return REACHED
    return NEAR if -margin <= tolerance else MISSED


def table(key_figures: pl.DataFrame, targets: pl.DataFrame | None) -> gate.Gated:
    """Every target (of `prepare`; None for none) with the key figure's value and status.

    A figure hidden for privacy gets no value and no status (the status would reveal it);
    `skjult` holds the reason.
    """
    targets = targets if targets is not None else prepare(None, 0)
    rows = []
    figures = {r["tjenesteomrade"]: r for r in key_figures.iter_rows(named=True)}
    for t in targets.iter_rows(named=True):
        row = figures.get(t["tjenesteomrade"], {})
        key = t["indikator"]
        hidden = row.get(gate.flag(key))
        value = None if hidden is not None else row.get(key)
        rows.append(
            t
            | {
                "navn": measures.get(key).label,
                "verdi": value,
                "status": None
                if hidden is not None
                else status(value, t["mal"], t["retning"], t["toleranse"]),
                "skjult": hidden,
            }
        )
    schema = SCHEMA | {
        "navn": pl.String,
        "verdi": pl.Float64,
        "status": pl.String,
        "skjult": pl.String,
    }
    return gate.seal(pl.DataFrame(rows, schema=schema))


def goal_phrase(row: Mapping) -> str:
    """`høyst 7,5 %` (or `7,5 %` when the target has no direction)."""
    word = WORDS.get(row["retning"] or "", "")
    shown = measures.format_page(row["indikator"], row["mal"])
    return f"{word} {shown}" if word else shown


def target_text(row: Mapping) -> str:
    """`Mål: høyst 7,5 %`."""
    return f"Mål: {goal_phrase(row)}"


def status_text(row: Mapping) -> str:
    """The status in words with its symbol (`✔ nådd`), or why there is none."""
    if row["skjult"] is not None:
        return "status vises ikke (personvern)"
    if row["status"] is None:
        return "ingen status (mangler tall eller retning)"
    return f"{SYMBOL[row['status']]} {row['status']}"


def for_area(target_table: pl.DataFrame, area: str) -> dict[str, dict]:
    """The targets of one area (or `Hele kommunen`) by key figure."""
    rows = target_table.filter(pl.col("tjenesteomrade") == area).iter_rows(named=True)
    return {r["indikator"]: r for r in rows}


def summary(target_table: pl.DataFrame, whose: str = "") -> str:
    """How many targets were reached, near and missed (`3 av 5 mål er nådd, 1 nær, 1 ikke`).

    `whose` names the targets counted (` for hele kommunen`) where a page also lists others.
    """
    n = target_table.height
    if not n:
        return "Det er ikke satt mål for året."
    counts = {s: target_table.filter(pl.col("status") == s).height for s in (REACHED, NEAR, MISSED)}
    parts = [f"{counts[REACHED]} av {n} mål{whose} er nådd"]
    if counts[NEAR]:
        parts.append(f"{counts[NEAR]} er nær")
    if counts[MISSED]:
        parts.append(f"{counts[MISSED]} er ikke nådd")
    rest = n - sum(counts.values())
    if rest:
        parts.append(f"{rest} uten status")
    return norsk.join(parts) + "."
