"""What the machine gives the build: the cores this process may use."""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one)."""
    if hasattr(os, "sched_getaffinity"):  # not on Windows or macOS
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
