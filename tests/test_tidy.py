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


def _readme_map() -> list[str]:
    """The paths the README's folder map names below `vtklean/`, from its indentation."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if i > lines.index("## Mappene") and line[:9] == "vtklean/ "
    )
    stack: list[str] = []
    out = []
    for line in lines[start + 1 :]:
        depth = (len(line) - len(line.lstrip(" "))) // 2
        if depth == 0:  # the next top folder: the map of the library ends
            break
        name = line.split()[0]
        stack = [*stack[: depth - 1], name]
        out.append("".join(stack))
    return out


def test_readme_map_names_every_module_and_folder_of_the_library():
    named = _readme_map()
    assert len(named) == len(set(named)), "a module is named twice in the README's map"
    library = ROOT / "vtklean"
    modules = {
        str(p.relative_to(library)) for p in library.rglob("*.py") if p.name != "__init__.py"
    }
    folders = {
        f"{p.relative_to(library)}/"
        for p in library.rglob("*")
        if p.is_dir() and p.name != "__pycache__"
    }
    assert set(named) == modules | folders
