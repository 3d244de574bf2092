"""The registry of measures: each formula is written once, and it computes what it says."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from vtklean.core import measures, norsk, paths
from vtklean.ingest import contract
from vtklean.model import pilot
from vtklean.publish import export, render

RATIOS = [m for m in measures.MEASURES.values() if m.is_ratio]


def _sources() -> dict[str, str]:
    """The library's modules (but the registry) and the notebooks' code cells, by path."""
    out = {
        str(p.relative_to(paths.ROOT)): p.read_text("utf-8")
        for p in sorted((paths.ROOT / "vtklean").rglob("*.py"))
        if p.name != "measures.py"
    }
    for nb in sorted((paths.ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text("utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        out[str(nb.relative_to(paths.ROOT))] = code
    return out


def _formula_patterns(m: measures.Measure) -> list[re.Pattern]:
    """Ways a copy of the measure's division would be written.

    A division by its denominator column, or its numerator column followed by a division.
    """
    den = re.escape(m.denominator or "")
    pats = [re.compile(r"/\s*[\w.]*\(?\s*[\"']" + den + r"[\"']")]
    for col, sign in m.numerator:
        if sign < 0:  # a subtracted term is found by the division by the denominator
            continue
        c = re.escape(col)
        pats.append(re.compile(r"(col\(|\[|get_column\()[\"']" + c + r"[\"'][\])]+\s*/"))
    return pats


def test_the_sources_are_found():
    sources = _sources()
    assert "vtklean/model/figures.py" in sources and "notebooks/oversikt.ipynb" in sources


@pytest.mark.parametrize("key", [m.key for m in RATIOS])
def test_each_ratio_is_written_only_in_the_registry(key):
    m = measures.get(key)
    found = [
        f"{path}: {match.group(0)}"
        for path, text in _sources().items()
        for pat in _formula_patterns(m)
        for match in pat.finditer(text)
    ]
    assert not found, f"{key} is computed outside vtklean/core/measures.py: {found}"


def _written(text: str) -> set[str]:
    """How a heading can stand in source: as shown, without soft hyphens, or escaped."""
    return {text, text.replace("\u00ad", ""), text.replace("\u00ad", "\\u00ad")}


@pytest.mark.parametrize("key", measures.CONTRACT[1:])
def test_each_column_heading_is_written_only_in_the_registry(key):
    m = measures.get(key)
    headings = {h for h in (m.heading, m.narrow) if h and h != m.label}
    found = [
        f"{path}: {h!r}"
        for path, text in _sources().items()
        # raw files' own headers (`Budsjett (kr)`), not measures
        if path != "vtklean/sample/writers.py"
        for heading in headings
        for h in _written(heading)
        if f'"{h}"' in text
    ]
    assert not found, f"{key}'s heading is written outside vtklean/core/measures.py: {found}"
    assert render.FIGURE_HEADERS[key] == m.narrow_heading
    assert export.heading(key) == m.heading


def test_pilot_outcomes_take_their_words_from_the_registry():
    for name, outcome in pilot.OUTCOMES.items():
        assert (outcome.label, outcome.unit) == (
            measures.get(name).label,
            measures.get(name).change_unit,
        )
    assert (
        '"Kostnad per volumenhet"'
        not in (paths.ROOT / "vtklean" / "model" / "pilot.py").read_text()
    )


def test_the_scan_would_catch_a_copy():
    copy = 'x = pl.col("fravaer_dagsverk") / pl.col("avtalte_dagsverk") * 100'
    pats = _formula_patterns(measures.get("sykefravaer_prosent"))
    assert any(p.search(copy) for p in pats)
    assert any(p.search('r["regnskap_kr"] / r["budsjett_kr"]') for p in pats[:1]) is False
    budget = _formula_patterns(measures.get("budsjettavvik_prosent"))
    assert any(p.search('(a - b) / pl.col("budsjett_kr").abs() * 100') for p in budget)


def test_expr_and_value_agree_and_leave_zero_denominators_empty():
    sums = pl.DataFrame(
        {
            "fravaer_dagsverk": [10.0, 0.0, 5.0],
            "avtalte_dagsverk": [200.0, 0.0, None],
            "regnskap_kr": [90.0, 50.0, -10.0],
            "budsjett_kr": [100.0, 0.0, -20.0],
        }
    )
    out = measures.with_ratios(sums, ["sykefravaer_prosent", "budsjettavvik_prosent"])
    assert out.get_column("sykefravaer_prosent").to_list() == [5.0, None, None]
    # (regnskap − budsjett) / budsjett × 100; a negative budget keeps its sign.
    assert out.get_column("budsjettavvik_prosent").to_list() == [-10.0, None, -50.0]
    for row, computed in zip(sums.iter_rows(named=True), out.iter_rows(named=True), strict=True):
        for key in ("sykefravaer_prosent", "budsjettavvik_prosent"):
            assert measures.value(key, row) == computed[key]


def test_every_export_column_is_a_measure_with_label_and_formats():
    assert measures.EXPORT[: len(measures.CONTRACT)] == measures.CONTRACT
    for key in measures.EXPORT[1:]:
        m = measures.get(key)
        assert m.label and m.definition and m.excel
        assert m.page in measures.PAGE_KINDS
    assert contract.MAL.column("indikator").codes == measures.EXPORT[1:]


def test_change_words_follow_the_direction():
    assert measures.better("sykefravaer_prosent", -0.4) == "bedre"
    assert measures.better("sykefravaer_prosent", 0.4) == "dårligere"
    assert measures.better("realiseringsgrad_prosent", -12.0) == "dårligere"
    assert measures.better("arsverk", -31.9) is None
    assert measures.better("sykefravaer_prosent", -0.04) is None  # shown as ±0,0
    assert measures.format_change("sykefravaer_prosent", -0.04) == "±0,0\u00a0prosentpoeng"
    assert measures.format_change("realiseringsgrad_prosent", -12.04) == "−12,0\u00a0prosentpoeng"
    assert measures.format_change("regnskap_kr", -25_600_000) == "−25,6\u00a0mill. kr"


def test_money_is_said_as_mer_or_mindreforbruk_in_kroner():
    deviation = measures.value(
        "budsjettavvik_kr", {"regnskap_kr": 1_920_000, "budsjett_kr": 1_800_000}
    )
    assert measures.money_words(deviation) == "merforbruk 120\u00a0000\u00a0kr"
    assert measures.money_words(-19_100_000.0) == "mindreforbruk 19,1\u00a0mill.\u00a0kr"
    assert measures.money_words(0.0) == "ingen avvik fra budsjettet"
    # Less than half a krone is no deviation in whole kroner (never «merforbruk 0 kr»).
    small = measures.value("budsjettavvik_kr", {"regnskap_kr": 100_000.4, "budsjett_kr": 100_000})
    assert measures.money_words(small) == "ingen avvik fra budsjettet"
    assert measures.money_words(-small) == "ingen avvik fra budsjettet"
    assert measures.money_words(-0.6) == "mindreforbruk 1 kr"


@pytest.mark.parametrize("value", [15.95, 0.35, 2.45, 5.95, 1.05, 33.15])
def test_a_change_is_rounded_like_the_figures_themselves(value):
    # A budget deviation from −10,0 % to 5,95 % is a change of 15,95 percentage points: the
    # page shows it as norsk.number shows the number 15,95 (16,0), not as 15,9.
    for key in ("sykefravaer_prosent", "arsverk"):
        shown = measures.format_change(key, value)
        magnitude = shown.removeprefix("+").split("\u00a0")[0]
        assert magnitude == norsk.number(value, 1), (key, shown)


def test_a_change_of_one_is_said_in_the_singular():
    assert measures.format_change("enheter_lean", 1) == "+1\u00a0enhet"
    assert measures.format_change("gevinster_forsinket", -1) == "−1\u00a0gevinst"
    assert measures.format_change("forslag_median_dager", 1.2) == "+1\u00a0dag"
    assert measures.format_change("enheter_lean", 2) == "+2\u00a0enheter"
    assert measures.format_change("forslag_registrert", 1) == "+1\u00a0forslag"


def test_norwegian_numbers_are_babels_format_decimal_for_every_kind_of_value():
    """`norsk.number` keeps babel's parsed pattern; the text is format_decimal's own."""
    import random

    from babel.numbers import format_decimal

    rng = random.Random(18)
    values = [0, 1, -1, 0.05, -0.05, 2.5, 3.5, -2.5, 1e15, -1e15, 999.95, 1234567.891]
    values += [rng.uniform(-1e9, 1e9) for _ in range(2000)] + [rng.randint(-(10**6), 10**6)]
    for decimals in range(4):
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        for value in values:
            text = norsk.number(value, decimals)
            if text.lstrip("-").replace("\u00a0", "").replace(",", "").strip("0") == "":
                continue  # rounds to zero: shown without a sign (its own test)
            assert text == format_decimal(value, format=pattern, locale=norsk.LOCALE), value
