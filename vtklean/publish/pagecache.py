"""Notebook pages kept by the hash of what they depend on, so an unchanged page is not rerun."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

FOLDER = "mellomlager"  # <processed>/mellomlager/<key>.html and .ipynb; may be deleted any time
LIMIT = 120  # pages kept at most (about ten report folders of the sample's size)


def _write(target: Path, data: bytes) -> None:
    """Write a file whole or not at all (a killed build leaves no half entry)."""
    fd, tmp = tempfile.mkstemp(prefix=".ny-", dir=target.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


def take(store: Path, key: str, executed: Path) -> str | None:
    """The kept page body for `key`, its executed notebook copied to `executed`; else None."""
    body, notebook = store / f"{key}.html", store / f"{key}.ipynb"
    try:
        text = body.read_text("utf-8")
        executed.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, executed)
    except (OSError, UnicodeDecodeError):
        return None
    body.touch()  # recently used: kept longest
    return text


def put(store: Path, key: str, body: str, executed: Path) -> None:
    """Keep a page body and its executed notebook under `key`."""
    store.mkdir(parents=True, exist_ok=True)
    _write(store / f"{key}.ipynb", executed.read_bytes())
    _write(store / f"{key}.html", body.encode("utf-8"))


def prune(store: Path, limit: int = LIMIT) -> None:
    """Keep the `limit` most recently used pages; remove the rest and any leftovers.

    Runs after the reports are swapped in: a file it cannot remove is left for next time.
    """
    try:
        bodies = sorted(store.glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
        keep = {p.stem for p in bodies[:limit]}
        for path in store.iterdir():
            if path.stem not in keep and path.is_file():
                path.unlink(missing_ok=True)
    except OSError:
        return
