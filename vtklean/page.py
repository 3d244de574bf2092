"""HTML fragments the report notebooks display: key-figure cards, tables, charts with text."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import plotly.io as pio
import plotly.offline
import polars as pl

from vtklean import datasets, escape, norsk, privacy
from vtklean.charts import Chart

if TYPE_CHECKING:
    from vtklean.processed import Processed

PLOTLY_MIME = "application/vnd.plotly.v1+json"


class Html:
    """An HTML fragment that Jupyter displays as HTML (and nbconvert exports as such)."""

    def __init__(self, text: str, bundle: dict | None = None) -> None:
        self.text = text
        self.bundle = bundle or {}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self.text, **self.bundle}

    def __str__(self) -> str:
        return self.text


# plotly.js adds a <style> block with its map styles (maplibre, for map traces, which
# vtklean never draws) unless an element with its id exists. An empty block with that id
# keeps the page's content policy free of `style-src 'unsafe-inline'` (render.py).
_PLOTLY_STYLE_IDS = re.compile(
    r'getElementById\("([0-9a-f]{64})"\)\)\{var \w+=document\.createElement\("style"\)'
)


def setup() -> Html:
    """Embed plotly.js once per page (no CDN), so charts draw offline."""
    js = plotly.offline.get_plotlyjs()
    empty = "".join(f'<style id="{i}"></style>' for i in _PLOTLY_STYLE_IDS.findall(js))
    return Html(f'{empty}<script type="text/javascript">{js}</script>')


def fmt(value: object, kind: str) -> str:
    """Format one value for a table cell by its kind."""
    if value is None:
        return norsk.MISSING
    match kind:
        case "arsverk":
            return norsk.number(value, 1)
        case "kr":
            return norsk.kroner(value)
        case "mill":
            return norsk.millions(value)
        case "prosent":
            return norsk.percent(value)
        case "heltall":
            return norsk.number(value, 0)
        case "tall2":
            return norsk.number(value, 2)
        case "dato":
            return norsk.date(value)
    if isinstance(value, dt.date):
        return norsk.date(value)
    if isinstance(value, bool):
        return "ja" if value else "nei"
    return str(value)


def table(frame: pl.DataFrame, formats: dict[str, str] | None = None, caption: str = "") -> Html:
    """An accessible table: caption, column headers with scope, first column as row header."""
    formats = formats or {}
    numeric = {
        c
        for c, k in formats.items()
        if k in ("arsverk", "kr", "mill", "prosent", "heltall", "tall2")
    }
    columns = [c for c in frame.columns if not c.endswith(privacy.FLAG)]

    def th(col: str) -> str:
        cls = ' class="tall"' if col in numeric else ""
        return f'<th scope="col"{cls}>{escape.html_text(col)}</th>'

    def shown(rec: dict, col: str) -> str:
        if rec.get(privacy.flag(col)) is not None:
            return privacy.SUPPRESSED
        return fmt(rec[col], formats.get(col, ""))

    head = "".join(th(c) for c in columns)
    rows = []
    for rec in frame.iter_rows(named=True):
        cells = []
        for i, col in enumerate(columns):
            text = escape.html_text(shown(rec, col))
            cls = ' class="tall"' if col in numeric else ""
            tag = "th" if i == 0 else "td"
            scope = ' scope="row"' if i == 0 else ""
            cells.append(f"<{tag}{scope}{cls}>{text}</{tag}>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape.html_text(caption)}</caption>" if caption else ""
    label = escape.html_text(caption or "Tabell")
    note = privacy.footnote(frame)
    foot = f'<p class="fotnote">{escape.html_text(note)}</p>' if note else ""
    return Html(
        f'<div class="tabell" tabindex="0" role="region" aria-label="{label}">'
        f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"{foot}"
    )


def chart(c: Chart) -> Html:
    """A chart with its title, its sentence, and its numbers in a table below."""
    spec = json.loads(pio.to_json(c.figure, validate=False))
    div = f"diagram-{c.key}"
    # No mode bar: its buttons would be keyboard traps inside the figure, and every number
    # is in the table below the chart, so nothing needs hovering or zooming to be read.
    config = {"displayModeBar": False, "responsive": True, "locale": "nb"}
    # Pure JSON arguments (escaped for <script>): render.content_policy hashes this shape only.
    args = ", ".join(escape.script_json(a) for a in (div, spec["data"], spec["layout"], config))
    script = f"Plotly.newPlot({args});"
    numbers = table(c.table, c.formats, caption=f"Tallene i figuren «{c.title}»")
    div = escape.html_text(div)
    text = (
        f'<figure class="diagram" aria-labelledby="{div}-tittel">'
        f'<h3 id="{div}-tittel">{escape.html_text(c.title)}</h3>'
        f'<p class="forklaring">{escape.html_text(c.sentence)}</p>'
        f'<div id="{div}" class="plotly-graph-div" aria-hidden="true"></div>'
        f'<script type="text/javascript">{script}</script>'
        f"<details><summary>Vis tallene i figuren</summary>{numbers}</details>"
        f"</figure>"
    )
    return Html(text, {PLOTLY_MIME: spec})


@dataclass(frozen=True)
class Card:
    """One key figure with its change from the year before."""

    label: str
    value: str
    change: str = ""
    hidden: str | None = None  # why the value is hidden (privacy), if it is


def _change(now: float | None, before: float | None, kind: str, unit: str) -> str:
    if now is None or before is None:
        return ""
    diff = now - before
    sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
    magnitude = fmt(abs(diff), kind).replace("\u00a0%", "")
    return f"{sign}{magnitude}{unit} fra året før"


def key_cards(now: dict, before: dict | None) -> list[Card]:
    """The key figures of one row of nokkeltall, with the change from the year before.

    A figure hidden for privacy shows `:`; no change is shown where either year is hidden
    (the change would give the hidden figure away).
    """
    b = before or {}

    def c(label: str, col: str, kind: str, unit: str = "") -> Card:
        if now.get(privacy.flag(col)) is not None:
            return Card(label, privacy.SUPPRESSED, "", now[privacy.flag(col)])
        if b.get(privacy.flag(col)) is not None:
            return Card(label, fmt(now.get(col), kind), "")
        return Card(label, fmt(now.get(col), kind), _change(now.get(col), b.get(col), kind, unit))

    trained = f"{now['enheter_lean']} av {now['enheter']}"
    return [
        c("Gevinster identifisert (årsverk)", "gevinster_identifisert_arsverk", "arsverk"),
        c("Gevinster realisert (årsverk)", "gevinster_realisert_arsverk", "arsverk"),
        c("Realisert i kroner", "gevinster_realisert_kr", "kr"),
        c("Realiseringsgrad", "realiseringsgrad_prosent", "prosent", " prosentpoeng"),
        c(
            "Fra verdistrømsanalyser",
            "andel_verdistromsanalyse_prosent",
            "prosent",
            " prosentpoeng",
        ),
        Card(
            "Enheter med Lean-opplæring",
            trained,
            _change(now.get("enheter_lean"), b.get("enheter_lean"), "heltall", " enheter"),
        ),
        c("Årsverk", "arsverk", "arsverk"),
        c("Regnskap", "regnskap_kr", "mill"),
        c("Budsjett", "budsjett_kr", "mill"),
        c("Budsjettavvik", "budsjettavvik_prosent", "prosent", " prosentpoeng"),
        c("Sykefravær", "sykefravaer_prosent", "prosent", " prosentpoeng"),
    ]


def cards(items: list[Card], caption: str) -> Html:
    """Key figures as a list of cards (a description list, so screen readers pair them)."""
    parts = []
    for i in items:
        change = f'<dd class="endring">{escape.html_text(i.change)}</dd>' if i.change else ""
        parts.append(
            f'<div class="kort"><dt>{escape.html_text(i.label)}</dt>'
            f'<dd class="verdi">{escape.html_text(i.value)}</dd>{change}</div>'
        )
    note = privacy.note([i.hidden for i in items if i.hidden])
    foot = f'<p class="fotnote">{escape.html_text(note)}</p>' if note else ""
    return Html(
        f'<section class="nokkeltall" aria-label="{escape.html_text(caption)}">'
        f'<dl class="kortliste">{"".join(parts)}</dl>{foot}</section>'
    )


def text(paragraph: str) -> Html:
    """A paragraph of computed text (escaped)."""
    return Html(f"<p>{escape.html_text(paragraph)}</p>")


def missing_months(data: Processed, area: str | None = None) -> Html:
    """A paragraph saying which months of the year have no resource rows (empty if none).

    `area` limits it to one service area. Every page that shows the year's figures calls
    this once.
    """
    sentence = datasets.missing_note(data.datasets, area)
    if sentence is None:
        return Html("")
    return Html(f'<p class="merknad"><strong>Merk:</strong> {escape.html_text(sentence)}</p>')


def heading(title: str, level: int = 2) -> Html:
    """A heading whose text is computed (escaped)."""
    return Html(f"<h{level}>{escape.html_text(title)}</h{level}>")


def unit_sentence(unit: dict, year: int) -> str:
    """A plain sentence about one unit of an area report (a row of figures.unit_table)."""
    parts = []
    if unit["lagt_ned"] is not None and not unit["aktiv"]:
        parts.append(f"Enheten ble lagt ned {norsk.date(unit['lagt_ned'])}.")
    if unit["lean_start"] is not None and unit["lean_start"] <= dt.date(year, 12, 31):
        pilot = f" som pilot i bølge {unit['pilot']}" if unit["pilot"] is not None else ""
        parts.append(f"Startet med Lean {norsk.date(unit['lean_start'])}{pilot}.")
    else:
        parts.append("Har ikke startet med Lean.")
    if unit["identifisert_arsverk"]:
        parts.append(
            f"Har identifisert {norsk.number(unit['identifisert_arsverk'])} årsverk i gevinster "
            f"og realisert {norsk.number(unit['realisert_arsverk'])}."
        )
    if unit.get(privacy.flag("sykefravaer_prosent")) is not None:
        parts.append(
            f"Sykefraværet i {year} vises ikke ({privacy.SUPPRESSED}) av personvernhensyn."
        )
    elif unit["sykefravaer_prosent"] is not None:
        change = ""
        if unit["sykefravaer_prosent_i_fjor"] is not None:
            change = f" (året før: {norsk.percent(unit['sykefravaer_prosent_i_fjor'])})"
        parts.append(
            f"Sykefraværet i {year} var {norsk.percent(unit['sykefravaer_prosent'])}{change}."
        )
    return " ".join(parts)


def quality_summary(checks: pl.DataFrame, problems: pl.DataFrame) -> str:
    """One paragraph on how the raw data fared."""
    n_checks = checks.height
    failed = checks.filter(pl.col("avvik") > 0).height
    n_warn = problems.filter(pl.col("alvor") == "advarsel").height
    if not n_warn:
        return f"Alle {n_checks} kontroller av rådataene er bestått uten avvik."
    return (
        f"Rådataene er kontrollert med {n_checks} kontroller. Ingen feil stoppet byggingen; "
        f"{failed} kontroller ga til sammen {n_warn} advarsler, som er vist med eksempler under."
    )


def checks_table(checks: pl.DataFrame) -> Html:
    """Every check with its result."""
    shown = checks.select(
        pl.col("tabell").alias("Tabell"),
        pl.col("kontroll").alias("Kontroll"),
        pl.col("alvor").alias("Type"),
        pl.col("kontrollert").alias("Kontrollert"),
        pl.col("avvik").alias("Avvik"),
        pl.when(pl.col("avvik") == 0)
        .then(pl.lit("OK"))
        .otherwise(pl.col("alvor").str.to_titlecase())
        .alias("Resultat"),
    )
    return table(shown, {"Kontrollert": "heltall", "Avvik": "heltall"}, "Kontrollene og resultatet")


def problem_sections(problems: pl.DataFrame, limit: int = 20) -> list[Html]:
    """Problems grouped by rule: a heading with the count, then at most `limit` examples."""
    if problems.is_empty():
        return [text("Ingen avvik: alle kontrollene er bestått.")]
    out = []
    for (heading,), group in problems.group_by("overskrift", maintain_order=True):
        lines = group.get_column("linje").to_list()
        items = "".join(f"<li>{escape.html_text(line)}</li>" for line in lines[:limit])
        if len(lines) > limit:
            items += f"<li>… og {len(lines) - limit} til av samme slag</li>"
        out.append(Html(f"<h3>{escape.html_text(heading)} ({len(lines)})</h3><ul>{items}</ul>"))
    return out


UNIT_COLUMNS = {
    "enhet": ("Enhet", ""),
    "aktiv": ("Aktiv", ""),
    "lean_start": ("Lean-start", "dato"),
    "identifisert_arsverk": ("Identifisert (årsverk)", "arsverk"),
    "realisert_arsverk": ("Realisert (årsverk)", "arsverk"),
    "arsverk": ("Årsverk", "arsverk"),
    "sykefravaer_prosent": ("Sykefravær", "prosent"),
    "sykefravaer_prosent_i_fjor": ("Sykefravær året før", "prosent"),
    "budsjettavvik_prosent": ("Budsjettavvik", "prosent"),
}
TOP = 10


def _unit_table(units: pl.DataFrame, caption: str) -> Html:
    names = {k: v[0] for k, v in UNIT_COLUMNS.items()}
    flags = {privacy.flag(k): privacy.flag(v) for k, v in names.items() if privacy.flag(k) in units}
    shown = units.select([*names, *flags]).rename(names | flags)
    return table(shown, {v[0]: v[1] for v in UNIT_COLUMNS.values() if v[1]}, caption)


def unit_overview(units: pl.DataFrame, area: str, as_of: str, year: int, limit: int) -> list[Html]:
    """The units of an area one by one, or, above `limit` units, top lists and a count.

    Large areas (a national panel) get the units with most realised gains and with the
    highest sick leave; every unit is in the report's `enheter.csv`.
    """
    if units.height <= limit:
        parts = [_unit_table(units, f"Enhetene i {area} per {as_of}")]
        for unit in units.iter_rows(named=True):
            parts += [heading(unit["enhet"], 3), text(unit_sentence(unit, year))]
        return parts
    active = units.filter(pl.col("aktiv"))
    trained = int(active.get_column("lean_start").is_not_null().sum())
    return [
        text(
            f"{area} har {units.height} enheter ({active.height} aktive, {trained} med "
            f"Lean-opplæring) – for mange til å vise én for én. Her er de {TOP} med mest "
            f"realiserte gevinster og de {TOP} med høyest sykefravær i {year}. Alle enhetene "
            "står i filen enheter.csv."
        ),
        _unit_table(
            units.sort("realisert_arsverk", descending=True).head(TOP),
            f"De {TOP} enhetene i {area} med mest realiserte gevinster",
        ),
        _unit_table(
            units.drop_nulls("sykefravaer_prosent")
            .sort("sykefravaer_prosent", descending=True)
            .head(TOP),
            f"De {TOP} enhetene i {area} med høyest sykefravær i {year}",
        ),
        Html('<p><a href="enheter.csv">Alle enhetene med tall (enheter.csv)</a></p>'),
    ]
