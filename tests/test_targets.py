"""Targets, headline, comments, follow-up, Lean activity and closed units, as pages show them."""

from __future__ import annotations

import csv
import datetime as dt
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from tests import helpers
from tests.conftest import run_build
from vtklean.core import measures
from vtklean.ingest import read
from vtklean.model import figures, processed, targets
from vtklean.publish import message, page, widgets

D = dt.date


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def text_of(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    return re.sub(r"\s+", " ", "".join(parser.parts).replace("\u00a0", " "))


@pytest.mark.parametrize(
    ("value", "goal", "direction", "tolerance", "expected"),
    [
        (7.4, 7.5, "hoyst", 0.5, targets.REACHED),
        (7.5, 7.5, "hoyst", 0.5, targets.REACHED),
        (7.9, 7.5, "hoyst", 0.5, targets.NEAR),
        (8.1, 7.5, "hoyst", 0.5, targets.MISSED),
        (71.5, 90.0, "minst", 5.0, targets.MISSED),
        (86.0, 90.0, "minst", 5.0, targets.NEAR),
        (90.0, 90.0, "minst", 0.0, targets.REACHED),
        (None, 90.0, "minst", 5.0, None),
        (5.0, 1.0, None, 5.0, None),
    ],
)
def test_status_rules(value, goal, direction, tolerance, expected):
    assert targets.status(value, goal, direction, tolerance) == expected


def test_a_figure_exactly_on_the_tolerance_boundary_is_near():
    # 2,2 of 40 agreed days is 5,5 % (in floating point 5.500000000000001): a target of at
    # most 5,0 % with tolerance 0,5 is missed by exactly the tolerance, so it is near.
    value = measures.value("sykefravaer_prosent", {"fravaer_dagsverk": 2.2, "avtalte_dagsverk": 40})
    assert targets.status(value, 5.0, "hoyst", 0.5) == targets.NEAR
    # 0,3 of 0,4 årsverk realised is 75 % (74.99999999999999): at least 80 % with
    # tolerance 5 is near as well.
    value = measures.value(
        "realiseringsgrad_prosent",
        {"gevinster_realisert_arsverk": 0.3, "gevinster_identifisert_arsverk": 0.4},
    )
    assert targets.status(value, 80.0, "minst", 5.0) == targets.NEAR
    assert targets.status(2.2 / 40 * 100 + 0.01, 5.0, "hoyst", 0.5) == targets.MISSED


def _tiny(tmp: Path, goal: float, params: Path | None = None) -> processed.Processed:
    tables = helpers.tiny_tables()
    tables["mal"][0]["mal"] = goal  # Omsorg, sick leave, at most
    raw = helpers.write_folder(tmp / "raw", tables)
    extra = ("--params", str(params)) if params else ()
    assert run_build(raw, tmp / "out", "--year", "2017", *extra) == 0
    return processed.load(tmp / "out" / "processed" / "2017")


def _omsorg_sick_leave(raw: Path) -> float:
    """Sick leave of Omsorg in 2017, computed here from the raw files."""
    data = read.read_folder(raw)
    units = data.tables["enheter"].data.filter(pl.col("tjenesteomrade") == "Omsorg")
    rows = data.tables["ressursbruk"].data.filter(
        pl.col("enhet_id").is_in(units["enhet_id"].implode()) & (pl.col("maned").dt.year() == 2017)
    )
    return rows["fravaer_dagsverk"].sum() / rows["avtalte_dagsverk"].sum() * 100


@pytest.fixture(scope="module")
def two_targets(tmp_path_factory) -> tuple[Path, processed.Processed, processed.Processed]:
    """The tiny folder built twice: Omsorg's sick-leave target at most 50 % and 7,5 %."""
    tmp = tmp_path_factory.mktemp("targets")
    return tmp, _tiny(tmp / "a", goal=50.0), _tiny(tmp / "b", goal=7.5)


def test_changing_a_target_flips_the_status_on_cards_table_and_index(two_targets):
    tmp_path, reachable, unreachable = two_targets
    actual = _omsorg_sick_leave(tmp_path / "a" / "raw")
    assert actual > 7.5  # so the second target cannot be reached
    shown = {}
    for name, data in (("nådd", reachable), ("ikke nådd", unreachable)):
        goals = data.target_table()
        here = targets.for_area(goals, "Omsorg")
        cards = widgets.cards(page.key_cards(data.figures_row("Omsorg"), None, here), "x")
        section = "".join(str(p) for p in page.target_section(goals, 2017, "31.12.2017"))
        index = tmp_path / ("a" if name == "nådd" else "b") / "out/reports/2017/index.html"
        shown[name] = (text_of(str(cards)), text_of(section), text_of(index.read_text("utf-8")))
    for card, section, index in [shown["nådd"]]:
        assert "Mål: høyst 50,0 % – ✔ nådd" in card
        assert "✔ nådd" in section and "✔ nådd" in index
        assert "ikke nådd" not in card
    for card, section, index in [shown["ikke nådd"]]:
        assert "Mål: høyst 7,5 % – ✘ ikke nådd" in card
        assert "✘ ikke nådd" in section and "✘ ikke nådd" in index
        assert "Hovedbudskap" in index


def test_tolerance_from_the_build_parameters_makes_a_miss_near(tmp_path):
    params = helpers.params_file(tmp_path / "build.yaml", mal_toleranse={"sykefravaer_prosent": 5})
    data = _tiny(tmp_path, goal=7.5, params=params)
    row = targets.for_area(data.target_table(), "Omsorg")["sykefravaer_prosent"]
    assert row["toleranse"] == 5.0 and row["status"] == targets.NEAR


def test_a_comment_is_shown_as_text_with_its_line_breaks():
    comment = "Et godt år for <b>Lean</b> & forbedring.\nVi fortsetter."
    frame = pl.DataFrame(
        {"tjenesteomrade": ["Hele kommunen"], "ar": [2017], "tekst": [comment], "rolle": [None]}
    )
    markup = str(page.comments(frame, "Hele kommunen")[0])
    assert "<b>" not in markup and "&lt;b&gt;Lean&lt;/b&gt; &amp; forbedring." in markup
    quoted = re.search(r"<blockquote><p>(.*)</p></blockquote>", markup, re.S).group(1)
    assert html.unescape(quoted) == comment  # the line break is kept, as text
    assert "Vurdering fra rådmannen" in markup


def test_headline_names_what_got_worse_and_the_largest_miss(two_targets):
    data = two_targets[2]
    goals = data.target_table()
    lines = message.headline(data.key_figures, data.key_figures_before, goals, "Omsorg")
    text = " ".join(lines).replace("\u00a0", " ")
    assert "Dårligere enn året før:" in text and "sykefravær" in text
    assert "Lengst unna: sykefravær 10,0 % mot høyst 7,5 % (ikke nådd)" in text


def test_whole_municipality_headline_says_which_targets_it_counts(two_targets):
    data = two_targets[2]
    goals = data.target_table()
    whole = goals.filter(pl.col("tjenesteomrade") == "Hele kommunen").height
    lines = message.headline(data.key_figures, data.key_figures_before, goals, "Hele kommunen")
    counted = [line for line in lines if " mål " in line]
    assert counted and f"av {whole} mål for hele kommunen er nådd" in counted[0]
    assert whole < goals.height  # the page's target table lists more: the words must say so


def test_closed_units_and_like_for_like_change_on_a_hand_made_folder(tmp_path):
    tables = helpers.tiny_tables()
    # Stab: E4 runs all of 2016 and 2017 and closes 01.07.2017; E5 opens in 2017.
    tables["enheter"][3]["lagt_ned"] = D(2017, 7, 1)
    tables["ressursbruk"] = [r for r in tables["ressursbruk"] if r["enhet_id"] != "E4"]
    for unit, first, n, fte, money in (
        ("E4", D(2016, 1, 1), 18, 2.0, 12_000.0),
        ("E5", D(2017, 1, 1), 12, 3.0, 20_000.0),
        ("E6", D(2016, 1, 1), 24, 4.0, 30_000.0),
    ):
        for i in range(n):
            y, m = divmod(first.month - 1 + i, 12)
            tables["ressursbruk"].append(
                dict(
                    enhet_id=unit,
                    maned=D(first.year + y, m + 1, 1),
                    budsjett_kr=money,
                    regnskap_kr=money + (1000.0 if first.year + y == 2017 else 0.0),
                    arsverk=fte,
                    ansatte=10,
                    avtalte_dagsverk=100.0,
                    fravaer_dagsverk=5.0,
                    volum=None,
                )
            )
    tables["enheter"].append(
        dict(
            enhet_id="E6",
            enhet="Arkiv",
            tjenesteomrade="Stab",
            lean_start=None,
            pilot=None,
            lagt_ned=None,
            volumenhet=None,
        )
    )
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    ds = processed.load(tmp_path / "out" / "processed" / "2017").datasets
    changes = figures.unit_changes(ds, "Stab")
    assert changes["closed"]["enhet"].to_list() == ["Kontor"]
    assert changes["closed"]["arsverk_i_fjor"].to_list() == [2.0]
    assert changes["opened"]["enhet"].to_list() == ["Ny enhet"]
    # Like for like: E6 only (E4 closed in the year, E5 has no figures the year before).
    same, every = changes["same"], changes["all"]
    assert same["now"]["enheter"] == 1 and every["now"]["enheter"] == 3
    assert same["before"]["arsverk"] == pytest.approx(4.0)
    assert same["now"]["arsverk"] == pytest.approx(4.0)
    assert every["now"]["arsverk"] == pytest.approx(2.0 * 6 / 12 + 4.0 + 3.0)
    assert every["before"]["arsverk"] == pytest.approx(2.0 + 4.0)
    assert same["now"]["regnskap_kr"] - same["before"]["regnskap_kr"] == pytest.approx(1000 * 12)
    words = text_of("".join(str(p) for p in page.unit_changes(changes, 2017, 2)))
    assert "1 enhet ble lagt ned i 2017: Kontor." in words
    assert "Ny enhet" in words and "Enhetene som er aktive og har tall begge årene (1)" in words


def test_overdue_gains_follow_the_plan_date(tmp_path):
    tables = helpers.tiny_tables()  # G2: identified 31.12.2017, planned 01.03.2018
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2018") == 0
    data = processed.load(tmp_path / "out" / "processed" / "2018")
    follow = figures.followup(data.datasets, "Omsorg", 300)
    planned = {
        g["gevinst_id"]
        for g in tables["gevinster"]
        if g["planlagt_realisert"] is not None
        and g["planlagt_realisert"] < D(2018, 12, 31)
        and g["realisert"] is None
        and g["forkastet"] is None
    }
    assert set(follow["overdue"]["gevinst_id"]) == planned == {"G2"}
    assert data.figures_row("Omsorg")["gevinster_forsinket"] == 1
    # G6 has no plan date and has waited all of 2018: old at 300 days, not at 365.
    assert "G6" in follow["old"]["gevinst_id"].to_list()
    assert "G6" not in figures.followup(data.datasets, "Omsorg", 365)["old"]["gevinst_id"]


def _proposals_from_raw(path: Path, year: int) -> dict[str, int]:
    """Proposal counts of `year` for the whole municipality, from forbedringer.csv."""
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    as_of = D(year, 12, 31)

    def day(text: str) -> dt.date | None:
        return dt.date.fromisoformat(text) if text else None

    counted = [r for r in rows if day(r["Registrert"]) <= as_of]
    closed = [r for r in counted if day(r["Avsluttet"]) and day(r["Avsluttet"]).year == year]
    return {
        "registrert": sum(day(r["Registrert"]).year == year for r in counted),
        "gjennomfort": sum(r["Status"] == "Gjennomført" for r in closed),
        "avvist": sum(r["Status"] == "Avvist" for r in closed),
    }


def test_pages_show_targets_headline_comment_followup_and_proposals(suite):
    reports = suite["reports"]
    oversikt = text_of((reports / "oversikt.html").read_text("utf-8"))
    counts = _proposals_from_raw(suite["raw"] / "forbedringer.csv", 2017)
    assert counts["registrert"] > 0
    assert (
        f"I 2017 ble det registrert {counts['registrert']} forbedringsforslag. "
        f"{counts['gjennomfort']} ble gjennomført og {counts['avvist']} avvist"
    ) in oversikt
    exported = pl.read_csv(reports / "enheter.csv", infer_schema_length=None)
    assert exported["forslag_registrert"].sum() == counts["registrert"]
    figures_csv = pl.read_csv(reports / "nokkeltall.csv").filter(
        pl.col("tjenesteomrade") == "Hele kommunen"
    )
    assert figures_csv["forslag_gjennomfort"].item() == counts["gjennomfort"]
    assert "Hovedbudskap" in oversikt and "Vurdering fra rådmann" in oversikt
    assert "tillitsvalgte & verneombud" in oversikt  # the comment's & as text
    assert "Realiseringsgrad" in oversikt and "✘ ikke nådd" in oversikt  # 90 % is out of reach
    assert re.search(r"(\d+ enheter? ble|Ingen enheter ble) lagt ned i 2017", oversikt)
    assert re.search(r"(merforbruk|mindreforbruk) [\d ,]+(mill\. )?kr", oversikt, re.I)
    for area_page in sorted(reports.glob("tjenesteomrade-*.html")):
        text = text_of(area_page.read_text("utf-8"))
        assert "Hovedbudskap" in text and "Oppfølging" in text, area_page.name
        assert "Sykefravær" in text and "Mål: høyst" in text, area_page.name
        assert "Forsinkede gevinster" in text, area_page.name
    index = text_of((reports / "index.html").read_text("utf-8"))
    assert index.index("Hovedbudskap") < index.index("Nøkkeltall per")
    assert "Mål og status" in index
