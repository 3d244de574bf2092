"""The `vtklean` command's entry point: Ctrl-C while the heavy modules import exits 130."""

from __future__ import annotations

import sys

from vtklean.core.errors import EXIT_INTERRUPTED


def main() -> int:
    """Import the command line (several seconds of imports) and run it; Ctrl-C is no traceback."""
    try:
        from vtklean import cli
    except KeyboardInterrupt:
        sys.stderr.write("\nAvbrutt (Ctrl-C). Ingenting er skrevet.\n")
        return EXIT_INTERRUPTED
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
