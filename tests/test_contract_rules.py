"""Every rule of the contract, derived from the contract itself, is broken once and caught."""

from __future__ import annotations

import ast
import datetime as dt

import pytest

from tests import helpers
from tests.conftest import run_build
from vtklean.core import paths
from vtklean.ingest.contract import LABELS, TABLES, Kind, RuleKind

D = dt.date
# A row of each table (index into helpers.tiny_tables) that every rule can be tried on.
ROW = {
    "enheter": 0,
    "gevinster": 0,
    "ressursbruk": 13,
    "forbedringer": 0,
    "mal": 0,
    "kommentarer": 0,
}


def _cases():
    for table in TABLES.values():
        for col in table.columns:
            if col.required:
                yield f"{table.name}.{col.name}.pakrevd", table.name, {col.name: None}, col.name
            if col.unique:
                yield f"{table.name}.{col.name}.unik", table.name, "duplicate", col.name
            if col.codes:
                yield f"{table.name}.{col.name}.kode", table.name, {col.name: "ukjent"}, col.name
            if col.minimum is not None:
                bad = col.minimum if not col.minimum_inclusive else col.minimum - 1
                bad = int(bad) if col.kind is Kind.INTEGER else float(bad)
                yield f"{table.name}.{col.name}.min", table.name, {col.name: bad}, col.name
            if col.maximum is not None:
                yield (
                    f"{table.name}.{col.name}.max",
                    table.name,
                    {col.name: col.maximum + 1},
                    col.name,
                )
            if col.references:
                yield f"{table.name}.{col.name}.referanse", table.name, {col.name: "X999"}, col.name
        for rule in table.row_rules:
            yield f"{table.name}.{rule.kind}.{rule.left}", table.name, rule, None
        if table.unique_together:
            yield (
                f"{table.name}.unik_kombinasjon",
                table.name,
                "duplicate",
                table.unique_together[-1],
            )


def _row_rule_values(table: str, rule) -> tuple[dict, str]:
    """Values breaking a row rule, and the column the message names."""
    match rule.kind:
        case RuleKind.NOT_BEFORE:
            return {rule.left: D(2000, 1, 1)}, rule.left
        case RuleKind.NOT_ABOVE:
            return {rule.left: 10_000.0}, rule.left
        case RuleKind.ONLY_WITH:
            return {rule.left: 0.1, rule.right: None}, rule.left
        case RuleKind.NOT_BOTH:
            return {rule.left: D(2016, 10, 1), rule.right: D(2016, 11, 1)}, rule.right
        case RuleKind.POSITIVE_WHEN:
            return {rule.left: 0.0, "fravaer_dagsverk": 0.0}, rule.left
    raise AssertionError(rule)


CASES = list(_cases())


def test_every_rule_kind_of_the_contract_is_generated():
    kinds = {c[0].split(".")[-1] for c in CASES}
    assert {"pakrevd", "unik", "kode", "min", "max", "referanse"} <= kinds
    assert len(CASES) >= 40


@pytest.mark.parametrize(("case", "table", "change", "column"), CASES, ids=[c[0] for c in CASES])
def test_rule_is_caught(tmp_path, capsys, case, table, change, column):
    tables = helpers.tiny_tables()
    row = tables[table][ROW[table]]
    if change == "duplicate":
        tables[table].append(dict(row))
    elif isinstance(change, dict):
        row.update(change)
    else:
        values, column = _row_rule_values(table, change)
        row.update(values)
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 1, case
    err = capsys.readouterr().err
    assert f"{table}.csv, rad " in err, err
    assert f"kolonne «{column}»" in err, err
    assert not (tmp_path / "out").exists()


def _label_tables() -> list[str]:
    """Dict literals outside the contract that map codes of a coded column to text."""
    codes = [set(labels) for labels in LABELS.values()]
    found = []
    for path in sorted((paths.ROOT / "vtklean").rglob("*.py")):
        if path.name == "contract.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Dict) or not node.keys:
                continue
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            texts = all(
                isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.values
            )
            if texts and any(len(keys & c) >= 2 for c in codes):
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_code_labels_are_written_only_in_the_contract():
    for column, labels in LABELS.items():
        (owner,) = [t for t in TABLES.values() if column in t.column_names]
        assert tuple(labels) == owner.column(column).codes  # every code has a label
    assert not _label_tables(), "use contract.LABELS / METODER / KATEGORIER / STATUSER"
