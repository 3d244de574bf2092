"""What a build is asked for and depends on, as hashes: the no-change check and cache keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path

from vtklean import __version__
from vtklean.core import paths
from vtklean.publish import archive

PACKAGE = Path(__file__).parent
BUILD_PARAMS = paths.PARAMS / "build.yaml"
# The package files that read, check and compute the datasets (everything else only
# publishes them: page and chart code, templates, the command line). Only the standard
# library is imported here: the no-change check runs before polars and the rest load.
DATA_CODE = ("__init__.py", "build.py", "inputs.py", "core", "ingest", "model")


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
    data_only: bool = False  # datasets and key figures only, no report pages
    pdf: bool = False  # also a PDF of every page, printed by headless Chromium
    notebooks: Path = paths.NOTEBOOKS
    params_dir: Path = paths.PARAMS

    def __post_init__(self) -> None:
        # Kernels run in notebooks/, so every path is made absolute before anything runs.
        for name in ("raw", "processed", "reports", "params", "notebooks", "params_dir"):
            setattr(self, name, Path(getattr(self, name)).expanduser().absolute())


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _files(paths: list[Path], root: Path) -> dict[str, str]:
    """SHA-256 of each regular file by its path below `root` (a missing file is left out).

    A file that cannot be read is marked so; reading it is left to the step that needs it,
    which says what is wrong.
    """
    out = {}
    for path in sorted(paths):
        if path.is_file():
            try:
                out[str(path.relative_to(root))] = _sha256(path)
            except OSError:
                out[str(path.relative_to(root))] = "ulesbar"
    return out


def raw_files(folder: Path) -> dict[str, str]:
    """SHA-256 of every file the reader may read: visible files in the folder, no lock files."""
    if not folder.is_dir():
        return {}
    found = [p for p in folder.iterdir() if not p.name.startswith((".", "~$"))]
    return _files(found, folder)


def code_files(package: Path = PACKAGE) -> tuple[dict[str, str], dict[str, str]]:
    """SHA-256 of the package's code, templates and vendored files: (data code, the rest)."""
    files = [
        p
        for p in package.rglob("*")
        if "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    ]
    every = _files(files, package)
    data = {k: v for k, v in every.items() if Path(k).parts[0] in DATA_CODE}
    return data, {k: v for k, v in every.items() if k not in data}


def environment() -> list[str]:
    """Python's version and each installed distribution with its version.

    The names of the `*.dist-info` folders carry the versions, so an upgrade of polars or
    plotly counts as a change without importing either.
    """
    names = []
    for folder in site.getsitepackages():
        try:
            names += [n for n in os.listdir(folder) if n.endswith(".dist-info")]
        except OSError:
            continue
    return [sys.version, *sorted(names)]


def _digest(parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Hashes:
    """The SHA-256 of every input of a build, taken once when it starts."""

    raw: dict[str, str]
    params: dict[str, str]  # the build parameter file: `build`; each params/*.yaml by name
    notebooks: dict[str, str]
    data_code: dict[str, str]
    other_code: dict[str, str]
    request: dict = field(default_factory=dict)  # year, date and flags as asked

    @classmethod
    def of(cls, options: Options, package: Path = PACKAGE) -> Hashes:
        """Hash every input of a build with these options."""
        params = _files(list(options.params_dir.glob("*.yaml")), options.params_dir)
        params["build"] = _sha256(options.params) if options.params.is_file() else ""
        data_code, other_code = code_files(package)
        request = {
            "version": __version__,
            "year": options.year,
            "as_of": options.as_of.isoformat() if options.as_of else None,
            "data_only": options.data_only,
            "pdf": options.pdf,
            "environment": _digest(environment()),
        }
        return cls(
            raw=raw_files(options.raw),
            params=params,
            notebooks=_files(list(options.notebooks.glob("*.ipynb")), options.notebooks),
            data_code=data_code,
            other_code=other_code,
            request=request,
        )

    def request_key(self) -> str:
        """Everything: equal keys mean the build would write what it wrote last time."""
        return _digest(dataclasses.asdict(self))

    def folder_key(self, year: int, as_of: dt.date) -> str:
        """Everything, with the period the build chose instead of the one asked for."""
        chosen = self.request | {"year": year, "as_of": as_of.isoformat()}
        return _digest(dataclasses.asdict(self) | {"request": chosen})

    def data_key(self) -> str:
        """What the checks and datasets depend on: raw files, build parameters, data code.

        And the installed packages (a new polars may compute differently).
        """
        asked = {k: self.request[k] for k in ("version", "year", "as_of", "environment")}
        return _digest([asked, self.raw, self.params["build"], self.data_code])

    def page_key(self, page: str, notebook: str, title: str, parameters: dict) -> str:
        """What a notebook page depends on: the datasets, the notebook, its run, all code.

        `parameters` leave out the folder the datasets are read from: it differs from
        build to build, their content does not (the data key says so).
        """
        run = [page, notebook, title, sorted(parameters.items())]
        notebook_hash = self.notebooks.get(f"{notebook}.ipynb", "")
        return _digest([self.data_key(), notebook_hash, self.other_code, run])

    def read_as_hashed(self, sha256: dict[str, str]) -> bool:
        """Whether the raw files a build read are the ones hashed when it started."""
        return all(self.raw.get(name) == digest for name, digest in sha256.items())


# The datasets folder's record of what it was made from (`model.processed.META`), named
# here so that reading it does not import polars.
DATASETS_META = "meta.json"


def same_datasets(options: Options, name: str, stamp: dict) -> bool:
    """Whether datasets folder `name` holds the datasets the report with `stamp` was built on.

    Both record the datasets' key; a build cut short between its two swaps leaves new
    datasets beside the old report, which this tells apart.
    """
    try:
        meta = json.loads((options.processed / name / DATASETS_META).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    key = stamp.get("datasett")
    return isinstance(meta, dict) and key is not None and meta.get("nokkel") == key


def current(options: Options, key: str) -> Path | None:
    """The report folder that a build with request key `key` made last, if it is still there.

    Its stamp must carry the key, its index must exist, and its datasets must be in place.
    """
    for folder, stamp in archive.stamps(options.reports):
        if (
            stamp.get("sjekk") == key
            and (folder / "index.html").is_file()
            and same_datasets(options, folder.name, stamp)
        ):
            return folder
    return None
