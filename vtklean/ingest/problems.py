"""Data problems found in raw files, and the error that carries them to the command line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from vtklean.core.errors import EXIT_DATA, VtkleanError

MAX_EXAMPLES = 20


class Severity(StrEnum):
    """Whether a problem stops the build."""

    ERROR = "feil"
    WARNING = "advarsel"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in the raw data, located so a person can find it in Excel.

    `rule` groups problems of the same kind; `heading` describes the rule in bokmål.
    `row` is the row number as Excel shows it (header = row 1); `column` is the header as
    written in the file; `value` is the value as written.
    """

    rule: str
    heading: str
    severity: Severity
    expected: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    key: str | None = None

    @classmethod
    def error(cls, rule: str, heading: str, expected: str, **where: Any) -> Problem:
        """A problem that stops the build; `where`: file, row, column, value, key."""
        return cls(rule, heading, Severity.ERROR, expected, **where)

    @classmethod
    def warning(cls, rule: str, heading: str, expected: str, **where: Any) -> Problem:
        """A problem worth a look that does not stop the build."""
        return cls(rule, heading, Severity.WARNING, expected, **where)

    def line(self) -> str:
        """Render the problem as one line of bokmål."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"rad {self.row}")
        if self.column:
            parts.append(f"kolonne «{self.column}»")
        where = ", ".join(parts)
        what = []
        if self.value is not None:
            what.append(f"verdien «{self.value}»" if self.value != "" else "tom verdi")
        if self.key:
            what.append(f"({self.key})")
        text = " ".join(what)
        head = f"{where}: " if where else ""
        body = f"{text}: {self.expected}" if text else self.expected
        return head + body


class DataError(VtkleanError):
    """Raised when raw data has errors (exit code 1); carries every problem found in the run."""

    exit_code = EXIT_DATA

    def __init__(self, problems: Iterable[Problem], folder: Path | None = None) -> None:
        self.problems = sorted(problems, key=_sort_key)
        self.folder = folder  # the raw folder, named in the message
        super().__init__(f"{len(self.problems)} feil i rådataene")

    def __reduce__(self) -> tuple[type[DataError], tuple[list[Problem], Path | None]]:
        # Rebuilt from its problems and folder when it crosses a process boundary.
        return (DataError, (self.problems, self.folder))

    def lines(self) -> list[str]:
        """How many errors, that nothing is written, and every problem grouped by rule."""
        where = f" i {self.folder}" if self.folder else ""
        return [
            "",
            f"Rådataene{where} har {len(self.problems)} feil. Ingenting er skrevet.",
            "Rett feilene i filene og kjør på nytt:",
            "",
            *report_lines(self.problems),
        ]


def _sort_key(p: Problem) -> tuple:
    return (p.rule, p.file or "", p.row or 0, p.column or "", p.value or "")


def group(problems: Iterable[Problem]) -> dict[tuple[str, str], list[Problem]]:
    """Group problems by rule, keeping a stable order (rules as first met, rows sorted)."""
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in sorted(problems, key=_sort_key):
        groups.setdefault((p.rule, p.heading), []).append(p)
    return groups


def report_lines(problems: Iterable[Problem], limit: int = MAX_EXAMPLES) -> list[str]:
    """Render problems grouped by rule, at most `limit` lines per rule and then a count."""
    lines: list[str] = []
    for (_rule, heading), items in group(problems).items():
        lines.append(f"{heading} ({len(items)}):")
        lines.extend(f"  - {p.line()}" for p in items[:limit])
        if len(items) > limit:
            lines.append(f"  ... og {len(items) - limit} til av samme slag")
    return lines
