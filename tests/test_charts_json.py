"""Charts are plotly figure JSON: plotly's own validator accepts every figure, and the JSON a
page emits for a chart is the JSON plotly writes for the same figure."""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import json
import re

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest

from tests import helpers
from vtklean.core import calendar
from vtklean.ingest import read
from vtklean.model import datasets, figures, targets
from vtklean.publish import charts, widgets

ODD = "<b>Omsorg & «rus»</b> \u2028 " + "lang " * 20  # markup, entities, a JS line break


def _event_frame(times: list[int], ci: bool = True) -> pl.DataFrame:
    """A hand-made event-study table: estimate ± 1 (band ± 2), units 3, 4, ..."""
    est = [0.5 * t - 0.25 for t in times]
    return pl.DataFrame(
        {
            "event_time": times,
            "estimate": est,
            "ci_low": [e - 1 if ci else None for e in est],
            "ci_high": [e + 1 if ci else None for e in est],
            "band_low": [e - 2 for e in est],
            "band_high": [e + 2 for e in est],
            "units": [3 + i for i in range(len(times))],
        },
        schema_overrides={"ci_low": pl.Float64, "ci_high": pl.Float64},
    )


def _event(frame: pl.DataFrame, grain: str) -> charts.Chart:
    return charts.event_study(
        helpers.gated(frame),
        key=f"hendelse-{grain}",
        title="Effekt",
        label="Sykefravær",
        unit="prosentpoeng",
        grain=grain,
        decimals=2,
        horizon=2,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> list[charts.Chart]:
    """Every chart builder's figure: on the tiny register (whole and one area), on
    hand-made frames with odd names, null intervals and numpy arrays, and on empty frames."""
    raw = helpers.write_folder(tmp_path_factory.mktemp("charts") / "raw")
    tables = {name: td.data for name, td in read.read_folder(raw).tables.items()}
    ds = datasets.build(tables, calendar.Period(2017, dt.date(2017, 12, 31)))
    area = ds.units.get_column("tjenesteomrade").sort().to_list()[0]
    out = []
    for scope in (None, area):
        years = figures.area_history(ds, scope)
        goal = {"ar": 2017, "indikator": "sykefravaer_prosent", "mal": 7.5, "retning": "hoyst"}
        goal |= {"status": targets.status(10.0, 7.5, "hoyst", 0.5), "skjult": None}
        out += [
            charts.gains_history(figures.gains_history(ds, scope), "31.12.2017"),
            charts.rollout(figures.rollout(ds, scope)),
            charts.by_category(figures.category_totals(ds, scope)),
            charts.by_method(figures.method_totals(ds, scope)),
            charts.backlog(figures.backlog(ds, scope), "31.12.2017", top=1, rows=2),
            charts.budget(years),
            charts.fte(years),
            charts.sick_leave(
                figures.monthly_sick_leave(ds, scope), figures.lean_starts(ds, scope), goal
            ),
        ]
    out.append(charts.area_comparison(figures.key_figures(ds)))
    backlog = pl.DataFrame(
        {
            "enhet": [ODD, ODD, "Kort"],
            "antall": [3, 1, 2],
            "arsverk": [32.4, 1.0, 0.5],
            "snitt_dager": [200, 10, 5],
            "lengst_dager": [400, 10, 7],
            "ansvarlige": ["Enhetsleder", "Rektor", ODD],
        }
    )
    out.append(charts.backlog(helpers.gated(backlog), "31.12.2017"))
    out += [_event(_event_frame([-2, -1, 0, 1, 2]), "ar"), _event(_event_frame([0, 1]), "maned")]
    methods = pl.DataFrame(
        {
            "metode": ["Forskjøvet DiD", ODD, "Før/etter"],
            "estimate": [-1.25, -0.5, 0.75],
            "ci_low": [-2.0, -1.0, None],
            "ci_high": [-0.5, 0.0, None],
        }
    )
    out.append(charts.estimate_comparison(helpers.gated(methods), "prosentpoeng", 2))
    # Empty frames: no rows to draw, the figure is still a figure.
    out += [
        charts.gains_history(helpers.gated(figures.gains_history(ds).clear()), "31.12.2017"),
        charts.backlog(helpers.gated(backlog.clear()), "31.12.2017"),
        _event(_event_frame([]), "ar"),
        charts.estimate_comparison(helpers.gated(methods.clear()), "prosentpoeng", 2),
    ]
    return out


BUILDERS = {  # every public function of charts that returns a Chart, and its key above
    "gains_history": "gevinster-over-tid",
    "rollout": "utrulling",
    "by_category": "kategori",
    "by_method": "metode",
    "backlog": "etterslep",
    "budget": "budsjett",
    "fte": "arsverk",
    "sick_leave": "sykefravaer",
    "area_comparison": "omrader",
    "event_study": "hendelse-ar",
    "estimate_comparison": "metoder",
}


def test_every_builder_is_covered(built):
    public = {
        name
        for name, f in vars(charts).items()
        if inspect.isfunction(f)
        and not name.startswith("_")
        and f.__annotations__.get("return") == "Chart"
    }
    assert public == set(BUILDERS)
    assert set(BUILDERS.values()) <= {c.key for c in built}


def test_plotlys_validator_accepts_every_figure(built):
    for chart in built:
        fig = go.Figure(chart.figure)  # raises on any property plotly does not know
        assert len(fig.data) == len(chart.figure["data"]), chart.key
        assert fig.layout.template.layout.colorway, chart.key  # plotly's default template


def test_an_invalid_property_is_caught_by_the_validator(built):
    figure = json.loads(json.dumps(built[0].figure))
    figure["data"][0]["colour"] = "#000000"
    with pytest.raises(ValueError, match="colour"):
        go.Figure(figure)


def _emitted(chart: charts.Chart) -> tuple[str, list, dict]:
    """The chart's id, traces and layout as the page's script gives them to Plotly.newPlot."""
    script = re.search(r"Plotly\.newPlot\((.*?)\);</script>", widgets.chart(chart).text, re.S)
    div, data, layout, _config = json.loads(f"[{script.group(1)}]")
    return div, data, layout


def test_the_emitted_json_is_plotlys_json_of_the_figure(built):
    """Same traces and layout as `pio.to_json(go.Figure(figure))`, key order included for
    the traces. go.Figure sorts the layout's keys; the page keeps them in the order they were
    set (new keys after the house style's), so the layout is compared as parsed JSON."""
    for chart in built:
        div, data, layout = _emitted(chart)
        plotly = json.loads(pio.to_json(go.Figure(chart.figure)))
        assert div == f"diagram-{chart.key}"
        assert data == plotly["data"], chart.key
        assert json.dumps(data) == json.dumps(plotly["data"]), chart.key  # key order too
        assert layout.pop("meta")["smal"] == widgets.narrow(plotly), chart.key
        assert layout == plotly["layout"], chart.key


def test_numpy_values_are_plotlys_typed_arrays_and_exact(built):
    chart = next(c for c in built if c.key == "metoder" and c.figure["data"][0]["y"])
    _, data, _ = _emitted(chart)
    typed = data[0]["error_x"]["arrayminus"]
    # as plotly writes a numpy array of a figure, key order included
    numpy = json.loads(pio.to_json(go.Figure(go.Scatter(x=np.array([1.0])))))["data"][0]["x"]
    assert list(typed) == list(numpy) and typed["dtype"] == numpy["dtype"] == "f8"
    values = np.frombuffer(base64.b64decode(typed["bdata"]), dtype="<f8")
    # estimate − ci_low, from the hand-made frame; a missing interval is NaN (no bar)
    assert values[:2].tolist() == [-1.25 - -2.0, -0.5 - -1.0]
    assert np.isnan(values[2])


def test_the_template_is_plotlys_default_once_per_process(built):
    default = pio.templates[pio.templates.default].to_plotly_json()
    for chart in built:
        assert chart.figure["layout"]["template"] == default, chart.key
    assert built[0].figure["layout"]["template"] is built[1].figure["layout"]["template"]


def test_odd_names_stay_text_in_the_figure(built):
    chart = next(c for c in built if c.key == "etterslep" and len(c.figure["data"][0]["y"]) == 3)
    labels = chart.figure["data"][0]["y"]
    assert len(set(labels)) == 3  # the two identical names stay two bars
    assert all("<b>" not in label and "&lt;b&gt;" in label for label in labels[:2])
    script = widgets.chart(chart).text.split("<script")[1].split("</script>")[0]
    assert "\u2028" not in script and "</" not in script and "<b>" not in script


def test_a_notebook_that_changes_plotlys_default_template_gets_it():
    frame = helpers.gated(pl.DataFrame({"ar": [2017, 2018], "arsverk": [10.0, 12.5]}))
    before = pio.templates.default
    try:
        pio.templates.default = "simple_white"
        figure = charts.fte(frame).figure
        expected = json.loads(pio.to_json(go.Figure(layout=figure["layout"] | {"template": None})))
    finally:
        pio.templates.default = before
    assert figure["layout"]["template"] == pio.templates["simple_white"].to_plotly_json()
    assert expected["layout"]["template"] == figure["layout"]["template"]
    assert charts.fte(frame).figure["layout"]["template"] == pio.templates[before].to_plotly_json()
