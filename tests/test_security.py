"""Security: every data string is text in every output context (escape helpers and pages)."""

from __future__ import annotations

import csv
import html
import json
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from tests import helpers, hostile
from tests.browser import offline_browser, wait_for_charts
from tests.conftest import run_build
from vtklean.core import escape, paths
from vtklean.publish import charts

CORPUS = hostile.corpus()


class _Parsed(HTMLParser):
    """Tags, attributes and text of an HTML fragment, as a browser's tokenizer sees them."""

    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.text = ""
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text += data


def test_html_text_is_text_in_content_and_attributes():
    for s in CORPUS:
        out = escape.html_text(s)
        in_content = _Parsed(f"<p>{out}</p>")
        assert in_content.tags == [("p", [])], s
        assert in_content.text == s, s
        in_attribute = _Parsed(f"<p title=\"{out}\" class='{out}'>x</p>")
        assert in_attribute.tags == [("p", [("title", s), ("class", s)])], s
    assert escape.html_text(None) == ""


def test_script_json_is_the_same_data_and_cannot_leave_the_script():
    for s in CORPUS:
        out = escape.script_json({"navn": s, "liste": [s]})
        assert json.loads(out) == {"navn": s, "liste": [s]}
        for char in ("<", ">", "&", "\u2028", "\u2029"):
            assert char not in out, (s, char)
    # numpy arrays and NaN, as plotly figures carry them
    np = pytest.importorskip("numpy")
    assert json.loads(escape.script_json({"y": np.array([1.5, np.nan])})) == {"y": [1.5, None]}


def _plotly_decode(text: str) -> str:
    """What plotly.js shows for a label: tags are markup, then &amp; &lt; &gt; are decoded."""
    assert "<" not in text and ">" not in text  # no tag plotly could interpret
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_plotly_text_shows_every_string_literally():
    for s in CORPUS:
        assert _plotly_decode(escape.plotly_text(s)) == s
    assert escape.plotly_texts(["<b>", None]) == ["&lt;b&gt;", None]


def test_csv_cell_neutralises_formula_starts_and_keeps_numbers():
    dangerous = [s for s in CORPUS if s[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert len(dangerous) >= 8  # the corpus does exercise the rule
    for s in CORPUS:
        out = escape.csv_cell(s)
        assert not str(out).startswith(escape.FORMULA_TRIGGERS)
        assert out == (f"'{s}" if s in dangerous else s)
    for number in (-1, -2.5, 0, 1e9):
        assert escape.csv_cell(number) == number
    assert escape.csv_cell(None) is None
    frame = pl.DataFrame({"tekst": CORPUS, "tall": list(range(-len(CORPUS), 0))})
    safe = escape.csv_frame(frame)
    assert safe.get_column("tekst").to_list() == [escape.csv_cell(s) for s in CORPUS]
    assert safe.get_column("tall").to_list() == frame.get_column("tall").to_list()
    assert safe.schema == frame.schema


def test_sheet_cell_writes_text_as_text_and_numbers_as_numbers(tmp_path: Path):
    import datetime as dt

    path = tmp_path / "celler.xlsx"
    values = [*CORPUS, -3, 2.5, dt.date(2017, 12, 31), None]
    with xlsxwriter.Workbook(str(path)) as wb:  # default options: write() would make formulas
        sheet = wb.add_worksheet()
        for row, value in enumerate(values):
            escape.sheet_cell(sheet, row, 0, value)
    cells = [row[0] for row in openpyxl.load_workbook(path).active.iter_rows(max_col=1)]
    assert [c.data_type for c in cells if c.data_type == "f"] == []
    assert len(cells) == len(values) - 1  # the trailing blank is not stored
    for cell, value in zip(cells, values, strict=False):
        if isinstance(value, str):
            assert cell.data_type == "s"
            # xlsx cannot hold most control characters: xlsxwriter writes them as _xHHHH_
            # escapes (Excel decodes them, openpyxl does not), and XML may read CR as LF
            shown = re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)), cell.value)
            assert re.sub(r"\r\n?", "\n", shown) == re.sub(r"\r\n?", "\n", value), value[:40]
    assert [c.value for c in cells[len(CORPUS) : len(CORPUS) + 2]] == [-3, 2.5]
    assert cells[len(CORPUS)].data_type == "n"


SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?$")


def test_slug_is_safe_unique_and_stable(tmp_path: Path):
    taken: set[str] = set()
    slugs = [escape.slug(s, taken) for s in CORPUS]
    assert len(set(slugs)) == len(CORPUS)  # every name its own page
    for s, out in zip(CORPUS, slugs, strict=True):
        assert SLUG.match(out), (s, out)
        assert len(out) <= escape.SLUG_MAX + 12
        assert out not in {"con", "prn", "aux", "nul", "com1", "lpt1"}
        page = (tmp_path / f"{out}.html").resolve()
        assert page.parent == tmp_path.resolve()
    # the same names in the same order give the same slugs (links survive a rebuild)
    again: set[str] = set()
    assert [escape.slug(s, again) for s in CORPUS] == slugs
    # names that slug alike: the first keeps the plain slug, the next gets a stable suffix
    pair: set[str] = set()
    first, second = escape.slug("Helse og omsorg", pair), escape.slug("Helse- og omsorg", pair)
    assert first == "helse_og_omsorg" and second.startswith("helse_og_omsorg-")
    assert escape.slug("Tjenesteområde Ærø", set()) == "tjenesteomrade_aero"
    assert escape.slug("😀") != escape.slug("???")
    assert escape.slug("x" * 10_000) != escape.slug("x" * 10_000 + "y", {escape.slug("x" * 10_000)})


def test_html_text_matches_jinja_autoescape():
    import jinja2

    env = jinja2.Environment(autoescape=True)
    for s in CORPUS[:60]:
        assert env.from_string("{{ s }}").render(s=s) == escape.html_text(s)
    assert html.unescape(escape.html_text("<&>")) == "<&>"


# ---- the whole suite built from hostile data, opened in Chromium --------------------------


def _files(folder: Path) -> dict[str, str]:
    return helpers.tree_hashes(folder) if folder.exists() else {}


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory) -> dict:
    """The whole report suite built once from a raw folder full of hostile strings."""
    base = tmp_path_factory.mktemp("fiendtlig")
    planted = hostile.write_folder(base / "raw")
    before = _files(base)
    root_before = sorted(p.name for p in paths.ROOT.iterdir())
    parent_before = sorted(p.name for p in base.parent.iterdir())
    out = base / "ut"
    code = run_build(
        planted.raw, out, "--year", "2017", "--params", str(planted.params), pages=True
    )
    assert code == 0
    return {
        "planted": planted,
        "base": base,
        "before": before,
        "after": _files(base),
        "root_before": root_before,
        "parent_before": parent_before,
        "reports": out / "reports" / "2017",
        "processed": out / "processed" / "2017",
    }


# Set before any script of the page runs: policy violations and the flag hostile code sets.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", e =>
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline")));
"""

# Hover every point of every chart (plotly's own hover, as the mouse would), collecting the
# hover labels' text and counting links plotly made in any chart. plotly throttles hovers
# to one per 50 ms of Date.now(); the clock is stepped so that each hover is drawn at once.
HOVER_ALL = """() => {
  const texts = [];
  const realNow = Date.now;
  let clock = realNow();
  Date.now = () => (clock += 1000);
  for (const gd of document.querySelectorAll(".js-plotly-plot")) {
    gd.data.forEach((trace, curve) => {
      const n = (trace.x || trace.y || []).length;
      for (let point = 0; point < n; point++) {
        Plotly.Fx.hover(gd, [{curveNumber: curve, pointNumber: point}]);
        const layer = gd.querySelector(".hoverlayer");
        if (layer) texts.push(layer.textContent);
      }
    });
    Plotly.Fx.unhover(gd);
  }
  Date.now = realNow;
  return {texts, links: document.querySelectorAll("svg a").length};
}"""


# What a page shows after all that: the flag, policy violations, its text (outside scripts
# and styles, folded tables included), its title and the index's list of pages.
STATE = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest("script, style")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.data);
  return {
    pwned: window.__pwned,
    violations: window.__violations,
    text: parts.join(" "),
    title: document.title,
    links: [...document.querySelectorAll("ul.sider a")]
      .map(a => [a.textContent, a.getAttribute("href")]),
  };
}"""


def _normalise(text: str) -> str:
    """Text as an HTML parser keeps it: NUL becomes U+FFFD; runs of white space as one."""
    return " ".join(text.replace("\x00", "\ufffd").split())


def test_hostile_suite_runs_nothing_and_shows_the_names_as_text(hostile_build):
    planted = hostile_build["planted"]
    folder = hostile_build["reports"]
    pages = sorted(folder.glob("*.html"))
    titles: dict[str, str] = {}
    hovered: list[str] = []
    every_text: list[str] = []
    with offline_browser() as (context, blocked):
        context.add_init_script(WATCH)
        for path in pages:
            page = context.new_page()
            dialogs: list[str] = []
            errors: list[str] = []
            page.on("dialog", lambda d, dialogs=dialogs: (dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(path.as_uri(), wait_until="load")
            if wait_for_charts(page):
                result = page.evaluate(HOVER_ALL)
                hovered += result["texts"]
                assert result["links"] == 0, path.name
            for link in page.locator("a[href]").all():
                link.focus()
            state = page.evaluate(STATE)
            assert state["pwned"] is None, path.name
            assert dialogs == [] and errors == [], (path.name, dialogs, errors)
            assert state["violations"] == [], (path.name, state["violations"])
            titles[path.name] = state["title"]
            every_text.append(_normalise(state["text"]))
            if path.name == "index.html":
                index_links = dict(state["links"])
            elif path.name == "oversikt.html":
                overview = _normalise(state["text"])
            else:
                texts = _normalise(state["text"])
                for area, units in planted.units.items():
                    if state["title"].startswith(f"{area} – "):
                        assert all(_normalise(u) in texts for u in units), (area[:40], path.name)
            page.close()
    assert blocked == []
    # every area has its own page, linked from the index under its literal name
    hrefs = [index_links[f"{area} – Lean og ressursbruk 2017"] for area in planted.areas]
    assert len(set(hrefs)) == len(planted.areas)
    assert all((folder / href).is_file() for href in hrefs)
    for area, href in zip(planted.areas, hrefs, strict=True):
        assert titles[href].startswith(f"{area} – "), area[:40]
        assert _normalise(area) in overview
    # the leaders' comments for the year are shown, as text
    shown_anywhere = " ".join(every_text)
    missing = [c for c in planted.comments.get(2017, []) if _normalise(c) not in shown_anywhere]
    assert missing == []
    # the hover labels show the names as text (plotly read none of them as markup); a long
    # name is shortened in the middle (the table under the chart has all of it)
    shown = " ".join(_normalise(t) for t in hovered)
    for area in planted.areas:
        parts = [area] if len(area) <= charts.LABEL_MAX else [area[:30], area[-10:]]
        assert all(_normalise(p) in shown for p in parts), area[:40]


def test_hostile_build_writes_only_its_output_folders(hostile_build):
    base, out = hostile_build["base"], "ut/"
    assert sorted(p.name for p in base.parent.iterdir()) == hostile_build["parent_before"]
    before, after = hostile_build["before"], hostile_build["after"]
    assert {k: v for k, v in after.items() if not k.startswith(out)} == before  # raw untouched
    new = [k for k in after if k.startswith(out)]
    assert new and all(k.startswith(("ut/reports/", "ut/processed/")) for k in new)
    assert sorted(p.name for p in paths.ROOT.iterdir()) == hostile_build["root_before"]
    pages = [p.name for p in hostile_build["reports"].glob("*.html")]
    assert all(len(name) <= 120 and re.fullmatch(r"[a-z0-9_-]+\.html", name) for name in pages)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_hostile_exports_hold_no_formula_and_neutralise_csv_cells(hostile_build):
    folder, areas = hostile_build["reports"], hostile_build["planted"].areas
    workbooks = list(folder.rglob("*.xlsx"))
    assert workbooks
    for path in workbooks:
        wb = openpyxl.load_workbook(path)
        formulas = [
            (ws.title, c.coordinate)
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if c.data_type == "f"
        ]
        assert formulas == [], path.name
        texts = {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
        if path.name == "nokkeltall.xlsx":
            assert set(areas) <= texts  # the names as they are, as text cells
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        formulas = [c for c in cells if c.startswith(escape.FORMULA_TRIGGERS) and not _number(c)]
        assert formulas == [], path.name
        assert any(_number(c) and c.startswith("-") for c in cells)  # numbers stay numbers
    with (folder / "nokkeltall.csv").open(encoding="utf-8", newline="") as fh:
        shown = {r["tjenesteomrade"] for r in csv.DictReader(fh)}
    assert {escape.csv_cell(a) for a in areas} <= shown
    assert "'" + areas[3] in shown  # =HYPERLINK(...) is text with a leading apostrophe


def _policy(page_html: str) -> dict[str, list[str]]:
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page_html)
    assert meta is not None
    directives = [d.split() for d in html.unescape(meta.group(1)).split(";")]
    return {d[0]: d[1:] for d in directives if d}


def _sha256(text: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_content_policy_lets_only_the_projects_own_scripts_run():
    from vtklean.publish import execute, render, widgets

    years = pl.DataFrame({"ar": [2016, 2017], "arsverk": [10.0, 12.5]})
    own = str(widgets.setup()) + str(widgets.chart(charts.fte(helpers.gated(years))))
    injected = (
        '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'
        '<script>Plotly.newPlot("x", [], {}, {}); window.__pwned=1;</script>'
        "<style>body{display:none}</style>"
    )
    prov = render.Provenance("31.12.2017", 2017, "Vestre Toten", "i dag", "0", None, ())
    job = execute.Job("x", "oversikt", "</title><script>window.__pwned=1</script>", ())
    built = render.notebook_page(job, own + injected, prov)
    policy = _policy(built)
    assert policy["default-src"] == ["'none'"]
    assert policy["img-src"] == ["data:"] and policy["font-src"] == ["data:"]
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", built, re.S)
    allowed = set(policy["script-src"])
    assert [s[:40] for s in scripts if _sha256(s) in allowed] == [
        s[:40] for s in scripts if "__pwned" not in s
    ]
    assert len(allowed) == 4  # plotly.js, the chart, the print and the chart-layout script
    for directive in ("script-src", "style-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'"} & set(policy[directive])
    assert _sha256("body{display:none}") not in policy["style-src"]
    assert "<title>&lt;/title&gt;&lt;script&gt;" in built


def test_inline_scripts_are_found_as_one_whole_page_pattern_finds_them():
    """The content policy's script scan (an end tag searched per script) reads pages alike."""
    from vtklean.publish import render, widgets

    whole = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
    pages = [
        "",
        "<p>ingen skript</p>",
        "<script>a</script>",
        "<SCRIPT type='x'>a</Script >b<script>c</script>",
        "<script>a<script>b</script>c</script><script>d</script>",
        "<script>uten slutt",
        "<script>a</script<script>b</script>",
        "<scripts>ikke</scripts><script src=x></script><script>1</script\n>",
        "<script\n data-x='>'>2</script>",
        str(widgets.setup()) + "<script>window.__pwned=1</script>" * 3,
    ]
    for page in pages:
        assert render._scripts(page) == whole.findall(page), page[:80]


def test_chart_categories_stay_distinct_and_literal():
    long = "Helse og omsorg " * 625
    names = [long + "a", long + "b", "<b>Omsorg</b>", "Omsorg", "Omsorg"]
    fig = charts._figure("", "")
    charts._bars(fig, names, [("Serie <i>", [1.0] * 5)], " %")
    categories = fig["data"][0]["x"]
    assert len(set(categories)) == len(names)  # no two names share a bar
    assert all(len(html.unescape(c)) <= charts.LABEL_MAX + 4 for c in categories)
    assert html.unescape(categories[2]) == "<b>Omsorg</b>" and "<" not in categories[2]
    assert fig["data"][0]["name"] == "Serie &lt;i&gt;"


def test_text_full_of_semicolons_does_not_change_the_delimiter(tmp_path: Path):
    from vtklean.ingest import read

    tables = helpers.tiny_tables()
    name = "&amp; &lt;b&gt; &#60;script&#62; ;;;;;;"
    tables["enheter"][0]["enhet"] = name
    raw = helpers.write_folder(tmp_path / "raw", tables)  # `,`-separated
    data = read.read_folder(raw)
    assert not data.problems
    assert data.tables["enheter"].data.get_column("enhet").to_list()[0] == name


def test_terminal_text_shows_control_characters_instead_of_obeying_them():
    assert escape.terminal_text("Sjøli – «ok»\nneste linje") == "Sjøli – «ok»\nneste linje"
    shown = escape.terminal_text("a\x1b]0;tittel\x07b\u202ec\rd\x9b")
    assert shown == "a\\x1b]0;tittel\\x07b\\u202ec\\x0dd\\x9b"
    for s in CORPUS:
        out = escape.terminal_text(s)
        assert not [ch for ch in out if unicodedata.category(ch) == "Cc" and ch != "\n"]
        assert not set(out) & {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066"}


def test_a_bad_value_with_escape_codes_is_quoted_harmlessly_in_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = helpers.tiny_tables()
    tables["gevinster"][0]["identifisert"] = "\x1b[2J\x1b]0;pwned\x07igår"
    raw = helpers.write_folder(tmp_path / "raw", tables)
    assert run_build(raw, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\x1b[2J\\x1b]0;pwned\\x07igår" in err
    assert not (tmp_path / "out" / "reports").exists()
