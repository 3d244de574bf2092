"""Shared by every stage: the measure registry, Norwegian formats, escaping, paths, progress."""
