"""HTML pages from templates: the index, the data-quality page, and their provenance footer."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import jinja2
import polars as pl

from vtklean import __version__, norsk
from vtklean.paths import ROOT
from vtklean.problems import MAX_EXAMPLES, group
from vtklean.validate import Validation

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("vtklean", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)

# Headers of the key-figures table as shown to people (the CSV keeps the contract's names).
FIGURE_HEADERS = {
    "tjenesteomrade": "Tjenesteområde",
    "enheter": "Aktive enheter",
    "enheter_lean": "Enheter med Lean",
    "gevinster_identifisert_arsverk": "Identifisert (årsverk)",
    "gevinster_realisert_arsverk": "Realisert (årsverk)",
    "realiseringsgrad_prosent": "Realiseringsgrad",
    "andel_verdistromsanalyse_prosent": "Fra verdistrømsanalyser",
    "arsverk": "Årsverk",
    "budsjett_kr": "Budsjett",
    "regnskap_kr": "Regnskap",
    "budsjettavvik_prosent": "Budsjettavvik",
    "sykefravaer_prosent": "Sykefravær",
}


@dataclass(frozen=True)
class Provenance:
    """What every page records about how it was made."""

    as_of: str
    year: int
    built: str
    version: str
    commit: str | None
    files: Sequence[tuple[str, str]]


def git_commit() -> str | None:
    """The project's git commit, with `+endret` when the tree has changes; None outside git."""
    if not (ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+endret" if dirty else "")


def provenance(as_of: dt.date, year: int, sha256: dict[str, str]) -> Provenance:
    """Provenance for pages built now."""
    now = dt.datetime.now().astimezone()
    return Provenance(
        as_of=norsk.date(as_of),
        year=year,
        built=f"{norsk.date(now.date())} kl. {now:%H:%M}",
        version=__version__,
        commit=git_commit(),
        files=sorted(sha256.items()),
    )


def _cell(column: str, value: object) -> str:
    if column == "tjenesteomrade":
        return str(value)
    if column.endswith("_prosent"):
        return norsk.percent(value)
    if column.endswith("_kr"):
        return norsk.kroner(value)
    if column in ("enheter", "enheter_lean", "ansatte"):
        return norsk.number(value, 0)
    return norsk.number(value, 1)


def figure_table(figures: pl.DataFrame) -> dict:
    """The key figures formatted for people: headers and rows of text."""
    cols = [c for c in FIGURE_HEADERS if c in figures.columns]
    rows = [[_cell(c, rec[c]) for c in cols] for rec in figures.iter_rows(named=True)]
    return {"header": [FIGURE_HEADERS[c] for c in cols], "rows": rows}


def index_page(
    title: str, as_of: dt.date, pages: list[dict], figures: pl.DataFrame, prov: Provenance
) -> str:
    """The index of a report year: links to every page and the key figures."""
    return _ENV.get_template("index.html.j2").render(
        title=title,
        as_of_text=norsk.date(as_of),
        pages=pages,
        figures=figure_table(figures),
        prov=prov,
    )


def quality_page(validation: Validation, prov: Provenance) -> str:
    """The data-quality page: every check with its result, and every problem with examples."""
    checks = [
        {
            "table": c.table,
            "description": c.description,
            "severity": str(c.severity),
            "checked_text": norsk.number(c.checked, 0),
            "failed_text": norsk.number(c.failed, 0),
            "success": c.success,
        }
        for c in validation.checks
    ]
    groups = []
    for (_rule, heading), items in group(validation.problems).items():
        groups.append(
            {
                "heading": heading,
                "count": len(items),
                "lines": [p.line() for p in items[:MAX_EXAMPLES]],
                "more": max(0, len(items) - MAX_EXAMPLES),
            }
        )
    n_err, n_warn = len(validation.errors), len(validation.warnings)
    summary = (
        f"{len(checks)} kontroller av rådataene: {n_err} feil og {n_warn} advarsler. "
        "Feil stopper byggingen; advarsler bør sjekkes, men stopper ikke rapportene."
    )
    return _ENV.get_template("datakvalitet.html.j2").render(
        title=f"Datakvalitet {prov.year}",
        summary=summary,
        checks=checks,
        groups=groups,
        prov=prov,
    )
