"""One root for errors: every error the library raises for a person is a VtkleanError."""

import ast
import builtins
import pickle
from pathlib import Path

import pytest

from vtklean import cli, sample
from vtklean.core import errors, paths
from vtklean.ingest.problems import DataError, Problem, Severity
from vtklean.model import effects, processed
from vtklean.publish import execute, pdf

LIBRARY = paths.ROOT / "vtklean"

# Builtin exceptions the library may raise, each for a reason that is never a person's input.
BUGS = {"AssertionError", "RuntimeError"}  # a bug in vtklean: the traceback is wanted
ARGPARSE = {"ArgumentTypeError"}  # argparse's way to refuse a value: its parser exits 2
ALLOWED = {  # (function, exception): why it is not a VtkleanError
    ("_cell_position", "ValueError"): "a damaged sheet; caught where the file is read",
    ("format_kind", "ValueError"): "a kind missing from the measure registry: a bug",
    ("plotlyjs_version", "ValueError"): "the vendored bundle is damaged: a broken install",
    ("column", "KeyError"): "a column name missing from the contract: a bug",
    ("stage", "FileExistsError"): "an OSError with errno: the CLI's OS-error message names it",
}


def _modules() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(LIBRARY.rglob("*.py"))}


def _name(node: ast.expr) -> str:
    """`X` for `X`, `a.b.X` and `X(...)`."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _classes(trees: dict[Path, ast.Module]) -> dict[str, list[str]]:
    """Each class defined in the library with the names of its bases."""
    found: dict[str, list[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [_name(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception")) for b in bases):
                    assert node.name not in found, f"two exception classes called {node.name}"
                found.setdefault(node.name, bases)
    return found


def _is_vtklean_error(name: str, classes: dict[str, list[str]]) -> bool:
    if name == "VtkleanError":
        return True
    return any(_is_vtklean_error(base, classes) for base in classes.get(name, []))


def _raises(trees: dict[Path, ast.Module]) -> list[tuple[str, str, str]]:
    """(file:line, enclosing function, exception class) of every `raise X(...)`."""
    found = []
    for path, tree in trees.items():
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                inside = [f for f in functions if f.lineno <= node.lineno <= f.end_lineno]
                function = max(inside, key=lambda f: f.lineno).name if inside else ""
                where = f"{path.relative_to(LIBRARY)}:{node.lineno}"
                found.append((where, function, _name(node.exc)))
    return found


def test_every_error_raised_in_the_library_is_a_vtklean_error():
    trees = _modules()
    classes = _classes(trees)
    raised = _raises(trees)
    assert len(raised) > 40  # the scan sees the library's raises
    wrong = []
    for where, function, name in raised:
        if (
            _is_vtklean_error(name, classes)
            or name in BUGS | ARGPARSE
            or (function, name) in ALLOWED
        ):
            continue
        known = name in classes or isinstance(getattr(builtins, name, None), type)
        wrong.append(f"{where} {function}: {name}" + ("" if known else " (unknown class)"))
    assert not wrong, "raise a VtkleanError (core/errors.py) instead:\n" + "\n".join(wrong)
    # Every exception class the library defines hangs under the one root.
    defined = [n for n, bases in classes.items() if any(b.endswith("Error") for b in bases)]
    assert defined and all(_is_vtklean_error(n, classes) for n in defined), defined
    # The allowances are still needed (a stale one would hide a new raise of its kind).
    used = {(f, n) for _w, f, n in raised}
    assert set(ALLOWED) <= used, set(ALLOWED) - used


def test_the_command_line_catches_vtklean_errors_once():
    trees = _modules()
    classes = _classes(trees)
    ours = {n for n in classes if _is_vtklean_error(n, classes)}
    caught = []
    for node in ast.walk(trees[LIBRARY / "cli.py"]):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            caught += [_name(t) for t in types if _name(t) in ours]
    assert caught == ["VtkleanError"]


def test_each_error_keeps_its_exit_code():
    problem = Problem("regel", "Overskrift", Severity.ERROR, "forventet", "a.csv", 2, "b", "c")
    assert DataError([problem]).exit_code == errors.EXIT_DATA == 1
    assert errors.UsageError("x").exit_code == errors.EXIT_USAGE == 2
    assert execute.RenderError("side", "celle 3").exit_code == errors.EXIT_RENDER == 3
    assert pdf.PdfError("x").exit_code == 2
    assert effects.EffectError("x").exit_code == 2
    assert errors.EXIT_INTERRUPTED == 130
    error = pickle.loads(pickle.dumps(DataError([problem], folder=Path("rå"))))  # from a worker
    assert error.problems == [problem] and error.folder == Path("rå")
    lines = error.lines()
    assert "Rådataene i rå har 1 feil. Ingenting er skrevet." in lines
    assert "  - a.csv, rad 2, kolonne «b»: verdien «c»: forventet" in lines


def test_processed_load_says_in_bokmal_what_is_missing(tmp_path):
    with pytest.raises(errors.UsageError, match="oppgi mappen med datasett eller et år"):
        processed.load()
    with pytest.raises(errors.UsageError, match=f"Fant ingen datasett i {tmp_path}"):
        processed.load(tmp_path)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--units", "3"], "Feil i kommandoen: antall enheter må være minst"),
        (["--end", "2011", "--start", "2010"], "Feil i kommandoen: siste år må være 2012"),
    ],
)
def test_sample_errors_exit_2_in_bokmal(tmp_path, capsys, args, said):
    assert cli.main(["sample", *args, "--out", str(tmp_path / "ut")]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not (tmp_path / "ut").exists()
    assert sample.MIN_UNITS > 3
