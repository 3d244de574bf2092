"""Stage 2, records to figures: datasets, key figures, targets, privacy, pilot effects."""
