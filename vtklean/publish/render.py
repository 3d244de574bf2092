"""Page templates: the index, notebook pages and accessibility statement, with provenance."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import html
import json
import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import jinja2
import polars as pl

from vtklean import __version__
from vtklean.core import escape, measures, norsk
from vtklean.core.norsk import normalise_name
from vtklean.core.paths import ROOT
from vtklean.model import gate, targets
from vtklean.publish import widgets

if TYPE_CHECKING:
    from vtklean.publish.execute import Job
    from vtklean.publish.restate import Restatement

log = logging.getLogger(__name__)

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("vtklean.publish", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)

# Headers of the key-figures table as shown to people (the CSV keeps the contract's names).
# Units stand in the headers, so the cells hold only numbers and twelve columns fit a screen.
FIGURE_HEADERS = {
    "tjenesteomrade": "Tjenesteområde",
    **{key: measures.get(key).narrow_heading for key in measures.CONTRACT[1:]},
}


@dataclass(frozen=True)
class Provenance:
    """What every page records about how it was made."""

    as_of: str
    year: int
    kommune: str
    built: str
    version: str
    commit: str | None
    files: Sequence[tuple[str, str]]
    parameters: Sequence[tuple[str, object]] = field(default_factory=tuple)


def _git(*args: str) -> str:
    """The output of a git command in the project folder (CalledProcessError when it fails)."""
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    done.check_returncode()
    return done.stdout.strip()


def git_commit() -> str | None:
    """The project's git commit, with `+endret` when the tree has changes; None outside git."""
    if not (ROOT / ".git").exists():
        return None
    try:
        head = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+endret" if dirty else "")


def built_text(when: dt.datetime) -> str:
    """A build time as people read it: `26.11.2026 kl. 07:31`."""
    return f"{norsk.date(when.date())} kl. {when:%H:%M}"


def provenance(
    as_of: dt.date, year: int, sha256: dict[str, str], kommune: str, built: dt.datetime
) -> Provenance:
    """Provenance for pages of `kommune` built at `built`."""
    return Provenance(
        as_of=norsk.date(as_of),
        year=year,
        kommune=kommune,
        built=built_text(built),
        version=__version__,
        commit=git_commit(),
        files=sorted(sha256.items()),
    )


def _cell(column: str, value: object) -> str:
    """A key figure as the index and restatements show it: the unit is in the header."""
    if column not in measures.MEASURES:
        return str(value)
    return measures.format_bare(column, value)


def export_text(column: str, text: str | None) -> str:
    """A cell of nokkeltall.csv as people read it (`46,3`; `:` for hidden; `–` for none)."""
    if text is None or text == "":
        return norsk.MISSING
    try:
        value = float(text)
    except ValueError:
        return text
    return _cell(column, value)


def figure_table(figures: pl.DataFrame) -> dict:
    """The key figures formatted for people: headers, rows of text, and the privacy note."""
    cols = [c for c in FIGURE_HEADERS if c in figures.columns]

    def cell(rec: dict, c: str) -> str:
        hidden = rec.get(gate.flag(c)) is not None
        return gate.SUPPRESSED if hidden else _cell(c, rec[c])

    rows = [[cell(rec, c) for c in cols] for rec in figures.iter_rows(named=True)]
    return {
        "region": widgets.region_class(len(cols)),
        "section": "liggende" if len(cols) >= widgets.LANDSCAPE_TABLE else "",
        "header": [FIGURE_HEADERS[c] for c in cols],
        "rows": rows,
        "note": gate.footnote(figures),
    }


# ---- Content-Security-Policy --------------------------------------------------------------

_POLICY_PLACEHOLDER = "__vtklean_content_policy__"
_SCRIPT_START = re.compile(r"<script\b([^>]*)>", re.I)
_SCRIPT_END = re.compile(r"</script\s*>", re.I)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.S | re.I)
_NEW_PLOT = re.compile(r"Plotly\.newPlot\((.*)\);", re.S)
_JS_TYPES = ("", "text/javascript", "application/javascript", "module")


def _trusted_script(code: str) -> bool:
    """Whether an inline script is one the project writes itself.

    Three shapes only: the embedded plotly.js bundle, the page's print and chart scripts, and a
    `Plotly.newPlot(...)` call whose arguments are pure JSON (data, never code). A script of
    any other shape gets no hash, so the browser refuses to run it.
    """
    if code == widgets.plotlyjs() or code in (_template("print.js"), _template("charts.js")):
        return True
    call = _NEW_PLOT.fullmatch(code)
    if call is None:
        return False
    try:
        json.loads(f"[{call.group(1)}]")
    except ValueError:
        return False
    return True


@functools.cache
def _template(name: str) -> str:
    return _ENV.get_template(name).render()


def _scripts(page: str) -> list[tuple[str, str]]:
    """Each inline script of the page: (its tag's attributes, its code).

    The end of each script is searched for on its own: a single pattern with a lazy
    `(.*?)</script>` tries the end tag at every character of the 1,3 MB plotly.js bundle.
    """
    found = []
    start = _SCRIPT_START.search(page)
    while start is not None:
        end = _SCRIPT_END.search(page, start.end())
        if end is None:
            break
        found.append((start.group(1), page[start.end() : end.start()]))
        start = _SCRIPT_START.search(page, end.end())
    return found


def _source_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_policy(page: str) -> str:
    """The page's Content-Security-Policy: nothing from the network, only its own scripts.

    `script-src` lists the SHA-256 of each inline script the project wrote (see
    `_trusted_script`), so injected scripts and inline event handlers are blocked;
    `default-src 'none'` blocks every request; images and fonts only from `data:`.
    `style-src` lists the house style sheet and the empty block plotly.js fills through
    the CSS object model (which a policy does not restrict).
    """
    hashes = []
    for attrs, code in _scripts(page):
        kind = re.search(r"""type\s*=\s*["']?([^"'\s>]*)""", attrs, re.I)
        if kind is not None and kind.group(1).lower() not in _JS_TYPES:
            continue  # a data block, never run
        if _trusted_script(code):
            hashes.append(_source_hash(code))
        else:
            log.warning("Et innebygd skript på siden ble ikke godkjent og vil ikke kjøre")
    scripts = " ".join(dict.fromkeys(hashes)) or "'none'"
    trusted_styles = ("", _ENV.get_template("style.css").render())
    for css in _STYLE.findall(page):
        if css not in trusted_styles:
            log.warning("En innebygd stilblokk på siden ble ikke godkjent og blir ikke brukt")
    styles = " ".join(_source_hash(css) for css in trusted_styles)
    return (
        f"default-src 'none'; script-src {scripts}; style-src {styles}; "
        "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
    )


def _page(template: str, **context: object) -> str:
    """Render a page template, then put the page's content policy in its head."""
    page = _ENV.get_template(template).render(
        content_policy_placeholder=_POLICY_PLACEHOLDER, **context
    )
    return page.replace(_POLICY_PLACEHOLDER, escape.html_text(content_policy(page)), 1)


def goal_rows(goals: pl.DataFrame | None) -> list[dict]:
    """The target table (targets.table) as the index shows it: words, never colour alone."""
    if goals is None:
        return []
    return [
        {
            "area": g["tjenesteomrade"],
            "name": g["navn"],
            "goal": targets.goal_phrase(g),
            "value": measures.format_page(g["indikator"], g["verdi"]),
            "status": targets.status_text(g),
            "css": targets.CSS.get(g["status"] or "", "status-ingen"),
        }
        for g in goals.iter_rows(named=True)
    ]


def index_page(
    title: str,
    as_of: dt.date,
    pages: list[dict],
    figures: pl.DataFrame,
    prov: Provenance,
    changes: Restatement | None = None,
    earlier: Sequence[dict] = (),
    missing: str | None = None,
    headline: Sequence[str] = (),
    goals: pl.DataFrame | None = None,
) -> str:
    """The index of a report folder: links to every page, the key figures, and what changed.

    `changes` is a `restate.Restatement` against the last report for the same date (None
    for the first); `earlier` lists the archived versions (`built`, `href`), newest first;
    `missing` says which months of the year have no resource rows.
    """
    return _page(
        "index.html.j2",
        title=title,
        as_of_text=norsk.date(as_of),
        pages=pages,
        figures=figure_table(figures),
        prov=prov,
        changes=changes,
        changes_built=built_text(changes.previous_built) if changes else None,
        earlier=earlier,
        missing=missing,
        headline=headline,
        goals=goal_rows(goals),
    )


_H2 = re.compile(r"<h2>(.*?)</h2>", re.S)
TOC_MIN_SECTIONS = 3


def with_contents(body: str) -> str:
    """Give each section heading an id and put a short table of contents after the h1."""
    sections: list[tuple[str, str]] = []

    def anchor(match: re.Match) -> str:
        text = match.group(1)
        slug = f"del-{len(sections) + 1}-{normalise_name(html.unescape(text))}"
        sections.append((slug, text))
        return f'<h2 id="{slug}">{text}</h2>'

    body = _H2.sub(anchor, body)
    if len(sections) < TOC_MIN_SECTIONS or "</h1>" not in body:
        return body
    items = "".join(f'<li><a href="#{slug}">{text}</a></li>' for slug, text in sections)
    nav = f'<nav class="innhold" aria-label="Innhold på siden"><p>Innhold</p><ul>{items}</ul></nav>'
    return body.replace("</h1>", "</h1>" + nav, 1)


def notebook_page(job: Job, body: str, prov: Provenance) -> str:
    """Wrap an exported notebook body in the house page (lang, title, style, provenance)."""
    return _page("notatbok.html.j2", title=job.title, body=with_contents(body), prov=prov)


def accessibility_page(prov: Provenance) -> str:
    """The draft accessibility statement (tilgjengelighetserklæring) for a report year."""
    return _page(
        "tilgjengelighet.html.j2",
        title=f"Tilgjengelighetserklæring (utkast) – rapportene for {prov.year}",
        prov=prov,
    )
