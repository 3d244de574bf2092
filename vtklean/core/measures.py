"""Every key figure (measure) defined once, as data: label, unit, formula, formats, direction.

Public names (stable: pages, charts, exports, targets and warnings read them):

* `Measure` – one key figure. `key` is its column in the key-figures export
  (`nokkeltall.csv`); `label` and `unit` are bokmål; `numerator` and `denominator` are the
  formula as a ratio of sums (`numerator` is a tuple of `(column, sign)` terms whose sums
  are added; `denominator` a summed column or None for a plain sum; `factor` 100 for
  percent); the zero-denominator rule is the same for every ratio (`ZERO_RULE`: empty, never
  0 and never an error); `page` is the kind of number on a page (`PAGE_KINDS`); `excel` its
  Excel number format and `decimals` the decimals kept in the CSV follow from the kind
  (`KIND_FORMATS`; `decimals` may be given); `direction` is
  `HIGHER`, `LOWER` or `NEUTRAL` (which way is better); `tolerance` how far on the wrong side
  of a target still counts as `nær` (in the measure's unit; build parameter
  `mal_toleranse` overrides it per key); `change_unit` how a difference is written
  (by default the unit, `prosentpoeng` for percentages); `definition` one bokmål sentence
  for the workbook; `heading` the column heading with its unit, `narrow_heading` a shorter
  one (`narrow`, with soft hyphens) for the index's twelve-column table.
* `MEASURES` – key -> Measure, in the export's column order; `EXPORT` the export's columns
  (`tjenesteomrade` first, then the contract's columns in its order, then this suite's).
* `get(key)`, `expr(key)` (the formula as a polars expression over columns that hold the
  sums), `value(key, sums)` (the same formula over a mapping of sums), `with_ratios(frame,
  keys)` (adds the ratio columns whose sums the frame holds), `format_page(key, value)`,
  `format_bare(key, value)` (the number without its unit, for tables whose headings have it),
  `format_change(key, difference)`, `better(key, difference)`, `shown_difference(key,
  difference)`, `money_words(deviation_kr)` (`merforbruk 2,1 mill. kr`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

import polars as pl

from vtklean.core import norsk


class Direction(StrEnum):
    """Which way a measure is better."""

    HIGHER = "hoyere"  # higher is better
    LOWER = "lavere"  # lower is better
    NEUTRAL = "noytral"  # neither: a change is neither good nor bad in itself


ZERO_RULE = "Er nevneren 0 eller tom, står tallet tomt (aldri 0)."
PERCENT_XL = '0.0" %"'
FTE_XL = "#,##0.0"
KR_XL = '#,##0" kr"'
COUNT_XL = "#,##0"
# Each kind of number on a page: its Excel format and the decimals kept in the CSV.
KIND_FORMATS = {
    "arsverk": (FTE_XL, 2),
    "kr": (KR_XL, 2),
    "mill": (KR_XL, 2),
    "prosent": (PERCENT_XL, 2),
    "heltall": (COUNT_XL, 0),
    "dager": (COUNT_XL, 1),
}
PAGE_KINDS = tuple(KIND_FORMATS)


@dataclass(frozen=True)
class Measure:
    """One key figure, as data."""

    key: str
    label: str
    unit: str
    definition: str
    page: str
    direction: Direction = Direction.NEUTRAL
    numerator: tuple[tuple[str, int], ...] = ()
    denominator: str | None = None
    factor: float = 1.0
    tolerance: float = 0.0
    change_unit: str = ""  # default: the unit, `prosentpoeng` for %
    narrow: str = ""
    decimals: int = -1  # default: the page kind's (KIND_FORMATS)

    def __post_init__(self) -> None:
        # What is not given follows from the page kind and the unit, as data.
        if self.decimals < 0:
            object.__setattr__(self, "decimals", KIND_FORMATS[self.page][1])
        if not self.change_unit:
            object.__setattr__(
                self, "change_unit", "prosentpoeng" if self.unit == "%" else self.unit
            )

    @property
    def excel(self) -> str:
        """The Excel number format of the page kind."""
        return KIND_FORMATS[self.page][0]

    @property
    def heading(self) -> str:
        """The column heading for people, with the unit (`Realiseringsgrad (%)`)."""
        if self.unit.lower() in self.label.lower():
            return self.label
        return f"{self.label} ({self.unit})"

    @property
    def narrow_heading(self) -> str:
        """The heading of a narrow column (the index table): `narrow` where set, else `heading`."""
        return self.narrow or self.heading

    @property
    def is_ratio(self) -> bool:
        """True when the measure is a ratio of sums (it has a denominator)."""
        return self.denominator is not None

    @property
    def sums(self) -> tuple[str, ...]:
        """The summed columns the formula reads."""
        cols = tuple(c for c, _ in self.numerator)
        return cols + ((self.denominator,) if self.denominator else ())


_ALL = (
    Measure(
        "enheter",
        "Aktive enheter",
        "enheter",
        "Enheter som ikke er lagt ned per datoen, med eller uten ressursbruk.",
        "heltall",
        Direction.NEUTRAL,
    ),
    Measure(
        "enheter_lean",
        "Enheter med Lean-opplæring",
        "enheter",
        "Aktive enheter som har startet Lean-opplæring senest per datoen.",
        "heltall",
        Direction.HIGHER,
        tolerance=2,
        narrow="Enheter med Lean",
    ),
    Measure(
        "gevinster_identifisert_arsverk",
        "Gevinster identifisert",
        "årsverk",
        "Årsverk i gevinster registrert senest per datoen og ikke forkastet.",
        "arsverk",
        Direction.HIGHER,
        (("gevinster_identifisert_arsverk", 1),),
        tolerance=1.0,
        narrow="Identifisert (årsverk)",
    ),
    Measure(
        "gevinster_realisert_arsverk",
        "Gevinster realisert",
        "årsverk",
        "Årsverk i gevinster realisert senest per datoen (realiserte årsverk, ellers hele).",
        "arsverk",
        Direction.HIGHER,
        (("gevinster_realisert_arsverk", 1),),
        tolerance=1.0,
        narrow="Realisert (årsverk)",
    ),
    Measure(
        "realiseringsgrad_prosent",
        "Realiseringsgrad",
        "%",
        "Realiserte årsverk delt på identifiserte årsverk, i prosent.",
        "prosent",
        Direction.HIGHER,
        (("gevinster_realisert_arsverk", 1),),
        "gevinster_identifisert_arsverk",
        100.0,
        tolerance=5.0,
        narrow="Realiserings\u00adgrad (%)",
    ),
    Measure(
        "andel_verdistromsanalyse_prosent",
        "Andel fra verdistrømsanalyser",
        "%",
        "Identifiserte årsverk funnet med verdistrømsanalyse delt på alle identifiserte.",
        "prosent",
        Direction.NEUTRAL,
        (("gevinster_verdistromsanalyse_arsverk", 1),),
        "gevinster_identifisert_arsverk",
        100.0,
        tolerance=5.0,
        narrow="Fra verdistrøms\u00adanalyser (%)",
    ),
    Measure(
        "arsverk",
        "Årsverk",
        "årsverk",
        "Summen av årsverk over årets måneder delt på antall måneder.",
        "arsverk",
        Direction.NEUTRAL,
        tolerance=5.0,
    ),
    Measure(
        "budsjett_kr",
        "Budsjett",
        "kr",
        "Netto budsjett for årets måneder.",
        "mill",
        Direction.NEUTRAL,
        (("budsjett_kr", 1),),
    ),
    Measure(
        "regnskap_kr",
        "Regnskap",
        "kr",
        "Faktisk netto forbruk for årets måneder.",
        "mill",
        Direction.NEUTRAL,
        (("regnskap_kr", 1),),
    ),
    Measure(
        "budsjettavvik_prosent",
        "Budsjettavvik",
        "%",
        "Regnskap minus budsjett, delt på budsjett, i prosent (minus er mindreforbruk).",
        "prosent",
        Direction.LOWER,
        (("regnskap_kr", 1), ("budsjett_kr", -1)),
        "budsjett_kr",
        100.0,
        tolerance=1.0,
        narrow="Budsjett\u00adavvik (%)",
    ),
    Measure(
        "sykefravaer_prosent",
        "Sykefravær",
        "%",
        "Fraværsdagsverk delt på avtalte dagsverk, i prosent (aldri et snitt av prosenter).",
        "prosent",
        Direction.LOWER,
        (("fravaer_dagsverk", 1),),
        "avtalte_dagsverk",
        100.0,
        tolerance=0.5,
        narrow="Syke\u00adfravær (%)",
    ),
    Measure(
        "ansatte",
        "Ansatte",
        "personer",
        "Antall ansatte i årets siste måned med data.",
        "heltall",
        Direction.NEUTRAL,
        change_unit="ansatte",
    ),
    Measure(
        "gevinster_identifisert_kr",
        "Gevinster identifisert i kroner",
        "kr",
        "Kroner per år i identifiserte gevinster som har et beløp registrert.",
        "kr",
        Direction.HIGHER,
        (("gevinster_identifisert_kr", 1),),
    ),
    Measure(
        "gevinster_realisert_kr",
        "Realisert i kroner",
        "kr",
        "Kroner per år i realiserte gevinster som har et beløp registrert.",
        "kr",
        Direction.HIGHER,
        (("gevinster_realisert_kr", 1),),
    ),
    Measure(
        "gevinster_realisert_antall",
        "Realiserte gevinster",
        "gevinster",
        "Antall gevinster realisert senest per datoen.",
        "heltall",
        Direction.HIGHER,
    ),
    Measure(
        "gevinster_realisert_med_kr",
        "Realiserte gevinster med beløp",
        "gevinster",
        "Antall realiserte gevinster som har et beløp i kroner registrert.",
        "heltall",
        Direction.NEUTRAL,
    ),
    Measure(
        "gevinster_forsinket",
        "Forsinkede gevinster",
        "gevinster",
        "Gevinster som ikke er realisert eller forkastet, med planlagt realisering før datoen.",
        "heltall",
        Direction.LOWER,
        tolerance=1,
    ),
    Measure(
        "budsjettavvik_kr",
        "Mer-/mindreforbruk",
        "kr",
        "Regnskap minus budsjett (pluss er merforbruk, minus er mindreforbruk).",
        "kr",
        Direction.LOWER,
        (("regnskap_kr", 1), ("budsjett_kr", -1)),
    ),
    Measure(
        "forslag_registrert",
        "Forbedringsforslag registrert",
        "forslag",
        "Forbedringsforslag registrert i rapportåret, til og med datoen.",
        "heltall",
        Direction.HIGHER,
        tolerance=10,
    ),
    Measure(
        "forslag_gjennomfort",
        "Forslag gjennomført",
        "forslag",
        "Forbedringsforslag avsluttet som gjennomført i rapportåret, til og med datoen.",
        "heltall",
        Direction.HIGHER,
        tolerance=10,
    ),
    Measure(
        "forslag_avvist",
        "Forslag avvist",
        "forslag",
        "Forbedringsforslag avsluttet som avvist i rapportåret, til og med datoen.",
        "heltall",
        Direction.NEUTRAL,
    ),
    Measure(
        "forslag_apne",
        "Åpne forslag",
        "forslag",
        "Forbedringsforslag som er nye eller pågår per datoen (alle år).",
        "heltall",
        Direction.NEUTRAL,
    ),
    Measure(
        "forslag_median_dager",
        "Median tid til gjennomført",
        "dager",
        "Median antall dager fra registrert til avsluttet for forslag gjennomført i året.",
        "dager",
        Direction.LOWER,
        tolerance=7,
    ),
    Measure(
        "kostnad_per_volum",
        "Kostnad per volumenhet",
        "kr",
        "Regnskap delt på tjenestevolum (se enheter.volumenhet).",
        "kr",
        Direction.LOWER,
        (("regnskap_kr", 1),),
        "volum",
        1.0,
        decimals=0,
    ),
    Measure(
        "andel_enheter_lean_prosent",
        "Andel enheter med Lean",
        "%",
        "Aktive enheter med Lean-opplæring delt på aktive enheter, i prosent.",
        "prosent",
        Direction.HIGHER,
        (("enheter_lean", 1),),
        "enheter",
        100.0,
        tolerance=5.0,
    ),
)

MEASURES: dict[str, Measure] = {m.key: m for m in _ALL}

# Columns of the key-figures export: the contract's first (their names never change).
CONTRACT = (
    "tjenesteomrade",
    "enheter",
    "enheter_lean",
    "gevinster_identifisert_arsverk",
    "gevinster_realisert_arsverk",
    "realiseringsgrad_prosent",
    "andel_verdistromsanalyse_prosent",
    "arsverk",
    "budsjett_kr",
    "regnskap_kr",
    "budsjettavvik_prosent",
    "sykefravaer_prosent",
)
EXTRA = (
    "ansatte",
    "gevinster_identifisert_kr",
    "gevinster_realisert_kr",
    "gevinster_realisert_antall",
    "gevinster_realisert_med_kr",
    "gevinster_forsinket",
    "budsjettavvik_kr",
    "forslag_registrert",
    "forslag_gjennomfort",
    "forslag_avvist",
    "forslag_apne",
    "forslag_median_dager",
)
EXPORT = CONTRACT + EXTRA
AREA_LABEL = "Tjenesteområde"


def get(key: str) -> Measure:
    """The measure called `key` (KeyError naming it when there is none)."""
    return MEASURES[key]


def expr(key: str) -> pl.Expr:
    """The measure's formula over columns holding its sums, aliased to its key.

    A ratio is null where the denominator is 0 or null (`ZERO_RULE`).
    """
    m = get(key)
    first, sign = m.numerator[0]
    num = sum((pl.col(c) * s for c, s in m.numerator[1:]), pl.col(first) * sign)
    if m.denominator is None:
        return num.alias(key)
    den = pl.col(m.denominator)
    return pl.when(den != 0).then(num / den * m.factor).alias(key)


def value(key: str, sums: Mapping[str, float | None]) -> float | None:
    """The measure's formula over a mapping of sums (None by the same zero rule)."""
    m = get(key)
    parts = [sums.get(c) for c, _ in m.numerator]
    if any(p is None for p in parts):
        return None
    num = math.fsum(p * s for p, (_, s) in zip(parts, m.numerator, strict=True))
    if m.denominator is None:
        return num
    den = sums.get(m.denominator)
    if den is None or den == 0:
        return None
    return num / den * m.factor


def with_ratios(frame: pl.DataFrame, keys: Iterable[str]) -> pl.DataFrame:
    """Add (or replace) the measures `keys`, computed from the sums the frame holds."""
    return frame.with_columns(expr(k) for k in keys)


def format_page(key: str, value: float | None) -> str:
    """The value as a page shows it (`46,3`, `7,8 %`, `1 234 kr`, `2,5 mill. kr`)."""
    return format_kind(get(key).page, value)


def format_kind(kind: str, value: float | None) -> str:
    """Format a number of a page kind (`PAGE_KINDS`)."""
    match kind:
        case "arsverk":
            return norsk.number(value, 1)
        case "kr":
            return norsk.kroner(value)
        case "mill":
            return norsk.millions(value)
        case "prosent":
            return norsk.percent(value)
        case "heltall" | "dager":
            return norsk.number(value, 0)
    raise ValueError(f"unknown page kind {kind!r}")


# Decimals of a number shown without its unit, by page kind (money in whole kroner, so a
# change never hides in a rounded million).
_BARE_DECIMALS = {"arsverk": 1, "prosent": 1, "kr": 0, "mill": 0, "heltall": 0, "dager": 0}


def format_bare(key: str, value: float | None) -> str:
    """The value without its unit, under a heading that has it (`46,3`, `1 234 567`)."""
    return norsk.number(value, _BARE_DECIMALS[get(key).page])


# The step a page shows a difference in, by page kind: a smaller change reads as none.
_STEP = {"prosent": 0.1, "arsverk": 0.1, "mill": 100_000.0, "kr": 1.0, "heltall": 1.0, "dager": 1.0}


def shown_difference(key: str, difference: float) -> float:
    """The difference rounded to what the page shows (`−0,04` percentage points is 0)."""
    # Rounded as norsk.number rounds the figures themselves (the decimal text of the float,
    # half to even), so 15.95 is +16,0 like the value 15,95 is 16,0, never +15,9 because
    # 15.95 / 0.1 is 159.49999999999997 in binary floating point.
    step = Decimal(str(_STEP[get(key).page]))
    steps = (Decimal(str(float(difference))) / step).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return float(steps * step)


def format_change(key: str, difference: float) -> str:
    """A difference with sign and the measure's unit of change (`−1,2 prosentpoeng`)."""
    m = get(key)
    difference = shown_difference(key, difference)
    sign = "+" if difference > 0 else ("−" if difference < 0 else "±")
    if m.page == "prosent":
        magnitude = norsk.number(abs(difference), 1)
    else:
        magnitude = format_kind(m.page, abs(difference)).removesuffix("\u00a0kr")
        magnitude = magnitude.removesuffix("\u00a0mill.")
    unit = "mill. kr" if m.page == "mill" else m.change_unit
    if abs(difference) == 1 and m.page in ("heltall", "dager"):
        unit = _ONE.get(unit, unit)  # +1 enhet, not +1 enheter
    return f"{sign}{magnitude}\u00a0{unit}" if unit else f"{sign}{magnitude}"


# The unit of a change of exactly one (counts): `+1 enhet`, `−1 gevinst`, `+1 dag`.
_ONE = {"enheter": "enhet", "gevinster": "gevinst", "dager": "dag"}


def better(key: str, difference: float) -> str | None:
    """`bedre`/`dårligere` for a change by the measure's direction.

    None for a neutral measure or a change too small to show.
    """
    m = get(key)
    difference = shown_difference(key, difference)
    if m.direction == Direction.NEUTRAL or difference == 0:
        return None
    up_is_good = m.direction == Direction.HIGHER
    return "bedre" if (difference > 0) == up_is_good else "dårligere"


def money_words(deviation_kr: float | None) -> str:
    """`merforbruk 2,1 mill. kr` or `mindreforbruk 840 000 kr` (regnskap minus budsjett)."""
    if deviation_kr is None:
        return ""
    # Whole kroner, as shown: a deviation of 0,40 kr is not a «merforbruk 0 kr».
    deviation_kr = round(deviation_kr)
    if deviation_kr == 0:
        return "ingen avvik fra budsjettet"
    word = "merforbruk" if deviation_kr > 0 else "mindreforbruk"
    amount = abs(deviation_kr)
    shown = norsk.millions(amount) if amount >= 1e6 else norsk.kroner(amount)
    return f"{word} {shown}"
