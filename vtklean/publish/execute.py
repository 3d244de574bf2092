"""Notebook execution: parameters checked, each notebook run by papermill, its outputs exported."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from vtklean.core.errors import EXIT_RENDER, UsageError, VtkleanError
from vtklean.publish import defaults

# jsonschema (under nbformat and papermill) imports the optional IRI checker rfc3987_syntax
# whenever it is installed (jupyter-events asks for jsonschema[format-nongpl]); it builds a
# grammar at import, about 2,7 s in every build and worker process. Notebook schemas have
# no IRI fields, so the checker is never needed: a None entry in sys.modules makes Python's
# import system raise ImportError for it, which jsonschema handles by skipping that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

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
def _allowed_values() -> dict[str, tuple]:
    from vtklean.model import effects, pilot

    return {
        "utfall": tuple(pilot.OUTCOMES),
        "periode": tuple(pilot.GRAINS),
        "kontrollgruppe": effects.CONTROLS,
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
    allowed = _allowed_values().get(name)
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
    missing name whose default the cell reads from the file (defaults.default).
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
    missing = [name for name in defaults.from_params(declared) if name not in values]
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


def _export(executed: Path) -> str:
    """The notebook's outputs as an HTML body: no code, no prompts, no stderr."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")
            ]
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def _quiet_stderr() -> None:
    """Send this worker's stderr, which kernels inherit, to /dev/null.

    Kernels print transport warnings on start; the terminal is the CLI's. Errors in a
    notebook still reach the user through papermill's exception.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def execute(job: Job, notebooks_dir: Path, out_dir: Path) -> tuple[str, float, str]:
    """Run one notebook with papermill and export its page body (runs in a worker process).

    Returns (page, seconds, html body). Raises RenderError naming the failing cell.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    _quiet_stderr()
    executed = out_dir / NOTEBOOK_DIR / f"{job.page}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(notebooks_dir / f"{job.notebook}.ipynb"),
            str(executed),
            parameters=dict(job.parameters),
            kernel_name="python3",
            progress_bar=False,
            cwd=str(notebooks_dir),
        )
    except PapermillExecutionError as err:
        raise RenderError(job.page, f"celle {err.exec_count}: {err.ename}: {err.evalue}") from None
    return job.page, time.perf_counter() - started, _export(executed)
