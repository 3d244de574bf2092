"""Where reports are written and what is kept: folders per date, the archive, raw snapshots."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the check of a build's stamp runs before polars is imported
    from vtklean.core.calendar import Period

ARCHIVE = "arkiv"  # reports/arkiv/<folder>/<built>/: earlier versions of a report folder
SNAPSHOTS = "radata-arkiv"  # <processed>/radata-arkiv/<sha256><suffix>: raw files by content
STAMP = ".bygg.json"  # in each report folder: what it was built from, when, raw files read
_STAMP_FORMAT = "%Y-%m-%d_%H%M%S"  # no `:` so the folder names work on Windows too
_FOLDER = re.compile(r"^\d{4}(-\d{2}-\d{2})?$")


def folder_name(period: Period) -> str:
    """`2017` for a report as of 31.12.2017, `2016-04-30` for any other date."""
    if period.as_of == dt.date(period.year, 12, 31):
        return str(period.year)
    return period.as_of.isoformat()


def as_of(name: str) -> dt.date:
    """The date of report folder `name` (`2017`: 31.12.2017; `2016-04-30`)."""
    return dt.date(int(name), 12, 31) if name.isdigit() else dt.date.fromisoformat(name)


def read_stamp(folder: Path) -> dict:
    """The stamp of a report folder ({} when it has none or it cannot be read)."""
    try:
        loaded = json.loads((folder / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def folders(root: Path) -> list[Path]:
    """The report (or datasets) folders right under `root`: `2017`, `2016-04-30`."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if _FOLDER.match(p.name) and p.is_dir())


def stamps(reports: Path) -> Iterator[tuple[Path, dict]]:
    """Each report folder under `reports` (not the archive) with its stamp."""
    for folder in folders(reports):
        yield folder, read_stamp(folder)


def write_stamp(
    folder: Path,
    fingerprint: str,
    built: str,
    raw_sha256: dict[str, str],
    request: str | None = None,
    data: str | None = None,
) -> None:
    """Record what a report folder was built from, and when.

    `fingerprint` is of the inputs with the period the build chose; `request` (`sjekk`)
    of the inputs as asked, checked before anything is read; `data` (`datasett`) the key
    of the datasets it was built on (None: not recorded).
    """
    stamp = {
        "fingerprint": fingerprint,
        "sjekk": request,
        "datasett": data,
        "bygget": built,
        "radata": dict(sorted(raw_sha256.items())),
    }
    (folder / STAMP).write_text(json.dumps(stamp, indent=2, ensure_ascii=False) + "\n", "utf-8")


def built_at(folder: Path) -> dt.datetime:
    """When a report folder was built: from its stamp, else the folder's modification time."""
    text = read_stamp(folder).get("bygget")
    if isinstance(text, str):
        try:
            built = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:  # a stamp edited by hand may lack the offset; versions are sorted by time
            return built if built.tzinfo else built.astimezone()
    return dt.datetime.fromtimestamp(folder.stat().st_mtime).astimezone()


def destination(reports: Path, name: str, old: Path) -> Path:
    """A free place in the archive for the replaced folder `old` of report folder `name`."""
    base = reports / ARCHIVE / name
    stem = built_at(old).strftime(_STAMP_FORMAT)
    target, n = base / stem, 1
    while target.exists():
        n += 1
        target = base / f"{stem}-{n}"
    return target


@dataclass(frozen=True)
class Version:
    """One report folder, current or archived."""

    name: str  # the report folder's name: 2017 or 2016-04-30
    path: Path
    built: dt.datetime
    current: bool


def versions(reports: Path, name: str) -> list[Version]:
    """The archived versions of report folder `name`, newest first."""
    base = reports / ARCHIVE / name
    if not base.is_dir():
        return []
    found = [
        Version(name, p, built_at(p), current=False)
        for p in base.iterdir()
        if p.is_dir() and not p.name.startswith(".")
    ]
    return sorted(found, key=lambda v: (v.built, v.path.name), reverse=True)


def listing(reports: Path) -> list[tuple[Version, list[Version]]]:
    """Every report folder under `reports` with its archived versions, by name."""
    if not reports.is_dir():
        return []
    names = {p.name for p in reports.iterdir() if p.is_dir() and _FOLDER.match(p.name)}
    if (reports / ARCHIVE).is_dir():
        names |= {p.name for p in (reports / ARCHIVE).iterdir() if _FOLDER.match(p.name)}
    out = []
    for name in sorted(names):
        folder = reports / name
        older = versions(reports, name)
        if folder.is_dir():
            out.append((Version(name, folder, built_at(folder), True), older))
        elif older:  # an archive folder emptied by hand, or a file of that name, lists nothing
            out.append((older[0], older[1:]))
    return out


def snapshot(raw: Path, sha256: dict[str, str], store: Path) -> None:
    """Keep a copy of each raw file by its content hash (one copy per distinct content)."""
    store.mkdir(parents=True, exist_ok=True)
    for name, digest in sha256.items():
        target = store / f"{digest}{Path(name).suffix.lower()}"
        if target.exists():
            continue
        data = (raw / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            continue  # the file changed while the build ran; its next build keeps it
        fd, tmp = tempfile.mkstemp(prefix=".ny-", dir=store)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)


def restore(sha256: dict[str, str], store: Path, into: Path) -> bool:
    """Put the raw files of an earlier build back under their names; False if any is gone."""
    into.mkdir(parents=True, exist_ok=True)
    for name, digest in sha256.items():
        kept = store / f"{digest}{Path(name).suffix.lower()}"
        if not kept.is_file():
            return False
        (into / name).write_bytes(kept.read_bytes())
    return True
