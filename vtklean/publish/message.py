"""The headline (hovedbudskap) of a page, computed from the key figures: better, worse, act."""

from __future__ import annotations

import polars as pl

from vtklean.core import measures, norsk
from vtklean.model import datasets, gate, targets

# The key figures the headline compares with the year before (each has a direction).
COMPARED = (
    "realiseringsgrad_prosent",
    "gevinster_realisert_arsverk",
    "enheter_lean",
    "sykefravaer_prosent",
    "budsjettavvik_prosent",
)


def _row(frame: pl.DataFrame, area: str) -> dict:
    rows = frame.filter(pl.col("tjenesteomrade") == area)
    return rows.row(0, named=True) if rows.height else {}


def _shown(row: dict, key: str) -> float | None:
    return None if row.get(gate.flag(key)) is not None else row.get(key)


def changes(now: dict, before: dict) -> tuple[list[str], list[str]]:
    """Phrases for the compared figures that got better and worse than the year before."""
    better, worse = [], []
    for key in COMPARED:
        a, b = _shown(now, key), _shown(before, key)
        if a is None or b is None:
            continue
        word = measures.better(key, a - b)
        if word is None:
            continue
        m = measures.get(key)
        phrase = (
            f"{m.label[0].lower()}{m.label[1:]} {measures.format_change(key, a - b)} "
            f"til {measures.format_page(key, a)}"
        )
        (better if word == "bedre" else worse).append(phrase)
    return better, worse


def _miss(row: dict) -> float:
    """How far a target is missed, in tolerances (a larger miss first)."""
    gap = abs(row["verdi"] - row["mal"])
    return gap / row["toleranse"] if row["toleranse"] else gap


def headline(
    figures_now: pl.DataFrame,
    figures_before: pl.DataFrame,
    target_table: pl.DataFrame,
    area: str,
    sick_rises: pl.DataFrame | None = None,
) -> list[str]:
    """Three to five sentences: what improved, what got worse, what needs attention now.

    `sick_rises` (`enhet`, `endring`) names the unit whose sick leave rose most; without it,
    on the whole municipality, the service area with the largest rise is named.
    """
    now, before = _row(figures_now, area), _row(figures_before, area)
    out = []
    better, worse = changes(now, before)
    if better:
        out.append(f"Bedre enn året før: {norsk.join(better)}.")
    if worse:
        out.append(f"Dårligere enn året før: {norsk.join(worse)}.")
    if not better and not worse:
        out.append("Det er ingen tall å sammenligne med året før.")
    mine = target_table.filter(pl.col("tjenesteomrade") == area)
    if mine.height:
        missed = [
            r for r in mine.iter_rows(named=True) if r["status"] in (targets.MISSED, targets.NEAR)
        ]
        # The whole municipality's page lists every area's targets too: say which are counted.
        whose = f" for {area[0].lower()}{area[1:]}" if area == datasets.WHOLE else ""
        sentence = targets.summary(mine, whose)
        if missed:
            worst = max(missed, key=_miss)
            sentence += (
                f" Lengst unna: {worst['navn'][0].lower()}{worst['navn'][1:]} "
                f"{measures.format_page(worst['indikator'], worst['verdi'])} mot "
                f"{targets.goal_phrase(worst)} ({worst['status']})."
            )
        out.append(sentence)
    overdue = now.get("gevinster_forsinket")
    if overdue:
        out.append(
            f"{overdue} {'gevinst er' if overdue == 1 else 'gevinster er'} forsinket: ikke "
            "realisert innen datoen i gevinstplanen (se Oppfølging)."
        )
    elif overdue == 0:
        out.append("Ingen gevinster er forsinket etter gevinstplanen.")
    rise = _largest_rise(figures_now, figures_before, area, sick_rises)
    if rise is not None:
        out.append(
            f"Sykefraværet steg mest i {rise[0]} "
            f"({measures.format_change('sykefravaer_prosent', rise[1])})."
        )
    return out


def _largest_rise(
    figures_now: pl.DataFrame,
    figures_before: pl.DataFrame,
    area: str,
    sick_rises: pl.DataFrame | None,
) -> tuple[str, float] | None:
    if sick_rises is not None:
        if sick_rises.is_empty():
            return None
        top = sick_rises.row(0, named=True)
        return top["enhet"], top["endring"]
    if area != datasets.WHOLE:
        return None
    best = None
    for name in figures_now.get_column("tjenesteomrade").to_list():
        if name == datasets.WHOLE:
            continue
        a = _shown(_row(figures_now, name), "sykefravaer_prosent")
        b = _shown(_row(figures_before, name), "sykefravaer_prosent")
        if a is None or b is None or measures.shown_difference("sykefravaer_prosent", a - b) <= 0:
            continue  # no rise, or one the page shows as ±0,0
        if best is None or a - b > best[1]:
            best = (name, a - b)
    return best
