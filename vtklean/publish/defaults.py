"""Notebook defaults: params/<notebook>.yaml is their one source, for builds and for JupyterLab."""

from __future__ import annotations

import yaml

from vtklean.core import paths
from vtklean.core.errors import UsageError

CALL = "from_params("  # how a parameters cell reads a default, as papermill reports the cell


def _values(notebook: str) -> dict:
    # Read at every call (no cache): a default edited in the file counts at the next run,
    # also in a JupyterLab kernel that stays up.
    path = paths.PARAMS / f"{notebook}.yaml"
    text = path.read_bytes().decode("utf-8-sig") if path.exists() else ""
    return yaml.safe_load(text) or {}


def from_params(notebook: str, name: str) -> object:
    """A notebook parameter's default, read from params/<notebook>.yaml (written only there).

    A notebook's parameters cell calls this, so the notebook opened in JupyterLab has the
    defaults; a build passes the file's values to papermill, which sets them after the cell.
    """
    values = _values(notebook)
    if name not in values:
        raise UsageError(f"params/{notebook}.yaml har ikke parameteren «{name}»")
    return values[name]


def names_from_params(declared: dict[str, dict]) -> list[str]:
    """The parameters whose cell reads the default from params/ (papermill's inspection)."""
    return [n for n, d in declared.items() if str(d.get("default", "")).startswith(CALL)]
