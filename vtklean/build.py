"""The yearly build as a readable recipe: read, validate, process, write, swap in."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import xlsxwriter
import yaml

from vtklean import datasets, figures, paths, read, render, swap
from vtklean.problems import DataError
from vtklean.validate import BUDGET_OUTLIER_PERCENT, Validation, validate

log = logging.getLogger(__name__)

BUILD_PARAMS = paths.PARAMS / "build.yaml"
DEFAULT_PARAMS = {"budsjettavvik_advarsel_prosent": BUDGET_OUTLIER_PERCENT}


class UsageError(Exception):
    """A wrong way of calling the build (exit code 2), as opposed to bad data (exit code 1)."""


@dataclass
class Options:
    """Where the build reads and writes, and for which year and date."""

    raw: Path = paths.RAW
    processed: Path = paths.PROCESSED
    reports: Path = paths.REPORTS
    year: int | None = None
    as_of: dt.date | None = None
    params: Path = BUILD_PARAMS
    force: bool = False


@dataclass
class Result:
    """What a build produced."""

    year: int
    as_of: dt.date
    processed: Path
    reports: Path
    figures: pl.DataFrame
    validation: Validation
    timings: dict[str, float] = field(default_factory=dict)


def load_params(path: Path) -> dict:
    """Build parameters from YAML over the defaults; an unknown key is a usage error."""
    if not path.is_file():
        raise UsageError(f"fant ikke parameterfilen {path}")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"parameterfilen {path} er ikke gyldig YAML: {err}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"parameterfilen {path} skal inneholde navn: verdi-par")
    unknown = sorted(set(loaded) - set(DEFAULT_PARAMS))
    if unknown:
        raise UsageError(
            f"ukjente parametre i {path.name}: {', '.join(unknown)} "
            f"(kjente: {', '.join(DEFAULT_PARAMS)})"
        )
    return DEFAULT_PARAMS | loaded


def resolve_period(
    resources: pl.DataFrame, year: int | None, as_of: dt.date | None
) -> datasets.Period:
    """Pick the report year and as-of date: by default the last complete year in the data."""
    months = resources.get_column("maned").drop_nulls()
    if months.is_empty():
        raise UsageError("ressursbruk har ingen måneder; kan ikke velge rapportår")
    first, last = months.min(), months.max()
    if year is None:
        year = (
            as_of.year if as_of is not None else (last.year if last.month == 12 else last.year - 1)
        )
    if as_of is None:
        as_of = dt.date(year, 12, 31)
    if as_of < dt.date(year, 1, 1):
        raise UsageError(f"datoen {as_of:%d.%m.%Y} er før rapportåret {year} begynner")
    if not first.year <= year <= last.year:
        raise UsageError(
            f"rapportåret {year} er utenfor dataene (ressursbruk dekker {first.year}–{last.year})"
        )
    return datasets.Period(year=year, as_of=as_of)


def _write_parquet(ds: datasets.Datasets, folder: Path) -> None:
    for stem, frame in ds.frames().items():
        # No statistics timestamps exist in parquet; fixed compression keeps files identical.
        frame.write_parquet(folder / f"{stem}.parquet", compression="zstd", statistics=True)


def _write_figures(table: pl.DataFrame, folder: Path, as_of: dt.date) -> None:
    """nokkeltall.csv (UTF-8, `,`, `.` decimals, empty for no value) and nokkeltall.xlsx."""
    table.write_csv(folder / "nokkeltall.csv", separator=",", null_value="")
    created = dt.datetime.combine(as_of, dt.time())
    with xlsxwriter.Workbook(str(folder / "nokkeltall.xlsx")) as wb:
        wb.set_properties({"created": created, "title": f"Nøkkeltall per {as_of:%d.%m.%Y}"})
        table.write_excel(workbook=wb, worksheet="Nøkkeltall", autofit=True)


def _pages() -> list[dict]:
    return [
        {
            "title": "Datakvalitet",
            "href": "datakvalitet.html",
            "note": "alle kontroller av rådataene",
        },
        {"title": "Nøkkeltall (Excel)", "href": "nokkeltall.xlsx", "note": None},
    ]


def run(options: Options, step: Callable[[str], None] | None = None) -> Result:
    """Run the whole build. Raises DataError (bad data) or UsageError (wrong call)."""
    say = step or log.info
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    params = load_params(options.params)
    say(f"Leser rådata fra {options.raw}")
    raw = read.read_folder(options.raw)
    lap("les")
    period = None
    if "ressursbruk" in raw.tables and not raw.errors:
        period = resolve_period(raw.tables["ressursbruk"].data, options.year, options.as_of)
    say("Kontrollerer rådataene mot datakontrakten")
    validation = validate(
        raw,
        as_of=period.as_of if period else options.as_of,
        budget_outlier=float(params["budsjettavvik_advarsel_prosent"]),
    )
    lap("kontroll")
    if validation.errors:
        raise DataError(validation.errors)
    assert period is not None  # no errors means every required table was read
    tables = {name: td.data for name, td in raw.tables.items()}
    say(f"Lager datasett for {period.year} per {period.as_of:%d.%m.%Y}")
    ds = datasets.build(tables, period)
    table = figures.rounded(figures.key_figures(ds))
    lap("datasett")

    processed = options.processed / str(period.year)
    reports = options.reports / str(period.year)
    staged_data = swap.stage(processed)
    staged_reports = swap.stage(reports)
    try:
        say("Skriver datasett og rapporter")
        _write_parquet(ds, staged_data)
        _write_figures(table, staged_reports, period.as_of)
        prov = render.provenance(period.as_of, period.year, raw.sha256)
        (staged_reports / "datakvalitet.html").write_text(
            render.quality_page(validation, prov), encoding="utf-8"
        )
        (staged_reports / "index.html").write_text(
            render.index_page(
                f"Lean i Vestre Toten – rapporter for {period.year}",
                period.as_of,
                _pages(),
                table,
                prov,
            ),
            encoding="utf-8",
        )
        swap.swap_in(staged_data, processed)
        swap.swap_in(staged_reports, reports)
    finally:
        swap.discard(staged_data)
        swap.discard(staged_reports)
    lap("skriv")
    return Result(period.year, period.as_of, processed, reports, table, validation, timings)
