"""Norwegian (bokmål) text: numbers, money, percentages and dates, sorting, and name folding."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

LOCALE = "nb_NO"
MISSING = "–"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, decimals: int = 1) -> str:
    """Format a number the Norwegian way: `46,3`, `1 234 567` (no-break space groups)."""
    if _missing(value):
        return MISSING
    # A value that rounds to zero has no sign: −0,04 % is shown as 0,0 %, never -0,0 %.
    step = Decimal(1).scaleb(-max(decimals, 0))
    if Decimal(str(float(value))).quantize(step, rounding=ROUND_HALF_EVEN) == 0:
        value = 0
    return _pattern(decimals).apply(value, _locale())


# babel's format_decimal parses the locale and the pattern on every call; pages with a row
# per unit format tens of thousands of numbers, so both are parsed once (same text).
@functools.cache
def _locale() -> Locale:
    return Locale.parse(LOCALE)


@functools.cache
def _pattern(decimals: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals > 0 else ""))


def kroner(value: float | None) -> str:
    """Format whole kroner: `1 234 567 kr`."""
    return MISSING if _missing(value) else f"{number(value, 0)}\u00a0kr"


def millions(value: float | None, decimals: int = 1) -> str:
    """Format kroner in millions: `2,5 mill. kr`."""
    return MISSING if _missing(value) else f"{number(value / 1e6, decimals)}\u00a0mill.\u00a0kr"


def percent(value: float | None, decimals: int = 1) -> str:
    """Format a percentage given in percent units: `7,8 %`."""
    return MISSING if _missing(value) else f"{number(value, decimals)}\u00a0%"


def date(value: dt.date | None) -> str:
    """Format a date as `31.12.2017`."""
    return MISSING if value is None else format_date(value, "dd.MM.yyyy", locale=LOCALE)


def sort_key(text: str) -> str:
    """Sort key that puts æ, ø, å after z, as Norwegian alphabetical order does."""
    table = str.maketrans({"æ": "z\u0001", "ø": "z\u0002", "å": "z\u0003"})
    return text.lower().translate(table)


def join(parts: list[str]) -> str:
    """Join phrases the Norwegian way: `a, b og c`."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " og " + parts[-1]


def normalise_name(text: str) -> str:
    """Normalise a header or a coded value as the contract says.

    Trim, lower-case, æ→ae, ø→o, å→a, every run of other non-alphanumeric characters
    becomes `_`, and leading/trailing `_` are dropped. Other accents are removed
    (`é`→`e`) so the result is plain ASCII.

    >>> normalise_name(" Beløp (kr) ")
    'belop_kr'
    """
    s = text.strip().lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")
