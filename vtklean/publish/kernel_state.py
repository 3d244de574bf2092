"""What a reused notebook kernel puts back between notebooks: process settings libraries keep.

Runs inside the kernel. `save()` records the settings once the libraries are imported;
`restore()` puts them back before the next notebook: working folder, environment, import
path, warnings filters, plotly's default template and renderer, and polars' settings. The
kernel's namespace and execution count are reset by IPython itself (execute.Kernel).
"""

from __future__ import annotations

import copy
import os
import sys
import warnings

_saved: dict[str, object] = {}


def save() -> None:
    """Record the settings as they are now (after the warm-up imports)."""
    import plotly.io as pio
    import polars as pl

    # Reading plotly's renderer sets it up, which imports modules that add warnings filters,
    # so the library settings are read first and the process settings after them.
    _saved.update(
        template=pio.templates.default,
        renderer=pio.renderers.default,
        polars=pl.Config.save(),
    )
    _saved.update(
        cwd=os.getcwd(),
        environ=dict(os.environ),
        path=list(sys.path),
        warnings=copy.copy(warnings.filters),
    )


def restore() -> None:
    """Put back the settings `save()` recorded."""
    import plotly.io as pio
    import polars as pl

    os.chdir(_saved["cwd"])
    os.environ.clear()
    os.environ.update(_saved["environ"])
    sys.path[:] = _saved["path"]
    warnings.resetwarnings()  # also tells the warnings machinery that the filters changed
    warnings.filters[:] = _saved["warnings"]
    # Set only when changed: setting plotly's template builds it again (0,2 s).
    if pio.templates.default != _saved["template"]:
        pio.templates.default = _saved["template"]
    if pio.renderers.default != _saved["renderer"]:
        pio.renderers.default = _saved["renderer"]
    pl.Config.restore_defaults()
    pl.Config.load(_saved["polars"])
