"""The `vtklean` command's entry point: Ctrl-C while the heavy modules import exits 130."""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys

from vtklean.core.errors import EXIT_INTERRUPTED, EXIT_OK


def main() -> int:
    """Import the command line (several seconds of imports) and run it; Ctrl-C is no traceback."""
    try:
        from vtklean import cli
    except KeyboardInterrupt:
        sys.stderr.write("\nAvbrutt (Ctrl-C). Ingenting er skrevet.\n")
        return EXIT_INTERRUPTED
    return cli.main()


def console() -> None:
    """The command: `main`, then, after a build that went well, exit at once.

    Taking the interpreter apart (freeing every module and object) costs 0,6-0,8 s of CPU
    after a build (Great Expectations alone 0,6 s), and the command has nothing left to do.
    When main ended well and no child process is left (the notebook workers have
    stopped), the exit handlers run (they flush the logs and release the workers'
    semaphores), the output is flushed and the process ends. Otherwise, and for an error
    that escapes `main`, the interpreter exits the ordinary way.
    """
    code = main()
    if code == EXIT_OK and not multiprocessing.active_children():
        atexit._run_exitfuncs()  # what the interpreter runs at exit, before taking it apart
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
