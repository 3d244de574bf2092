"""The root of every error vtklean reports to a person: an exit code and a message in bokmål."""

from __future__ import annotations

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_RENDER = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # the shell's code for a program stopped by Ctrl-C


class VtkleanError(Exception):
    """An error a person can act on; the command line prints `lines()` and exits `exit_code`.

    The message (`str(error)`) is bokmål and names what is wrong (file, row, column, value
    or parameter). Subclasses set the exit code and may say more in `lines()`.
    """

    exit_code = EXIT_USAGE

    def lines(self) -> list[str]:
        """What the command line writes to the terminal, one line per item."""
        return [str(self)]


class UsageError(VtkleanError):
    """A wrong way of calling vtklean or a wrong parameter (exit code 2), not bad data."""

    exit_code = EXIT_USAGE

    def lines(self) -> list[str]:
        """`Feil i kommandoen: <message>`."""
        return [f"Feil i kommandoen: {self}"]
