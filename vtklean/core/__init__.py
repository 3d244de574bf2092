"""Shared by every stage: measures, Norwegian text, escaping, paths, progress, errors, calendar."""
