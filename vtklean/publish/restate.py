"""Restatements: how a rebuild's key figures and raw records differ from the last report."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from vtklean.core import measures
from vtklean.ingest import read
from vtklean.ingest.contract import TABLES
from vtklean.model import gate
from vtklean.publish import archive, export, render

# What the records of each table are called on the page, in the order shown.
RECORD_NAMES = {
    "gevinster": "Gevinster",
    "enheter": "Enheter",
    "ressursbruk": "Måneder i ressursbruk (enhet og måned)",
    "forbedringer": "Forbedringsforslag",
    "mal": "Mål",
    "kommentarer": "Kommentarer",
}
KINDS = ("lagt til", "endret", "fjernet")
SHOWN_KEYS = 20  # record keys listed per table and kind; the rest are counted


@dataclass(frozen=True)
class FigureChange:
    """One key figure of one service area that is not what the last report showed."""

    area: str
    figure: str  # heading as people read it
    old: str
    new: str


@dataclass
class Restatement:
    """What changed since the last report built for the same date."""

    previous_built: dt.datetime
    figures: list[FigureChange]
    # table -> kind ("lagt til", "endret", "fjernet") -> record keys; None when the raw
    # files of the last report were not kept (built before snapshots existed).
    records: dict[str, dict[str, list[str]]] | None = field(default=None)

    @property
    def figures_changed(self) -> bool:
        """True when the published key figures change (a restatement)."""
        return bool(self.figures)

    def record_lines(self) -> list[str]:
        """One line per table and kind: `Gevinster, endret (1): G003` (long lists cut)."""
        out = []
        for table, kinds in (self.records or {}).items():
            for kind, keys in kinds.items():
                if not keys:
                    continue
                shown = ", ".join(keys[:SHOWN_KEYS])
                rest = f" og {len(keys) - SHOWN_KEYS} til" if len(keys) > SHOWN_KEYS else ""
                out.append(f"{RECORD_NAMES[table]}, {kind} ({len(keys)}): {shown}{rest}")
        return out

    def record_counts(self) -> list[str]:
        """One phrase per table with changes, e.g. `Gevinster: 1 endret, 2 lagt til`."""
        out = []
        for table, kinds in (self.records or {}).items():
            parts = [f"{len(keys)} {kind}" for kind, keys in kinds.items() if keys]
            if parts:
                out.append(f"{RECORD_NAMES.get(table, table)}: {', '.join(parts)}")
        return out


def _export_frame(table: pl.DataFrame) -> pl.DataFrame:
    """The key figures exactly as nokkeltall.csv has them, every cell as text."""
    buffer = io.StringIO()
    gate.for_export(table).write_csv(buffer, separator=",", null_value="")
    return _read_text_csv(buffer.getvalue())


def _read_text_csv(text: str) -> pl.DataFrame:
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def figure_changes(old_csv: Path, table: pl.DataFrame) -> list[FigureChange]:
    """Every key figure (per area) whose exported value differs from the old nokkeltall.csv.

    All the export's key figures are compared, not only those of the index table.
    """
    old = _read_text_csv(old_csv.read_text("utf-8"))
    new = _export_frame(table)
    key = "tjenesteomrade"
    old_rows = {r[key]: r for r in old.iter_rows(named=True)}
    new_rows = {r[key]: r for r in new.iter_rows(named=True)}
    # Every key figure of the export that both files have (a column added by a later
    # version of the suite is not a change of the records).
    columns = [c for c in measures.EXPORT if c != key and c in old.columns and c in new.columns]
    areas = [a for a in new_rows if a in old_rows] + [a for a in new_rows if a not in old_rows]
    areas += [a for a in old_rows if a not in new_rows]
    out = []
    for area in areas:
        before, after = old_rows.get(area, {}), new_rows.get(area, {})
        for column in columns:
            a, b = before.get(column), after.get(column)
            if (a or "") != (b or ""):
                out.append(
                    FigureChange(
                        area,
                        render.FIGURE_HEADERS.get(column) or export.heading(column),
                        render.export_text(column, a),
                        render.export_text(column, b),
                    )
                )
    return out


def _key_text(value: object) -> str:
    if isinstance(value, dt.date):
        return f"{value:%m.%Y}" if value.day == 1 else f"{value:%d.%m.%Y}"
    return "" if value is None else str(value)


def _records(td: read.TableData) -> dict[str, tuple]:
    """Each record of a table by its key (as people read it), with its values."""
    columns = td.table.column_names
    frame = td.data.select(columns)
    out = {}
    for row in frame.iter_rows(named=True):
        key = " ".join(_key_text(row[k]) for k in td.table.key)
        out[key] = tuple(_key_text(row[c]) for c in columns)
    return out


def record_changes(old: read.RawData, new: read.RawData) -> dict[str, dict[str, list[str]]]:
    """Per table, the keys of records added, changed and removed between two raw folders."""
    out: dict[str, dict[str, list[str]]] = {}
    for name in RECORD_NAMES:
        if name not in TABLES:
            continue
        a = _records(old.tables[name]) if name in old.tables else {}
        b = _records(new.tables[name]) if name in new.tables else {}
        kinds = {
            "lagt til": sorted(k for k in b if k not in a),
            "endret": sorted(k for k in b if k in a and a[k] != b[k]),
            "fjernet": sorted(k for k in a if k not in b),
        }
        if any(kinds.values()):
            out[name] = kinds
    return out


def compare(
    published: Path,
    table: pl.DataFrame,
    sha256: dict[str, str],
    new_raw: Callable[[], read.RawData],
    store: Path,
) -> Restatement | None:
    """Compare a build with the report folder it replaces; None when there is none to compare.

    `sha256` are the raw files of the build; `new_raw` reads them, called only when they
    are not those of the replaced report.
    """
    stamp = archive.read_stamp(published)
    old_csv = published / "nokkeltall.csv"
    if not stamp or not old_csv.is_file():
        return None
    changes = figure_changes(old_csv, table)
    records = None
    old_files = stamp.get("radata")
    if old_files == sha256:
        records = {}  # the same files: no record added, changed or removed
    elif isinstance(old_files, dict):
        with tempfile.TemporaryDirectory(prefix="vtklean-forrige-") as tmp:
            if archive.restore(old_files, store, Path(tmp)):
                records = record_changes(read.read_folder(Path(tmp)), new_raw())
    return Restatement(archive.built_at(published), changes, records)
