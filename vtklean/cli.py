"""The command line: argument parsing and terminal output only; the work is in the library."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from vtklean import __version__, build, paths, sample
from vtklean.problems import DataError, report_lines
from vtklean.render import RenderError

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_RENDER = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse with messages in bokmål and exit code 2 for wrong usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"Feil i kommandoen: {message}\n")


def _date(text: str) -> dt.date:
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"«{text}» er ikke en dato (ÅÅÅÅ-MM-DD eller DD.MM.ÅÅÅÅ)")


def _year(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError(f"«{text}» er ikke et årstall (ÅÅÅÅ)")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"«{text}» er ikke et positivt heltall")
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The `vtklean` command and its subcommands."""
    p = _Parser(
        prog="vtklean",
        description="Validerte datasett og rapporter om Lean-gevinster og ressursbruk.",
    )
    p.add_argument("--version", action="version", version=f"vtklean {__version__}")
    p.add_argument("-v", "--detaljert", action="store_true", help="vis hva som skjer underveis")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    b = sub.add_parser("build", help="bygg datasett og rapporter for ett år")
    b.add_argument("--year", type=_year, help="rapportåret (standard: siste hele år i dataene)")
    b.add_argument("--as-of", type=_date, dest="as_of", help="per dato (standard: 31.12. i året)")
    b.add_argument("--raw", type=Path, default=paths.RAW, help="mappen med rådata")
    b.add_argument("--processed", type=Path, default=paths.PROCESSED, help="mappen for datasett")
    b.add_argument("--reports", type=Path, default=paths.REPORTS, help="mappen for rapporter")
    b.add_argument("--params", type=Path, default=None, help="parameterfil (YAML)")
    b.add_argument("--force", action="store_true", help="bygg alt på nytt")
    b.add_argument(
        "--data-only",
        action="store_true",
        help="bare datasett og nøkkeltall, uten rapportsidene (raskt, for å rette rådata)",
    )
    b.add_argument("--pdf", action="store_true", help="lag også en PDF av hver side (Chromium)")

    s = sub.add_parser("sample", help="lag syntetiske rådata (eksempeldata)")
    s.add_argument("--units", type=_positive, default=sample.DEFAULT_UNITS, help="antall enheter")
    s.add_argument("--start", type=_year, default=sample.DEFAULT_START, help="første år")
    s.add_argument("--end", type=_year, default=sample.DEFAULT_END, help="siste år")
    s.add_argument("--seed", type=int, default=sample.DEFAULT_SEED, help="frø for tilfeldige tall")
    s.add_argument("--out", type=Path, default=paths.RAW, help="mappen som skal skrives")
    s.add_argument(
        "--overwrite", action="store_true", help="erstatt tabellfiler som allerede ligger i mappen"
    )
    return p


def _out(text: str = "") -> None:
    print(text, flush=True)  # noqa: T201 - the CLI owns the terminal


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # noqa: T201 - the CLI owns the terminal


def _build(args: argparse.Namespace) -> int:

    options = build.Options(
        raw=args.raw,
        processed=args.processed,
        reports=args.reports,
        year=args.year,
        as_of=args.as_of,
        params=args.params or build.BUILD_PARAMS,
        force=args.force,
        data_only=args.data_only,
        pdf=args.pdf,
    )
    started = time.perf_counter()
    try:
        result = build.run(options, step=lambda text: _out(f"• {text}"))
    except DataError as err:
        _err(f"\nRådataene i {args.raw} har {len(err.problems)} feil. Ingenting er skrevet.")
        _err("Rett feilene i filene og kjør på nytt:\n")
        for line in report_lines(err.problems):
            _err(line)
        return EXIT_DATA
    except build.UsageError as err:
        _err(f"Feil i kommandoen: {err}")
        return EXIT_USAGE
    except RenderError as err:
        _err(f"\nRapporten «{err.page}» feilet, og ingen rapporter er byttet ut:")
        _err(f"  {err.message}")
        _err("De forrige rapportene er urørt. Dette er en feil i vtklean; meld den gjerne.")
        return EXIT_RENDER
    if result.skipped:
        _out(
            f"Ingenting er endret siden forrige bygg for {result.year}; ingenting å gjøre "
            f"({time.perf_counter() - started:.1f} s). Bruk --force for å bygge alt på nytt."
        )
        _out(f"Rapporter: {result.reports / 'index.html'}")
        return EXIT_OK
    warnings = result.warnings
    if warnings:
        _out(f"\n{len(warnings)} advarsler (stopper ikke byggingen; se datakvalitet.html):")
        for line in report_lines(warnings, limit=5):
            _out(line)
    _out(f"\nFerdig på {time.perf_counter() - started:.1f} s.")
    _out(f"Datasett:  {result.processed}")
    _out(f"Rapporter: {result.reports / 'index.html'}")
    return EXIT_OK


def _sample(args: argparse.Namespace) -> int:
    if args.start > args.end:
        _err("Feil i kommandoen: --start kan ikke være etter --end")
        return EXIT_USAGE
    try:
        data = sample.generate(units=args.units, start=args.start, end=args.end, seed=args.seed)
    except ValueError as err:
        _err(f"Feil i kommandoen: {err}")
        return EXIT_USAGE
    try:
        files = sample.write_folder(data, args.out, overwrite=args.overwrite)
    except FileExistsError:
        _err(
            f"Mappen {args.out} har allerede tabellfiler. Bruk --overwrite for å erstatte dem, "
            "eller velg en annen mappe med --out."
        )
        return EXIT_USAGE
    rows = data.resources.height
    _out(
        f"Skrev {len(files)} filer til {args.out}: {len(data.units)} enheter, "
        f"{len(data.gains)} gevinster og {rows} månedsrader ressursbruk."
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vtklean` command; returns the exit code."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.detaljert else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "build":
        return _build(args)
    return _sample(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
