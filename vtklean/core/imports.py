"""Imports left out or deferred: optional modules never used, heavy ones never called."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

# jsonschema (under nbformat, papermill and Great Expectations' altair) imports the optional
# IRI checker rfc3987_syntax whenever it is installed (jupyter-events asks for
# jsonschema[format-nongpl]); it builds a grammar at import, about 2,7 s in every process.
# Our schemas have no IRI fields, so the checker is never needed.
IRI_CHECKER = "rfc3987_syntax"


def block(*names: str) -> None:
    """Make optional modules count as not installed in this process.

    A None entry in `sys.modules` makes Python's import system raise ImportError for the
    name, which the libraries that import them optionally handle by going without. A module
    already imported is left as it is.
    """
    for name in names:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


class _Lazy(importlib.abc.MetaPathFinder):
    """Finds the named modules with the other finders and gives them a lazy loader."""

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The module's own spec, its loader wrapped in `importlib.util.LazyLoader`."""
        if name not in self._names:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


@contextmanager
def deferred(*names: str) -> Iterator[None]:
    """Within the block, importing a named module runs its code only when first used.

    For libraries that import at load time, for features we never call, modules that take
    seconds to load: the import gives a module object whose first attribute access loads it
    (the standard library's `importlib.util.LazyLoader`). A module imported before the
    block is left as it is.
    """
    finder = _Lazy(frozenset(names))
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
