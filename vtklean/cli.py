"""The command line: argument parsing and terminal output only; the work is in the library."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import errno
import logging
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vtklean import __version__, inputs
from vtklean.core import escape, norsk, paths, progress
from vtklean.core.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, VtkleanError
from vtklean.ingest.problems import report_lines
from vtklean.publish import archive

# The build, the generator and the page templates import polars, numpy and jinja2: each is
# imported where a command needs it, so `vtklean build` with nothing changed stays quick.
if TYPE_CHECKING:
    from vtklean import build

# argparse's own messages (Python 3.11+) in bokmål, applied to its English text in order.
_BOKMAL = (
    (r"the following arguments are required: ", "disse må være med: "),
    (r"unrecognized arguments: ", "ukjente argumenter: "),
    (r"^argument ([^:]+): ", r"\1: "),
    (r"invalid choice: (.+) \(choose from (.+)\)", r"ukjent valg \1 (velg blant \2)"),
    (r"expected one argument", "mangler en verdi"),
    (r"expected at most one argument", "tar høyst én verdi"),
    (r"expected at least one argument", "trenger minst én verdi"),
    (r"ignored explicit argument (.+)", r"tar ingen verdi (fikk \1)"),
    (r"invalid (\S+) value: (.+)", r"ugyldig verdi \2"),
    (r"ambiguous option: (\S+) could match (.+)", r"\1 kan bety flere valg: \2"),
    (r"not allowed with argument (.+)", r"kan ikke brukes sammen med \1"),
)


def bokmal(message: str) -> str:
    """An argparse error message in bokmål."""
    for english, norwegian in _BOKMAL:
        message = re.sub(english, norwegian, message)
    return message


class _Formatter(argparse.HelpFormatter):
    """Help text with the usage line in bokmål."""

    def add_usage(self, usage, actions, groups, prefix=None) -> None:  # type: ignore[override]
        super().add_usage(usage, actions, groups, "bruk: " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse with help and messages in bokmål and exit code 2 for wrong usage."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._positionals.title = "argumenter"
        self._optionals.title = "valg"
        self.add_argument("-h", "--help", action="help", help="vis denne hjelpen og avslutt")

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"Feil i kommandoen: {bokmal(message)}\n")


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


def _folder(command: argparse.ArgumentParser, flag: str, default: Path, what: str) -> None:
    """A folder option: `--raw MAPPE` and the like, with its default folder."""
    command.add_argument(flag, metavar="MAPPE", type=Path, default=default, help=what)


def parser() -> argparse.ArgumentParser:
    """The `vtklean` command and its subcommands."""
    p = _Parser(
        prog="vtklean",
        description="Validerte datasett og rapporter om Lean-gevinster og ressursbruk.",
    )
    p.add_argument(
        "--version", action="version", version=f"vtklean {__version__}", help="vis versjonen"
    )
    p.add_argument("-v", "--detaljert", action="store_true", help="vis hva som skjer underveis")
    sub = p.add_subparsers(
        dest="command", required=True, parser_class=_Parser, title="kommandoer", metavar="KOMMANDO"
    )

    b = sub.add_parser("build", help="bygg datasett og rapporter for ett år")
    b.add_argument(
        "--year", metavar="ÅR", type=_year, help="rapportåret (standard: siste hele år i dataene)"
    )
    b.add_argument(
        "--as-of",
        metavar="DATO",
        type=_date,
        dest="as_of",
        help="per dato (standard: 31.12. i året)",
    )
    _folder(b, "--raw", paths.RAW, "mappen med rådata")
    _folder(b, "--processed", paths.PROCESSED, "mappen for datasett")
    _folder(b, "--reports", paths.REPORTS, "mappen for rapporter")
    b.add_argument("--params", metavar="FIL", type=Path, default=None, help="parameterfil (YAML)")
    b.add_argument("--force", action="store_true", help="bygg alt på nytt")
    b.add_argument(
        "--data-only",
        action="store_true",
        help="bare datasett og nøkkeltall, uten rapportsidene (raskt, for å rette rådata)",
    )
    b.add_argument("--pdf", action="store_true", help="lag også en PDF av hver side (Chromium)")
    b.add_argument(
        "--stille",
        "--quiet",
        action="store_true",
        dest="stille",
        help="ingen fremdriftsvisning (den vises ellers bare i en terminal, aldri i CI)",
    )

    s = sub.add_parser("sample", help="lag syntetiske rådata (eksempeldata)")
    # The generator's defaults are filled in by `_sample`: importing it here costs numpy.
    for flag, metavar, kind, what in (
        ("--units", "ANTALL", _positive, "antall enheter"),
        ("--start", "ÅR", _year, "første år"),
        ("--end", "ÅR", _year, "siste år"),
        ("--seed", "FRØ", int, "frø for tilfeldige tall"),
    ):
        s.add_argument(flag, metavar=metavar, type=kind, help=what)
    _folder(s, "--out", paths.RAW, "mappen som skal skrives")
    s.add_argument(
        "--overwrite", action="store_true", help="erstatt tabellfiler som allerede ligger i mappen"
    )

    a = sub.add_parser("arkiv", help="vis rapportene som er bygget, med tidligere versjoner")
    _folder(a, "--reports", paths.REPORTS, "mappen for rapporter")
    return p


def _out(text: str = "") -> None:
    print(escape.terminal_text(text), flush=True)  # noqa: T201 - the CLI owns the terminal


def _err(text: str) -> None:
    print(escape.terminal_text(text), file=sys.stderr, flush=True)  # noqa: T201


def count(n: int, one: str, many: str) -> str:
    """`1 advarsel`, `2 advarsler`."""
    return f"{n} {one if n == 1 else many}"


def seconds(value: float) -> str:
    """A duration as `32,7 s`."""
    return f"{norsk.number(value, 1)} s"


def _restatement(result: build.Result) -> None:
    """Say what changed since the report this build replaced, and where that report is kept."""
    changes = result.restatement
    if changes is None:
        return
    from vtklean.publish.render import built_text

    when = built_text(changes.previous_built)
    if changes.figures_changed:
        _out(
            f"\nNB: Tallene per {norsk.date(result.as_of)} er endret siden forrige rapport "
            f"(laget {when}): {count(len(changes.figures), 'nøkkeltall', 'nøkkeltall')} er "
            "annerledes. Se «Endringer siden forrige rapport» i index.html."
        )
        for change in changes.figures[:5]:
            _out(f"  {change.area}, {change.figure}: {change.old} → {change.new}")
        if len(changes.figures) > 5:
            _out(f"  … og {len(changes.figures) - 5} til")
    else:
        _out(f"\nNøkkeltallene er de samme som i forrige rapport (laget {when}).")
    for line in changes.record_counts():
        _out(f"  Endret i rådataene: {line}")
    if result.archived is not None:
        _out(f"Forrige rapport er tatt vare på i {result.archived}")


def _archive(args: argparse.Namespace) -> int:
    from vtklean.publish.render import built_text

    reports = args.reports.expanduser().absolute()
    found = archive.listing(reports)
    if not found:
        _out(f"Ingen rapporter i {reports} ennå. Bygg med `vtklean build`.")
        return EXIT_OK
    _out(f"Rapporter i {reports}:")
    for current, older in found:
        where = "" if current.current else " (bare i arkivet)"
        _out(f"  {current.name:<11} laget {built_text(current.built)}{where}")
        _out(f"    {current.path / 'index.html'}")
        for version in older:
            _out(f"    tidligere versjon laget {built_text(version.built)}: {version.path}")
    return EXIT_OK


def _short(path: object, limit: int = 120) -> str:
    """A path for a message, cut in the middle when it is very long."""
    text = str(path)
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


def _raw_folder(raw: Path) -> str | None:
    """Why --raw cannot be read as a raw folder, or None when it can."""
    if raw.is_dir():
        return None
    return f"--raw {_short(raw)} {'er en fil, ikke en mappe' if raw.exists() else 'finnes ikke'}"


def _output_folders(args: argparse.Namespace) -> str | None:
    """Why --processed and --reports cannot be used, or None when they can."""
    folders = {"--processed": args.processed, "--reports": args.reports}
    for flag, folder in folders.items():
        if folder.exists() and not folder.is_dir():
            return f"{flag} {_short(folder)} er en fil, ikke en mappe"
        existing = next((p for p in (folder, *folder.parents) if p.is_dir()), Path.cwd())
        try:  # the only sure test of writing is to write (and remove) a file
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as err:
            why = _OS_ERRORS.get(err.errno or 0, err.strerror or "ukjent feil")
            return f"{flag} {_short(folder)}: kan ikke skrive i {_short(existing)} ({why})"
    if args.processed.resolve() == args.reports.resolve():
        return (
            f"--processed og --reports er samme mappe ({_short(args.reports)}); "
            "datasett og rapporter må ligge i hver sin mappe"
        )
    return None


def _step(text: str) -> None:
    """A build step, said as a bullet."""
    _out(f"• {text}")


def _early_workers(options: inputs.Options) -> contextlib.AbstractContextManager:
    """The notebook workers, started before the build imports its libraries and reads data.

    Their kernels start and import while this process imports, reads and checks (the
    build runs every page unless nothing changed, which was ruled out before). None for
    `--data-only`.
    """
    if options.data_only:
        return contextlib.nullcontext(None)
    from vtklean.publish import execute

    return execute.Pool(options.notebooks, execute.workers())


def _build(args: argparse.Namespace) -> int:
    progress.silence(args.stille)
    try:
        wrong = _raw_folder(args.raw) or _output_folders(args)
    except OSError as err:
        wrong = _os_error(err)
    if wrong:
        _err(f"Feil i kommandoen: {wrong}. Ingenting er skrevet.")
        return EXIT_USAGE
    options = inputs.Options(
        raw=args.raw,
        processed=args.processed,
        reports=args.reports,
        year=args.year,
        as_of=args.as_of,
        params=args.params or inputs.BUILD_PARAMS,
        force=args.force,
        data_only=args.data_only,
        pdf=args.pdf,
    )
    started = time.perf_counter()
    try:
        # Nothing changed since the last build asked for the same: said before any heavy import.
        hashes = inputs.Hashes.of(options)
        done = None if options.force else inputs.current(options, hashes.request_key())
        if done is None:
            with _early_workers(options) as workers:
                from vtklean import build

                result = build.run(options, step=_step, hashes=hashes, workers=workers)
            done = result.reports if result.skipped else None
    except OSError as err:
        _err(f"Feil i kommandoen: {_os_error(err)}. Ingen rapporter er byttet ut.")
        return EXIT_USAGE
    if done is not None:
        _out(
            f"Ingenting er endret siden forrige bygg for {archive.as_of(done.name).year}; "
            f"ingenting å gjøre ({seconds(time.perf_counter() - started)}). "
            "Bruk --force for å bygge alt på nytt."
        )
        _out(f"Rapporter: {done / 'index.html'}")
        return EXIT_OK
    warnings = result.warnings
    if warnings:
        many = count(len(warnings), "advarsel", "advarsler")
        _out(f"\n{many} (stopper ikke byggingen; se datakvalitet.html):")
        for line in report_lines(warnings, limit=5):
            _out(line)
    _restatement(result)
    _out(f"\nFerdig på {seconds(time.perf_counter() - started)}.")
    _out(f"Datasett:  {result.processed}")
    _out(f"Rapporter: {result.reports / 'index.html'}")
    return EXIT_OK


def _sample(args: argparse.Namespace) -> int:
    from vtklean import sample

    defaults = {
        "units": sample.DEFAULT_UNITS,
        "start": sample.DEFAULT_START,
        "end": sample.DEFAULT_END,
        "seed": sample.DEFAULT_SEED,
    }
    for name, default in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.start > args.end:
        _err("Feil i kommandoen: --start kan ikke være etter --end")
        return EXIT_USAGE
    if args.out.exists() and not args.out.is_dir():
        _err(f"Feil i kommandoen: --out {_short(args.out)} er en fil, ikke en mappe.")
        return EXIT_USAGE
    data = sample.generate(units=args.units, start=args.start, end=args.end, seed=args.seed)
    files = sample.write_folder(data, args.out, overwrite=args.overwrite)
    rows = data.resources.height
    _out(
        f"Skrev {len(files)} filer til {args.out}: {len(data.units)} enheter, "
        f"{len(data.gains)} gevinster og {rows} månedsrader ressursbruk."
    )
    return EXIT_OK


_OS_ERRORS = {
    errno.ENAMETOOLONG: "navnet er for langt",
    errno.EACCES: "har ikke lov",
    errno.EPERM: "har ikke lov",
    errno.EROFS: "disken er skrivebeskyttet",
    errno.ENOSPC: "disken er full",
    errno.ENOTDIR: "en del av stien er en fil, ikke en mappe",
    errno.EISDIR: "er en mappe, ikke en fil",
    errno.ENOENT: "finnes ikke",
    errno.EEXIST: "finnes allerede, men er en fil, ikke en mappe; flytt den eller gi den nytt navn",
}


def _os_error(err: OSError) -> str:
    """An operating-system error as bokmål, naming the path."""
    why = _OS_ERRORS.get(err.errno or 0, err.strerror or "ukjent feil")
    return f"{_short(err.filename)}: {why}" if err.filename else why


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `vtklean` command; returns the exit code."""
    try:
        args = parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.detaljert else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
        )
        if args.command == "build":
            return _build(args)
        if args.command == "arkiv":
            return _archive(args)
        return _sample(args)
    except VtkleanError as err:  # the one handler: each error says its lines and exit code
        for line in err.lines():
            _err(line)
        return err.exit_code
    except KeyboardInterrupt:
        _err("\nAvbrutt (Ctrl-C). Ingen rapporter eller datasett er byttet ut.")
        return EXIT_INTERRUPTED
    except OSError as err:  # a path that cannot be read or written, in any command
        _err(f"Feil i kommandoen: {_os_error(err)}.")
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
