"""Stage 1, raw files in: the data contract, reading exports, validation and its problems."""
