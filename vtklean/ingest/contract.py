"""The raw-data contract (tables, columns, types and rules) written down once, as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from vtklean.core import measures


class Kind(StrEnum):
    """The value kinds a raw column can hold."""

    TEXT = "text"
    CODE = "code"
    DATE = "date"
    MONTH = "month"
    DECIMAL = "decimal"
    INTEGER = "integer"


# Words used in user documentation and messages for each kind (bokmål).
KIND_TEXT: dict[Kind, str] = {
    Kind.TEXT: "tekst",
    Kind.CODE: "kode",
    Kind.DATE: "dato (DD.MM.ÅÅÅÅ eller ÅÅÅÅ-MM-DD)",
    Kind.MONTH: "måned (MM.ÅÅÅÅ, ÅÅÅÅ-MM eller en dato i måneden)",
    Kind.DECIMAL: "tall (desimalkomma eller -punktum)",
    Kind.INTEGER: "heltall",
}


@dataclass(frozen=True)
class Column:
    """One canonical column of a raw table and its single-column rules."""

    name: str
    kind: Kind
    required: bool
    description: str
    unique: bool = False
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    minimum_inclusive: bool = True
    maximum: float | None = None
    references: str | None = None  # "table.column" the value must exist in

    def range_text(self) -> str:
        """Describe the allowed range in bokmål, or return '' when there is none."""
        parts = []
        if self.minimum is not None:
            op = ">=" if self.minimum_inclusive else ">"
            parts.append(f"{op} {_num(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"<= {_num(self.maximum)}")
        return " og ".join(parts)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x).replace(".", ",")


class RuleKind(StrEnum):
    """Kinds of rules that involve more than one column of a row."""

    NOT_BEFORE = "not_before"  # left >= right where both are present
    NOT_ABOVE = "not_above"  # left <= right where both are present
    ONLY_WITH = "only_with"  # left may only be present when right is present
    NOT_BOTH = "not_both"  # left and right are never both present
    POSITIVE_WHEN = "positive_when"  # left > 0 when right > 0


@dataclass(frozen=True)
class RowRule:
    """A rule relating two columns of the same row."""

    kind: RuleKind
    left: str
    right: str

    def describe(self) -> str:
        """Describe the rule in bokmål, as shown in messages and documentation."""
        match self.kind:
            case RuleKind.NOT_BEFORE:
                return f"{self.left} kan ikke være før {self.right}"
            case RuleKind.NOT_ABOVE:
                return f"{self.left} kan ikke være større enn {self.right}"
            case RuleKind.ONLY_WITH:
                return f"{self.left} kan bare fylles ut når {self.right} er fylt ut"
            case RuleKind.NOT_BOTH:
                return f"{self.left} og {self.right} kan ikke begge være fylt ut"
            case RuleKind.POSITIVE_WHEN:
                return f"{self.left} må være større enn 0 når {self.right} er større enn 0"
        raise AssertionError(self.kind)  # pragma: no cover


@dataclass(frozen=True)
class LimitWarning:
    """A warning, never an error: a row whose measure is beyond ± a limit is worth a look.

    `measure` is a key of the measure registry, computed per row; the limit is the build
    parameter `parameter` (`default` when it is not set). A problem names `column` and shows
    `beside`; `heading` and `expected` are bokmål with `{limit}` for the limit.
    """

    rule: str
    measure: str
    column: str
    beside: str
    heading: str
    expected: str
    parameter: str
    default: float

    def limit(self, params: Mapping[str, Any] | None = None) -> float:
        """The limit from the build parameters, or the default."""
        return float((params or {}).get(self.parameter, self.default))

    def describe(self, limit: float) -> tuple[str, str]:
        """The heading and the expectation in bokmål for this limit."""
        shown = _num(limit)
        return self.heading.format(limit=shown), self.expected.format(limit=shown)


@dataclass(frozen=True)
class Table:
    """A raw table: its file-name prefix, columns, key and row rules."""

    name: str
    description: str
    required: bool
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    unique_together: tuple[str, ...] = ()
    row_rules: tuple[RowRule, ...] = field(default_factory=tuple)
    warnings: tuple[LimitWarning, ...] = ()

    def column(self, name: str) -> Column:
        """Return the column called `name`."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        """Canonical column names in contract order."""
        return [c.name for c in self.columns]


def _id(name: str, description: str) -> Column:
    """A table's own ID column: required text, unique across all its files."""
    return Column(name, Kind.TEXT, True, description, unique=True)


def _unit(description: str) -> Column:
    """The unit a row belongs to: an `enhet_id` of enheter."""
    return Column("enhet_id", Kind.TEXT, True, description, references="enheter.enhet_id")


def _area(description: str) -> Column:
    """The service area a row is about: one of enheter's, or the whole municipality."""
    return Column(
        "tjenesteomrade", Kind.TEXT, True, description, references="enheter.tjenesteomrade"
    )


# The codes of the coded columns, each with its label for people (pages, charts, workbooks).
METODER = {
    "verdistromsanalyse": "Verdistrømsanalyse",
    "forbedringstavle": "Forbedringstavle",
    "5s": "5S",
    "annet": "Annet",
}
KATEGORIER = {"kvalitet": "Kvalitet", "kvantitet": "Kvantitet", "besparelse": "Besparelse"}
STATUSER = {"ny": "Ny", "pagar": "Pågår", "gjennomfort": "Gjennomført", "avvist": "Avvist"}
LABELS = {"metode": METODER, "kategori": KATEGORIER, "status": STATUSER}

ENHETER = Table(
    name="enheter",
    description="Én rad per organisatorisk enhet.",
    required=True,
    key=("enhet_id",),
    columns=(
        _id("enhet_id", "Enhetens ID."),
        Column("enhet", Kind.TEXT, True, "Visningsnavn."),
        Column("tjenesteomrade", Kind.TEXT, True, "Tjenesteområde; hvert område får sin rapport."),
        Column("lean_start", Kind.DATE, False, "Datoen enheten startet Lean-opplæring."),
        Column("pilot", Kind.INTEGER, False, "Pilotbølge (1, 2, ...).", minimum=1),
        Column("lagt_ned", Kind.DATE, False, "Enheten er lagt ned fra denne datoen."),
        Column(
            "volumenhet", Kind.TEXT, False, "Hva ressursbruk.volum teller (brukere, saker ...)."
        ),
    ),
)

GEVINSTER = Table(
    name="gevinster",
    description="Gevinstregisteret, én rad per gevinst.",
    required=True,
    key=("gevinst_id",),
    columns=(
        _id("gevinst_id", "Gevinstens ID."),
        _unit("Enheten gevinsten hører til."),
        Column("beskrivelse", Kind.TEXT, False, "Fritekst."),
        Column("metode", Kind.CODE, True, "Metoden som fant gevinsten.", codes=tuple(METODER)),
        Column("kategori", Kind.CODE, True, "Hvordan gevinsten tas ut.", codes=tuple(KATEGORIER)),
        Column(
            "arsverk",
            Kind.DECIMAL,
            True,
            "Gevinst i årsverk per år.",
            minimum=0,
            minimum_inclusive=False,
            maximum=50,
        ),
        Column("belop_kr", Kind.DECIMAL, False, "Gevinst i kroner per år.", minimum=0),
        Column("identifisert", Kind.DATE, True, "Datoen gevinsten ble identifisert."),
        Column("realisert", Kind.DATE, False, "Datoen gevinsten ble realisert."),
        Column(
            "realisert_arsverk",
            Kind.DECIMAL,
            False,
            "Realiserte årsverk; tom betyr hele gevinsten.",
            minimum=0,
            minimum_inclusive=False,
        ),
        Column("forkastet", Kind.DATE, False, "Datoen gevinsten ble forkastet."),
        Column("ansvarlig", Kind.TEXT, False, "Gevinstansvarlig (rolle eller leder)."),
        Column(
            "planlagt_realisert",
            Kind.DATE,
            False,
            "Når gevinstplanen sier gevinsten skal være realisert; senere er den forsinket.",
        ),
    ),
    row_rules=(
        RowRule(RuleKind.NOT_BEFORE, "realisert", "identifisert"),
        RowRule(RuleKind.NOT_BEFORE, "planlagt_realisert", "identifisert"),
        RowRule(RuleKind.NOT_BEFORE, "forkastet", "identifisert"),
        RowRule(RuleKind.NOT_BOTH, "realisert", "forkastet"),
        RowRule(RuleKind.ONLY_WITH, "realisert_arsverk", "realisert"),
        RowRule(RuleKind.NOT_ABOVE, "realisert_arsverk", "arsverk"),
    ),
)

RESSURSBRUK = Table(
    name="ressursbruk",
    description="Ressursbruk, én rad per enhet per måned.",
    required=True,
    key=("enhet_id", "maned"),
    unique_together=("enhet_id", "maned"),
    columns=(
        _unit("Enheten."),
        Column("maned", Kind.MONTH, True, "Måneden."),
        Column("budsjett_kr", Kind.DECIMAL, True, "Budsjett for måneden, kroner."),
        Column(
            "regnskap_kr", Kind.DECIMAL, True, "Faktisk netto forbruk, kroner (kan være negativt)."
        ),
        Column("arsverk", Kind.DECIMAL, True, "Årsverk i måneden.", minimum=0),
        Column("ansatte", Kind.INTEGER, False, "Antall ansatte (hoder).", minimum=0),
        Column("avtalte_dagsverk", Kind.DECIMAL, True, "Avtalte dagsverk.", minimum=0),
        Column("fravaer_dagsverk", Kind.DECIMAL, True, "Sykefravær i dagsverk.", minimum=0),
        Column("volum", Kind.DECIMAL, False, "Tjenestevolum (se enheter.volumenhet).", minimum=0),
    ),
    row_rules=(
        RowRule(RuleKind.POSITIVE_WHEN, "avtalte_dagsverk", "arsverk"),
        RowRule(RuleKind.NOT_ABOVE, "fravaer_dagsverk", "avtalte_dagsverk"),
    ),
    warnings=(
        LimitWarning(
            rule="avvik",
            measure="budsjettavvik_prosent",
            column="regnskap_kr",
            beside="budsjett_kr",
            heading="Måneder med budsjettavvik over {limit} % (kontroller tallene)",
            expected="regnskap avviker mer enn {limit} % fra budsjett",
            parameter="budsjettavvik_advarsel_prosent",
            default=50.0,
        ),
    ),
)

FORBEDRINGER = Table(
    name="forbedringer",
    description="Forbedringsforslag fra forbedringstavlene (valgfri tabell).",
    required=False,
    key=("forslag_id",),
    columns=(
        _id("forslag_id", "Forslagets ID."),
        _unit("Enheten."),
        Column("registrert", Kind.DATE, True, "Datoen forslaget ble registrert."),
        Column("status", Kind.CODE, True, "Status.", codes=tuple(STATUSER)),
        Column("avsluttet", Kind.DATE, False, "Datoen forslaget ble avsluttet."),
    ),
    row_rules=(RowRule(RuleKind.NOT_BEFORE, "avsluttet", "registrert"),),
)

WHOLE = "Hele kommunen"
RETNINGER = ("minst", "hoyst")

MAL = Table(
    name="mal",
    description="Mål fra budsjett eller handlingsplan (valgfri tabell).",
    required=False,
    key=("tjenesteomrade", "indikator", "ar"),
    unique_together=("tjenesteomrade", "indikator", "ar"),
    columns=(
        _area(f"Tjenesteområdet målet gjelder, eller «{WHOLE}»."),
        Column(
            "indikator",
            Kind.CODE,
            True,
            "Nøkkeltallet målet gjelder (en kolonne i nokkeltall.csv).",
            codes=measures.EXPORT[1:],
        ),
        Column("ar", Kind.INTEGER, True, "Året målet gjelder."),
        Column("mal", Kind.DECIMAL, True, "Målet, i nøkkeltallets enhet (7,5 for 7,5 %)."),
        Column(
            "retning",
            Kind.CODE,
            False,
            "minst eller høyst; tom betyr nøkkeltallets egen retning.",
            codes=RETNINGER,
        ),
    ),
)

KOMMENTARER = Table(
    name="kommentarer",
    description="Ledernes egen vurdering (valgfri tabell).",
    required=False,
    key=("tjenesteomrade", "ar"),
    columns=(
        _area(f"Tjenesteområdet, eller «{WHOLE}» (rådmannens vurdering)."),
        Column("ar", Kind.INTEGER, True, "Rapportåret kommentaren hører til."),
        Column("tekst", Kind.TEXT, True, "Ren tekst; linjeskift beholdes, vises alltid som tekst."),
        Column("rolle", Kind.TEXT, False, "Hvem som skriver, som rolle (Kommunalsjef, Rådmann)."),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (ENHETER, GEVINSTER, RESSURSBRUK, FORBEDRINGER, MAL, KOMMENTARER)
}
WARNINGS = tuple(w for t in TABLES.values() for w in t.warnings)
