"""Progress bars for long steps, on a terminal only: never in CI, in a log or with --stille."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
DELAY = 1.0  # seconds before a bar shows (none for quick steps)
# Count and time only: tqdm's rate would be written with an English decimal point.
FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}]"
_silenced = False


def silence(quiet: bool) -> None:
    """Turn every progress bar of this process off (`--stille`) or back to the default."""
    global _silenced
    _silenced = quiet


def shown() -> bool:
    """Whether bars are drawn: stderr is a terminal, not CI, not silenced."""
    return not _silenced and not os.environ.get("CI") and sys.stderr.isatty()


def bar(total: int, desc: str, unit: str, delay: float | None = None) -> tqdm:
    """A bar of `total` steps on stderr, shown after `delay` seconds (default `DELAY`)."""
    wait = DELAY if delay is None else delay
    return tqdm(
        total=total,
        desc=desc,
        unit=unit.strip(),
        disable=not shown(),
        delay=wait,
        file=sys.stderr,
        bar_format=FORMAT,
    )


def steps(items: Sequence[T], desc: str, unit: str) -> Iterator[T]:
    """The items one by one, with a bar of how many are done (see `bar`)."""
    with bar(len(items), desc, unit) as shown_bar:
        for item in items:
            yield item
            shown_bar.update()


def clear_for_text() -> AbstractContextManager:
    """Lift the bars off the terminal while a line of text is written, then draw them again."""
    return tqdm.external_write_mode(file=sys.stderr)
