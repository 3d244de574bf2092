"""Notebooks: defaults written once (params/), shared page sections as library calls."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests import helpers
from tests.conftest import run_build
from vtklean import build
from vtklean.core import paths
from vtklean.core.errors import UsageError
from vtklean.model import processed
from vtklean.publish import defaults, execute, sections, widgets

NOTEBOOKS = ("oversikt", "tjenesteomrade", "pilot-effekter", "datakvalitet")


def _parameters_cell(notebook: str) -> str:
    cells = json.loads((paths.NOTEBOOKS / f"{notebook}.ipynb").read_text("utf-8"))["cells"]
    (cell,) = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    return "".join(cell["source"])


def _yaml(notebook: str) -> dict:
    path = paths.PARAMS / f"{notebook}.yaml"
    return yaml.safe_load(path.read_text("utf-8")) if path.exists() else {}


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_parameters_cell_gets_its_defaults_from_params(notebook):
    """Run as JupyterLab runs it (no papermill), the cell has exactly the file's values."""
    namespace: dict = {}
    exec(_parameters_cell(notebook), namespace)  # the notebook's own first cell
    from_file = _yaml(notebook)
    assert {k: namespace[k] for k in from_file} == from_file
    declared = execute.declared_parameters(paths.NOTEBOOKS / f"{notebook}.ipynb")
    read = set(defaults.names_from_params(declared))
    assert read == set(from_file)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_default_is_written_once_in_params_or_set_by_the_build(notebook):
    declared = execute.declared_parameters(paths.NOTEBOOKS / f"{notebook}.ipynb")
    literal = set(declared) - set(defaults.names_from_params(declared))
    jobs = build.jobs({nb: {} for nb in NOTEBOOKS}, Path("/x"), 2017, ["Omsorg"], "K")
    set_by_build = {k for j in jobs if j.notebook == notebook for k, _ in j.parameters}
    assert literal == set_by_build
    assert not set(_yaml(notebook)) & set_by_build  # the build's own would be overridden


def test_a_name_the_cell_reads_but_the_file_lacks_is_a_usage_error(tmp_path):
    params = tmp_path / "params"
    shutil.copytree(paths.PARAMS, params)
    (params / "oversikt.yaml").write_text("etterslep_antall: 5\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"oversikt\.yaml: mangler maks_enheter") as err:
        execute.load_defaults("oversikt", params, paths.NOTEBOOKS)
    assert err.value.exit_code == 2
    (params / "pilot-effekter.yaml").unlink()
    with pytest.raises(UsageError, match=r"pilot-effekter\.yaml: mangler utfall, .*horisont_ar"):
        execute.load_defaults("pilot-effekter", params, paths.NOTEBOOKS)
    assert execute.load_defaults("datakvalitet", params, paths.NOTEBOOKS) == {}


@pytest.fixture(scope="module")
def tiny_processed(tmp_path_factory) -> Path:
    """The tiny hand-made folder, built data-only once."""
    tmp = tmp_path_factory.mktemp("sections")
    raw = helpers.write_folder(tmp / "raw")
    assert run_build(raw, tmp / "out", "--year", "2017") == 0
    return tmp / "out" / "processed" / "2017"


def test_sections_cover_the_whole_and_one_area(tiny_processed):
    data = processed.load(tiny_processed)
    area = data.area_names()[0]
    whole = sections.scope(str(tiny_processed), 2017)
    one = sections.scope(str(tiny_processed), 2017, area)
    assert whole.now == data.figures_row("Hele kommunen") and one.now == data.figures_row(area)
    top_whole = "".join(map(str, sections.top(whole)))
    top_area = "".join(map(str, sections.top(one)))
    assert f"<h1>Lean i {data.kommune} – status per 31.12.2017</h1>" in top_whole
    assert f"<h1>{area} – Lean og ressursbruk per 31.12.2017</h1>" in top_area
    assert "Nøkkeltall for hele kommunen per 31.12.2017" in top_whole
    assert f'href="{dict(data.area_pages())[area]}"' in top_whole  # only the overview links
    assert "omrader" not in top_area
    # The overview shows every area's targets, the area page only its own.
    goals = data.target_table()
    assert whole.goals.height == goals.height
    assert set(one.goals["tjenesteomrade"]) <= {area}
    for part in (sections.history, sections.methods, sections.resources, sections.ideas):
        assert all(isinstance(p, widgets.Html) for p in part(whole) + part(one))
    assert "<h3>Forsinkede gevinster</h3>" in "".join(map(str, sections.followup(one)))
    assert area in "".join(map(str, sections.units(one, 60)))


def test_an_area_not_in_the_data_is_a_usage_error_naming_the_areas(tiny_processed):
    names = processed.load(tiny_processed).area_names()
    with pytest.raises(UsageError, match="finnes ikke i dataene") as err:
        sections.scope(str(tiny_processed), 2017, "Månebasen")
    assert "Månebasen" in str(err.value) and all(n in str(err.value) for n in names)


def test_an_edited_default_counts_at_the_next_run_in_the_same_process(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "PARAMS", tmp_path)
    (tmp_path / "oversikt.yaml").write_text("etterslep_antall: 15\n", encoding="utf-8")
    assert defaults.from_params("oversikt", "etterslep_antall") == 15
    (tmp_path / "oversikt.yaml").write_text("etterslep_antall: 7\n", encoding="utf-8")
    assert defaults.from_params("oversikt", "etterslep_antall") == 7
    with pytest.raises(UsageError, match=r"oversikt\.yaml har ikke parameteren «maks_enheter»"):
        defaults.from_params("oversikt", "maks_enheter")
    (tmp_path / "oversikt.yaml").unlink()
    with pytest.raises(UsageError, match=r"oversikt\.yaml har ikke parameteren «maks_enheter»"):
        defaults.from_params("oversikt", "maks_enheter")
