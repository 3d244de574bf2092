"""House rules that are cheap to check: lint, format, docstrings, generated docs, notebooks."""

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vtklean.core import paths
from vtklean.ingest import docs

ROOT = paths.ROOT


def _ruff(*args):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    return subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint():
    out = _ruff("check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format():
    out = _ruff("format", "--check", ".")
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("module", sorted((ROOT / "vtklean").rglob("*.py")), ids=lambda p: p.name)
def test_module_has_one_line_docstring(module):
    doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8")))
    assert doc, f"{module.name} has no module docstring"
    assert doc.splitlines()[0].strip()


def test_user_docs_are_generated_from_the_contract():
    text = (ROOT / "docs" / "datakontrakt.md").read_text(encoding="utf-8")
    assert text == docs.contract_markdown(), "run `make docs`"


def test_notebooks_have_no_outputs():
    for nb_path in (ROOT / "notebooks").rglob("*.ipynb"):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), nb_path
                assert cell.get("execution_count") is None, nb_path
