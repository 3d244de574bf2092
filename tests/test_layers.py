"""The library's imports flow one way: core ← ingest ← model ← publish ← build, cli, sample."""

import ast

import pytest

from vtklean.core import paths

LIBRARY = paths.ROOT / "vtklean"
STAGES = ("core", "ingest", "model", "publish")


def _imported(tree: ast.Module) -> set[str]:
    """Every vtklean module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vtklean"):
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("vtklean")}
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_itself_and_earlier_stages(stage):
    allowed = set(STAGES[: STAGES.index(stage) + 1])
    wrong = []
    files = sorted((LIBRARY / stage).glob("*.py"))
    assert files
    for path in files:
        for name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            parts = name.split(".")  # vtklean.<stage>.<module>[.<name>] or vtklean.<name>
            if parts[1] == "__version__":
                continue
            if parts[1] not in allowed:
                wrong.append(f"{path.name}: {name}")
    assert not wrong, wrong
