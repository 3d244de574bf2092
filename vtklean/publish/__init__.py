"""Stage 3, figures out: charts, pages, rendering, exports, PDF, atomic swap, archive."""
