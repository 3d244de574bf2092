"""Figures and words checked against hand-made registers whose answers are computed here."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import polars as pl

from tests import helpers
from tests.conftest import run_build
from tests.test_targets import text_of
from vtklean.core import norsk
from vtklean.model import datasets, figures, pilot, processed, targets
from vtklean.publish import charts, message, page

D = dt.date


def test_a_unit_whose_only_gains_were_rejected_has_no_gain_identified(tmp_path: Path):
    # As of 31.03.2018 Kontor (E4, Stab) is active and trained, and both its gains were
    # rejected (31.12.2017 and 01.02.2018): by the contract it has no identified gain.
    tables = helpers.tiny_tables()
    as_of = D(2018, 3, 31)
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--as-of", as_of.isoformat()) == 0
    data = processed.load(tmp_path / "out" / "processed" / as_of.isoformat())

    def identified(g: dict) -> bool:
        return g["identifisert"] <= as_of and not (g["forkastet"] and g["forkastet"] <= as_of)

    expected = {
        u["enhet"]
        for u in tables["enheter"]
        if u["tjenesteomrade"] == "Stab"
        and u["lean_start"] is not None
        and u["lean_start"] <= as_of
        and (u["lagt_ned"] is None or u["lagt_ned"] > as_of)
        and not any(identified(g) for g in tables["gevinster"] if g["enhet_id"] == u["enhet_id"])
    }
    assert expected == {"Kontor"}
    no_gain = figures.followup(data.datasets, "Stab")["no_gain"]
    assert set(no_gain.get_column("enhet")) == expected


def test_a_closed_unit_without_figures_the_year_before_is_not_given_zero_figures(
    tmp_path: Path,
):
    # Skole (E3, Oppvekst) closes on D, 31.12.2017, and has resource rows only in 2017.
    tables = helpers.tiny_tables()
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    ds = processed.load(tmp_path / "out" / "processed" / "2017").datasets
    rows_2016 = [
        r for r in tables["ressursbruk"] if r["enhet_id"] == "E3" and r["maned"].year == 2016
    ]
    assert rows_2016 == []
    words = text_of(
        "".join(str(p) for p in page.unit_changes(figures.unit_changes(ds, "Oppvekst"), 2017, 0))
    )
    assert "1 enhet ble lagt ned i 2017: Skole." in words
    assert "Året før hadde de" not in words
    assert "Den hadde ingen ressursbruk året før." in words
    # No unit of Oppvekst has figures in both years: no like-for-like change (not ±0,0).
    assert "begge årene (0)" not in words and "±0,0" not in words
    assert "Ingen enheter er aktive og har tall begge årene." in words


def test_a_rebuild_whose_proposal_counts_changed_is_a_restatement(tmp_path: Path):
    # Only forbedringer changes (F1, completed in 2017, is deleted): the contract's columns
    # stay the same, the proposal counts of nokkeltall.csv do not.
    tables = helpers.tiny_tables()
    out = tmp_path / "out"
    assert run_build(helpers.write_folder(tmp_path / "raw", tables), out, "--year", "2017") == 0
    old = (out / "reports" / "2017" / "nokkeltall.csv").read_text("utf-8")
    tables["forbedringer"] = [f for f in tables["forbedringer"] if f["forslag_id"] != "F1"]
    raw = helpers.write_folder(tmp_path / "raw2", tables)
    assert run_build(raw, out, "--year", "2017") == 0
    new = (out / "reports" / "2017" / "nokkeltall.csv").read_text("utf-8")
    changed = {
        (a["tjenesteomrade"], k)
        for a, b in zip(
            csv.DictReader(io.StringIO(old)), csv.DictReader(io.StringIO(new)), strict=True
        )
        for k in a
        if a[k] != b[k]
    }
    assert ("Hele kommunen", "forslag_gjennomfort") in changed
    index = text_of((out / "reports" / "2017" / "index.html").read_text("utf-8"))
    assert f"{len(changed)} nøkkeltall er ikke lenger det samme" in index
    assert "Forslag gjennomført" in index


def test_missing_months_mid_year_say_what_arsverk_is_divided_by(tmp_path: Path):
    # As of 30.04.2017 only January to April count; Ny enhet (E5, Stab) has no rows at all.
    tables = helpers.tiny_tables()
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--as-of", "2017-04-30") == 0
    data = processed.load(tmp_path / "out" / "processed" / "2017-04-30")
    months = 4
    rows = [
        r
        for r in tables["ressursbruk"]
        if r["enhet_id"] in ("E4", "E5") and D(2017, 1, 1) <= r["maned"] <= D(2017, 4, 1)
    ]
    expected = sum(r["arsverk"] for r in rows) / months
    assert data.figures_row("Stab")["arsverk"] == expected
    note = datasets.missing_note(data.datasets, "Stab")
    assert "Ny enhet (alle månedene)" in note
    assert f"delt på {months})" in note and "delt på 12" not in note


def test_the_proposal_table_says_open_as_of_the_date_not_now():
    # A report as of 31.12.2017 read years later: the open count is as of D, not today.
    counts = pl.DataFrame(
        {
            "tjenesteomrade": ["Omsorg"],
            "forslag_registrert": [3],
            "forslag_gjennomfort": [1],
            "forslag_avvist": [1],
            "forslag_apne": [2],
            "forslag_median_dager": [28.0],
        }
    )
    words = text_of(
        "".join(str(p) for p in page.ideas(counts, "tjenesteomrade", "Område", 2017, "x"))
    )
    assert "Åpne per dato" in words and "nå" not in words.split()


def test_a_large_area_counts_only_units_trained_by_the_date(tmp_path: Path):
    # Omsorg as of 31.12.2017: Avd A started Lean 01.03.2016, Avd B starts 01.01.2018.
    tables = helpers.tiny_tables()
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    data = processed.load(tmp_path / "out" / "processed" / "2017")
    units = figures.unit_table(data.datasets, "Omsorg")
    as_of = D(2017, 12, 31)
    trained = sum(
        1
        for u in tables["enheter"]
        if u["tjenesteomrade"] == "Omsorg" and u["lean_start"] and u["lean_start"] <= as_of
    )
    assert trained == data.figures_row("Omsorg")["enheter_lean"] == 1
    # limit 1: the area is "large", so the page says the counts in a sentence.
    words = text_of(
        "".join(str(p) for p in page.unit_overview(units, "Omsorg", "31.12.2017", 2017, 1))
    )
    assert f"(2 aktive, {trained} med Lean-opplæring)" in words


def test_a_rise_in_sick_leave_too_small_to_show_is_not_named(tmp_path: Path):
    # Avd A (Omsorg): 10 of 200 agreed days in 2016 (5,00 %), 10,04 of 200 in 2017 (5,02 %):
    # the page would show the rise as ±0,0 percentage points, so nobody «steg mest».
    tables = helpers.tiny_tables()
    for r in tables["ressursbruk"]:
        if r["enhet_id"] == "E1" and r["maned"].year == 2017:
            r["fravaer_dagsverk"] = 10.04
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    data = processed.load(tmp_path / "out" / "processed" / "2017")
    rows = [r for r in tables["ressursbruk"] if r["enhet_id"] == "E1"]

    def sick(year: int) -> float:
        mine = [r for r in rows if r["maned"].year == year]
        return sum(r["fravaer_dagsverk"] for r in mine) / sum(r["avtalte_dagsverk"] for r in mine)

    rise = (sick(2017) - sick(2016)) * 100
    assert 0 < rise < 0.05
    follow = figures.followup(data.datasets, "Omsorg")
    assert follow["sick_rise"].is_empty()
    sentences = message.headline(
        data.key_figures,
        data.key_figures_before,
        data.target_table(),
        "Omsorg",
        follow["sick_rise"],
    )
    assert not any("steg mest" in s for s in sentences)


def test_the_pilot_panel_by_year_has_only_years_with_all_twelve_months(tmp_path: Path):
    # As of 30.04.2017 the data hold January to April 2017: that is not a year. Avd A (rows
    # from 2016) starts Lean after the data, so it is in the panel in every whole year.
    tables = helpers.tiny_tables()
    tables["enheter"][0]["lean_start"] = D(2019, 1, 1)
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--as-of", "2017-04-30") == 0
    data = processed.load(tmp_path / "out" / "processed" / "2017-04-30")
    months = {r["maned"] for r in tables["ressursbruk"] if r["maned"] <= D(2017, 4, 1)}
    whole = {y for y in {m.year for m in months} if sum(m.year == y for m in months) == 12}
    assert whole == {2016}
    p = pilot.panel(data.datasets.unit_months, "sykefravaer_prosent", "ar")
    periods = set(p.frame.filter(pl.col("enhet") == "Avd A").get_column("periode").to_list())
    assert periods == whole


def test_a_year_with_a_month_without_volume_has_no_cost_per_volume(tmp_path: Path):
    # Avd A (not started within the data) lacks volume in March 2016: 12 months of spend
    # over 11 months of volume would be 12 × 90 000 / 1 100 kr instead of 900 kr.
    tables = helpers.tiny_tables()
    tables["enheter"][0]["lean_start"] = D(2019, 1, 1)
    for r in tables["ressursbruk"]:
        if r["enhet_id"] == "E1" and r["maned"] == D(2016, 3, 1):
            r["volum"] = None
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out", "--year", "2017") == 0
    data = processed.load(tmp_path / "out" / "processed" / "2017")
    p = pilot.panel(data.datasets.unit_months, "kostnad_per_volum", "ar")
    shown = p.frame.filter(pl.col("enhet") == "Avd A")
    for row in shown.iter_rows(named=True):
        rows = [
            r
            for r in tables["ressursbruk"]
            if r["enhet_id"] == "E1" and r["maned"].year == row["periode"]
        ]
        assert all(r["volum"] is not None for r in rows)
        assert row["utfall"] == sum(r["regnskap_kr"] for r in rows) / sum(r["volum"] for r in rows)
    assert "E1" in p.left_out or 2016 not in shown.get_column("periode").to_list()


def test_the_target_line_spans_only_the_year_the_target_is_for():
    months = pl.date_range(D(2015, 1, 1), D(2017, 12, 1), "1mo", eager=True)
    monthly = pl.DataFrame(
        {
            "maned": months,
            "fravaer_dagsverk": [10.0] * len(months),
            "avtalte_dagsverk": [100.0] * len(months),
            "sykefravaer_prosent": [10.0] * len(months),
        }
    )
    starts = pl.DataFrame(schema={"enhet": pl.String, "maned": pl.Date})
    goal = {"ar": 2017, "indikator": "sykefravaer_prosent", "mal": 7.5, "retning": "hoyst"}
    goal |= {"status": targets.status(10.0, 7.5, "hoyst", 0.5), "skjult": None}
    line = charts.sick_leave(helpers.gated(monthly), helpers.gated(starts), goal).figure["data"][-1]
    assert line["y"] == [7.5, 7.5]
    assert {str(x)[:4] for x in line["x"]} == {"2017"}


def test_a_figure_that_rounds_to_zero_has_no_minus_sign():
    # A budget deviation of −0,04 % or −0,40 kr is shown as zero, without a sign.
    assert norsk.number(-0.04, 1) == "0,0"
    assert norsk.percent(-0.04) == "0,0\u00a0%"
    assert norsk.kroner(-0.4) == "0\u00a0kr"
    assert norsk.millions(-40_000) == "0,0\u00a0mill.\u00a0kr"
    assert norsk.number(-0.06, 1) != "0,1" and norsk.number(-0.06, 1).endswith("0,1")
    assert norsk.number(1234567, 0) == "1\u00a0234\u00a0567"
