"""The front of a report folder: the index page with its list of pages, and the statement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from vtklean.publish import archive, execute, export, render

if TYPE_CHECKING:
    from vtklean.publish.restate import Restatement


def pages(todo: list[execute.Job]) -> list[dict]:
    """The index's list: every page, the downloads, the accessibility statement."""
    out = [{"title": j.title, "href": f"{j.page}.html", "note": None} for j in todo]
    if not todo:
        out.append(
            {"title": "Rapportsidene", "href": None, "note": "ikke laget (bygget med --data-only)"}
        )
    out += [{"title": t, "href": href, "note": note} for href, t, note in export.DOWNLOADS]
    out += [
        {
            "title": "Tilgjengelighetserklæring (utkast)",
            "href": "tilgjengelighet.html",
            "note": None,
        },
    ]
    if todo:
        audit = f"{execute.NOTEBOOK_DIR}/"
        out.append({"title": "Kjørte notatbøker (for revisjon)", "href": audit, "note": None})
    return out


def earlier(reports: Path, folder: str, replaced: Path | None) -> list[dict]:
    """The archived versions of a report folder for the index, newest first, as links."""
    kept = archive.versions(reports, folder)
    if replaced is not None:
        kept.insert(0, archive.Version(folder, replaced, archive.built_at(reports / folder), False))
    return [
        {
            "built": render.built_text(v.built),
            "href": f"../{archive.ARCHIVE}/{folder}/{v.path.name}/index.html",
        }
        for v in kept
    ]


def title(kommune: str, folder: str, year: int, as_of: dt.date) -> str:
    """The index's title: `for 2017` for a year's report, `per 30.04.2016` for another date."""
    what = f"for {year}" if folder == str(year) else f"per {as_of:%d.%m.%Y}"
    return f"Lean i {kommune} – rapporter {what}"


def write(
    staged: Path,
    title: str,
    as_of: dt.date,
    todo: list[execute.Job],
    figures: pl.DataFrame,
    prov: render.Provenance,
    *,
    changes: Restatement | None,
    earlier: list[dict],
    missing: str | None,
    headline: Sequence[str],
    goals: pl.DataFrame | None,
) -> None:
    """Write index.html and tilgjengelighet.html into the staged report folder."""
    (staged / "index.html").write_text(
        render.index_page(
            title,
            as_of,
            pages(todo),
            figures,
            prov,
            changes=changes,
            earlier=earlier,
            missing=missing,
            headline=headline,
            goals=goals,
        ),
        encoding="utf-8",
    )
    (staged / "tilgjengelighet.html").write_text(render.accessibility_page(prov), encoding="utf-8")
