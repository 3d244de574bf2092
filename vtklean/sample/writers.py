"""The sample's export writers: the tables in the files and formats municipal systems export."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
import tempfile
from pathlib import Path

import polars as pl
import xlsxwriter

from vtklean.core.errors import UsageError
from vtklean.ingest import contract
from vtklean.ingest.read import discover
from vtklean.sample.generator import TYPES, Sample

INDICATOR_LABELS = {
    "sykefravaer_prosent": "Sykefravær prosent",
    "realiseringsgrad_prosent": "Realiseringsgrad prosent",
    "enheter_lean": "Enheter Lean",
    "budsjettavvik_prosent": "Budsjettavvik prosent",
}


_FIXED_TIME = dt.datetime(2019, 1, 15, 8, 0, 0)
XLSX_MAX_ROWS = 50_000  # larger yearly resource exports are written as CSV


def _fmt_date(d: dt.date | None) -> str:
    return "" if d is None else d.strftime("%d.%m.%Y")


def _write_units(sample: Sample, path: Path) -> None:
    """Write `enheter` as an HR system would: Windows-1252, `;`, DD.MM.YYYY."""
    out = io.StringIO()
    out.write("Enhet-ID;Enhet;Tjenesteområde;Lean-start;Pilot;Lagt ned;Volumenhet\r\n")
    for u in sample.units:
        cells = [
            u.enhet_id,
            u.enhet,
            u.area,
            _fmt_date(u.lean_start),
            "" if u.pilot is None else str(u.pilot),
            _fmt_date(u.lagt_ned),
            TYPES[u.kind][2],
        ]
        out.write(";".join(cells) + "\r\n")
    path.write_bytes(out.getvalue().encode("cp1252"))


def _workbook(path: Path) -> xlsxwriter.Workbook:
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": _FIXED_TIME, "author": "vtklean sample"})
    return wb


def _write_gains(sample: Sample, path: Path) -> None:
    """Write the gains register as an Excel workbook with native dates and numbers."""
    wb = _workbook(path)
    ws = wb.add_worksheet("Gevinster")
    date_fmt = wb.add_format({"num_format": "dd.mm.yyyy"})
    header = [
        "Gevinst-ID",
        "Enhet-ID",
        "Beskrivelse",
        "Metode",
        "Kategori",
        "Årsverk",
        "Beløp (kr)",
        "Identifisert",
        "Realisert",
        "Realisert årsverk",
        "Forkastet",
        "Ansvarlig",
        "Planlagt realisert",
    ]
    ws.write_row(0, 0, header)
    width = max(4, len(str(len(sample.gains))))
    for i, g in enumerate(sample.gains, start=1):
        ws.write_string(i, 0, f"G{i:0{width}d}")
        ws.write_string(i, 1, g.unit.enhet_id)
        ws.write_string(i, 2, g.description)
        ws.write_string(i, 3, contract.METODER[g.method])
        ws.write_string(i, 4, contract.KATEGORIER[g.category])
        ws.write_number(i, 5, g.size / 100)
        if g.belop_kr is not None:
            ws.write_number(i, 6, g.belop_kr)
        ws.write_datetime(i, 7, dt.datetime.combine(g.identified, dt.time()), date_fmt)
        if g.realised is not None:
            ws.write_datetime(i, 8, dt.datetime.combine(g.realised, dt.time()), date_fmt)
        if g.realised_size is not None:
            ws.write_number(i, 9, g.realised_size / 100)
        if g.rejected is not None:
            ws.write_datetime(i, 10, dt.datetime.combine(g.rejected, dt.time()), date_fmt)
        ws.write_string(i, 11, g.role)
        if g.planned is not None:
            ws.write_datetime(i, 12, dt.datetime.combine(g.planned, dt.time()), date_fmt)
    wb.close()


def _write_targets(sample: Sample, path: Path) -> None:
    """Write `mal` as a planner would from Excel: UTF-8 with BOM, `;`, decimal comma."""
    out = io.StringIO()
    out.write("Tjenesteområde;Indikator;År;Mål;Retning\r\n")
    for r in sample.targets:
        goal = f"{r['mal']:g}".replace(".", ",")
        out.write(f"{r['omrade']};{INDICATOR_LABELS[r['indikator']]};{r['ar']};{goal};\r\n")
    path.write_bytes(out.getvalue().encode("utf-8-sig"))


def _write_comments(sample: Sample, path: Path) -> None:
    """Write `kommentarer` as an Excel workbook (text cells with line breaks)."""
    wb = _workbook(path)
    ws = wb.add_worksheet("Kommentarer")
    ws.write_row(0, 0, ["Tjenesteområde", "År", "Rolle", "Tekst"])
    for i, r in enumerate(sample.comments, start=1):
        ws.write_string(i, 0, r["omrade"])
        ws.write_number(i, 1, r["ar"])
        ws.write_string(i, 2, r["rolle"])
        ws.write_string(i, 3, r["tekst"])
    wb.close()


RESOURCE_HEADER = {
    "enhet_id": "Enhet-ID",
    "maned": "Måned",
    "budsjett_kr": "Budsjett (kr)",
    "regnskap_kr": "Regnskap (kr)",
    "arsverk": "Årsverk",
    "ansatte": "Ansatte",
    "avtalte_dagsverk": "Avtalte dagsverk",
    "fravaer_dagsverk": "Fravær dagsverk",
    "volum": "Volum",
}


def _write_resources_csv(frame: pl.DataFrame, path: Path) -> None:
    """Write resource rows as an accounting export: UTF-8 with BOM, `;`, decimal comma."""
    frame.with_columns(pl.col("maned").dt.strftime("%m.%Y")).rename(RESOURCE_HEADER).write_csv(
        path, separator=";", decimal_comma=True, include_bom=True, line_terminator="\r\n"
    )


def _write_resources_xlsx(frame: pl.DataFrame, path: Path) -> None:
    wb = _workbook(path)
    ws = wb.add_worksheet("Ressursbruk")
    month_fmt = wb.add_format({"num_format": "mm.yyyy"})
    ws.write_row(0, 0, list(RESOURCE_HEADER.values()))
    for i, row in enumerate(frame.iter_rows(), start=1):
        ws.write_string(i, 0, row[0])
        ws.write_datetime(i, 1, dt.datetime.combine(row[1], dt.time()), month_fmt)
        for j, value in enumerate(row[2:], start=2):
            ws.write_number(i, j, value)
    wb.close()


def _write_ideas(frame: pl.DataFrame, path: Path) -> None:
    """Write improvement ideas as a board tool would: UTF-8, `,`, ISO dates."""
    frame.with_columns(
        pl.col("status").replace_strict(contract.STATUSER, return_dtype=pl.String)
    ).rename(
        {
            "forslag_id": "Forslag-ID",
            "enhet_id": "Enhet-ID",
            "registrert": "Registrert",
            "status": "Status",
            "avsluttet": "Avsluttet",
        }
    ).write_csv(path, separator=",", date_format="%Y-%m-%d")


def write(sample: Sample, out: Path) -> list[Path]:
    """Write the sample's tables into `out` in the formats municipal systems export."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "enheter.csv", out / "gevinster.xlsx", out / "forbedringer.csv"]
    _write_units(sample, written[0])
    _write_gains(sample, written[1])
    _write_ideas(sample.ideas, written[2])
    if sample.targets:
        written.append(out / "mal.csv")
        _write_targets(sample, written[-1])
    if sample.comments:
        written.append(out / "kommentarer.xlsx")
        _write_comments(sample, written[-1])
    years = sample.resources.get_column("maned").dt.year()
    for year in range(sample.start, sample.end + 1):
        part = sample.resources.filter(years == year)
        if year == sample.end and part.height <= XLSX_MAX_ROWS:
            path = out / f"ressursbruk_{year}.xlsx"
            _write_resources_xlsx(part, path)
        else:
            path = out / f"ressursbruk_{year}.csv"
            _write_resources_csv(part, path)
        written.append(path)
    return written


def table_files(folder: Path) -> list[Path]:
    """Files in `folder` that the reader would take as table files."""
    found, _ = discover(folder)
    return sorted(p for paths in found.values() for p in paths)


MANIFEST = ".eksempeldata.json"  # which files `vtklean sample` wrote here (name -> SHA-256)


class TablesPresent(UsageError):
    """The folder already holds table files and replacing them was not asked for."""

    def __init__(self, out: Path) -> None:
        super().__init__(
            f"Mappen {out} har allerede tabellfiler. Bruk --overwrite for å erstatte dem, "
            "eller velg en annen mappe med --out."
        )

    def lines(self) -> list[str]:
        """The message alone: it says what to do."""
        return [str(self)]


class ForeignFiles(UsageError):
    """The folder holds table files the generator did not write; they are never replaced."""

    def __init__(self, out: Path, files: list[Path]) -> None:
        super().__init__(f"Mappen {out} har tabellfiler som ikke er laget av `vtklean sample`")
        self.files = files

    def lines(self) -> list[str]:
        """The folder, every foreign file, and what to do."""
        return [
            f"{self}, og de blir aldri slettet. Ingenting er skrevet. Filene:",
            *(f"  {path.name}" for path in self.files),
            "Flytt dem til en annen mappe først, eller lag eksempeldata med --out en annen mappe.",
        ]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _written_here(out: Path) -> dict[str, str]:
    try:
        loaded = json.loads((out / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_folder(sample: Sample, out: Path, overwrite: bool = False) -> list[Path]:
    """Write the sample into `out`, replacing its table files in one step.

    Refuses (TablesPresent) when `out` already holds table files and `overwrite` is
    false. With `overwrite`, only files this generator wrote are replaced: those recorded
    in the folder's manifest with unchanged content, or byte-identical to what it writes
    now. Any other table file (a real export) makes it refuse (ForeignFiles) and write
    nothing. Files that are not table files are left alone.
    """
    out = Path(out)
    existing = table_files(out) if out.is_dir() else []
    if existing and not overwrite:
        raise TablesPresent(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sample-", dir=out))
    try:
        files = write(sample, staging)
        ours = _written_here(out)
        foreign = [
            old
            for old in existing
            if ours.get(old.name) != _sha256(old)
            and not (
                (staging / old.name).is_file()
                and (staging / old.name).read_bytes() == old.read_bytes()
            )
        ]
        if foreign:
            raise ForeignFiles(out, foreign)
        for old in existing:
            old.unlink()
        final = []
        for f in files:
            target = out / f.name
            f.replace(target)
            final.append(target)
        manifest = {p.name: _sha256(p) for p in final}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)
