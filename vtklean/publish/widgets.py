"""The page kit: plotly setup, HTML fragments, tables, charts with text, cards, headings."""

from __future__ import annotations

import datetime as dt
import functools
import html
import importlib.resources
import json
import re
from dataclasses import dataclass

import polars as pl
from plotly.io.json import to_json_plotly

from vtklean.core import escape, measures, norsk
from vtklean.model import gate, targets
from vtklean.publish.charts import Chart

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


PLOTLY_BUNDLE = "plotly-basic.min.js"  # vendored, see vtklean/publish/vendor/README.md


@functools.cache
def plotlyjs() -> str:
    """The vendored plotly.js partial bundle (bar, scatter, pie): a quarter of the full one."""
    return (
        importlib.resources.files("vtklean.publish")
        .joinpath("vendor", PLOTLY_BUNDLE)
        .read_text("utf-8")
    )


def plotlyjs_version() -> str:
    """The version in the vendored bundle's licence header, e.g. `4.1.1`."""
    found = re.search(r"plotly\.js \(basic - minified\) v(\d+\.\d+\.\d+)", plotlyjs()[:300])
    if found is None:
        raise ValueError(f"{PLOTLY_BUNDLE} has no version header")
    return found.group(1)


# plotly.js adds a <style> block with its map styles (maplibre, for map traces, which
# vtklean never draws) unless an element with its id exists. An empty block with that id
# keeps the page's content policy free of `style-src 'unsafe-inline'` (render.py).
_PLOTLY_STYLE_IDS = re.compile(
    r'getElementById\("([0-9a-f]{64})"\)\)\{var \w+=document\.createElement\("style"\)'
)


def setup() -> Html:
    """Embed plotly.js once per page (no CDN), so charts draw offline."""
    js = plotlyjs()
    empty = "".join(f'<style id="{i}"></style>' for i in _PLOTLY_STYLE_IDS.findall(js))
    return Html(f'{empty}<script type="text/javascript">{js}</script>')


def fmt(value: object, kind: str) -> str:
    """Format one value for a table cell by its kind."""
    if value is None:
        return norsk.MISSING
    if kind in measures.PAGE_KINDS:
        return measures.format_kind(kind, value)
    match kind:
        case "tall2":
            return norsk.number(value, 2)
        case "dato":
            return norsk.date(value)
    if isinstance(value, dt.date):
        return norsk.date(value)
    if isinstance(value, bool):
        return "ja" if value else "nei"
    return str(value)


WIDE_TABLE = 10  # columns from which a table gets smaller type and the window's width
LANDSCAPE_TABLE = 11  # columns from which a table is printed on a landscape page (the index)


def region_class(columns: int) -> str:
    """The class of a table's region: `bred` (wide on screen), `liggende` (printed landscape)."""
    classes = ["tabell"]
    if columns >= WIDE_TABLE:
        classes.append("bred")
    if columns >= LANDSCAPE_TABLE:
        classes.append("liggende")
    return " ".join(classes)


def table(frame: pl.DataFrame, formats: dict[str, str] | None = None, caption: str = "") -> Html:
    """An accessible table: caption, column headers with scope, first column as row header."""
    formats = formats or {}
    numeric = {
        c
        for c, k in formats.items()
        if k in ("arsverk", "kr", "mill", "prosent", "heltall", "tall2")
    }
    columns = [c for c in frame.columns if not c.endswith(gate.FLAG)]

    def th(col: str) -> str:
        cls = ' class="tall"' if col in numeric else ""
        return f'<th scope="col"{cls}>{escape.html_text(col)}</th>'

    def shown(rec: dict, col: str) -> str:
        if rec.get(gate.flag(col)) is not None:
            return gate.SUPPRESSED
        return fmt(rec[col], formats.get(col, ""))

    head = "".join(th(c) for c in columns)
    rows = []
    for rec in frame.iter_rows(named=True):
        cells = []
        for i, col in enumerate(columns):
            text = escape.html_text(shown(rec, col))
            cls = ' class="tall"' if col in numeric else ""
            if i == 0:
                cells.append(f'<th scope="row"{cls}>{text}</th>')
            else:
                label = escape.html_text(col)
                cells.append(f'<td data-label="{label}"{cls}>{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape.html_text(caption)}</caption>" if caption else ""
    label = escape.html_text(caption or "Tabell")
    note = gate.footnote(frame)
    foot = f'<p class="fotnote">{escape.html_text(note)}</p>' if note else ""
    return Html(
        f'<div class="{region_class(len(columns))}" tabindex="0" role="region" '
        f'aria-label="{label}">'
        f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"{foot}"
    )


NARROW_LABEL = 18  # characters per line of a category label in the narrow layout


def _wrap(label: str, width: int = NARROW_LABEL, lines: int = 2) -> str:
    """A plotly category label in at most `lines` lines of about `width` characters.

    `label` is plotly text (escaped by `escape.plotly_text`); it is wrapped as the text it
    shows, cut with `…` where it is longer, and each line escaped again.
    """
    words, out = html.unescape(str(label)).split(), [""]
    for word in words:
        if out[-1] and len(out[-1]) + 1 + len(word) > width:
            out.append("")
        out[-1] = f"{out[-1]} {word}".strip()
    if len(out) > lines:
        out = [*out[: lines - 1], out[lines - 1][: width - 1] + "…"]
    cut = [o if len(o) <= width else o[: width - 1] + "…" for o in out]
    return "<br>".join(escape.plotly_text(o) for o in cut)


def narrow(spec: dict) -> dict:
    """What changes for a phone: smaller margins and type, wrapped labels, short values.

    Returns `{"layout": {...}, "traces": [{...}, ...]}`: top-level layout keys and per-trace
    keys to replace. A chart with names on its vertical axis keeps at least half the
    width: long names are wrapped and cut, and a bar's value label keeps only its number
    and unit (`32,4 årsverk, lengst 400 dager` becomes `32,4 årsverk`; the rest is in the
    table below the chart).
    """
    layout = spec["layout"]
    out: dict = {"font": {**layout.get("font", {}), "size": 12}}
    margin = {**layout.get("margin", {})}
    traces: list[dict] = [{} for _ in spec["data"]]
    # Charts with names on the vertical axis: horizontal bars, estimates per method.
    horizontal = [
        i
        for i, t in enumerate(spec["data"])
        if isinstance(t.get("y"), list) and any(isinstance(v, str) for v in t["y"])
    ]
    if horizontal:
        categories = [str(c) for i in horizontal for c in spec["data"][i]["y"]]
        categories = list(dict.fromkeys(categories))
        out["yaxis"] = {
            **layout.get("yaxis", {}),
            "automargin": False,
            "tickmode": "array",
            "tickvals": categories,
            "ticktext": [_wrap(c) for c in categories],
        }
        margin |= {"l": 120, "r": 80}
        for i in horizontal:
            text = spec["data"][i].get("text")
            if spec["data"][i].get("type") == "bar" and isinstance(text, list):
                traces[i]["text"] = [None if x is None else str(x).split(", ")[0] for x in text]
    else:
        margin |= {"l": min(margin.get("l", 70), 55), "r": min(margin.get("r", 20), 20)}
    out["margin"] = margin
    return {"layout": out, "traces": traces}


def chart(c: Chart) -> Html:
    """A chart with its title, its sentence, and its numbers in a table below.

    The chart's layout for phones (`narrow`) is in its layout.meta; the page's charts.js
    draws it where the chart is narrower than 600 px, again when the window is resized.
    """
    # Through plotly's JSON encoder, as plotly.io.to_json: dates as ISO text, NaN as null.
    spec = json.loads(to_json_plotly(c.figure, engine="json"))
    div = f"diagram-{c.key}"
    # No mode bar: its buttons would be keyboard traps inside the figure, and every number
    # is in the table below the chart, so nothing needs hovering or zooming to be read.
    config = {"displayModeBar": False, "responsive": True, "locale": "nb"}
    # The narrow layout rides along in layout.meta, read by templates/charts.js.
    layout = {**spec["layout"], "meta": {"smal": narrow(spec), "config": config}}
    # Pure JSON arguments (escaped for <script>): render.content_policy hashes this shape only.
    args = ", ".join(escape.script_json(a) for a in (div, spec["data"], layout, config))
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
    """One key figure with its change from the year before, and its target and status."""

    label: str
    value: str
    change: str = ""
    hidden: str | None = None  # why the value is hidden (privacy), if it is
    target: str = ""  # `Mål: høyst 7,5 %`
    status: str | None = None  # targets.REACHED, NEAR or MISSED
    status_text: str = ""  # the status in words with its symbol
    note: str = ""  # what the figure counts, where that could be misread


def cards(items: list[Card], caption: str) -> Html:
    """Key figures as a list of cards (a description list, so screen readers pair them).

    A status is written in words with a symbol; its colour only repeats them.
    """
    parts = []
    for i in items:
        dds = [f'<dd class="verdi">{escape.html_text(i.value)}</dd>']
        if i.note:
            dds.append(f'<dd class="merknad">{escape.html_text(i.note)}</dd>')
        if i.change:
            dds.append(f'<dd class="endring">{escape.html_text(i.change)}</dd>')
        if i.target:
            status = ""
            if i.status_text:
                css = targets.CSS.get(i.status or "", "status-ingen")
                status = f' – <span class="status {css}">{escape.html_text(i.status_text)}</span>'
            dds.append(f'<dd class="mal">{escape.html_text(i.target)}{status}</dd>')
        parts.append(f'<div class="kort"><dt>{escape.html_text(i.label)}</dt>{"".join(dds)}</div>')
    note = gate.note([i.hidden for i in items if i.hidden])
    foot = f'<p class="fotnote">{escape.html_text(note)}</p>' if note else ""
    return Html(
        f'<section class="nokkeltall" aria-label="{escape.html_text(caption)}">'
        f'<dl class="kortliste">{"".join(parts)}</dl>{foot}</section>'
    )


def headline(sentences: list[str]) -> Html:
    """The page's message first: the headline sentences as a short list."""
    items = "".join(f"<li>{escape.html_text(s)}</li>" for s in sentences)
    return Html(
        '<section class="hovedbudskap" aria-labelledby="hovedbudskap">'
        f'<h2 id="hovedbudskap">Hovedbudskap</h2><ul>{items}</ul></section>'
    )


def nav(area_pages: list[tuple[str, str]] | None, as_of: str) -> Html:
    """The page's top: the as-of date and (on oversikt) a link to every area page.

    The link to the index is in the page template (every page has it).
    """
    areas = ""
    if area_pages:
        items = "".join(
            f'<li><a href="{escape.html_text(href)}">{escape.html_text(name)}</a></li>'
            for name, href in area_pages
        )
        areas = (
            '<nav class="omrader" aria-label="Tjenesteområdene">'
            f"<p>Rapportene for tjenesteområdene:</p><ul>{items}</ul></nav>"
        )
    return Html(f'<p class="perdato">Tallene gjelder per {escape.html_text(as_of)}.</p>{areas}')


def text(paragraph: str) -> Html:
    """A paragraph of computed text (escaped)."""
    return Html(f"<p>{escape.html_text(paragraph)}</p>")


def heading(title: str, level: int = 2) -> Html:
    """A heading whose text is computed (escaped)."""
    return Html(f"<h{level}>{escape.html_text(title)}</h{level}>")
