"""Speed measures that must not come back undone: costly imports, workers, progress, markers."""

from __future__ import annotations

import ast
import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl

from tests.conftest import BUILDS_PAGES, SLOW_FILES, SLOW_FIXTURES, run_build
from vtklean import build
from vtklean.core import calendar, paths, progress
from vtklean.ingest import read
from vtklean.model import datasets, figures, privacy
from vtklean.publish import execute

TESTS = Path(__file__).parent
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so progress bars are drawn into it."""

    def isatty(self) -> bool:
        return True


def test_build_process_imports_neither_rfc3987_syntax_nor_great_expectations():
    """Importing the CLI, the build and the notebook tools costs no grammar build and no GX."""
    code = (  # the CLI imports the build when there is work to do, before any notebook tool
        "import sys, vtklean.cli, vtklean.build, papermill, nbformat, nbconvert\n"
        "from vtklean.publish import execute\n"
        "print(sorted(m for m in ('rfc3987_syntax', 'great_expectations') if sys.modules.get(m)))\n"
        "nb = nbformat.v4.new_notebook()\n"
        "nbformat.validate(nb)\n"  # the schema check itself still works
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=paths.ROOT
    ).stdout.split()
    assert out == ["[]", "ok"]


def test_checks_run_without_loading_scipy_stats_or_altair_which_still_work_when_used(tiny_raw):
    """Great Expectations' unused altair and scipy.stats imports are deferred, not removed."""
    code = (
        "import datetime as dt, pathlib, sys\n"
        "from vtklean.ingest import read, validate\n"
        "loaded = lambda: sorted(m for m in ('scipy.stats._stats_py', 'altair.vegalite')"
        " if m in sys.modules)\n"
        "print(loaded())\n"
        f"raw = read.read_folder(pathlib.Path({str(tiny_raw)!r}))\n"
        "result = validate.validate(raw, as_of=dt.date(2017, 12, 31))\n"
        "print(len(result.checks) > 0, result.errors == [], loaded())\n"
        "from scipy import stats\n"
        "import altair\n"
        "print(stats.norm.cdf(0.0), altair.Chart.__name__, loaded())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=paths.ROOT
    ).stdout.splitlines()
    assert out == [
        "[]",
        "True True []",
        "0.5 Chart ['altair.vegalite', 'scipy.stats._stats_py']",
    ]


def test_render_workers_leave_a_core_to_the_build_process():
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert execute.workers() == max(1, available - 1)


def test_progress_bars_on_a_terminal_and_never_with_stille(tmp_path, tiny_raw, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress, "DELAY", 0)
    shown = Terminal()
    monkeypatch.setattr(sys, "stderr", shown)
    assert run_build(tiny_raw, tmp_path / "a", "--year", "2017") == 0
    assert "Kontrollerer: 100%" in shown.getvalue(), shown.getvalue()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert run_build(tiny_raw, tmp_path / "b", "--year", "2017", "--stille") == 0
    assert quiet.getvalue() == ""
    monkeypatch.setenv("CI", "true")
    assert run_build(tiny_raw, tmp_path / "c", "--year", "2017") == 0
    assert quiet.getvalue() == ""


def test_render_bar_and_a_failing_notebook_still_exits_3(tmp_path, tiny_raw, monkeypatch):
    """The rendering bar is drawn on a terminal; a notebook error is still exit 3."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(paths.NOTEBOOKS, notebooks)
    broken = notebooks / "oversikt.ipynb"
    text = broken.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("from vtklean.publish import", "from vtklean.publish import ikke_her,", 1)
    )
    init = build.Options.__init__

    def with_notebooks(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.notebooks = notebooks

    monkeypatch.setattr(build.Options, "__init__", with_notebooks)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(progress, "DELAY", 0)
    shown = Terminal()
    monkeypatch.setattr(sys, "stderr", shown)
    assert run_build(tiny_raw, tmp_path / "out", "--year", "2017", pages=True) == 3
    err = shown.getvalue()
    assert "Rapporter:" in err and "Rapporten «oversikt» feilet" in err, err
    assert "Traceback" not in err


def _uses(path: Path) -> dict[str, tuple[set[str], str]]:
    """Each test function of a file: the names of its arguments (its fixtures), its source."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    return {
        node.name: ({a.arg for a in node.args.args}, ast.get_source_segment(text, node) or "")
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_make_test_skips_exactly_the_tests_on_full_suite_builds():
    files = sorted(TESTS.glob("test_*.py"))
    expected_slow = {
        f"{path.name}::{name}"
        for path in files
        for name, (args, source) in _uses(path).items()
        if args & SLOW_FIXTURES or path.name in SLOW_FILES or BUILDS_PAGES in source
    }
    assert expected_slow  # the rule marks something
    out = subprocess.run(
        [*PYTEST, "--collect-only", "-q", "-m", "slow"],
        capture_output=True,
        text=True,
        cwd=paths.ROOT,
    ).stdout
    lines = [line for line in out.splitlines() if "::" in line]
    collected = {line.split("[")[0].removeprefix("tests/") for line in lines}
    # Tests on fixtures built from these (e.g. test_pilot's shipped_months) are slow too.
    assert expected_slow <= collected
    assert "test_speed.py::test_render_bar_and_a_failing_notebook_still_exits_3" in collected
    makefile = (paths.ROOT / "Makefile").read_text(encoding="utf-8")
    assert '-m pytest -m "not slow"' in makefile
    ci = (paths.ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().endswith("make test-all")
    assert "\n\t$(BIN)/python -m pytest\n" in makefile.split("test-all:", 1)[1]


def test_progress_steps_yield_every_item_once():
    items = list(range(7))
    assert list(progress.steps(items, "Teller", " ting")) == items


def test_last_years_figures_from_that_year_alone_equal_the_whole_history_build(sample_raw):
    """The headline's year-earlier figures, built from one year's rows, equal the full build's."""
    tables = {name: td.data for name, td in read.read_folder(sample_raw).tables.items()}
    months = tables["ressursbruk"].get_column("maned")
    first, last = months.min().year, months.max().year
    compared = hidden = 0
    for threshold in (5, 40):  # 40: most cells hidden, secondary suppression everywhere
        rule = privacy.Rule(threshold=threshold)
        for year in range(first + 1, last + 1):
            for as_of in (dt.date(year, 12, 31), dt.date(year, 4, 30)):
                period = calendar.Period(year, as_of)
                earlier = calendar.Period(year - 1, as_of.replace(year=year - 1))
                whole = datasets.build(tables, earlier, rule)
                expected = figures.rounded(figures.key_figures(whole))
                assert build.earlier_figures(tables, period, rule).equals(expected), (year, as_of)
                compared += 1
                hidden += whole.hidden.filter(pl.col("ar") == year - 1).height
    assert compared >= 10 and hidden > 0
