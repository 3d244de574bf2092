"""The project root and its default folders; nothing here resolves from the working directory."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAW = ROOT / "data" / "raw"
PROCESSED = ROOT / "data" / "processed"
REPORTS = ROOT / "reports"
PARAMS = ROOT / "params"
NOTEBOOKS = ROOT / "notebooks"
