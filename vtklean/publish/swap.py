"""Outputs swapped in whole or not at all: staging folders and an atomic directory exchange."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
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

# Where a replaced folder goes: called with the old folder, returns a free path to move it to.
Keep = Callable[[Path], Path]


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


def _let_go(old: Path, keep: Keep | None, complete: bool = True) -> None:
    """Move a replaced folder to where `keep` says, or delete it when nothing is kept."""
    if keep is not None and complete:
        target = keep(old)
        target.parent.mkdir(parents=True, exist_ok=True)
        old.rename(target)
    else:
        shutil.rmtree(old, ignore_errors=True)


def recover(
    target: Path, keep: Keep | None = None, complete: Callable[[Path], bool] = bool
) -> None:
    """Undo a swap that was cut short, and clear staging folders of killed builds.

    The fallback swap moves the old folder aside before moving the new one in; if the
    process died between the two renames, the old folder is put back here. Where folders
    are kept (`keep`), a replaced or staged folder that `complete` accepts is kept, not deleted.
    """
    backup = _backup(target)
    if backup.exists():
        if not target.exists():
            log.warning("Gjenoppretter %s etter et avbrutt bygg", target)
            backup.rename(target)
        else:
            _let_go(backup, keep)
    if target.parent.is_dir():
        for leftover in target.parent.glob(f".{target.name}.ny-*"):
            _let_go(leftover, keep, complete(leftover))


def stage(target: Path, keep: Keep | None = None, complete: Callable[[Path], bool] = bool) -> Path:
    """Create an empty staging folder beside `target` (same file system, so rename works).

    A file where `target` should be (a user's own file named `2017`) is never swapped away:
    it is a FileExistsError naming it.
    """
    if target.exists() and not target.is_dir():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target, keep, complete)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.ny-", dir=target.parent))
    # mkdtemp makes the folder private (0700); once swapped in it is the published report,
    # readable like any folder the user makes (a web server, colleagues on a shared disk).
    staged.chmod(0o777 & ~_umask())
    return staged


def _umask() -> int:
    """The process's umask (Python 3.11 can only read it by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_tree(folder: Path) -> None:
    """Flush every file of a folder to disk before it is swapped in."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            # Windows flushes only handles opened for writing; opening as "r+b" works there too.
            with path.open("r+b") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Flush a directory entry to disk where the system allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def swap_in(staged: Path, target: Path, keep: Keep | None = None) -> None:
    """Replace `target` with the finished `staged` folder in one step.

    The replaced folder is moved to `keep(old)` when given, else deleted. Where the
    atomic exchange is not available (not Linux), two renames do it, and `recover` puts
    the old folder back if the process dies between them.
    """
    _fsync_tree(staged)
    if not target.exists():
        staged.rename(target)
    elif _exchange(staged, target):
        _let_go(staged, keep)  # `staged` now holds the old folder
    else:
        backup = _backup(target)
        target.rename(backup)
        staged.rename(target)
        _let_go(backup, keep)
    _fsync_dir(target.parent)


def discard(staged: Path) -> None:
    """Remove a staging folder that will not be swapped in."""
    shutil.rmtree(staged, ignore_errors=True)


def missing_folders(*targets: Path) -> list[Path]:
    """The folders that staging `targets` would create (they do not exist yet), deepest first."""
    missing: set[Path] = set()
    for target in targets:
        for folder in (target, *target.parents):
            if folder.exists():
                break
            missing.add(folder)
    return sorted(missing, key=lambda f: len(f.parts), reverse=True)


def remove_empty(folders: list[Path]) -> None:
    """Remove those of `folders` (deepest first) that are still empty: a failed build's trail."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()
