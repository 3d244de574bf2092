"""The processed folder of one report year: what the build writes and the notebooks load."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from vtklean.core import escape, paths
from vtklean.core.calendar import Period
from vtklean.core.errors import UsageError
from vtklean.ingest.problems import Problem, Severity
from vtklean.model import targets
from vtklean.model.datasets import FILES, OPTIONAL, Datasets
from vtklean.model.gate import Gated, seal

META = "meta.json"
# lz4, not zstd: on the national folder the monthly dataset (3,6 M rows) is written in 2,0
# instead of 3,3 s and read by each notebook with 0,47 instead of 0,74 s of CPU, for a file
# of 168 instead of 130 MB.
COMPRESSION = "lz4"
KEY_FIGURES = "nokkeltall.parquet"
CHECKS = "kontroller.parquet"
PROBLEMS = "avvik.parquet"
NOW, BEFORE = "i_ar", "i_fjor"


def area_pages(areas: list[str]) -> dict[str, str]:
    """The page name (file stem) of each service area's report, in the build's order.

    Two areas whose names slug alike still get a page each (escape.slug).
    """
    taken: set[str] = set()
    return {a: f"tjenesteomrade-{escape.slug(a, taken)}" for a in areas}


@dataclass
class Processed:
    """Everything a report notebook needs, loaded from one processed folder."""

    datasets: Datasets
    key_figures: Gated  # the report date
    key_figures_before: Gated  # the same date a year earlier
    raw_sha256: dict[str, str]
    kommune: str  # the municipality, as every page names it
    folder: Path
    old_gain_days: int = 365  # a pending gain without a plan date is old after this many days

    @functools.cached_property
    def checks(self) -> pl.DataFrame:
        """Every check of the raw data and its outcome (read when first asked for)."""
        return pl.read_parquet(self.folder / CHECKS)

    @functools.cached_property
    def problems(self) -> pl.DataFrame:
        """Every problem the checks found (read when first asked for)."""
        return pl.read_parquet(self.folder / PROBLEMS)

    @property
    def period(self) -> Period:
        """The report period."""
        return self.datasets.period

    def area_names(self) -> list[str]:
        """The service areas, in the key figures' order."""
        names = self.key_figures.get_column("tjenesteomrade").to_list()
        return [n for n in names if n != "Hele kommunen"]

    def area_pages(self) -> list[tuple[str, str]]:
        """Each service area with the file name of its page, for links."""
        return [(a, f"{stem}.html") for a, stem in area_pages(self.area_names()).items()]

    def target_table(self) -> pl.DataFrame:
        """Every target of the report year with its value and status (targets.table)."""
        return targets.table(self.key_figures, self.datasets.targets)

    def figures_row(self, area: str = "Hele kommunen", before: bool = False) -> dict | None:
        """One row of the key figures as a dict (None when the area has no row)."""
        frame = self.key_figures_before if before else self.key_figures
        rows = frame.filter(pl.col("tjenesteomrade") == area)
        return rows.row(0, named=True) if rows.height else None


# Column name -> (how to read it from a record, its type), for the checks and problems files.
CHECK_COLUMNS = {
    "tabell": (lambda c: c.table, pl.String),
    "kontroll": (lambda c: c.description, pl.String),
    "kolonne": (lambda c: c.column, pl.String),
    "alvor": (lambda c: str(c.severity), pl.String),
    "kontrollert": (lambda c: c.checked, pl.Int64),
    "avvik": (lambda c: c.failed, pl.Int64),
}
PROBLEM_COLUMNS = {
    "regel": (lambda p: p.rule, pl.String),
    "overskrift": (lambda p: p.heading, pl.String),
    "alvor": (lambda p: str(p.severity), pl.String),
    "fil": (lambda p: p.file, pl.String),
    "rad": (lambda p: p.row, pl.Int64),
    "kolonne": (lambda p: p.column, pl.String),
    "verdi": (lambda p: p.value, pl.String),
    "nokkel": (lambda p: p.key, pl.String),
    "forventet": (lambda p: p.expected, pl.String),
    "linje": (lambda p: p.line(), pl.String),
}


def _records(items: list, columns: dict) -> pl.DataFrame:
    """One row per item, with the typed columns of `columns` (also when there are none)."""
    return pl.DataFrame(
        [{name: get(item) for name, (get, _) in columns.items()} for item in items],
        schema={name: dtype for name, (_, dtype) in columns.items()},
    )


def problem_list(frame: pl.DataFrame) -> list[Problem]:
    """The rows of a problems file (avvik.parquet) as problems again."""
    return [
        Problem(
            rule=r["regel"],
            heading=r["overskrift"],
            severity=Severity(r["alvor"]),
            expected=r["forventet"],
            file=r["fil"],
            row=r["rad"],
            column=r["kolonne"],
            value=r["verdi"],
            key=r["nokkel"],
        )
        for r in frame.iter_rows(named=True)
    ]


def write(
    folder: Path,
    ds: Datasets,
    key_now: pl.DataFrame,
    key_before: pl.DataFrame,
    sha256: dict[str, str],
    kommune: str,
    old_gain_days: int = 365,
) -> None:
    """Write the datasets of a processed folder (deterministically: same inputs, same bytes).

    The folder can be loaded at once; the checks' results follow (`write_checks`), so the
    report pages that do not show them can render while the raw data are checked.
    """
    for stem, frame in ds.frames().items():
        frame.write_parquet(folder / f"{stem}.parquet", compression=COMPRESSION)
    pl.concat(
        [
            key_now.with_columns(per=pl.lit(NOW)),
            key_before.with_columns(per=pl.lit(BEFORE)),
        ]
    ).write_parquet(folder / KEY_FIGURES, compression=COMPRESSION)
    _write_meta(folder, _meta(ds, sha256, kommune, old_gain_days))


def write_checks(folder: Path, checks: list, problems: list[Problem], key: str | None) -> None:
    """Add the checks' results to a processed folder written by `write`.

    `key` (the build's hash of what the datasets depend on) lets a later build reuse them;
    the SHA-256 of each file is recorded with it, so a file changed since is noticed.
    """
    _records(checks, CHECK_COLUMNS).write_parquet(folder / CHECKS, compression=COMPRESSION)
    _records(problems, PROBLEM_COLUMNS).write_parquet(folder / PROBLEMS, compression=COMPRESSION)
    if key is not None:
        meta = json.loads((folder / META).read_text("utf-8"))
        meta["nokkel"] = key
        meta["filer_sha256"] = _file_hashes(folder)
        _write_meta(folder, meta)


def _meta(ds: Datasets, sha256: dict[str, str], kommune: str, old_gain_days: int) -> dict:
    return {
        "ar": ds.period.year,
        "per_dato": ds.period.as_of.isoformat(),
        "kommune": kommune,
        "gammel_gevinst_dager": old_gain_days,
        "rafiler_sha256": dict(sorted(sha256.items())),
    }


def _write_meta(folder: Path, meta: dict) -> None:
    """Write meta.json whole: notebooks may be loading the folder while it is replaced."""
    part = folder / f"{META}.tmp"
    part.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
    part.replace(folder / META)


def _file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of each dataset file of a processed folder."""
    out = {}
    for path in sorted(folder.glob("*.parquet")):
        with path.open("rb") as fh:
            out[path.name] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def reusable(folder: Path, key: str) -> bool:
    """Whether `folder` was written for `key` and its files are still as they were written."""
    try:
        meta = json.loads((folder / META).read_text("utf-8"))
        return (
            isinstance(meta, dict)
            and meta.get("nokkel") == key
            and meta.get("filer_sha256") == _file_hashes(folder)
        )
    except (OSError, ValueError):
        return False


def load(folder: str | Path | None = None, year: int | None = None) -> Processed:
    """Load a processed folder; by default `data/processed/<year>` of this project.

    No folder and no year, or a folder without datasets, is a UsageError saying what to do.
    """
    if not folder:
        if year is None:
            raise UsageError("oppgi mappen med datasett eller et år, f.eks. load(year=2018)")
        folder = paths.PROCESSED / str(year)
    folder = Path(folder)
    if not (folder / META).exists():
        raise UsageError(
            f"Fant ingen datasett i {folder}. Kjør `make report` (eller "
            f"`vtklean build --data-only --year {year or '<år>'}`) først."
        )
    meta = json.loads((folder / META).read_text("utf-8"))
    period = Period(meta["ar"], dt.date.fromisoformat(meta["per_dato"]))
    files = {name: folder / f"{stem}.parquet" for name, stem in FILES.items()}
    ds = Datasets(
        period=period,
        **{
            name: pl.read_parquet(path) if name not in OPTIONAL or path.exists() else None
            for name, path in files.items()
        },
    )
    key = pl.read_parquet(folder / KEY_FIGURES)
    return Processed(
        datasets=ds,
        # Written by the gate (figures.key_figures); sealing checks it still holds.
        key_figures=seal(key.filter(pl.col("per") == NOW).drop("per")),
        key_figures_before=seal(key.filter(pl.col("per") == BEFORE).drop("per")),
        raw_sha256=meta["rafiler_sha256"],
        kommune=meta["kommune"],
        folder=folder,
        old_gain_days=meta.get("gammel_gevinst_dager", 365),
    )
