"""HTML fragments the report notebooks display: key-figure cards, tables, charts with text."""

from __future__ import annotations

import datetime as dt
import functools
import html
import importlib.resources
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import plotly.io as pio
import polars as pl

from vtklean.core import escape, measures, norsk
from vtklean.model import datasets, privacy, targets
from vtklean.publish.charts import IDENTIFIED, REALISED, Chart

if TYPE_CHECKING:
    from vtklean.model.processed import Processed

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
            if i == 0:
                cells.append(f'<th scope="row"{cls}>{text}</th>')
            else:
                label = escape.html_text(col)
                cells.append(f'<td data-label="{label}"{cls}>{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{escape.html_text(caption)}</caption>" if caption else ""
    label = escape.html_text(caption or "Tabell")
    note = privacy.footnote(frame)
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
    spec = json.loads(pio.to_json(c.figure, validate=False))
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


CARD_KEYS = (
    "gevinster_identifisert_arsverk",
    "gevinster_realisert_arsverk",
    "gevinster_realisert_kr",
    "realiseringsgrad_prosent",
    "andel_verdistromsanalyse_prosent",
    "enheter_lean",
    "arsverk",
    "regnskap_kr",
    "budsjett_kr",
    "budsjettavvik_prosent",
    "sykefravaer_prosent",
)


def change_text(key: str, now: float | None, before: float | None) -> str:
    """`−0,4 prosentpoeng fra året før (bedre)`; the word only for a measure with a direction."""
    if now is None or before is None:
        return ""
    diff = now - before
    word = measures.better(key, diff)
    return f"{measures.format_change(key, diff)} fra året før" + (f" ({word})" if word else "")


def _notes(now: dict) -> dict[str, str]:
    realised = now.get("gevinster_realisert_antall")
    with_kr = now.get("gevinster_realisert_med_kr")
    notes = {}
    if realised is not None and with_kr is not None:
        notes["gevinster_realisert_kr"] = (
            f"beløp er registrert for {with_kr} av {realised} realiserte gevinster"
        )
    words = measures.money_words(now.get("budsjettavvik_kr"))
    if words:
        notes["budsjettavvik_prosent"] = words[0].upper() + words[1:]
    notes["enheter_lean"] = "av de aktive enhetene (enheter som er lagt ned, telles ikke)"
    return notes


def key_cards(now: dict, before: dict | None, goals: dict[str, dict] | None = None) -> list[Card]:
    """The key figures of one row of nokkeltall, with change, target and status.

    Labels and formats come from the registry of measures; `goals` are the area's rows of
    the target table by key figure (targets.for_area). A figure hidden for privacy shows
    `:`; no change and no status is shown where either year is hidden (they would give
    the hidden figure away).
    """
    b, goals, notes = before or {}, goals or {}, _notes(now)

    def card(key: str) -> Card:
        m = measures.get(key)
        goal = goals.get(key)
        extra = {}
        if goal is not None:
            extra = {
                "target": targets.target_text(goal),
                "status": goal["status"],
                "status_text": targets.status_text(goal),
            }
        if now.get(privacy.flag(key)) is not None:
            shown = {k: v for k, v in extra.items() if k == "target"}
            return Card(m.label, privacy.SUPPRESSED, "", now[privacy.flag(key)], **shown)
        value = measures.format_page(key, now.get(key))
        if key == "enheter_lean":
            value = f"{now['enheter_lean']} av {now['enheter']}"
        change = ""
        if b.get(privacy.flag(key)) is None:
            change = change_text(key, now.get(key), b.get(key))
        return Card(m.label, value, change, note=notes.get(key, ""), **extra)

    return [card(k) for k in CARD_KEYS]


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
    note = privacy.note([i.hidden for i in items if i.hidden])
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


def comments(frame: pl.DataFrame | None, area: str) -> list[Html]:
    """The leaders' own comments for an area, as text with their line breaks kept.

    The text is escaped (never markup); line breaks are kept by the stylesheet
    (`white-space: pre-line`), so no markup is added to it either.
    """
    if frame is None:
        return []
    rows = frame.filter(pl.col("tjenesteomrade") == area).iter_rows(named=True)
    out = []
    for r in rows:
        who = r["rolle"] or ("Rådmannen" if area == privacy.WHOLE else "Ledelsen")
        out.append(
            Html(
                '<figure class="kommentar"><figcaption>Vurdering fra '
                f"{escape.html_text(who.lower())}</figcaption>"
                f"<blockquote><p>{escape.html_text(r['tekst'])}</p></blockquote>"
                "</figure>"
            )
        )
    return out


TARGET_COLUMNS = ("Tjenesteområde", "Nøkkeltall", "Mål", "Resultat", "Status")


def target_table(rows: pl.DataFrame, caption: str) -> Html:
    """The targets with value and status in words, one row per target."""
    shown = pl.DataFrame(
        [
            {
                "Tjenesteområde": r["tjenesteomrade"],
                "Nøkkeltall": r["navn"],
                "Mål": targets.goal_phrase(r),
                "Resultat": measures.format_page(r["indikator"], r["verdi"]),
                "Status": targets.status_text(r),
            }
            for r in rows.iter_rows(named=True)
        ],
        schema=dict.fromkeys(
            ("Tjenesteområde", "Nøkkeltall", "Mål", "Resultat", "Status"), pl.String
        ),
    )
    return table(shown, {}, caption)


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
    "pilot": ("Pilotbølge", "heltall"),
    "identifisert_arsverk": (IDENTIFIED, "arsverk"),
    "realisert_arsverk": (REALISED, "arsverk"),
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
    """The units of an area in one table, or, above `limit` units, top lists and a count.

    Large areas (a national panel) get the units with most realised gains and with the
    highest sick leave; every unit is in the report's `enheter.csv`.
    """
    if units.height <= limit:
        return [_unit_table(units, f"Enhetene i {area} per {as_of}")]
    active = units.filter(pl.col("aktiv"))
    # Trained as of D: a Lean start after the date (planned) does not count yet.
    day = dt.datetime.strptime(as_of, "%d.%m.%Y").date()
    trained = active.filter(pl.col("lean_start") <= pl.lit(day, pl.Date)).height
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


def _fte_change(now: float, before: float) -> str:
    return measures.format_change("arsverk", now - before)


def _money_change(now: float, before: float) -> str:
    return measures.format_change("regnskap_kr", now - before)


def unit_changes(changes: dict, year: int, active: int) -> list[Html]:
    """Closed and new units named and counted, and the change in årsverk and money.

    The change is shown for all units and for the units with figures in both years
    (figures.unit_changes), so that closed or new units are not mistaken for Lean.
    """
    closed, opened = changes["closed"], changes["opened"]
    every, same = changes["all"], changes["same"]
    parts = [
        text(
            f"Enheter betyr her aktive enheter per dato ({active}): enheter som er lagt ned, "
            "telles ikke, men gevinstene deres telles fortsatt med. Årsverk og penger gjelder "
            f"enhetene som har ressursbruk i {year} ({every['now']['enheter']}); tallene for "
            "året før gjelder de samme månedene."
        )
    ]
    if closed.height:
        names = norsk.join(closed.get_column("enhet").to_list())
        # Last year's figures only of the closed units that had resource rows then.
        had = closed.filter(pl.col("arsverk_i_fjor").is_not_null())
        if had.height:
            fte = had.get_column("arsverk_i_fjor").sum()
            money = had.get_column("regnskap_kr_i_fjor").sum()
            who = "de" if had.height == closed.height else norsk.join(had["enhet"].to_list())
            before = (
                f"Året før hadde {who} {measures.format_page('arsverk', fte)} årsverk og "
                f"{norsk.millions(money)} i regnskap."
            )
        else:
            before = f"{'Den' if closed.height == 1 else 'De'} hadde ingen ressursbruk året før."
        parts.append(
            text(
                f"{closed.height} {'enhet ble' if closed.height == 1 else 'enheter ble'} lagt "
                f"ned i {year}: {names}. {before}"
            )
        )
    else:
        parts.append(text(f"Ingen enheter ble lagt ned i {year}."))
    if opened.height:
        names = norsk.join(opened.get_column("enhet").to_list())
        parts.append(
            text(
                f"{opened.height} {'enhet har' if opened.height == 1 else 'enheter har'} tall "
                f"i {year}, men ikke året før (nye eller flyttet): {names}."
            )
        )
    a, b = every["now"], every["before"]
    s, t = same["now"], same["before"]
    same_text = (
        f"Enhetene som er aktive og har tall begge årene ({s['enheter']}): årsverk "
        f"{_fte_change(s['arsverk'], t['arsverk'])} og regnskap "
        f"{_money_change(s['regnskap_kr'], t['regnskap_kr'])}. Forskjellen skyldes enheter "
        "som er lagt ned eller kommet til, ikke Lean."
        if s["enheter"]
        else "Ingen enheter er aktive og har tall begge årene."
    )
    parts.append(
        text(
            f"Alle enhetene: årsverk {_fte_change(a['arsverk'], b['arsverk'])} og regnskap "
            f"{_money_change(a['regnskap_kr'], b['regnskap_kr'])} fra året før. {same_text}"
        )
    )
    return parts


IDEA_COLUMNS = {
    "forslag_registrert": "Registrert",
    "forslag_gjennomfort": "Gjennomført",
    "forslag_avvist": "Avvist",
    "forslag_apne": "Åpne per dato",
    "forslag_median_dager": "Median dager til gjennomført",
}


def ideas(counts: pl.DataFrame | None, by: str, label: str, year: int, caption: str) -> list[Html]:
    """Lean activity from the improvement boards: proposals per area or unit (a table)."""
    if counts is None:
        return [text("Det er ikke levert noen tabell med forbedringsforslag (forbedringer).")]
    names = {by: label} | IDEA_COLUMNS
    shown = counts.select(list(names)).rename(names)
    formats = {IDEA_COLUMNS[k]: measures.get(k).page for k in IDEA_COLUMNS}
    formats = {k: ("heltall" if v == "dager" else v) for k, v in formats.items()}
    return [
        text(
            f"Registrert, gjennomført og avvist gjelder {year} fram til datoen; åpne forslag er "
            "nye eller pågående per datoen, uansett når de ble registrert."
        ),
        table(shown, formats, caption),
    ]


def ideas_sentence(row: dict, year: int) -> str:
    """One sentence with the proposal counts of a key-figure row."""
    if row.get("forslag_registrert") is None:
        return "Det er ikke levert noen tabell med forbedringsforslag."
    median = row.get("forslag_median_dager")
    days = (
        f", og det tok i median {measures.format_page('forslag_median_dager', median)} dager "
        "fra forslag til gjennomført"
        if median is not None
        else ""
    )
    return (
        f"I {year} ble det registrert {row['forslag_registrert']} forbedringsforslag. "
        f"{row['forslag_gjennomfort']} ble gjennomført og {row['forslag_avvist']} avvist{days}. "
        f"{row['forslag_apne']} forslag er åpne (nye eller pågår)."
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def followup(f: dict, old_days: int, as_of: str, limit: int = 30) -> list[Html]:
    """The follow-up section (figures.followup), each list in a table of at most `limit` rows.

    Overdue and old gains, trained units without gains, the largest sick-leave rises.
    """
    out = [heading("Forsinkede gevinster", 3)]
    overdue = f["overdue"]
    if overdue.height:
        fte = overdue.get_column("arsverk").sum()
        out.append(
            text(
                f"{_count(overdue.height, 'gevinst', 'gevinster')} "
                f"({measures.format_page('arsverk', fte)} årsverk) er forsinket: ikke realisert "
                f"per {as_of}, selv om gevinstplanen sa det. De er merket «forsinket»."
            )
        )
        shown = overdue.head(limit).select(
            pl.col("gevinst_id").alias("Gevinst"),
            pl.col("enhet").alias("Enhet"),
            pl.col("arsverk").alias("Årsverk"),
            pl.col("planlagt_realisert").alias("Planlagt realisert"),
            pl.col("dager_forsinket").alias("Dager forsinket"),
            pl.lit("forsinket").alias("Status"),
            pl.col("ansvarlig_rolle").alias("Ansvarlig (rolle)"),
        )
        out.append(
            table(
                shown,
                {"Årsverk": "arsverk", "Planlagt realisert": "dato", "Dager forsinket": "heltall"},
                "Forsinkede gevinster, lengst forsinket først",
            )
        )
    else:
        out.append(text("Ingen gevinster er forsinket etter gevinstplanen."))
    out.append(heading("Gamle gevinster uten plan", 3))
    old = f["old"]
    if old.height:
        out.append(
            text(
                f"{_count(old.height, 'gevinst', 'gevinster')} uten planlagt realiseringsdato "
                "har ventet mer enn "
                f"{old_days} dager. Sett en dato i gevinstplanen, eller forkast dem."
            )
        )
        shown = old.head(limit).select(
            pl.col("gevinst_id").alias("Gevinst"),
            pl.col("enhet").alias("Enhet"),
            pl.col("arsverk").alias("Årsverk"),
            pl.col("identifisert").alias("Identifisert"),
            pl.col("ventet_dager").alias("Dager ventet"),
            pl.col("ansvarlig_rolle").alias("Ansvarlig (rolle)"),
        )
        out.append(
            table(
                shown,
                {"Årsverk": "arsverk", "Identifisert": "dato", "Dager ventet": "heltall"},
                f"Gevinster uten plan som har ventet mer enn {old_days} dager",
            )
        )
    else:
        out.append(text(f"Ingen gevinster uten plan har ventet mer enn {old_days} dager."))
    out.append(heading("Enheter med Lean-opplæring uten gevinster", 3))
    no_gain = f["no_gain"]
    if no_gain.height:
        out.append(
            text(
                f"{_count(no_gain.height, 'aktiv enhet', 'aktive enheter')} har hatt "
                "Lean-opplæring, men har ingen identifiserte gevinster (forkastede teller "
                f"ikke): {norsk.join(no_gain.get_column('enhet').to_list())}."
            )
        )
    else:
        out.append(text("Alle aktive enheter med Lean-opplæring har identifiserte gevinster."))
    rise = f["sick_rise"]
    out.append(heading("Størst økning i sykefraværet", 3))
    if rise.height:
        shown = rise.select(
            pl.col("enhet").alias("Enhet"),
            pl.col("i_fjor").alias("Året før"),
            pl.col("i_ar").alias("I år"),
            pl.col("endring").alias("Endring (prosentpoeng)"),
        )
        out.append(
            table(
                shown,
                {"Året før": "prosent", "I år": "prosent", "Endring (prosentpoeng)": "tall2"},
                "Enhetene der sykefraværet økte mest fra året før",
            )
        )
    else:
        out.append(text("Ingen enheter med viste tall fikk høyere sykefravær enn året før."))
    return out


def target_section(rows: pl.DataFrame, year: int, as_of: str) -> list[Html]:
    """The targets of the year with status, or a sentence saying there are none."""
    if rows.is_empty():
        return [text(f"Det er ikke satt mål for {year} (tabellen «mal» i rådataene).")]
    return [
        text(
            f"{targets.summary(rows)} «Nær» betyr på feil side av målet, men innenfor "
            "toleransen for nøkkeltallet."
        ),
        target_table(rows, f"Målene for {year} og status per {as_of}"),
    ]


def idea_years(frame: pl.DataFrame | None) -> list[Html]:
    """Proposals registered, completed and rejected in each year (figures.idea_years)."""
    if frame is None or frame.is_empty():
        return []
    names = {"ar": "År"} | {k: IDEA_COLUMNS[k] for k in list(IDEA_COLUMNS)[:3]}
    shown = frame.select(pl.col("ar").cast(pl.String), *list(names)[1:]).rename(names)
    return [table(shown, dict.fromkeys(list(names.values())[1:], "heltall"), "Forslag per år")]
