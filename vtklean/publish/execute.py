"""Notebook execution: parameters checked, each notebook run by papermill, its outputs exported."""

from __future__ import annotations

import atexit
import functools
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from vtklean.core import imports, machine, norsk, progress
from vtklean.core.errors import EXIT_RENDER, UsageError, VtkleanError
from vtklean.model import choices
from vtklean.publish import defaults

if TYPE_CHECKING:
    from nbconvert import HTMLExporter
    from nbformat import NotebookNode

# jsonschema's IRI checker (under nbformat and papermill) is never needed: see `imports`.
imports.block(imports.IRI_CHECKER)

NOTEBOOK_DIR = "notatboker"  # executed notebooks, kept beside the pages for audit


@dataclass(frozen=True)
class Job:
    """One notebook run: which notebook, with which parameters, into which page."""

    page: str  # output file stem, e.g. "tjenesteomrade-omsorg"
    notebook: str  # notebook file stem in notebooks/
    title: str
    parameters: tuple[tuple[str, object], ...]


class RenderError(VtkleanError):
    """A report notebook failed (exit code 3): names the notebook and the failing cell's error."""

    exit_code = EXIT_RENDER

    def __init__(self, page: str, message: str) -> None:
        super().__init__(page, message)  # both in args, so it survives the worker's pickling
        self.page, self.message = page, message

    def __str__(self) -> str:
        return f"{self.page}: {self.message}"

    def lines(self) -> list[str]:
        """Which page failed, why, and that the published reports are untouched."""
        return [
            "",
            f"Rapporten «{self.page}» feilet, og ingen rapporter er byttet ut:",
            f"  {self.message}",
            "De forrige rapportene er urørt. Dette er en feil i vtklean; meld den gjerne.",
        ]


def declared_parameters(path: Path) -> dict[str, dict]:
    """Each parameter of a notebook's parameters cell: `inferred_type_name`, `default`, `help`."""
    import papermill

    return dict(papermill.inspect_notebook(str(path)))


# The values a notebook parameter may take, where the cell's type alone is not enough.
ALLOWED = {
    "utfall": tuple(choices.OUTCOME_DECIMALS),
    "periode": tuple(choices.GRAINS),
    "kontrollgruppe": choices.CONTROLS,
}


MINIMUM = {"etterslep_antall": 1, "maks_enheter": 1, "vis_perioder_for": 0, "vis_perioder_etter": 0}
_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
_TYPE_NAMES = {"int": "et heltall", "float": "et tall", "str": "tekst", "bool": "true eller false"}


def _problem(name: str, value: object, declared: dict) -> str | None:
    """What is wrong with one parameter value (None when it is fine)."""
    kind = str(declared.get("inferred_type_name", "")).lower()
    types = _TYPES.get(kind)
    if types and (not isinstance(value, types) or (kind != "bool" and isinstance(value, bool))):
        return f"skal være {_TYPE_NAMES[kind]}"
    allowed = ALLOWED.get(name)
    if allowed is not None and value not in allowed:
        return f"tillatt er {', '.join(allowed)}"
    minimum = MINIMUM.get(name)
    if minimum is not None and isinstance(value, int | float) and value < minimum:
        return f"skal være {minimum} eller mer"
    return None


def yaml_error(err: yaml.YAMLError) -> str:
    """Where a YAML file is broken, in bokmål (PyYAML's own message is English)."""
    mark = getattr(err, "problem_mark", None)
    where = f" (linje {mark.line + 1}, kolonne {mark.column + 1})" if mark else ""
    return f"ikke gyldig YAML{where}; sjekk innrykk (mellomrom, ikke tabulator), kolon og klammer"


def load_defaults(notebook: str, params_dir: Path, notebooks_dir: Path) -> dict[str, object]:
    """A notebook's defaults from params/<notebook>.yaml, checked against its parameters cell.

    An unknown name, a value of the wrong type or a value outside what is allowed is a
    UsageError naming the file, the parameter, the value and what is allowed; so is a
    missing name whose default the cell reads from the file (defaults.from_params).
    """
    path = params_dir / f"{notebook}.yaml"
    try:
        text = path.read_bytes().decode("utf-8-sig") if path.exists() else ""
        values = yaml.safe_load(text) or {}
    except UnicodeDecodeError as err:
        raise UsageError(
            f"{path}: er ikke lagret som UTF-8 (byte 0x{err.object[err.start]:02X}); "
            "lagre den som UTF-8"
        ) from None
    except yaml.YAMLError as err:
        raise UsageError(f"{path}: {yaml_error(err)}") from None
    if not isinstance(values, dict):
        raise UsageError(f"{path}: skal inneholde navn: verdi-par")
    declared = declared_parameters(notebooks_dir / f"{notebook}.ipynb")
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise UsageError(
            f"{path.name}: ukjente parametre {', '.join(unknown)} "
            f"(notatboken {notebook} har: {', '.join(declared)})"
        )
    missing = [name for name in defaults.names_from_params(declared) if name not in values]
    if missing:
        raise UsageError(f"{path}: mangler {', '.join(missing)} (standardverdiene står bare her)")
    problems = [
        f"{path}: parameteren «{name}» har verdien «{value}», men {why}"
        for name, value in values.items()
        if (why := _problem(name, value, declared[name]))
    ]
    if problems:
        raise UsageError("; ".join(problems))
    return values


def _export(nb: NotebookNode) -> str:
    """The executed notebook's outputs as an HTML body: no code, no prompts, no stderr.

    Output formats the exporter never shows (a chart's plotly JSON beside its HTML, for
    JupyterLab) are left out first: the exporter copies the whole notebook, and those many
    small objects were most of what it copied.
    """
    exporter = _exporter()
    shown = set(exporter.shown_formats)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")
            ]
            for output in cell.outputs:
                if "data" in output:
                    output.data = {k: v for k, v in output.data.items() if k in shown}
    body, _ = exporter.from_notebook_node(nb)
    return body


# How notebook outputs become a page body: the basic template, outputs only.
EXPORTER_SETTINGS = {
    "template_name": "basic",
    "exclude_input": True,
    "exclude_input_prompt": True,
    "exclude_output_prompt": True,
    "exclude_anchor_links": True,
    # The notebook is checked against its schema once, after the preprocessors, not after
    # each of them (nbconvert's own option; each check walks the whole notebook).
    "optimistic_validation": True,
}


@functools.cache
def _exporter() -> HTMLExporter:
    """The HTML exporter (nbconvert) the pages use, made once per process with its templates.

    nbconvert's HTMLExporter ends by parsing the whole page again with BeautifulSoup's
    pure-Python parser, only to give alt text to images that lack it and tabindex to the
    lab template's cell wrappers. Our pages use the basic template (no such wrappers) and
    have no images, and that second pass cost 5,7 s of the 5,8 s it takes to export one
    4 MB page of the national folder (0,13 of 0,17 s on the sample). This exporter sets up
    the same filters as HTMLExporter and renders the template without that pass; a test
    shows the page has the same elements, attributes and text as HTMLExporter's.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    from nbconvert.utils.base import NbConvertBase

    class PageExporter(HTMLExporter):
        @functools.cached_property
        def shown_formats(self) -> list[str]:
            """The output formats the page may show, in the order the exporter prefers them."""
            return NbConvertBase(parent=self).display_data_priority

        def from_notebook_node(self, nb, resources=None, **kw):  # type: ignore[override]
            info = nb.metadata.get("language_info", {})
            lexer = info.get("pygments_lexer", info.get("name"))
            default = Highlight2HTML(pygments_lexer=lexer, parent=self)
            highlight = self.filters.get("highlight_code", default)
            resources = self._init_resources(resources)
            data_types = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("highlight_code", highlight)
            self.register_filter("filter_data_type", data_types)
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return PageExporter(**EXPORTER_SETTINGS)


def _quiet_stderr() -> None:
    """Send this worker's stderr, which kernels inherit, to /dev/null.

    Kernels print transport warnings on start; the terminal is the CLI's. Errors in a
    notebook still reach the user through papermill's exception.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


# ---- a kernel reused across notebooks ------------------------------------------------------

CELL_TIMEOUT = 600  # seconds one cell may run before its notebook counts as hanging

# Imported once per kernel, before the first notebook: what the report notebooks import.
# Nothing whose import changes process settings (scipy, under the pilot page, adds warnings
# filters): every notebook must see what it would see in a new kernel. A library that
# fails to import is left to the notebook that imports it, to report.
_WARM = (
    # The kernels too: reading plotly's renderer imports nbformat (2,7 s with the grammar).
    "from vtklean.core import imports\n"
    f"imports.block({imports.IRI_CHECKER!r})\n"
    "try:\n"
    "    import IPython.display, plotly.io, polars\n"
    "    from vtklean.core import norsk\n"
    "    from vtklean.model import processed\n"
    "    from vtklean.publish import charts, defaults, page, sections, widgets\n"
    "except Exception:\n"
    "    pass\n"
    "from vtklean.publish import kernel_state\n"
    "kernel_state.save()\n"
    "import gc; gc.freeze()\n"  # warm-up objects out of gc's reach: reset 0.09 s -> 4 ms
)
# Before each notebook: settings back as after the warm-up, then a new IPython session:
# empty namespace, empty history and execution count 1, as in a kernel of its own.
_FRESH = (
    "from vtklean.publish import kernel_state\n"
    "kernel_state.restore()\n"
    "get_ipython().reset(new_session=True)\n"
)


class Kernel:
    """A python3 kernel that runs one notebook after another, each as if in a new kernel.

    Libraries are imported once (`_WARM`); before each notebook the namespace, history and
    execution count are reset and process settings restored (`kernel_state`), so executed
    notebooks do not depend on what ran before. After a failing or hanging notebook the
    kernel is replaced by a new one.
    """

    def __init__(self, cwd: Path, timeout: float = CELL_TIMEOUT) -> None:
        self.cwd, self.timeout = cwd, timeout
        self._client = None  # the nbclient client that owns the kernel manager
        self._warm = False  # connected, and the libraries imported

    def start(self) -> None:
        """Start the kernel and import the libraries (a failed import shows in the notebook)."""
        self.launch()
        self._warm_up()

    def launch(self) -> None:
        """Start the kernel process only: it boots while this process does other work."""
        import nbformat
        from nbclient import NotebookClient

        client = NotebookClient(
            nbformat.v4.new_notebook(), kernel_name="python3", timeout=CELL_TIMEOUT
        )
        client.km = client.create_kernel_manager()
        client.start_new_kernel(cwd=str(self.cwd))
        self._client, self._warm = client, False

    def _warm_up(self) -> None:
        """Connect to the launched kernel, wait until it is ready, import the libraries."""
        self._client.start_new_kernel_client()
        self._run(_WARM)
        self._warm = True

    def stop(self) -> None:
        """Shut the kernel down (at once: it may be busy in a hanging cell)."""
        if self._client is not None:
            from jupyter_core.utils import run_sync

            if self._client.kc is not None:
                self._client.kc.stop_channels()
            run_sync(self._client.km.shutdown_kernel)(now=True)
            self._client, self._warm = None, False

    def restart(self) -> None:
        """Replace the kernel with a new one."""
        self.stop()
        self.start()

    def _run(self, code: str) -> bool:
        """Run code silently (no history, no execution count); True when it ran without error."""
        client = self._client
        reply = client.wait_for_reply(client.kc.execute(code, silent=True, store_history=False))
        return reply is not None and reply["content"]["status"] == "ok"

    def fresh(self) -> tuple:
        """The kernel manager and client, with the kernel ready for a new notebook."""
        if self._client is None:
            self.start()
        elif not self._warm:
            self._warm_up()
        if not self._run(_FRESH):
            self.restart()
        return self._client.km, self._client.kc


def _engine() -> type:
    """Papermill's nbclient engine, but on an already running kernel (`kernel=` argument)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine

    class KernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            km, kc = kwargs["kernel"].fresh()
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                kernel_name=kernel_name,
                timeout=kwargs["kernel"].timeout,
                startup_timeout=kwargs.get("start_timeout", 60),
                log=logging.getLogger("papermill"),
            )
            client.kc = kc  # the kernel's own client: nothing is started, nothing is shut down
            return client.execute()

    return KernelEngine


_ENGINE = "vtklean-kernel"


def execute(
    job: Job, notebooks_dir: Path, out_dir: Path, kernel: Kernel | None = None
) -> tuple[str, float, str]:
    """Run one notebook with papermill and export its page body.

    In `kernel` when given (a worker's, reused), else in a kernel of its own. Returns
    (page, seconds, html body). Raises RenderError naming the failing cell; a kernel that
    failed, hung or died is replaced.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    executed = out_dir / NOTEBOOK_DIR / f"{job.page}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, object] = {}
    if kernel is not None:
        papermill_engines.register(_ENGINE, _engine())
        extra = {"engine_name": _ENGINE, "kernel": kernel}
    try:
        nb = papermill.execute_notebook(
            str(notebooks_dir / f"{job.notebook}.ipynb"),
            str(executed),
            parameters=dict(job.parameters),
            kernel_name="python3",
            progress_bar=False,
            request_save_on_cell_execute=False,  # written once at the end, not after each cell
            cwd=str(notebooks_dir),
            **extra,
        )
    except PapermillExecutionError as err:
        _replace(kernel)
        raise RenderError(job.page, f"celle {err.exec_count}: {err.ename}: {err.evalue}") from None
    except CellTimeoutError:
        _replace(kernel)
        raise RenderError(
            job.page, f"en celle var ikke ferdig etter {norsk.number(kernel.timeout, 0)} s"
        ) from None
    except DeadKernelError:
        _replace(kernel)
        raise RenderError(job.page, "Python-kjernen som kjørte notatboken, stoppet") from None
    return job.page, time.perf_counter() - started, _export(nb)


def _replace(kernel: Kernel | None) -> None:
    if kernel is not None:
        kernel.restart()


# ---- the worker pool -----------------------------------------------------------------------

_KERNEL: Kernel | None = None  # this worker process's kernel
# Workers and their kernels run at a lower priority than the build process: while the
# notebooks run, the build checks the raw data, the longest step it waits for. Measured on
# the sample (2 cores, idle): cold build 9,1 s with equal priority, 8,1 s with this.
WORKER_NICENESS = 10


def _exit_with_parent() -> None:
    """End this worker when the build process is gone (killed); its kernel follows it.

    A pool's workers otherwise wait for work forever, each with a kernel.
    """
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)


def _start_worker(notebooks_dir: Path) -> None:
    """Worker start: ignore Ctrl-C (the CLI handles it), quiet stderr, warm kernel and tools."""
    global _KERNEL
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    _quiet_stderr()
    # papermill imports pyarrow.fs (and with it pyarrow and numpy, 0,3 s) for its HDFS paths
    # and handles it missing; workers read and write local files only.
    imports.block("pyarrow.fs")
    _KERNEL = Kernel(notebooks_dir)
    atexit.register(_KERNEL.stop)
    try:
        _KERNEL.launch()  # it boots while this worker imports; it is warmed up when first used
    except Exception:  # the first notebook starts it again, and reports why it fails
        _KERNEL.stop()
    import nbformat
    import papermill  # noqa: F401 (imported now, while the data are checked)

    _export(nbformat.v4.new_notebook())  # the exporter's templates, loaded now too


def _stop(pending: set[Future]) -> None:
    """Drop the notebooks not yet started and wait for the running ones to end.

    A running notebook writes into the staged report folder; the build discards that
    folder only once nothing writes into it any more.
    """
    for future in pending:
        future.cancel()
    wait(pending)


def _ready() -> None:
    """A task that does nothing: submitting one per worker starts every worker at once."""


def _defaults(
    notebooks: tuple[str, ...], params_dir: Path, notebooks_dir: Path
) -> dict[str, dict[str, object]]:
    return {nb: load_defaults(nb, params_dir, notebooks_dir) for nb in notebooks}


def _in_worker(job: Job, notebooks_dir: Path, out_dir: Path) -> tuple[str, float, str]:
    return execute(job, notebooks_dir, out_dir, _KERNEL)


def workers() -> int:
    """Notebooks run at once: one less than the cores this process may use, at least one.

    Each notebook uses about a core, and so does the build process while the pages run (it
    checks the raw data, then writes the pages). Measured on 2 cores, idle: the sample's
    cold build took 5,4-5,7 s with one worker and 5,9-6,0 s with two (1,8 s less CPU: a
    worker and its kernel cost about that to start); the national folder 24 s with either.
    """
    return max(1, machine.cores() - 1)


class Pool:
    """Worker processes, each with a kernel of its own started at once and reused.

    Made before the data are checked, so kernels start and import while validation runs.
    """

    def __init__(self, notebooks_dir: Path, workers: int) -> None:
        self.notebooks_dir = notebooks_dir
        self._submitted = False
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(notebooks_dir,),
        )
        for _ in range(workers):
            self._executor.submit(_ready)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (and their kernels); notebooks not yet started are dropped.

        Waits for running notebooks, which write into the staged report folder; when none
        was submitted (the data had errors), the workers are left to stop by themselves.
        """
        self._executor.shutdown(wait=self._submitted, cancel_futures=True)

    def run(
        self,
        todo: list[Job],
        out_dir: Path,
        say: Callable[[str], None],
        meanwhile: Callable[[], None] | None = None,
        then: list[Job] | None = None,
        on_done: Callable[[str, str], None] | None = None,
    ) -> dict[str, tuple[float, str]]:
        """Run every notebook; page -> (seconds, html body). Stops at the first failure.

        `meanwhile` runs in this process while `todo` runs; the notebooks in `then` start
        after it. When it raises, nothing more starts and its error is the build's (a
        notebook failing meanwhile is reported only if it returns). `on_done(page, body)`
        is called for each notebook as it is done.
        """
        then = then or []
        total = len(todo) + len(then)
        done: dict[str, tuple[float, str]] = {}
        self._submitted = True
        with progress.bar(total, "Rapporter", "sider", delay=0) as bar:
            pending = {self._submit(j, out_dir) for j in todo}
            try:
                if meanwhile is not None:
                    meanwhile()
            except BaseException:
                _stop(pending)
                raise
            pending |= {self._submit(j, out_dir) for j in then}
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if error is not None:
                        _stop(pending)
                        raise error
                    page, seconds, body = future.result()
                    done[page] = (seconds, body)
                    if on_done is not None:
                        on_done(page, body)
                    with progress.clear_for_text():
                        say(f"  {len(done)}/{total} {page} ({norsk.number(seconds, 1)} s)")
                    bar.update()
        return done

    def defaults(self, notebooks: tuple[str, ...], params_dir: Path) -> Future:
        """Each notebook's checked defaults (`load_defaults`), read in a worker."""
        return self._executor.submit(_defaults, notebooks, params_dir, self.notebooks_dir)

    def _submit(self, job: Job, out_dir: Path) -> Future:
        return self._executor.submit(_in_worker, job, self.notebooks_dir, out_dir)
