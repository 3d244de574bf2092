"""Rebuilds do only what changed: the quick no-change check, kept datasets, kept pages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from tests import helpers
from tests.conftest import run_build
from vtklean import build, inputs
from vtklean.core import paths
from vtklean.model import processed
from vtklean.publish import archive, pagecache

HEAVY = ("polars", "yaml", "great_expectations", "papermill", "jinja2", "numpy", "pandas")


def _options(base: Path, raw: Path, **extra: object) -> inputs.Options:
    """A build of `raw` into `base`, with its own copies of params/ and notebooks/."""
    params, notebooks = base / "params", base / "notebooks"
    if not params.exists():
        shutil.copytree(paths.PARAMS, params)
        shutil.copytree(paths.NOTEBOOKS, notebooks)
    return inputs.Options(
        raw=raw,
        processed=base / "processed",
        reports=base / "reports",
        params=params / "build.yaml",
        params_dir=params,
        notebooks=notebooks,
        **extra,  # type: ignore[arg-type]
    )


def _run(options: inputs.Options) -> tuple[build.Result, list[str]]:
    """Build; return the result and the build's own step log."""
    log: list[str] = []
    return build.run(options, step=log.append), log


def _edit_notebook(path: Path, text: str) -> None:
    """Add a markdown cell to a notebook (its page changes, its data does not)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [text]})
    path.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _mtimes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(folder.iterdir())}


def test_every_input_changes_the_request_key_and_only_data_inputs_the_data_key(tmp_path, tiny_raw):
    """Raw files, parameters, notebooks, templates and library code each change the check.

    The datasets' key follows only what computes them (raw files, build parameters,
    ingest/model/core code); a page's key follows its notebook, templates and page code.
    """
    package = tmp_path / "vtklean"
    shutil.copytree(
        Path(inputs.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    options = _options(tmp_path, tiny_raw)

    def keys() -> tuple[str, str, str, str]:
        h = inputs.Hashes.of(options, package)
        page = h.page_key("oversikt", "oversikt", "Oversikt", {"year": 2017})
        other = h.page_key("datakvalitet", "datakvalitet", "Datakvalitet", {"year": 2017})
        return h.request_key(), h.data_key(), page, other

    def edit(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert old in text, (path, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    before = keys()
    assert keys() == before  # the same inputs, the same keys
    edit(options.notebooks / "oversikt.ipynb", '"cells"', '"cells" ')
    after = keys()
    assert after[0] != before[0] and after[1] == before[1]
    assert after[2] != before[2] and after[3] == before[3]  # only that notebook's pages
    changes = {
        "template": (package / "publish" / "templates" / "style.css", "}", "} "),
        "page code": (package / "publish" / "charts.py", '"""', '""" '),
        "notebook params": (options.params_dir / "oversikt.yaml", "\n", "\n\n"),
    }
    for what, (path, old, new) in changes.items():
        before = keys()
        edit(path, old, new)
        after = keys()
        assert after[0] != before[0], what
        assert after[1] == before[1], f"{what} must not recompute the datasets"
        assert after[2] != before[2] or what == "notebook params", what
    changes = {
        "raw value": (tiny_raw / "gevinster.csv", "G1,", "G1 ,"),
        "build params": (options.params, "kommune", "# x\nkommune"),
        "data code": (package / "model" / "datasets.py", '"""', '""" '),
        "contract": (package / "ingest" / "contract.py", '"""', '""" '),
    }
    for what, (path, old, new) in changes.items():
        before = keys()
        edit(path, old, new)
        after = keys()
        assert after[0] != before[0] and after[1] != before[1], what
        assert after[2] != before[2] and after[3] != before[3], what  # every page again
    before = keys()
    (tiny_raw / "README.txt").write_text("ny fil\n", encoding="utf-8")
    assert keys()[0] != before[0]  # a file added to the raw folder
    before = keys()
    (tiny_raw / "~$enheter.xlsx").write_bytes(b"Excel's lock file")
    (tiny_raw / ".skjult").write_bytes(b"x")
    assert keys() == before  # lock and hidden files are never read


def test_nothing_changed_is_said_before_any_heavy_import(tmp_path, tiny_raw):
    """The no-change check hashes the inputs with the standard library, nothing heavier."""
    assert run_build(tiny_raw, tmp_path, "--year", "2017") == 0
    command = [sys.executable, "-X", "importtime", "-m", "vtklean.cli", "build", "--year", "2017"]
    command += ["--raw", str(tiny_raw), "--data-only"]
    command += ["--processed", str(tmp_path / "processed"), "--reports", str(tmp_path / "reports")]
    out = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Ingenting er endret siden forrige bygg for 2017" in out.stdout
    imported = {line.split("|")[-1].strip() for line in out.stderr.splitlines() if "|" in line}
    assert "vtklean.inputs" in imported  # the check itself ran in this process
    assert not [m for m in imported if m.split(".")[0] in HEAVY], sorted(imported)


def test_each_kind_of_change_rebuilds_and_only_raw_or_parameters_recheck(tmp_path, tiny_raw):
    """A changed notebook, notebook parameter, build parameter or raw value is a new build.

    Only a change of what the datasets depend on reads and checks the raw files again;
    otherwise the datasets folder is used as it is (same files, same times).
    """
    options = _options(tmp_path, tiny_raw, year=2017, data_only=True)
    first, log = _run(options)
    assert not first.skipped and "Kontrollerer rådataene mot datakontrakten" in log
    data = options.processed / "2017"
    assert json.loads((data / processed.META).read_text("utf-8"))["nokkel"]
    assert _run(options)[0].skipped
    kept = _mtimes(data)

    _edit_notebook(options.notebooks / "oversikt.ipynb", "Endret notatbok.")
    result, log = _run(options)
    assert not result.skipped and not any("Kontrollerer" in line for line in log), log
    assert any("Datasettene er uendret" in line for line in log)
    assert result.warnings == first.warnings  # the checks' results come along
    assert _mtimes(data) == kept
    assert _run(options)[0].skipped

    defaults = options.params_dir / "tjenesteomrade.yaml"
    defaults.write_text(defaults.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    result, log = _run(options)
    assert not result.skipped and not any("Kontrollerer" in line for line in log), log
    assert _mtimes(data) == kept

    options.params.write_text(
        options.params.read_text(encoding="utf-8").replace(
            "kommune: Vestre Toten kommune", "kommune: Østre Toten kommune"
        ),
        encoding="utf-8",
    )
    result, log = _run(options)
    assert "Kontrollerer rådataene mot datakontrakten" in log
    meta = json.loads((data / processed.META).read_text("utf-8"))
    assert meta["kommune"] == "Østre Toten kommune"
    kept = _mtimes(data)

    tables = helpers.tiny_tables()
    tables["gevinster"][0]["arsverk"] = 0.75
    helpers.write_folder(tiny_raw, tables)
    result, log = _run(options)
    assert "Kontrollerer rådataene mot datakontrakten" in log
    assert _mtimes(data) != kept
    assert _run(options)[0].skipped


def test_a_report_folder_with_a_stale_stamp_is_rebuilt(tmp_path, tiny_raw):
    """The check trusts only a stamp with the key, an index and a datasets folder.

    Datasets are reused only with their files as they were written.
    """
    options = _options(tmp_path, tiny_raw, year=2017, data_only=True)
    assert not _run(options)[0].skipped
    index = options.reports / "2017" / "index.html"
    index.unlink()
    result, log = _run(options)
    assert not result.skipped and index.is_file()
    assert not any("Kontrollerer" in line for line in log), log
    # A build cut short between its two swaps: other datasets beside this report.
    tables = helpers.tiny_tables()
    tables["gevinster"][0]["arsverk"] = 0.75
    other = _options(tmp_path / "annen", helpers.write_folder(tmp_path / "annen-raw", tables))
    assert not _run(inputs.Options(**{**vars(other), "year": 2017, "data_only": True}))[0].skipped
    mine = helpers.tree_hashes(options.processed / "2017")
    shutil.rmtree(options.processed / "2017")
    shutil.copytree(other.processed / "2017", options.processed / "2017")
    assert inputs.DATASETS_META == processed.META
    result, log = _run(options)
    assert not result.skipped and "Kontrollerer rådataene mot datakontrakten" in log
    assert helpers.tree_hashes(options.processed / "2017") == mine
    units = options.processed / "2017" / "enhet_ar.parquet"
    units.write_bytes(units.read_bytes() + b"\0")  # changed by hand, or half copied
    index.unlink()
    result, log = _run(options)
    assert not result.skipped and "Kontrollerer rådataene mot datakontrakten" in log
    shutil.rmtree(options.processed / "2017")
    result, log = _run(options)
    assert not result.skipped and "Kontrollerer rådataene mot datakontrakten" in log
    assert _run(options)[0].skipped
    assert _run(inputs.Options(**{**vars(options), "force": True}))[0].skipped is False


_BUILT = re.compile(r"\d{2}\.\d{2}\.\d{4} kl\. \d{2}:\d{2}")
_INJECTED = re.compile(r"cell-id=[0-9a-f]{8}\b")


def _page(path: Path) -> str:
    """A page without what differs between any two builds of it.

    That is the build time, and the random id papermill gives the cell it injects.
    """
    text = _BUILT.sub("<bygget>", path.read_text(encoding="utf-8"))
    return _INJECTED.sub("cell-id=<papermill>", text)


@pytest.mark.slow
def test_changed_notebook_reruns_only_its_pages_and_matches_a_cold_build(tmp_path, tiny_raw):
    """After a notebook edit, only its page runs again; the rest is as a cold build makes it."""
    options = _options(tmp_path / "a", tiny_raw, year=2017)
    first, log = _run(options)  # the same as run_build(..., pages=True), with own notebooks
    pages = first.pages
    assert len(pages) >= 4 and "datakvalitet" in pages
    data = options.processed / "2017"
    kept = _mtimes(data)
    store = options.processed / pagecache.FOLDER
    assert len(list(store.glob("*.html"))) == len(pages)

    _edit_notebook(options.notebooks / "datakvalitet.ipynb", "Endret notatbok for datakvalitet.")
    result, log = _run(options)
    assert not result.skipped and result.pages == pages
    assert not any("Kontrollerer" in line for line in log), log
    runs = [line for line in log if line.startswith("Kjører")]
    assert runs == [
        f"Kjører 1 rapport (1 om gangen); {len(pages) - 1} er uendret siden forrige bygg"
    ]
    assert any(line.startswith("  1/1 datakvalitet ") for line in log), log
    assert _mtimes(data) == kept
    rebuilt = options.reports / "2017"
    assert "Endret notatbok for datakvalitet." in (rebuilt / "datakvalitet.html").read_text("utf-8")

    cold = _options(tmp_path / "b", tiny_raw, year=2017, force=True)
    shutil.copyfile(options.notebooks / "datakvalitet.ipynb", cold.notebooks / "datakvalitet.ipynb")
    assert not _run(cold)[0].skipped
    made = cold.reports / "2017"
    for page in [*pages, "tilgjengelighet"]:
        assert _page(rebuilt / f"{page}.html") == _page(made / f"{page}.html"), page
    for name in ("nokkeltall.csv", "enheter.csv", "nokkeltall.xlsx"):
        assert (rebuilt / name).read_bytes() == (made / name).read_bytes(), name
    assert sorted(p.name for p in (rebuilt / "notatboker").iterdir()) == sorted(
        p.name for p in (made / "notatboker").iterdir()
    )
    # the kept datasets are those a cold build makes, to the byte
    assert helpers.tree_hashes(data) == helpers.tree_hashes(cold.processed / "2017")
    assert archive.versions(options.reports, "2017")  # the first report was kept


def test_kept_pages_are_whole_recent_and_bounded(tmp_path):
    """A page is kept with its executed notebook; missing halves and old pages are not used."""
    store, executed = tmp_path / "mellomlager", tmp_path / "run" / "side.ipynb"
    executed.parent.mkdir()
    executed.write_text('{"cells": []}', encoding="utf-8")
    assert pagecache.take(store, "a", tmp_path / "ut" / "side.ipynb") is None
    for key in ("a", "b", "c"):
        pagecache.put(store, key, f"<p>{key}</p>", executed)
    out = tmp_path / "ut" / "notatboker" / "side.ipynb"
    assert pagecache.take(store, "a", out) == "<p>a</p>"  # "a" is now the most recent
    assert out.read_text(encoding="utf-8") == '{"cells": []}'
    (store / "b.ipynb").unlink()
    assert pagecache.take(store, "b", out) is None  # half an entry is no entry
    (store / ".ny-rest").write_bytes(b"x")  # left by a killed build
    pagecache.prune(store, limit=1)
    assert sorted(p.name for p in store.iterdir()) == ["a.html", "a.ipynb"]
    pagecache.prune(tmp_path / "finnes-ikke")


def test_installed_package_versions_are_inputs_too():
    """A polars or plotly upgrade is a change: the environment lists each with its version."""
    listed = inputs.environment()
    assert listed[0] == sys.version
    for name in ("polars", "plotly", "great_expectations", "papermill"):
        assert f"{name}-{metadata.version(name)}.dist-info" in listed, name
