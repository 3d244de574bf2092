"""Shared fixtures: hand-made raw folders and builds of the shipped sample data."""

from __future__ import annotations

import inspect
import shutil
import time
from pathlib import Path

import pytest

from tests import helpers
from vtklean import cli

# Tests that need a whole report suite built (notebooks, browser, LibreOffice or a JupyterLab
# server) run in CI only (`make test-all`, `.ci/run`); `make test` runs the rest. The rule
# is by fixture, by file and by a test that builds pages itself (`run_build(..., pages=True)`),
# so a new test on these builds is marked without being listed. `make test` runs the test
# files side by side (pytest-xdist, one file per worker): a test writes only under its own
# temporary folders and uses no fixed port or shared LibreOffice profile.
SLOW_FIXTURES = frozenset({"suite", "shipped_builds", "small_build", "hostile_build"})
SLOW_FILES = frozenset({"test_accessibility.py", "test_lab.py", "test_shapes.py"})
BUILDS_PAGES = "pages=True"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test on a full suite build `slow`."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        if uses & SLOW_FIXTURES or item.path.name in SLOW_FILES or BUILDS_PAGES in source:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def tiny_raw(tmp_path: Path) -> Path:
    """A small hand-made raw folder in plain CSV."""
    return helpers.write_folder(tmp_path / "raw")


def run_build(raw: Path, out: Path, *args: str, pages: bool = False) -> int:
    """Run `vtklean build` in-process into `out`/processed and `out`/reports.

    Without `pages` the build is `--data-only` (no notebooks): the data tests need the
    datasets and key figures, and the report suite is tested on its own.
    """
    extra = [] if pages else ["--data-only"]
    command = ["build", "--raw", str(raw), "--processed", str(out / "processed")]
    return cli.main([*command, "--reports", str(out / "reports"), *extra, *args])


@pytest.fixture(scope="session")
def sample_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default sample, generated into a temporary folder once per session.

    The generator is deterministic, so this is the shipped data; tests use it instead of
    data/raw, which may hold a municipality's own exports.
    """
    raw = tmp_path_factory.mktemp("sample") / "raw"
    assert cli.main(["sample", "--out", str(raw)]) == 0
    return raw


@pytest.fixture(scope="session")
def shipped_builds(tmp_path_factory: pytest.TempPathFactory, sample_raw: Path) -> dict[str, Path]:
    """The sample data built as of every published date; name -> reports/<folder> folder."""
    raw = tmp_path_factory.mktemp("shipped") / "raw"
    shutil.copytree(sample_raw, raw)
    runs = {
        "2017": ("--year", "2017"),
        "2018": ("--year", "2018"),
        "2015": ("--year", "2015"),
        "2016-04-30": ("--as-of", "2016-04-30"),
        "2012-06-14": ("--as-of", "2012-06-14"),
    }
    out = {}
    for name, args in runs.items():
        target = tmp_path_factory.mktemp(f"build-{name}")
        assert run_build(raw, target, *args) == 0
        out[name] = target / "reports" / name  # a year, or the date for other days
        out[name + ":processed"] = target / "processed" / name
    return out


@pytest.fixture(scope="session")
def suite(tmp_path_factory, sample_raw: Path) -> dict:
    """The whole report suite built from the sample data for 2017, then rebuilt unchanged."""
    base = tmp_path_factory.mktemp("suite")
    raw = base / "raw"
    shutil.copytree(sample_raw, raw)
    started = time.perf_counter()
    assert run_build(raw, base, "--year", "2017", "--pdf", pages=True) == 0
    first = time.perf_counter() - started
    before = helpers.tree_hashes(base / "reports")
    started = time.perf_counter()
    assert run_build(raw, base, "--year", "2017", "--pdf", pages=True) == 0
    second = time.perf_counter() - started
    return {
        "raw": raw,
        "reports": base / "reports" / "2017",
        "processed": base / "processed" / "2017",
        "first": first,
        "second": second,
        "unchanged": helpers.tree_hashes(base / "reports") == before,
    }
