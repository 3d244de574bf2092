"""Outputs swapped in whole or not at all: staging folders and an atomic directory exchange."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name, use_errno=True)
        lib.renameat2  # noqa: B018 - probe that the symbol exists
    except (OSError, AttributeError):
        return None
    return lib


_LIBC = _libc()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two directories (Linux renameat2); False where unsupported."""
    if _LIBC is None:
        return False
    rc = _LIBC.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc != 0:
        log.debug("renameat2 failed: %s", os.strerror(ctypes.get_errno()))
        return False
    return True


def _backup(target: Path) -> Path:
    return target.with_name(f".{target.name}.forrige")


def recover(target: Path) -> None:
    """Undo a swap that was cut short, and remove staging folders of killed builds.

    The fallback swap moves the old folder aside before moving the new one in; if the
    process died between the two renames, the old folder is put back here.
    """
    backup = _backup(target)
    if backup.exists():
        if not target.exists():
            log.warning("Gjenoppretter %s etter et avbrutt bygg", target)
            backup.rename(target)
        else:
            shutil.rmtree(backup, ignore_errors=True)
    if target.parent.is_dir():
        for leftover in target.parent.glob(f".{target.name}.ny-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def stage(target: Path) -> Path:
    """Create an empty staging folder beside `target` (same file system, so rename works)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.ny-", dir=target.parent))


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def swap_in(staged: Path, target: Path) -> None:
    """Replace `target` with the finished `staged` folder in one step."""
    _fsync_tree(staged)
    if not target.exists():
        staged.rename(target)
    elif _exchange(staged, target):
        shutil.rmtree(staged, ignore_errors=True)
    else:
        backup = _backup(target)
        target.rename(backup)
        staged.rename(target)
        shutil.rmtree(backup, ignore_errors=True)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(staged: Path) -> None:
    """Remove a staging folder that will not be swapped in."""
    shutil.rmtree(staged, ignore_errors=True)
