"""Synthetic sample data: calibrated, deterministic raw folders that follow the data contract."""

from vtklean.sample.calibration import (
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    DEFAULT_UNITS,
    EFFECT_COST_SHARE,
    EFFECT_RAMP_MONTHS,
    EFFECT_SICK_LEAVE_PP,
    MIN_UNITS,
)
from vtklean.sample.generator import Sample, generate
from vtklean.sample.writers import (
    MANIFEST,
    ForeignFiles,
    TablesPresent,
    table_files,
    write,
    write_folder,
)

__all__ = [
    "DEFAULT_END",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "DEFAULT_UNITS",
    "EFFECT_COST_SHARE",
    "EFFECT_RAMP_MONTHS",
    "EFFECT_SICK_LEAVE_PP",
    "MANIFEST",
    "MIN_UNITS",
    "ForeignFiles",
    "Sample",
    "TablesPresent",
    "generate",
    "table_files",
    "write",
    "write_folder",
]
