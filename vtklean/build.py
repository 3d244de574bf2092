"""The yearly build as a readable recipe: read, validate, process, render, swap in."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import yaml

from vtklean import __version__, inputs
from vtklean.core import calendar, measures
from vtklean.core.errors import UsageError
from vtklean.ingest import contract, read
from vtklean.ingest.problems import DataError, Severity
from vtklean.inputs import Options
from vtklean.model import datasets, figures, privacy, processed, targets
from vtklean.publish import (
    archive,
    execute,
    export,
    index,
    message,
    pagecache,
    pdf,
    render,
    restate,
    swap,
)

if TYPE_CHECKING:
    from vtklean.ingest.validate import Validation

log = logging.getLogger(__name__)

BUILD_PARAMS = inputs.BUILD_PARAMS
DEFAULT_PARAMS = {
    **{w.parameter: w.default for w in contract.WARNINGS},  # budsjettavvik_advarsel_prosent
    "prikking_grense": 5,
    "ekstra_roller": [],
    "kommune": "Vestre Toten kommune",
    "mal_toleranse": {},
    "gammel_gevinst_dager": 365,
}


@dataclass
class Result:
    """What a build produced (or that it had nothing to do)."""

    year: int
    as_of: dt.date
    processed: Path
    reports: Path
    figures: pl.DataFrame | None
    warnings: list = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    skipped: bool = False
    restatement: restate.Restatement | None = None  # against the report this build replaced
    archived: Path | None = None  # where the replaced report folder was kept


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key given twice is an error (YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise UsageError(f"«{key}» står to ganger (linje {seen[key]} og {line})")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _number(low: float, high: float, *, whole: bool = False, low_open: bool = False):
    """A check that a parameter is a finite number in [low, high] (an integer if `whole`)."""

    def check(value: object) -> str | None:
        kind = "et heltall" if whole else "et tall"
        ok_type = isinstance(value, int) if whole else isinstance(value, int | float)
        if not ok_type or isinstance(value, bool) or not math.isfinite(value):
            return f"skal være {kind}, ikke {value!r}"
        if value < low or value > high or (low_open and value == low):
            lowest = "over" if low_open else "fra"
            return f"skal være {kind} {lowest} {low:g} til {high:g}, ikke {value!r}"
        return None

    return check


def _text_list(value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return None
    return f"skal være en liste med tekster, ikke {value!r}"


def _name(value: object) -> str | None:
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return None
    return f"skal være et navn (tekst, høyst 200 tegn), ikke {value!r:.80}"


def _tolerances(value: object) -> str | None:
    if not isinstance(value, dict):
        return f"skal være par av nøkkeltall: toleranse, ikke {value!r:.80}"
    for key, tol in value.items():
        if key not in measures.EXPORT[1:]:
            return f"har et ukjent nøkkeltall {key!r} (kjente: {', '.join(measures.EXPORT[1:])})"
        why = _number(0, 1e15)(tol)
        if why is not None:
            return f"{key} {why}"
    return None


# The type and range of every build parameter, checked before any work starts.
PARAM_CHECKS = {
    "budsjettavvik_advarsel_prosent": _number(0, 10_000, low_open=True),
    "prikking_grense": _number(0, 10_000),
    "ekstra_roller": _text_list,
    "kommune": _name,
    "mal_toleranse": _tolerances,
    "gammel_gevinst_dager": _number(1, 100_000, whole=True),
}


def load_params(path: Path) -> dict:
    """Build parameters from YAML over the defaults, type- and range-checked.

    An unknown key, a key given twice, a value of the wrong type or out of range (`.nan`
    included) and a file that is not UTF-8 are usage errors.
    """
    try:
        if not path.is_file():
            raise UsageError(f"fant ikke parameterfilen {path}")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UsageError(
            f"parameterfilen {path} er ikke lagret som UTF-8 (byte 0x{err.object[err.start]:02X}); "
            "lagre den som UTF-8"
        ) from None
    except OSError as err:
        raise UsageError(f"kan ikke lese parameterfilen: {err.strerror}") from None
    try:
        loaded = yaml.load(text, Loader=_UniqueKeyLoader) or {}  # a SafeLoader subclass
    except yaml.YAMLError as err:
        raise UsageError(f"parameterfilen {path}: {execute.yaml_error(err)}") from None
    except UsageError as err:
        raise UsageError(f"parameterfilen {path}: {err}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"parameterfilen {path} skal inneholde navn: verdi-par")
    unknown = sorted(str(k) for k in set(loaded) - set(DEFAULT_PARAMS))
    if unknown:
        raise UsageError(
            f"ukjente parametre i {path.name}: {', '.join(unknown)} "
            f"(kjente: {', '.join(DEFAULT_PARAMS)})"
        )
    params = DEFAULT_PARAMS | loaded
    wrong = [
        f"{key} {why}"
        for key, check in PARAM_CHECKS.items()
        if key in params and (why := check(params[key])) is not None
    ]
    if wrong:
        raise UsageError(f"feil i parameterfilen {path.name}: {'; '.join(wrong)}")
    return params


def privacy_rule(params: dict) -> privacy.Rule:
    """The suppression threshold and shown roles from the build parameters."""
    threshold = params["prikking_grense"]
    extra = params["ekstra_roller"]
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or threshold < 0:
        raise UsageError(f"prikking_grense skal være et tall (0 eller mer), ikke {threshold!r}")
    if not isinstance(extra, list) or not all(isinstance(r, str) for r in extra):
        raise UsageError(f"ekstra_roller skal være en liste med roller, ikke {extra!r}")
    return privacy.Rule(threshold=threshold, roles=(*privacy.ROLES, *extra))


def tolerances(params: dict) -> dict[str, float]:
    """Target tolerances per key figure from the build parameters (over the registry's)."""
    return {k: float(v) for k, v in params["mal_toleranse"].items()}


def resolve_period(
    resources: pl.DataFrame, year: int | None, as_of: dt.date | None
) -> calendar.Period:
    """Pick the report year and as-of date: by default the last complete year in the data."""
    months = resources.get_column("maned").drop_nulls()
    if months.is_empty():
        raise UsageError("ressursbruk har ingen måneder; kan ikke velge rapportår")
    first, last = months.min(), months.max()
    if year is None and as_of is not None:
        year = as_of.year
    elif year is None:
        year = last.year if last.month == 12 else last.year - 1
    if as_of is None:
        as_of = dt.date(year, 12, 31)
    if as_of < dt.date(year, 1, 1):
        raise UsageError(f"datoen {as_of:%d.%m.%Y} er før rapportåret {year} begynner")
    if not first.year <= year <= last.year:
        raise UsageError(
            f"rapportåret {year} er utenfor dataene (ressursbruk dekker {first.year}–{last.year})"
        )
    return calendar.Period(year=year, as_of=as_of)


def _year_earlier(d: dt.date) -> dt.date:
    """The same date a year earlier (28 February for 29 February)."""
    return (
        d.replace(year=d.year - 1, day=28)
        if (d.month, d.day) == (2, 29)
        else d.replace(year=d.year - 1)
    )


def earlier_figures(
    tables: dict[str, pl.DataFrame], period: calendar.Period, rule: privacy.Rule
) -> pl.DataFrame:
    """The key figures a year before the as-of date (rounded), for the headline's changes.

    Only that year's resource rows are used: every key figure and every suppression
    relation (area-year, unit-year and area-month cells with their totals) lies within one
    year, so earlier years cannot change them (tests compare with the whole-history build).
    """
    earlier = calendar.Period(period.year - 1, _year_earlier(period.as_of))
    start = pl.lit(dt.date(earlier.year, 1, 1), pl.Date)
    year_only = tables | {"ressursbruk": tables["ressursbruk"].filter(pl.col("maned") >= start)}
    return figures.rounded(figures.key_figures(datasets.build(year_only, earlier, rule)))


NOTEBOOKS = ("oversikt", "tjenesteomrade", "pilot-effekter", "datakvalitet")


def notebook_defaults(options: Options, pool: execute.Pool) -> Future:
    """Each notebook's defaults from params/, checked against its parameters cell (exit 2).

    Read in a notebook worker, which imports papermill anyway, while this process reads
    the raw data; the result is taken before anything is written.
    """
    return pool.defaults(NOTEBOOKS, options.params_dir)


def jobs(
    defaults: dict[str, dict[str, object]],
    data_dir: Path,
    year: int,
    areas: list[str],
    kommune: str,
) -> list[execute.Job]:
    """The notebook runs of a build: overview, each service area, pilot effects, data quality."""
    base = {"year": year, "processed_dir": str(data_dir)}

    def job(page: str, notebook: str, title: str, **extra: object) -> execute.Job:
        params = defaults[notebook] | base | extra
        return execute.Job(page, notebook, title, tuple(sorted(params.items())))

    out = [job("oversikt", "oversikt", f"Lean i {kommune} – oversikt {year}")]
    pages = processed.area_pages(areas)
    out += [
        job(
            pages[area],
            "tjenesteomrade",
            f"{area} – Lean og ressursbruk {year}",
            tjenesteomrade=area,
        )
        for area in areas
    ]
    out.append(job("pilot-effekter", "pilot-effekter", f"Pilot-effekter {year}"))
    out.append(job("datakvalitet", "datakvalitet", f"Datakvalitet {year}"))
    return out


# Notebooks from the longest run to the shortest (area pages by their units). Each worker
# takes the next run when it is free, so the long pilot analysis no longer runs alone at
# the end with the other cores idle.
LONGEST_FIRST = ("pilot-effekter", "oversikt", "tjenesteomrade", "datakvalitet")
SHOW_CHECKS = frozenset({"datakvalitet"})  # notebooks that show the checks' results


def longest_first(runs: list[execute.Job], sizes: dict[str, int]) -> list[execute.Job]:
    """The notebook runs in the order to start them: longest first (`LONGEST_FIRST`)."""

    def expected(job: execute.Job) -> tuple[int, int]:
        area = dict(job.parameters).get("tjenesteomrade")
        rank = LONGEST_FIRST.index(job.notebook) if job.notebook in LONGEST_FIRST else 0
        return rank, -(sizes.get(area) or 0)

    return sorted(runs, key=expected)


@dataclass
class Data:
    """What the data stage hands to publishing: the datasets, key figures and checks."""

    period: calendar.Period
    ds: datasets.Datasets
    table: pl.DataFrame  # the key figures as of the report date, rounded
    before: pl.DataFrame  # the same a year earlier, for the headline's changes
    checks: list
    problems: list
    sha256: dict[str, str]  # raw file name -> SHA-256 of what was read
    rule: privacy.Rule
    reused: Path | None = None  # the datasets folder of an earlier build, used as it is

    def checked(self, validation: Validation) -> None:
        """Add the checks' results (the datasets are made before or while they run)."""
        self.checks, self.problems = validation.checks, validation.problems

    @property
    def warnings(self) -> list:
        """Problems that do not stop the build."""
        return [p for p in self.problems if p.severity is Severity.WARNING]


def _period(raw: read.RawData, options: Options) -> calendar.Period | None:
    """The report period, when the raw folder could be read well enough to choose it."""
    if "ressursbruk" not in raw.tables or raw.errors:
        return None
    return resolve_period(raw.tables["ressursbruk"].data, options.year, options.as_of)


def _validated(
    raw: read.RawData, period: calendar.Period | None, options: Options, params: dict
) -> Validation:
    """The raw folder checked against the contract; DataError when anything stops the build."""
    from vtklean.ingest.validate import validate

    validation = validate(
        raw,
        as_of=period.as_of if period else options.as_of,
        limits=params,
    )
    if validation.errors:
        raise DataError(validation.errors, folder=options.raw)
    return validation


def _data(raw: read.RawData, period: calendar.Period, params: dict) -> Data:
    """The datasets and key figures of the period (and a year earlier) from the raw data.

    The checks' results are added when the raw data have been checked.
    """
    tables = {name: td.data for name, td in raw.tables.items()}
    rule = privacy_rule(params)
    ds = datasets.build(tables, period, rule, tolerances(params))
    table = figures.rounded(figures.key_figures(ds))
    before = earlier_figures(tables, period, rule)
    return Data(period, ds, table, before, [], [], raw.sha256, rule)


class _Checks:
    """The raw data checked against the contract in a thread of their own, from now on.

    Great Expectations is imported and run there while this thread writes the datasets and
    starts the pages. A daemon thread: Ctrl-C, or an error elsewhere, does not wait for it.
    """

    def __init__(
        self, raw: read.RawData, period: calendar.Period, options: Options, params: dict
    ) -> None:
        self._outcome: Future = Future()
        threading.Thread(target=self._run, args=(raw, period, options, params), daemon=True).start()

    def _run(self, *args: object) -> None:
        try:
            self._outcome.set_result(_validated(*args))
        except BaseException as err:  # handed to the thread that asks for the result
            self._outcome.set_exception(err)

    def result(self) -> Validation:
        """The checks' outcome, when they are done; their DataError when the data are wrong."""
        return self._outcome.result()


def _unchecked_data(
    raw: read.RawData, period: calendar.Period, options: Options, params: dict
) -> Data:
    """The datasets before the raw data are checked, so the pages can render meanwhile.

    Raw data that break the contract can make the datasets fail: then the checks run at
    once, and their DataError is what the user sees. (Datasets from such data are never
    published either way: the build stops when the checks find errors.)
    """
    try:
        return _data(raw, period, params)
    except Exception:
        _validated(raw, period, options, params)  # raises DataError when the data are wrong
        raise


def _kept_data(options: Options, hashes: inputs.Hashes, params: dict) -> Data | None:
    """The datasets an earlier build wrote from the same raw files, parameters and code.

    The datasets folder records the key of what it was computed from (`nokkel`) and the
    hash of each file; the checks' results are in it too, so nothing is read or checked
    again.
    """
    key = hashes.data_key()
    for folder in archive.folders(options.processed):
        if processed.reusable(folder, key):
            kept = processed.load(folder)
            return Data(
                kept.period,
                kept.datasets,
                kept.key_figures,
                kept.key_figures_before,
                [],
                processed.problem_list(kept.problems),
                kept.raw_sha256,
                privacy_rule(params),
                reused=folder,
            )
    return None


def _up_to_date(options: Options, hashes: inputs.Hashes, period: calendar.Period) -> Path | None:
    """The report folder when it was built from the same inputs for this period, else None."""
    folder = archive.folder_name(period)
    published = options.reports / folder
    stamp = archive.read_stamp(published)
    if (
        stamp.get("fingerprint") == hashes.folder_key(period.year, period.as_of)
        and (published / "index.html").is_file()
        and inputs.same_datasets(options, folder, stamp)
    ):
        return published
    return None


def _skipped(reports_dir: Path, options: Options) -> Result:
    """The result of a build that had nothing to do (its folder is named by its period)."""
    as_of = archive.as_of(reports_dir.name)
    processed_dir = options.processed / reports_dir.name
    return Result(as_of.year, as_of, processed_dir, reports_dir, None, skipped=True)


def _render(
    todo: list[execute.Job],
    options: Options,
    hashes: inputs.Hashes | None,
    staged: Path,
    say: Callable[[str], None],
    pool: Callable[[], execute.Pool],
    sizes: dict[str, int],
    alongside: Callable[[], None],
    write: Callable[[execute.Job, str], None],
) -> None:
    """Every notebook's page, run now or kept from an earlier build, written by `write`.

    A page is kept when nothing it depends on changed (`hashes`; None keeps nothing).
    `sizes` are the units of each service area, to start the longest runs first. `alongside`
    runs while the notebooks run, and before any notebook that shows the checks starts.
    Each page is written as soon as its notebook is done.
    """
    store = options.processed / pagecache.FOLDER
    keys = {}
    if hashes is not None:
        for job in todo:
            shown = {k: v for k, v in job.parameters if k != "processed_dir"}
            keys[job.page] = hashes.page_key(job.page, job.notebook, job.title, shown)
    executed = {job.page: staged / execute.NOTEBOOK_DIR / f"{job.page}.ipynb" for job in todo}
    kept = set()
    if not options.force:
        for job in todo:
            body = pagecache.take(store, keys[job.page], executed[job.page]) if keys else None
            if body is not None:
                write(job, body)
                kept.add(job.page)
    run = longest_first([job for job in todo if job.page not in kept], sizes)
    by_page = {job.page: job for job in run}

    def done(page: str, body: str) -> None:
        write(by_page[page], body)

    if run:
        same = f"; {len(kept)} er uendret siden forrige bygg" if kept else ""
        what = "rapport" if len(run) == 1 else "rapporter"
        say(f"Kjører {len(run)} {what} ({min(execute.workers(), len(run))} om gangen){same}")
        first = [job for job in run if job.notebook not in SHOW_CHECKS]
        then = [job for job in run if job.notebook in SHOW_CHECKS]
        bodies = pool().run(first, staged, say, meanwhile=alongside, then=then, on_done=done)
        for page, (_seconds, body) in bodies.items():  # kept only when every page ran
            if page in keys:
                pagecache.put(store, keys[page], body, executed[page])
    else:
        alongside()
        if todo:
            say(f"Alle {len(todo)} rapportene er uendret siden forrige bygg")


def _write_page(staged: Path, job: execute.Job, body: str, prov: render.Provenance) -> None:
    """A rendered notebook as a house page, with its own parameters in the provenance."""
    shown = [(k, v) for k, v in job.parameters if k != "processed_dir"]
    page_prov = dataclasses.replace(prov, parameters=tuple(shown))
    (staged / f"{job.page}.html").write_text(
        render.notebook_page(job, body, page_prov), encoding="utf-8"
    )


def _export(staged: Path, data: Data, kommune: str, goals: pl.DataFrame) -> None:
    """The downloads (CSV files and workbook) of a build, with the target table `goals`."""
    period = data.period
    context = export.Context(
        kommune=kommune,
        title=f"Lean og ressursbruk {period.year}",
        as_of=period.as_of,
        year=period.year,
        version=__version__,
        threshold=data.rule.threshold,
        files=tuple(sorted(data.sha256.items())),
    )
    export.write(staged, context, data.table, figures.all_units(data.ds), goals)


def run(
    options: Options,
    step: Callable[[str], None] | None = None,
    hashes: inputs.Hashes | None = None,
    workers: execute.Pool | None = None,
) -> Result:
    """Run the whole build: read, validate, datasets, figures, render, export, swap in.

    `hashes` are those of the inputs when the build was asked for (taken here if None).
    Nothing is done when the last build was asked for with the same inputs; datasets and
    pages that depend on nothing that changed are taken from the last build that made
    them (`--force` does everything again). `workers`, when given, are notebook workers
    the caller started early and closes itself. Raises a VtkleanError: DataError,
    UsageError or RenderError.
    """
    hashes = hashes or inputs.Hashes.of(options)
    if not options.force and (done := inputs.current(options, hashes.request_key())):
        return _skipped(done, options)
    with contextlib.ExitStack() as resources:  # the notebook workers, closed however it ends
        return _run(options, step or log.info, hashes, resources, workers)


def _run(
    options: Options,
    say: Callable[[str], None],
    hashes: inputs.Hashes,
    resources: contextlib.ExitStack,
    workers: execute.Pool | None,
) -> Result:
    """The build in `run`; the notebook workers it starts are closed with `resources`."""
    workers_started: list[execute.Pool] = [] if workers is None else [workers]

    def pool() -> execute.Pool:
        """The notebook workers, started when first needed (once)."""
        if not workers_started:
            workers_started.append(
                resources.enter_context(execute.Pool(options.notebooks, execute.workers()))
            )
        return workers_started[0]

    params = load_params(options.params)
    kommune = params["kommune"].strip()  # checked by load_params
    asked = None if options.data_only else notebook_defaults(options, pool())
    data = None if options.force else _kept_data(options, hashes, params)
    raw = None
    if data is None:
        say(f"Leser rådata fra {options.raw}")
        raw = read.read_folder(options.raw)
    period = data.period if data else _period(raw, options)
    if period is not None and not options.force and (done := _up_to_date(options, hashes, period)):
        return _skipped(done, options)
    # With pages to render, the raw data are checked while the pages render (`unchecked`).
    unchecked = data is None and period is not None and not options.data_only
    if unchecked:
        pool()  # every page runs again: the kernels start at once
        say(f"Lager datasett for {period.year} per {period.as_of:%d.%m.%Y}")
        data = _unchecked_data(raw, period, options, params)
        # After the datasets: polars' many short steps wait for the lock Python threads
        # share, and the checks (pure Python) would hold it (sample: 0,1 s became 1-2 s).
        say("Kontrollerer rådataene mot datakontrakten mens rapportene lages")
        checks = _Checks(raw, period, options, params)
    elif data is None:
        say("Kontrollerer rådataene mot datakontrakten")
        validation = _validated(raw, period, options, params)
        assert period is not None  # no errors: every table was read
        say(f"Lager datasett for {period.year} per {period.as_of:%d.%m.%Y}")
        data = _data(raw, period, params)
        data.checked(validation)
    else:
        say("Datasettene er uendret siden forrige bygg (samme rådata, parametre og programkode)")
    # Keys are recorded only when the raw files read are those hashed when the build began.
    trusted = hashes.read_as_hashed(data.sha256)
    folder = archive.folder_name(period)
    processed_dir, reports_dir = options.processed / folder, options.reports / folder

    def keep(old: Path) -> Path:
        return archive.destination(options.reports, folder, old)

    def complete(staged: Path) -> bool:
        return (staged / archive.STAMP).is_file()

    def new_raw() -> read.RawData:
        return raw if raw is not None else read.read_folder(options.raw)

    snapshots = options.processed / archive.SNAPSHOTS
    built = dt.datetime.now().astimezone().replace(microsecond=0)
    defaults = {} if asked is None else asked.result()  # a UsageError before anything is written
    new_folders = swap.missing_folders(processed_dir, reports_dir, snapshots)
    staged_data = None if data.reused else swap.stage(processed_dir)
    try:
        staged_reports = swap.stage(reports_dir, keep, complete)
    except OSError:
        if staged_data is not None:
            swap.discard(staged_data)
        swap.remove_empty(new_folders)
        raise
    finished = False
    published = reports_dir if (reports_dir / archive.STAMP).is_file() else None
    try:
        say("Skriver datasett og rapporter")
        if staged_data is not None:
            processed.write(
                staged_data,
                data.ds,
                data.table,
                data.before,
                data.sha256,
                kommune,
                params["gammel_gevinst_dager"],
            )

        goals = targets.table(data.table, data.ds.targets)

        def alongside() -> None:
            """Write the downloads and take the checks (if not yet done), as the pages run."""
            _export(staged_reports, data, kommune, goals)  # while the checks run
            if unchecked:
                data.checked(checks.result())
            if staged_data is not None:
                key = hashes.data_key() if trusted else None
                processed.write_checks(staged_data, data.checks, data.problems, key)

        data_dir = staged_data or processed_dir
        areas = [a for a in data.table.get_column("tjenesteomrade") if a != datasets.WHOLE]
        todo = [] if options.data_only else jobs(defaults, data_dir, period.year, areas, kommune)
        units = dict(data.table.select("tjenesteomrade", "enheter").iter_rows())
        prov = render.provenance(period.as_of, period.year, data.sha256, kommune, built)

        def write(job: execute.Job, body: str) -> None:
            _write_page(staged_reports, job, body, prov)

        _render(
            todo,
            options,
            hashes if trusted else None,
            staged_reports,
            say,
            pool,
            units,
            alongside,
            write,
        )
        changes = (
            restate.compare(published, data.table, data.sha256, new_raw, snapshots)
            if published
            else None
        )
        replaced = keep(published) if published else None
        index.write(
            staged_reports,
            index.title(kommune, folder, period.year, period.as_of),
            period.as_of,
            todo,
            data.table,
            prov,
            changes=changes,
            earlier=index.earlier(options.reports, folder, replaced),
            missing=datasets.missing_note(data.ds),
            headline=message.headline(data.table, data.before, goals, datasets.WHOLE),
            goals=goals,
        )
        if options.pdf:
            say("Skriver PDF av hver side")
            pdf.write_pdfs(staged_reports, ["index", *[j.page for j in todo]])
        archive.snapshot(options.raw, data.sha256, snapshots)
        archive.write_stamp(
            staged_reports,
            hashes.folder_key(period.year, period.as_of) if trusted else "",
            built.isoformat(),
            data.sha256,
            request=hashes.request_key() if trusted else None,
            data=hashes.data_key() if trusted else None,
        )
        if staged_data is not None:
            swap.swap_in(staged_data, processed_dir)
        swap.swap_in(staged_reports, reports_dir, (lambda _old: replaced) if replaced else None)
        pagecache.prune(options.processed / pagecache.FOLDER)
        finished = True
    finally:
        if staged_data is not None:
            swap.discard(staged_data)
        swap.discard(staged_reports)
        if not finished:  # e.g. the raw data were checked while the pages ran, and had errors
            swap.remove_empty(new_folders)
    return Result(
        period.year,
        period.as_of,
        processed_dir,
        reports_dir,
        data.table,
        warnings=data.warnings,
        pages=[j.page for j in todo],
        restatement=changes,
        archived=replaced,
    )
