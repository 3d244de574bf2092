"""Security: every data string is text in every output context (escape helpers and pages)."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter

from tests import hostile
from vtklean import escape

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
