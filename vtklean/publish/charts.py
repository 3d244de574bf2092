"""The one chart style, and the chart builders the report notebooks call.

Every chart comes with a title, axis titles with units, a sentence saying what it shows,
and its numbers as a table, so nothing needs hovering to be read. Every chart takes only
frames that have passed the privacy gate (`gate.views`): it cannot show a hidden value.
Figures are plotly's figure JSON (`Figure`), the format plotly.js reads.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import plotly.io as pio
import polars as pl
from _plotly_utils.utils import to_typed_array_spec

from vtklean.core import escape, measures, norsk
from vtklean.ingest import contract
from vtklean.model import gate, targets

if TYPE_CHECKING:  # numpy arrays come from polars; importing numpy adds warnings filters
    import numpy as np

# Column headings of gains tables, from the registry of measures.
IDENTIFIED = measures.get("gevinster_identifisert_arsverk").narrow_heading
REALISED = measures.get("gevinster_realisert_arsverk").narrow_heading

# Dark, restrained colours, each with at least 3:1 contrast against white; categories are
# also told apart by marker symbols and text labels, never by colour alone.
COLOURS = ("#1b4f72", "#b35900", "#2e6b30", "#6a3d9a", "#4a5563", "#a61b1b")
NAMES_SHOWN = 3  # unit names listed per month before a count takes over
ACTIVE_GREY = "#7d8b99"  # background bars: still 3:1 against white
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")
FONT = "Segoe UI, Arial, sans-serif"


def _ordered(value: object) -> object:
    """`value` with the keys of every dict in it sorted and None values left out.

    That is how plotly builds an object from a dict (its constructors set the properties
    in sorted order and skip None); lists and typed arrays (`_typed`) are data, kept as
    they are.
    """
    if isinstance(value, dict) and "bdata" not in value:
        return {k: _ordered(v) for k, v in sorted(value.items()) if v is not None}
    return value


def _update(target: dict, **changes: object) -> None:
    """Set properties as plotly's `update_*` does.

    A dict merges into an existing object; an existing key keeps its place, a new one goes
    after the others.
    """
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _update(target[key], **value)
        else:
            target[key] = _ordered(value)


LAYOUT = _ordered(
    {
        "font": {"family": FONT, "size": 14, "color": "#1f2933"},
        "colorway": list(COLOURS),
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 70, "r": 20, "t": 30, "b": 60},
        "height": 380,
        "separators": ", ",  # decimal comma, space for thousands
        "legend": {"orientation": "h", "y": -0.2, "x": 0},
        "xaxis": {"showgrid": False, "linecolor": "#4a5563", "ticks": "outside"},
        "yaxis": {"gridcolor": "#d9dee3", "zerolinecolor": "#4a5563", "rangemode": "tozero"},
        "hoverlabel": {"font": {"family": FONT}},
    }
)


def _typed(values: np.ndarray) -> dict | list:
    """Numbers as plotly's typed-array JSON, as `go.Figure` stores a numpy array.

    The values' bytes in base64 (exact, and shorter than decimals); an empty array as [].
    """
    spec = to_typed_array_spec(values)
    return spec if isinstance(spec, dict) else spec.tolist()


@functools.cache
def _template(name: str) -> dict:
    """The JSON of plotly's template `name`, built once per process (plotly validates it).

    Every figure's layout holds this one dict, as `go.Figure` would copy it in: read only.
    """
    return pio.templates[name].to_plotly_json()


# Why dicts, not plotly's graph objects: speed. Graph objects validate every property as
# it is set, `go.Figure` deep-copies the default template into each figure, and emitting
# them serialises everything again. Measured on the sample's Omsorg page (8 charts, warm
# process): building and emitting its charts took 0.076 s of CPU with graph objects and
# 0.023 s as dicts; the whole notebook 0.19 s against 0.125 s in a reused kernel, and
# 0.33 s against 0.18 s as a kernel's first notebook. The dicts are the same figures, byte
# for byte in the pages: keys in the order plotly gives them (a new object's keys sorted, a
# trace's `type` last, an update's new keys after the old ones), numpy arrays as plotly's
# typed arrays, plotly's default template in the layout. tests/test_charts_json.py checks
# every builder's figure with plotly's own validator (`go.Figure(figure)`) and its JSON.
class Figure(dict):
    """plotly figure JSON, `{"data": [trace, ...], "layout": {...}}`, and the calls that add to it.

    A dict (json, plotly.io and `go.Figure` take it as one). `bar` and `scatter` add a trace
    as `go.Figure.add_bar`/`add_scatter` would, `rule` a line as `add_hline`/`add_vline`.
    """

    def bar(self, **props: object) -> None:
        """Add a bar trace."""
        self["data"].append({**_ordered(props), "type": "bar"})

    def scatter(self, **props: object) -> None:
        """Add a scatter trace (lines, markers, text)."""
        self["data"].append({**_ordered(props), "type": "scatter"})

    def rule(self, axis: str, at: float, line: dict) -> None:
        """A line across the plot at `at` on `axis` (`x`: a vertical line)."""
        across = "y" if axis == "x" else "x"
        shape = {
            "type": "line",
            "line": line,
            f"{axis}0": at,
            f"{axis}1": at,
            f"{axis}ref": axis,
            f"{across}0": 0,
            f"{across}1": 1,
            f"{across}ref": f"{across} domain",
        }
        self["layout"].setdefault("shapes", []).append(_ordered(shape))


def _figure(x_title: str, y_title: str, **layout: object) -> Figure:
    """A figure in the house style (with plotly's default template, as `go.Figure` adds)."""
    base = copy.deepcopy(LAYOUT)
    if pio.templates.default is not None:
        base["template"] = _template(pio.templates.default)
    _update(base["xaxis"], title={"text": escape.plotly_text(x_title)})
    _update(base["yaxis"], title={"text": escape.plotly_text(y_title)})
    _update(base, **layout)
    return Figure(data=[], layout=base)


@dataclass
class Chart:
    """A figure with everything a reader needs besides it."""

    key: str
    title: str
    sentence: str
    figure: Figure
    table: pl.DataFrame
    formats: dict[str, str] = field(default_factory=dict)  # column -> norsk format name


# A numbers-table column: source column or expression, heading, norsk format (None: as is).
NumberColumn = tuple[str | pl.Expr, str, str | None]


def _numbers(frame: pl.DataFrame, *columns: NumberColumn) -> tuple[pl.DataFrame, dict[str, str]]:
    """A chart's numbers table and the format of each column, from one list of columns."""
    table = frame.select(
        (pl.col(src) if isinstance(src, str) else src).alias(heading) for src, heading, _ in columns
    )
    return table, {heading: kind for _, heading, kind in columns if kind is not None}


def _row(frame: pl.DataFrame, index: int) -> dict | None:
    """Row `index` of `frame` by column name (-1: the last), or None when it has no rows."""
    return frame.row(index, named=True) if frame.height else None


LABEL_MAX = 48  # characters of a label in a chart; the table below it has the whole name


def _short(text: str, limit: int = LABEL_MAX) -> str:
    """`text` shortened in the middle past `limit` characters (names differ at either end)."""
    return text if len(text) <= limit else f"{text[: limit - 12]}…{text[-11:]}"


def _labels(names: list) -> list[str]:
    """Category labels: shortened, kept distinct (`(2)`), and escaped to show literally.

    Two units with the same name, or two long names alike at both ends, would otherwise
    share one category and draw their bars on top of each other.
    """
    out: list[str] = []
    for name in names:
        text = _short(str(name))
        label, n = text, 2
        while label in out:
            label, n = f"{text} ({n})", n + 1
        out.append(label)
    return escape.plotly_texts(out)


def _bars(
    fig: Figure,
    categories: list,
    series: list[tuple[str, list]],
    unit: str,
    label: Callable[[float], str] | None = None,
    horizontal: bool = False,
) -> None:
    """Bar series side by side: the first solid, the others hatched, each value labelled.

    Categories and series names are shown literally (plotly would read them as markup).
    """
    cat, val = ("y", "x") if horizontal else ("x", "y")
    for i, (name, values) in enumerate(series):
        fig.bar(
            **{cat: _labels(categories), val: values},
            orientation="h" if horizontal else "v",
            name=escape.plotly_text(name),
            marker={"color": COLOURS[i], "pattern": {"shape": "" if i == 0 else "/"}},
            text=None if label is None else [label(v) for v in values],
            textposition="outside",
            hovertemplate=f"%{{{cat}}}: %{{{val}:.1f}}{unit}<extra>%{{fullData.name}}</extra>",
        )


@gate.views
def gains_history(history: pl.DataFrame, as_of_text: str) -> Chart:
    """Cumulative identified and realised gains at each year end."""
    years = [str(y) for y in history.get_column("ar")]
    fig = _figure(
        "År (per 31.12., siste per rapportdatoen)", "Årsverk (akkumulert)", barmode="group"
    )
    series = [
        (name, history.get_column(col).to_list())
        for col, name in (("identifisert", "Identifisert"), ("realisert", "Realisert"))
    ]
    _bars(fig, years, series, " årsverk", norsk.number)
    table = _numbers(
        history,
        ("dato", "Per dato", "dato"),
        ("identifisert", IDENTIFIED, "arsverk"),
        ("realisert", REALISED, "arsverk"),
    )
    last = _row(history, -1)
    sentence = (
        f"Per {as_of_text} var {norsk.number(last['identifisert'])} årsverk i gevinster "
        f"identifisert og {norsk.number(last['realisert'])} realisert."
        if last
        else "Det er ikke registrert gevinster ennå."
    )
    return Chart(
        "gevinster-over-tid",
        "Identifiserte og realiserte gevinster over tid",
        sentence,
        fig,
        *table,
    )


@gate.views
def rollout(frame: pl.DataFrame) -> Chart:
    """Units trained in Lean among active units, by year."""
    years = [str(y) for y in frame.get_column("ar")]
    fig = _figure("År", "Antall enheter", barmode="overlay")
    fig.bar(
        x=years,
        y=frame.get_column("aktive").to_list(),
        name="Aktive enheter",
        marker={"color": ACTIVE_GREY, "line": {"color": COLOURS[4], "width": 1}},
        hovertemplate="%{x}: %{y} aktive<extra></extra>",
    )
    fig.bar(
        x=years,
        y=frame.get_column("trent").to_list(),
        name="Med Lean-opplæring",
        marker={"color": COLOURS[0]},
        text=[str(n) for n in frame.get_column("trent")],  # plotly's text is text
        textposition="outside",
        hovertemplate="%{x}: %{y} med opplæring<extra></extra>",
    )
    table = _numbers(
        frame,
        ("ar", "År", "tekst"),
        ("aktive", "Aktive enheter", "heltall"),
        ("trent", "Med Lean-opplæring", "heltall"),
    )
    last = _row(frame, -1) or {"trent": 0, "aktive": 0}
    sentence = (
        f"Opplæringen er rullet ut gradvis: ved siste telling hadde {last['trent']} av "
        f"{last['aktive']} aktive enheter fått opplæring i Lean."
    )
    return Chart("utrulling", "Enheter med Lean-opplæring per år", sentence, fig, *table)


def _split_bars(frame: pl.DataFrame, key: str, title: str, what: str) -> Chart:
    """Identified and realised gains by a coded column of the gains (`key`, also the chart's)."""
    names = {"kategori": contract.KATEGORIER, "metode": contract.METODER}[key]
    labels = [names.get(k, k) for k in frame.get_column(key)]
    fig = _figure("Årsverk", "", barmode="group", height=120 + 60 * max(1, len(labels)))
    _update(fig["layout"]["yaxis"], autorange="reversed", rangemode="normal")
    series = [
        (name, frame.get_column(col).to_list())
        for col, name in (
            ("identifisert_arsverk", "Identifisert"),
            ("realisert_arsverk", "Realisert"),
        )
    ]
    _bars(fig, labels, series, " årsverk", norsk.number, horizontal=True)
    table = _numbers(
        frame,
        (pl.col(key).replace_strict(names, default=pl.col(key)), what.capitalize(), None),
        ("identifisert_arsverk", IDENTIFIED, "arsverk"),
        ("realisert_arsverk", REALISED, "arsverk"),
    )
    if frame.height and frame.get_column("identifisert_arsverk").sum() > 0:
        top = frame.sort("realisert_arsverk", descending=True).row(0, named=True)
        sentence = (
            f"Mest er realisert {what} «{names.get(top[key], top[key]).lower()}»: "
            f"{norsk.number(top['realisert_arsverk'])} årsverk."
        )
    else:
        sentence = "Det er ikke registrert gevinster ennå."
    return Chart(key, title, sentence, fig, *table)


@gate.views
def by_category(frame: pl.DataFrame) -> Chart:
    """Gains by how they are taken out: quality, capacity or savings."""
    return _split_bars(frame, "kategori", "Gevinster etter hvordan de tas ut", "som")


@gate.views
def by_method(frame: pl.DataFrame) -> Chart:
    """Gains by the method that found them."""
    return _split_bars(frame, "metode", "Gevinster etter metoden som fant dem", "med metoden")


@gate.views
def backlog(frame: pl.DataFrame, as_of_text: str, top: int = 15, rows: int = 60) -> Chart:
    """Gains not yet realised, by unit, with how long they have waited.

    The chart shows the `top` units with most waiting; the table at most `rows` units
    (the full list is in the unit CSV file of the report).
    """
    shown = frame.head(top)
    labels = _labels(shown.get_column("enhet").to_list())
    fig = _figure("Årsverk som venter på realisering", "", height=140 + 32 * max(1, len(labels)))
    _update(fig["layout"]["yaxis"], autorange="reversed", rangemode="normal", type="category")
    fig.bar(
        y=labels,
        x=shown.get_column("arsverk").to_list(),
        orientation="h",
        marker={"color": COLOURS[1]},
        text=[
            f"{norsk.number(a)} årsverk, lengst {norsk.number(d, 0)} dager"
            for a, d in zip(
                shown.get_column("arsverk"), shown.get_column("lengst_dager"), strict=True
            )
        ],
        textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f} årsverk<extra></extra>",
        showlegend=False,
    )
    _update(fig["layout"], margin={"l": 220, "r": 220})
    table = _numbers(
        frame.head(rows),
        ("enhet", "Enhet", None),
        ("antall", "Gevinster", "heltall"),
        ("arsverk", "Årsverk", "arsverk"),
        ("snitt_dager", "Ventet i snitt (dager)", "heltall"),
        ("lengst_dager", "Lengst ventet (dager)", "heltall"),
        ("ansvarlige", "Ansvarlig (rolle)", None),
    )
    total = frame.get_column("arsverk").sum() if frame.height else 0.0
    n = int(frame.get_column("antall").sum()) if frame.height else 0
    sentence = (
        f"Per {as_of_text} ventet {n} gevinster på til sammen {norsk.number(total)} årsverk "
        f"på å bli realisert, fordelt på {frame.height} enheter."
        if n
        else f"Per {as_of_text} var alle identifiserte gevinster realisert."
    )
    if frame.height > top:
        shown_rows = "alle" if frame.height <= rows else f"de {rows} med mest"
        sentence += f" Figuren viser de {top} enhetene med mest; tabellen viser {shown_rows}."
    return Chart("etterslep", "Gevinster som venter på realisering", sentence, fig, *table)


@gate.views
def budget(area_years: pl.DataFrame) -> Chart:
    """Budget against accounts (net spend) by year, in millions of kroner."""
    years = [str(y) for y in area_years.get_column("ar")]
    fig = _figure("År", "Millioner kroner", barmode="group")
    series = [
        (name, (area_years.get_column(col) / 1e6).to_list())
        for col, name in (("budsjett_kr", "Budsjett"), ("regnskap_kr", "Regnskap"))
    ]
    _bars(fig, years, series, " mill. kr")
    table = _numbers(
        area_years,
        ("ar", "År", "tekst"),
        ("budsjett_kr", "Budsjett", "kr"),
        ("regnskap_kr", "Regnskap", "kr"),
        ("budsjettavvik_prosent", "Avvik", "prosent"),
    )
    last = _row(area_years, -1)
    sentence = (
        f"I {last['ar']} var regnskapet {norsk.millions(last['regnskap_kr'])} mot et budsjett "
        f"på {norsk.millions(last['budsjett_kr'])}: "
        f"{measures.money_words(measures.value('budsjettavvik_kr', last))} "
        f"({norsk.percent(last['budsjettavvik_prosent'])})."
        if last
        else "Ingen regnskapstall."
    )
    return Chart("budsjett", "Budsjett og regnskap per år", sentence, fig, *table)


@gate.views
def fte(area_years: pl.DataFrame) -> Chart:
    """Årsverk by year."""
    fig = _figure("År", "Årsverk")
    years = [str(y) for y in area_years.get_column("ar")]
    values = area_years.get_column("arsverk").to_list()
    fig.scatter(
        x=years,
        y=values,
        mode="lines+markers+text",
        line={"color": COLOURS[0], "width": 3},
        marker={"symbol": SYMBOLS[0], "size": 8},
        text=[norsk.number(v, 0) for v in values],
        textposition="top center",
        hovertemplate="%{x}: %{y:.1f} årsverk<extra></extra>",
        name="Årsverk",
    )
    first, last = _row(area_years, 0), _row(area_years, -1)
    sentence = (
        f"Årsverkene gikk fra {norsk.number(first['arsverk'])} i {first['ar']} til "
        f"{norsk.number(last['arsverk'])} i {last['ar']}."
        if first
        else "Ingen tall for årsverk."
    )
    return Chart(
        "arsverk",
        "Årsverk per år",
        sentence,
        fig,
        *_numbers(area_years, ("ar", "År", "tekst"), ("arsverk", "Årsverk", "arsverk")),
    )


@gate.views
def sick_leave(monthly: pl.DataFrame, starts: pl.DataFrame, goal: Mapping | None = None) -> Chart:
    """Sick leave by month, with each unit's Lean start marked on the line.

    With `goal` (a row of targets.table), the year's target is drawn as a dashed line and
    the sentence gives the target and its status in words.
    """
    months = monthly.get_column("maned").to_list()
    values = monthly.get_column("sykefravaer_prosent").to_list()
    fig = _figure("Måned", "Sykefravær (prosent av avtalte dagsverk)")
    fig.scatter(
        x=months,
        y=values,
        mode="lines",
        name="Sykefravær",
        line={"color": COLOURS[0], "width": 2},
        hovertemplate="%{x|%m.%Y}: %{y:.1f} %<extra></extra>",
    )
    by_month = dict(zip(months, values, strict=True))
    marks = starts.filter(pl.col("maned").is_in(months))
    per_month = (
        marks.group_by("maned")
        .agg(antall=pl.len(), navn=pl.col("enhet").sort().head(NAMES_SHOWN).str.join(", "))
        .sort("maned")
    )
    if per_month.height:
        counts = per_month.get_column("antall").to_list()
        names = per_month.get_column("navn").to_list()
        labels = [
            n if k <= NAMES_SHOWN else f"{k} enheter, bl.a. {n}"
            for k, n in zip(counts, names, strict=True)
        ]
        fig.scatter(
            x=per_month.get_column("maned").to_list(),
            y=[by_month[m] for m in per_month.get_column("maned")],
            mode="markers",
            name="Lean-start for enheter",
            marker={
                "symbol": "triangle-up",
                "size": 11,
                "color": COLOURS[1],
                "line": {"color": "#ffffff", "width": 1},
            },
            text=escape.plotly_texts([_short(label, 3 * LABEL_MAX) for label in labels]),
            hovertemplate="%{text}: Lean-start %{x|%m.%Y}<extra></extra>",
        )
    _update(fig["layout"]["xaxis"], tickformat="%Y")
    years = (
        monthly.with_columns(ar=pl.col("maned").dt.year())
        .group_by("ar")
        .agg(
            pl.col("fravaer_dagsverk").sum(),
            pl.col("avtalte_dagsverk").sum(),
            pl.col("fravaer_dagsverk").null_count().alias("uten_tall"),
        )
        .filter(pl.col("uten_tall") == 0)  # a year with a month without figures is not summed
        .sort("ar")
    )
    if years.height >= 2:
        a, b = years.row(0, named=True), years.row(-1, named=True)
        ra, rb = (measures.value("sykefravaer_prosent", r) for r in (a, b))
        sentence = (
            f"Sykefraværet var {norsk.percent(ra)} i {a['ar']} og {norsk.percent(rb)} "
            f"i {b['ar']}. Trekantene viser når enhetene startet med Lean ({marks.height} i alt)."
        )
    else:
        sentence = "For få måneder til å vise utviklingen."
    # The target is for one year: its line spans that year's months only.
    goal_months = [m for m in months if goal is not None and m.year == goal["ar"]]
    if goal is not None and goal_months:
        phrase = targets.goal_phrase(goal)
        fig.scatter(
            x=[goal_months[0], goal_months[-1]],
            y=[goal["mal"], goal["mal"]],
            mode="lines",
            name=escape.plotly_text(f"Mål for {goal['ar']}: {phrase}"),
            line={"color": COLOURS[1], "width": 1.5, "dash": "dash"},
            hoverinfo="skip",
        )
        sentence += (
            f" Målet for {goal['ar']} er {phrase} (stiplet linje): {targets.status_text(goal)}."
        )
    table = monthly.select(
        pl.col("maned").dt.strftime("%m.%Y").alias("Måned"),
        pl.col("sykefravaer_prosent").alias("Sykefravær"),
        pl.col(gate.flag("sykefravaer_prosent")).alias(gate.flag("Sykefravær")),
    ).join(
        starts.group_by(pl.col("maned").dt.strftime("%m.%Y").alias("Måned")).agg(
            pl.when(pl.len() <= NAMES_SHOWN)
            .then(pl.col("enhet").sort().str.join(", "))
            .otherwise(pl.format("{} enheter", pl.len()))
            .alias("Lean-start")
        ),
        on="Måned",
        how="left",
        maintain_order="left",
    )
    return Chart(
        "sykefravaer",
        "Sykefravær per måned, med Lean-start for enhetene",
        sentence,
        fig,
        table,
        {"Sykefravær": "prosent"},
    )


@gate.views
def area_comparison(figures: pl.DataFrame) -> Chart:
    """Realisation rate and Lean coverage of each service area."""
    areas = figures.filter(pl.col("tjenesteomrade") != "Hele kommunen")
    names = areas.get_column("tjenesteomrade").to_list()
    fig = _figure("Prosent", "", barmode="group", height=140 + 60 * max(1, len(names)))
    _update(fig["layout"]["yaxis"], autorange="reversed", rangemode="normal", type="category")
    coverage = areas.select(measures.expr("andel_enheter_lean_prosent")).to_series().to_list()
    series = (
        ("Realiseringsgrad", areas.get_column("realiseringsgrad_prosent").to_list()),
        ("Andel enheter med Lean", coverage),
    )
    _bars(fig, names, list(series), " %", lambda v: norsk.percent(v, 0), horizontal=True)
    table = _numbers(
        areas,
        ("tjenesteomrade", "Tjenesteområde", None),
        ("enheter", "Aktive enheter", "heltall"),
        ("enheter_lean", "Med Lean", "heltall"),
        ("gevinster_identifisert_arsverk", IDENTIFIED, "arsverk"),
        ("gevinster_realisert_arsverk", REALISED, "arsverk"),
        ("realiseringsgrad_prosent", "Realiseringsgrad", "prosent"),
    )
    ranked = areas.drop_nulls("realiseringsgrad_prosent").sort(
        "realiseringsgrad_prosent", descending=True
    )
    sentence = (
        f"{ranked.row(0, named=True)['tjenesteomrade']} har realisert størst andel av sine "
        f"gevinster ({norsk.percent(ranked.row(0, named=True)['realiseringsgrad_prosent'])})."
        if ranked.height
        else "Ingen tjenesteområder har gevinster ennå."
    )
    return Chart("omrader", "Tjenesteområdene sammenlignet", sentence, fig, *table)


@gate.views
def event_study(
    frame: pl.DataFrame,
    *,
    key: str,
    title: str,
    label: str,
    unit: str,
    grain: str,
    decimals: int,
    horizon: int,
) -> Chart:
    """Estimated effect by time since start, with pointwise intervals and the uniform band.

    `frame` is an event-study table (event_time, estimate, ci_low, ci_high, band_low,
    band_high, units), already cut to the window to show. The caption reports the
    pre-specified `horizon` (an event time), not the most extreme point.
    """
    step = "år" if grain == "ar" else "måneder"
    fig = _figure(f"Tid fra start ({step}; 0 = perioden Lean startet)", f"Effekt ({unit})")
    _update(fig["layout"]["yaxis"], rangemode="normal", zeroline=True, zerolinewidth=2)
    fig.rule("y", 0, {"color": "#4a5563", "width": 1.5})
    fmt = f".{decimals}f"
    if frame.height:
        x = frame.get_column("event_time").to_list()
        fig.scatter(
            x=[*x, *reversed(x)],
            y=[*frame.get_column("band_high").to_list(), *reversed(frame["band_low"].to_list())],
            fill="toself",
            fillcolor="rgba(27, 79, 114, 0.15)",
            line={"width": 0},
            mode="lines",
            name="95 % samtidig bånd (dekker hele forløpet)",
            hoverinfo="skip",
        )
    for i, (name, part) in enumerate(
        (
            ("Før start (kontroll: skal ligge nær 0)", frame.filter(pl.col("event_time") < 0)),
            ("Etter start (anslått effekt)", frame.filter(pl.col("event_time") >= 0)),
        )
    ):
        if part.height == 0:
            continue
        est = part.get_column("estimate").to_numpy()
        fig.scatter(
            x=part.get_column("event_time").to_list(),
            y=_typed(est),
            mode="markers" if grain == "ar" else "lines+markers",
            name=escape.plotly_text(name),
            line={"color": COLOURS[4 if i == 0 else 0], "width": 2},
            marker={
                "symbol": "circle-open" if i == 0 else "diamond",
                "size": 9 if grain == "ar" else 5,
                "color": COLOURS[4 if i == 0 else 0],
            },
            error_y={
                "type": "data",
                "symmetric": False,
                "array": _typed(part.get_column("ci_high").to_numpy() - est),
                "arrayminus": _typed(est - part.get_column("ci_low").to_numpy()),
                "color": COLOURS[4 if i == 0 else 0],
                "thickness": 1.5,
                "width": 4 if grain == "ar" else 0,
            },
            customdata=_typed(part.select("ci_low", "ci_high", "units").to_numpy()),
            hovertemplate=(
                f"%{{x}} {step}: %{{y:{fmt}}} {unit} "
                f"(95 % intervall %{{customdata[0]:{fmt}}} til %{{customdata[1]:{fmt}}}; "
                "%{customdata[2]} enheter)<extra></extra>"
            ),
        )
    fig.rule("x", -0.5, {"color": "#4a5563", "dash": "dash", "width": 1})
    at = frame.filter(pl.col("event_time") == horizon)
    lead = (
        f"Punktene er anslått effekt på {label.lower()} i hver periode før og etter start, "
        "med 95 % intervall som strek; det skyggelagte båndet dekker hele forløpet samtidig "
        "med 95 % sannsynlighet."
    )
    if at.height:
        row = at.row(0, named=True)
        sentence = (
            f"{lead} Ved den forhåndsbestemte horisonten (tid fra start = {horizon} {step}) er "
            f"anslaget {norsk.number(row['estimate'], decimals)} {unit} "
            f"({norsk.number(row['ci_low'], decimals)} til "
            f"{norsk.number(row['ci_high'], decimals)}; {row['units']} enheter)."
        )
    else:
        sentence = (
            f"{lead} Dataene har ikke noe anslag ved den forhåndsbestemte horisonten "
            f"(tid fra start = {horizon} {step})."
        )
    table, formats = _estimates_table(
        frame, pl.col("event_time").alias(f"Tid fra start ({step})"), decimals
    )
    table = table.with_columns(
        frame.get_column("band_low").alias("Bånd nedre"),
        frame.get_column("band_high").alias("Bånd øvre"),
        frame.get_column("units").alias("Enheter"),
    )
    kind = formats["Anslag"]
    return Chart(
        key,
        title,
        sentence,
        fig,
        table,
        formats | {"Bånd nedre": kind, "Bånd øvre": kind, "Enheter": "heltall"},
    )


def _estimates_table(
    frame: pl.DataFrame, first: pl.Expr, decimals: int
) -> tuple[pl.DataFrame, dict[str, str]]:
    """A chart's numbers: a label column, then the estimate and its interval."""
    kind = "tall2" if decimals == 2 else "heltall"
    return _numbers(
        frame,
        (first, first.meta.output_name(), None),
        ("estimate", "Anslag", kind),
        ("ci_low", "Nedre grense", kind),
        ("ci_high", "Øvre grense", kind),
    )


@gate.views
def estimate_comparison(frame: pl.DataFrame, unit: str, decimals: int) -> Chart:
    """Estimates from different methods side by side, each with its interval where it has one.

    `frame` has the columns metode, estimate, ci_low, ci_high (intervals may be null).
    """
    names = frame.get_column("metode").to_list()
    est = frame.get_column("estimate").to_numpy()
    low = frame.get_column("ci_low").fill_null(float("nan")).to_numpy()
    high = frame.get_column("ci_high").fill_null(float("nan")).to_numpy()
    fig = _figure(f"Effekt ({unit})", "", height=160 + 70 * max(1, len(names)), margin={"t": 45})
    _update(fig["layout"]["yaxis"], autorange="reversed", rangemode="normal")
    _update(fig["layout"]["xaxis"], rangemode="normal", zeroline=True, zerolinewidth=2)
    fig.rule("x", 0, {"color": "#4a5563", "width": 1.5})
    fmt = f".{decimals}f"
    fig.scatter(
        x=_typed(est),
        y=escape.plotly_texts(names),
        mode="markers+text",
        marker={
            "symbol": [SYMBOLS[i % len(SYMBOLS)] for i in range(len(names))],
            "size": 12,
            "color": COLOURS[0],
        },
        text=[norsk.number(v, decimals) for v in est],
        textposition="top center",
        error_x={
            "type": "data",
            "symmetric": False,
            "array": _typed(high - est),
            "arrayminus": _typed(est - low),
            "color": COLOURS[0],
            "thickness": 1.5,
        },
        hovertemplate=f"%{{y}}: %{{x:{fmt}}} {unit}<extra></extra>",
        showlegend=False,
    )
    sentence = (
        "Samme data, ulike metoder: bare den første tar hensyn til at enhetene startet på "
        "ulike tidspunkt og at effekten bygger seg opp over tid."
    )
    table, formats = _estimates_table(frame, pl.col("metode").alias("Metode"), decimals)
    return Chart("metoder", "Anslått effekt etter metode", sentence, fig, table, formats)
