"""Expectation suites derived from the contract, run with Great Expectations: errors, warnings."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from vtklean.core import calendar, imports, measures, progress
from vtklean.core.norsk import normalise_name
from vtklean.ingest.contract import KIND_TEXT, TABLES, WHOLE, Column, Kind, RowRule, RuleKind, Table
from vtklean.ingest.problems import MAX_EXAMPLES, Problem, Severity
from vtklean.ingest.read import FILE, ROW, RawData, TableData, record_key

# Great Expectations must never phone home: this suite runs offline.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

# Great Expectations loads modules for features these checks never use: altair for its own
# charts (0,3 s) and scipy.stats for the KL-divergence expectation (1 s). They load when
# first used, which is never here; the IRI checker under altair's jsonschema is left out.
imports.block(imports.IRI_CHECKER)
with imports.deferred("altair", "scipy.stats"):
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.expectations.row_conditions import Column as Col

log = logging.getLogger(__name__)

RULE_INDEX = "vtklean_regel"


@dataclass
class Check:
    """One expectation (or structural check) and its outcome, for the data-quality page."""

    table: str
    description: str
    column: str | None
    severity: Severity
    checked: int
    failed: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def success(self) -> bool:
        """True when no row broke the rule."""
        return self.failed == 0


@dataclass
class Validation:
    """The outcome of validating a raw folder: every check and every problem."""

    checks: list[Check]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """Problems that stop the build."""
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems shown in the data-quality report that do not stop the build."""
        return [p for p in self.problems if p.severity is Severity.WARNING]


@dataclass(frozen=True)
class Rule:
    """An expectation to run on one table, with how to describe its failures."""

    rule: str
    heading: str
    expected: str
    column: str
    expectation: gxe.Expectation
    severity: Severity = Severity.ERROR
    detail: Callable[[TableData, int], str] | None = None


def _context() -> gx.data_context.AbstractDataContext:
    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


REFERENCE_HEADINGS = {
    "enheter.enhet_id": "Henvisninger til enheter som ikke finnes",
    "enheter.tjenesteomrade": "Tjenesteområder som ikke finnes i enhetene",
}


def _column_rules(table: Table, col: Column, ids: list[str] | None) -> list[Rule]:
    rules: list[Rule] = []
    name = col.name
    if col.required:
        rules.append(
            Rule(
                "pakrevd",
                "Påkrevde verdier som mangler",
                f"{name} må fylles ut",
                name,
                gxe.ExpectColumnValuesToNotBeNull(column=name),
            )
        )
    if col.unique:
        rules.append(
            Rule(
                "unik",
                "Verdier som skal være unike, men står flere ganger",
                f"{name} må være unik",
                name,
                gxe.ExpectColumnValuesToBeUnique(column=name),
                detail=_duplicate_detail(name),
            )
        )
    if col.codes:
        allowed = ", ".join(col.codes)
        rules.append(
            Rule(
                "kode",
                "Ukjente koder",
                f"forventet en av: {allowed}",
                name,
                gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(col.codes)),
            )
        )
    if col.minimum is not None or col.maximum is not None:
        rules.append(
            Rule(
                "intervall",
                "Tall utenfor tillatt område",
                f"{name} må være {col.range_text()}",
                name,
                gxe.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=col.minimum,
                    max_value=col.maximum,
                    strict_min=not col.minimum_inclusive,
                ),
            )
        )
    if col.references and ids is not None:
        ref_table, ref_col = col.references.split(".")
        # Membership is computed in polars (see _frame_for): a value set of every unit id
        # inside the expectation would make GX serialise it over and over.
        rules.append(
            Rule(
                "referanse",
                REFERENCE_HEADINGS[col.references],
                f"{ref_col} finnes ikke i tabellen «{ref_table}»"
                + (f" (eller skriv «{WHOLE}»)" if ref_col == "tjenesteomrade" else ""),
                name,
                gxe.ExpectColumnValuesToBeInSet(column=_ref(name), value_set=[True]),
            )
        )
    return rules


def _duplicate_detail(column: str) -> Callable[[TableData, int], str]:
    def detail(td: TableData, index: int) -> str:
        values = td.data.get_column(column)
        value = values[index]
        others = td.data.with_row_index("_i").filter(
            (pl.col(column) == value) & (pl.col("_i") != index)
        )
        if others.is_empty():
            return ""
        first = others.row(0, named=True)
        return f" (står også i {first[FILE]} rad {first[ROW]})"

    return detail


def _row_rule(rule: RowRule) -> Rule:
    text = rule.describe()
    left, right = rule.left, rule.right
    match rule.kind:
        case RuleKind.NOT_BEFORE | RuleKind.NOT_ABOVE:  # left >= right, or left <= right
            high, low = (left, right) if rule.kind is RuleKind.NOT_BEFORE else (right, left)
            exp = gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=high, column_B=low, or_equal=True, ignore_row_if="either_value_is_missing"
            )
        case RuleKind.ONLY_WITH:
            exp = gxe.ExpectColumnValuesToBeNull(column=left, row_condition=Col(right).is_null())
        case RuleKind.NOT_BOTH:
            exp = gxe.ExpectColumnValuesToBeNull(
                column=right, row_condition=Col(left).is_not_null()
            )
        case RuleKind.POSITIVE_WHEN:
            exp = gxe.ExpectColumnValuesToBeBetween(
                column=left,
                min_value=0,
                strict_min=True,
                row_condition=Col(right) > 0,
            )
    column = right if rule.kind is RuleKind.NOT_BOTH else left
    detail = _pair_detail(right if column == left else left)
    return Rule(
        f"rad_{rule.kind}",
        "Verdier i samme rad som ikke passer sammen",
        text,
        column,
        exp,
        detail=detail,
    )


def _pair_detail(other: str) -> Callable[[TableData, int], str]:
    def detail(td: TableData, index: int) -> str:
        value = td.raw.get_column(other)[index]
        file = td.raw.get_column(FILE)[index]
        return f" ({td.written(file, other)} er «{value if value is not None else ''}»)"

    return detail


def suite_rules(
    table: Table, ids: list[str] | None, limits: Mapping[str, Any] | None = None
) -> list[Rule]:
    """Every rule of the contract for one table, as expectations (`limits`: build parameters)."""
    rules = [r for col in table.columns for r in _column_rules(table, col, ids)]
    if table.unique_together:
        cols = list(table.unique_together)
        rules.append(
            Rule(
                "unik",
                "Verdier som skal være unike, men står flere ganger",
                f"kombinasjonen {' + '.join(cols)} må være unik på tvers av alle filer",
                cols[-1],
                # Computed in polars (see _frame_for): GX hashes the key columns in pandas,
                # seconds for a national resource table.
                gxe.ExpectColumnValuesToBeInSet(column=UNIQUE_TOGETHER, value_set=[True]),
            )
        )
    rules += [_row_rule(r) for r in table.row_rules]
    for warning in table.warnings:
        limit = warning.limit(limits)
        rules.append(
            Rule(
                warning.rule,
                *warning.describe(limit),
                warning.column,
                gxe.ExpectColumnValuesToBeBetween(
                    column=_measure(warning.measure), min_value=-limit, max_value=limit
                ),
                severity=Severity.WARNING,
                detail=_pair_detail(warning.beside),
            )
        )
    return rules


def _measure(key: str) -> str:
    return f"_{key}"


def _ref(column: str) -> str:
    return f"_finnes_{column}"


UNIQUE_TOGETHER = "_unik_kombinasjon"  # False where the table's key combination repeats


def _frame_for(
    td: TableData, ids: list[str] | None, areas: list[str] | None = None
) -> pl.DataFrame:
    frame = td.data
    refs = [c for c in td.table.columns if c.references]
    if ids is not None and refs:
        # Units are referred to by id; service areas by name, or the whole municipality.
        known = {
            "enheter.enhet_id": pl.Series(ids, dtype=pl.String),
            "enheter.tjenesteomrade": pl.Series([*(areas or []), WHOLE], dtype=pl.String),
        }
        frame = frame.with_columns(
            pl.when(pl.col(c.name).is_not_null())
            .then(pl.col(c.name).is_in(known[c.references].implode()))
            .alias(_ref(c.name))
            for c in refs
        )
    if td.table.unique_together:
        # As GX's compound uniqueness: every row of a repeated combination is unexpected,
        # and a row whose key columns are all empty is not checked.
        key = list(td.table.unique_together)
        frame = frame.with_columns(
            pl.when(~pl.all_horizontal(pl.col(c).is_null() for c in key))
            .then(~pl.struct(key).is_duplicated())
            .alias(UNIQUE_TOGETHER)
        )
    return frame.with_columns(
        measures.expr(w.measure).alias(_measure(w.measure)) for w in td.table.warnings
    )


def _run_suite(
    ctx, td: TableData, rules: list[Rule], ids: list[str] | None, areas: list[str] | None = None
) -> list:
    source = ctx.data_sources.add_pandas(f"raw_{td.table.name}")
    asset = source.add_dataframe_asset(td.table.name)
    batch = asset.add_batch_definition_whole_dataframe("alle_rader")
    for i, r in enumerate(rules):
        r.expectation.meta = {RULE_INDEX: i}
    # The suite is made with its expectations: added one by one to a suite in the context,
    # each would be stored (serialised) again, a fifth of the checks' time.
    suite = ctx.suites.add(
        gx.ExpectationSuite(
            name=f"kontrakt_{td.table.name}", expectations=[r.expectation for r in rules]
        )
    )
    definition = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=f"kontroll_{td.table.name}", data=batch, suite=suite)
    )
    frame = _frame_for(td, ids, areas).to_pandas()
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "COMPLETE"},
    )
    # GX does not keep the order in which expectations were added: match by our index.
    by_rule = {r.expectation_config.meta[RULE_INDEX]: r for r in result.results}
    return [by_rule[i] for i in range(len(rules))]


def _problems_for(td: TableData, rule: Rule, indexes: list[int]) -> list[Problem]:
    raw = td.raw
    files = raw.get_column(FILE)
    rows = raw.get_column(ROW)
    values = raw.get_column(rule.column)
    out = []
    for i in indexes:
        file = files[i]
        rec = {k: raw.get_column(k)[i] for k in td.table.key}
        extra = rule.detail(td, i) if rule.detail is not None else ""
        value = values[i]
        out.append(
            Problem(
                rule=f"{td.table.name}.{rule.rule}.{rule.column}",
                heading=f"{rule.heading}: {td.table.name}.{rule.column}",
                severity=rule.severity,
                expected=rule.expected + extra,
                file=file,
                row=rows[i],
                column=td.written(file, rule.column),
                value="" if value is None else value,
                key=record_key(td.table, rec),
            )
        )
    return out


def _structure_checks(raw: RawData, as_of: dt.date | None) -> list[Check]:
    """Warnings about the resource series: gaps, and active units with no rows."""
    checks: list[Check] = []
    units = raw.tables.get("enheter")
    res = raw.tables.get("ressursbruk")
    if units is None or res is None:
        return checks
    months = res.data.select("enhet_id", "maned").drop_nulls()
    span = months.group_by("enhet_id").agg(
        first=pl.col("maned").min(), last=pl.col("maned").max(), n=pl.col("maned").n_unique()
    )
    span = span.with_columns(
        expected=(pl.col("last").dt.year() - pl.col("first").dt.year()) * 12
        + pl.col("last").dt.month()
        - pl.col("first").dt.month()
        + 1
    )
    gaps = span.filter(pl.col("n") < pl.col("expected")).sort("enhet_id")
    gap_problems = []
    gap_months = months.filter(pl.col("enhet_id").is_in(gaps.get_column("enhet_id").implode()))
    for rec in gaps.iter_rows(named=True):
        have = set(gap_months.filter(pl.col("enhet_id") == rec["enhet_id"]).get_column("maned"))
        missing = [
            m
            for m in pl.date_range(rec["first"], rec["last"], "1mo", eager=True).to_list()
            if m not in have
        ]
        shown = ", ".join(m.strftime("%m.%Y") for m in missing[:6])
        more = f" og {len(missing) - 6} til" if len(missing) > 6 else ""
        gap_problems.append(
            Problem.warning(
                "ressursbruk.hull",
                "Hull i en enhets månedsserie",
                f"mangler {len(missing)} måned(er): {shown}{more}",
                key=f"enhet_id={rec['enhet_id']}",
            )
        )
    checks.append(
        Check(
            "ressursbruk",
            "Hver enhet har en sammenhengende månedsserie",
            "maned",
            Severity.WARNING,
            span.height,
            len(gap_problems),
            gap_problems,
        )
    )
    if as_of is not None:
        d = pl.lit(as_of, pl.Date)
        active = units.data.filter(pl.col("lagt_ned").is_null() | (pl.col("lagt_ned") > d))
        with_rows = set(
            months.filter(pl.col("maned").dt.year() == as_of.year).get_column("enhet_id").unique()
        )
        missing_units = active.filter(~pl.col("enhet_id").is_in(list(with_rows))).sort("enhet_id")
        unit_problems = [
            Problem.warning(
                "enheter.uten_ressursbruk",
                f"Aktive enheter uten ressursbruk i {as_of.year}",
                f"enheten er aktiv per {as_of:%d.%m.%Y}, men har ingen rader i "
                f"ressursbruk for {as_of.year}",
                **_unit_row(units, rec),
            )
            for rec in missing_units.iter_rows(named=True)
        ]
        checks.append(
            Check(
                "enheter",
                f"Aktive enheter har ressursbruk i {as_of.year}",
                "enhet_id",
                Severity.WARNING,
                active.height,
                len(unit_problems),
                unit_problems,
            )
        )
        checks.append(_missing_month_check(units, res, as_of, set(missing_units["enhet_id"])))
    return checks


def _unit_row(units: TableData, unit: dict[str, Any]) -> dict[str, Any]:
    """Where a problem about a unit points: its row in enheter, named by its display name."""
    return {
        "file": unit[FILE],
        "row": unit[ROW],
        "key": f"enhet_id={unit['enhet_id']}",
        "value": unit["enhet"],
        "column": units.written(unit[FILE], "enhet"),
    }


def _missing_month_check(
    units: TableData, res: TableData, as_of: dt.date, without_rows: set[str]
) -> Check:
    """Warn per active unit about the months of the report year it has no row for.

    Units with no row at all in the year are warned about once, by the check before.
    """
    period = calendar.Period(as_of.year, as_of)
    unit_frame = calendar.units(units.data, as_of)
    missing = calendar.missing_months(unit_frame, res.data, period)
    missing = missing.filter(~pl.col("enhet_id").is_in(sorted(without_rows)))
    by_unit = missing.group_by("enhet_id").agg(pl.col("maned").sort()).sort("enhet_id")
    where = {rec["enhet_id"]: rec for rec in units.data.iter_rows(named=True)}
    problems = []
    for rec in by_unit.iter_rows(named=True):
        unit = where[rec["enhet_id"]]
        months = ", ".join(f"{m:%m.%Y}" for m in rec["maned"])
        problems.append(
            Problem.warning(
                "ressursbruk.manglende_maned",
                f"Måneder uten ressursbruk i {as_of.year} (året er ikke komplett)",
                f"enheten er aktiv, men mangler ressursbruk for {months}; "
                f"tallene for {as_of.year} gjelder bare "
                f"{period.months - len(rec['maned'])} av {period.months} måneder",
                **_unit_row(units, unit),
            )
        )
    return Check(
        "ressursbruk",
        f"Aktive enheter har ressursbruk for hver måned i {as_of.year}",
        "maned",
        Severity.WARNING,
        unit_frame.filter(pl.col("aktiv")).height,
        len(problems),
        problems,
    )


def _area_key(name: str) -> str:
    """A service-area name without case, spacing or punctuation (`Helse- og omsorg`)."""
    return normalise_name(name).replace("_", "")


def _area_checks(raw: RawData) -> list[Check]:
    """Service-area names: `Hele kommunen` is reserved; no two differ only in spelling.

    Names that differ only in case, spacing or punctuation would each get their own report
    and their own sums.
    """
    units = raw.tables.get("enheter")
    if units is None:
        return []
    column = "tjenesteomrade"
    frame = units.raw.select(FILE, ROW, "enhet_id", column).drop_nulls(column)
    frame = frame.with_columns(_norm=pl.col(column).map_elements(_area_key, return_dtype=pl.String))
    problems = []
    reserved = _area_key(WHOLE)
    for rec in frame.filter(pl.col("_norm") == reserved).iter_rows(named=True):
        problems.append(
            Problem.error(
                "enheter.tjenesteomrade.reservert",
                "Tjenesteområder med et navn som er reservert",
                f"«{WHOLE}» er navnet på summen for hele kommunen og kan ikke være "
                "et tjenesteområde",
                file=rec[FILE],
                row=rec[ROW],
                column=units.written(rec[FILE], column),
                value=rec[column],
                key=f"enhet_id={rec['enhet_id']}",
            )
        )
    spellings = (
        frame.filter(pl.col("_norm") != reserved)
        .group_by("_norm")
        .agg(pl.col(column).unique(maintain_order=True))
        .filter(pl.col(column).list.len() > 1)
    )
    clashing = {v: names for names in spellings.get_column(column).to_list() for v in names}
    first = frame.filter(pl.col(column).is_in(list(clashing))).unique(column, keep="first")
    for rec in first.sort(FILE, ROW).iter_rows(named=True):
        others = " og ".join(f"«{n}»" for n in clashing[rec[column]] if n != rec[column])
        problems.append(
            Problem(
                rule="enheter.tjenesteomrade.nesten_like",
                heading="Tjenesteområder som bare skiller seg i store/små bokstaver, "
                "mellomrom eller tegn",
                severity=Severity.ERROR,
                expected=f"skrives også {others}; bruk samme skrivemåte for samme tjenesteområde",
                file=rec[FILE],
                row=rec[ROW],
                column=units.written(rec[FILE], column),
                value=rec[column],
                key=f"enhet_id={rec['enhet_id']}",
            )
        )
    return [
        Check(
            "enheter",
            f"Tjenesteområdene har entydige navn, og ingen heter «{WHOLE}»",
            column,
            Severity.ERROR,
            frame.height,
            len(problems),
            problems,
        )
    ]


def _describe(rule: Rule) -> str:
    return rule.expected[:1].upper() + rule.expected[1:]


def _read_checks(raw: RawData) -> list[Check]:
    """The checks the reader made (encodings, headers, types), as rows of the report."""
    checks = []
    for name, td in raw.tables.items():
        for col in td.table.columns:
            if col.kind in (Kind.TEXT, Kind.CODE):
                continue
            failed = [
                p
                for p in raw.problems
                if p.rule.startswith("ugyldig")
                and p.file in td.files
                and p.column in {td.written(f, col.name) for f in td.files}
            ]
            checks.append(
                Check(
                    name,
                    f"{col.name} kan leses som {KIND_TEXT[col.kind]}",
                    col.name,
                    Severity.ERROR,
                    td.data.height,
                    len(failed),
                    failed,
                )
            )
    file_problems = [p for p in raw.problems if not p.rule.startswith("ugyldig")]
    checks.insert(
        0,
        Check(
            "filer",
            "Filene kan leses (tegnkoding, format, overskrifter, påkrevde tabeller og kolonner)",
            None,
            Severity.ERROR,
            len(raw.sha256),
            len([p for p in file_problems if p.severity is Severity.ERROR]),
            file_problems,
        ),
    )
    return checks


def validate(
    raw: RawData, as_of: dt.date | None = None, limits: Mapping[str, Any] | None = None
) -> Validation:
    """Run every contract rule on every table read; collect all problems of the run.

    `limits` are the build parameters that set the contract's warning limits (by name);
    a limit not given is the contract's default.
    """
    checks = _read_checks(raw)
    problems: list[Problem] = list(raw.problems)
    # A value the reader could not parse is reported once, by the reader.
    seen = {(p.file, p.row, p.column) for p in raw.problems if p.row is not None}
    units = raw.tables.get("enheter")
    ids = areas = None
    if units is not None:
        ids = units.data.get_column("enhet_id").drop_nulls().unique().sort().to_list()
        areas = units.data.get_column("tjenesteomrade").drop_nulls().unique().sort().to_list()
    ctx = _context()
    for name, table in progress.steps(list(TABLES.items()), "Kontrollerer", " tabeller"):
        td = raw.tables.get(name)
        if td is None:
            continue
        rules = suite_rules(table, ids, limits)
        log.info("Kontrollerer %s (%d regler, %d rader)", name, len(rules), td.data.height)
        results = _run_suite(ctx, td, rules, ids, areas)
        for rule, result in zip(rules, results, strict=True):
            indexes = list(result.result.get("unexpected_index_list") or [])
            if not result.success and not indexes and result.exception_info.get("raised_exception"):
                raise RuntimeError(result.exception_info)  # a bug in a rule, not in the data
            found = [
                p for p in _problems_for(td, rule, indexes) if (p.file, p.row, p.column) not in seen
            ]
            problems += found
            checks.append(
                Check(
                    name,
                    _describe(rule),
                    rule.column,
                    rule.severity,
                    td.data.height,
                    len(found),
                    found[:MAX_EXAMPLES],
                )
            )
    structure = _structure_checks(raw, as_of) + _area_checks(raw)
    checks += structure
    problems += [p for c in structure for p in c.problems]
    return Validation(checks=checks, problems=problems)
