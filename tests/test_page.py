import datetime as dt
import json

import polars as pl
from plotly.io.json import to_json_plotly

from tests import helpers
from vtklean.core import norsk
from vtklean.model import targets
from vtklean.publish import charts, page, widgets


def _units(n: int) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "enhet_id": [f"E{i}" for i in range(n)],
            "enhet": [f"Enhet {i}" for i in range(n)],
            "aktiv": [True] * n,
            "lean_start": [dt.date(2015, 1, 1) if i % 2 else None for i in range(n)],
            "pilot": [None] * n,
            "lagt_ned": [None] * n,
            "identifisert_arsverk": [float(i) for i in range(n)],
            "realisert_arsverk": [float(i) / 2 for i in range(n)],
            "arsverk": [10.0] * n,
            "sykefravaer_prosent": [float(n - i) for i in range(n)],
            "sykefravaer_prosent_i_fjor": [None] * n,
            "budsjettavvik_prosent": [0.0] * n,
        },
        schema_overrides={
            "pilot": pl.Int64,
            "lagt_ned": pl.Date,
            "sykefravaer_prosent_i_fjor": pl.Float64,
        },
    )
    return helpers.gated(frame)


def test_small_areas_show_every_unit_in_one_table():
    parts = [str(p) for p in page.unit_overview(_units(5), "Kultur", "31.12.2017", 2017, 60)]
    assert len(parts) == 1
    assert "".join(parts).count("<tr>") == 1 + 5
    assert all(f"Enhet {i}" in "".join(parts) for i in range(5))


def test_large_areas_get_top_lists_and_the_csv():
    parts = "".join(
        str(p) for p in page.unit_overview(_units(500), "Omsorg", "31.12.2017", 2017, 60)
    )
    assert "500 enheter" in parts
    assert parts.count("<tr>") == 2 * (page.TOP + 1)  # two tables of ten, with header rows
    assert "Enhet 499" in parts  # most realised
    assert "Enhet 0<" in parts  # highest sick leave
    assert "Enhet 250" not in parts
    assert 'href="enheter.csv"' in parts


def test_table_escapes_and_formats():
    frame = pl.DataFrame({"Navn": ["<b>&"], "Beløp": [1234567.4], "Andel": [7.84]})
    html = str(widgets.table(frame, {"Beløp": "kr", "Andel": "prosent"}, "Tekst"))
    assert "&lt;b&gt;&amp;" in html
    assert norsk.kroner(1234567.4) in html and "1\u00a0234\u00a0567\u00a0kr" in html
    assert "7,8\u00a0%" in html
    assert '<th scope="row">' in html and '<th scope="col" class="tall">' in html
    assert "<caption>Tekst</caption>" in html


def test_lean_start_markers_are_aggregated_per_month():
    months = pl.date_range(dt.date(2015, 1, 1), dt.date(2015, 12, 1), "1mo", eager=True)
    monthly = pl.DataFrame(
        {
            "maned": months,
            "fravaer_dagsverk": [10.0] * 12,
            "avtalte_dagsverk": [100.0] * 12,
            "sykefravaer_prosent": [10.0] * 12,
        }
    )
    starts = pl.DataFrame(
        {
            "enhet": [f"Enhet {i}" for i in range(40)],
            "maned": [dt.date(2015, 3, 1)] * 39 + [dt.date(2015, 6, 1)],
        }
    )
    monthly, starts = helpers.gated(monthly), helpers.gated(starts)
    chart = charts.sick_leave(monthly, starts)
    markers = chart.figure["data"][1]
    assert len(markers["x"]) == 2
    assert markers["text"][0].startswith("39 enheter")
    assert markers["text"][1] == "Enhet 39"
    cells = dict(
        zip(chart.table.get_column("Måned"), chart.table.get_column("Lean-start"), strict=True)
    )
    assert cells["03.2015"] == "39 enheter" and cells["06.2015"] == "Enhet 39"
    goal = {"ar": 2015, "indikator": "sykefravaer_prosent", "mal": 7.5, "retning": "hoyst"}
    status = targets.status(10.0, 7.5, "hoyst", 0.5)
    with_goal = charts.sick_leave(monthly, starts, goal | {"status": status, "skjult": None})
    assert with_goal.figure["data"][-1]["y"] == [7.5, 7.5]
    assert "Målet for 2015 er høyst 7,5\u00a0% (stiplet linje): ✘ ikke nådd." in with_goal.sentence


def test_vendored_plotly_bundle_is_the_plotly_packages_version():
    import plotly.offline

    assert widgets.plotlyjs_version() == plotly.offline.get_plotlyjs_version()
    assert "plotly.js (basic - minified)" in widgets.setup().text[:200]


def test_narrow_layout_leaves_room_for_bars_and_short_value_labels():
    frame = pl.DataFrame(
        {
            "enhet": ["Hjemmesykepleien Raufoss avdeling nord og sør", "Kort"],
            "antall": [3, 1],
            "arsverk": [32.4, 1.0],
            "snitt_dager": [200, 10],
            "lengst_dager": [400, 10],
            "ansvarlige": ["Enhetsleder", "Rektor"],
        }
    )
    spec = json.loads(to_json_plotly(charts.backlog(helpers.gated(frame), "31.12.2017").figure))
    change = widgets.narrow(spec)
    margin = change["layout"]["margin"]
    assert 390 - margin["l"] - margin["r"] >= 150  # the bars keep most of a phone's width
    assert change["traces"][0]["text"] == ["32,4 årsverk", "1,0 årsverk"]
    for label in change["layout"]["yaxis"]["ticktext"]:
        lines = label.split("<br>")
        assert len(lines) <= 2 and all(len(line) <= widgets.NARROW_LABEL for line in lines)
    assert change["layout"]["yaxis"]["tickvals"] == frame.get_column("enhet").to_list()


def test_followup_marks_overdue_gains_and_counts_in_words():
    overdue = pl.DataFrame(
        {
            "gevinst_id": ["G2"],
            "enhet": ["Avd <A>"],
            "arsverk": [1.0],
            "identifisert": [dt.date(2017, 12, 31)],
            "ansvarlig_rolle": ["Enhetsleder"],
            "planlagt_realisert": [dt.date(2018, 3, 1)],
            "dager_forsinket": [305],
        }
    )
    empty = overdue.clear()
    f = {
        "overdue": overdue,
        "old": empty.drop("planlagt_realisert", "dager_forsinket").with_columns(
            ventet_dager=pl.lit(0)
        ),
        "no_gain": pl.DataFrame({"enhet": ["B & C"], "lean_start": [dt.date(2017, 1, 1)]}),
        "sick_rise": pl.DataFrame(schema={"enhet": pl.String, "i_fjor": pl.Float64}),
    }
    markup = "".join(str(p) for p in page.followup(f, 365, "31.12.2018"))
    assert "1 gevinst (1,0 årsverk) er forsinket" in markup
    assert '<td data-label="Status">forsinket</td>' in markup and "Avd &lt;A&gt;" in markup
    assert "1 aktiv enhet har hatt Lean-opplæring" in markup and "B &amp; C" in markup
