"""vtklean: validated datasets and reports on Lean gains and resource use for a municipality."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vtklean")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
