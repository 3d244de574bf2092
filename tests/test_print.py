"""Printing: every table column is in each page's PDF, wide tables on landscape pages."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vtklean.publish import widgets

FOOTER = re.compile(r"side \d+ av \d+")


class Tables(HTMLParser):
    """Column headers of every table of a page, and the page's section headings."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[str]] = []
        self.headings: list[str] = []
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "th" and dict(attrs).get("scope") == "col":
            self._cell = []
        elif tag in ("h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag == "th" and self._cell is not None:
            self.tables[-1].append("".join(self._cell))
            self._cell = None
        elif tag in ("h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data):
        for part in (self._cell, self._heading):
            if part is not None:
                part.append(data)


def _tables(path: Path) -> Tables:
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _squash(text: str) -> str:
    """Text without spaces and hyphens, so a header wrapped over lines still matches."""
    return re.sub(r"[\s\-\u00ad\u2010]+", "", text)


def _pdf_pages(path: Path, layout: bool = False) -> list[str]:
    """Each PDF page's text: in print order (`-raw`, a table row on one line) or as laid out."""
    args = ["pdftotext", "-layout" if layout else "-raw", str(path), "-"]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def _sizes(path: Path) -> list[tuple[float, float]]:
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", out)]


@pytest.fixture(scope="module")
def printed(suite) -> list[Path]:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils is not installed")
    pdfs = sorted(suite["reports"].glob("*.pdf"))
    assert pdfs
    return pdfs


def test_every_table_header_is_in_the_pdf(printed):
    checked = 0
    for pdf_path in printed:
        html = pdf_path.with_suffix(".html")
        text = _squash("".join(_pdf_pages(pdf_path)))
        for headers in _tables(html).tables:
            missing = [h for h in headers if _squash(h) not in text]
            assert not missing, f"{pdf_path.name}: {missing}"
            checked += len(headers)
    assert checked > 50


def test_every_key_figure_of_the_index_is_in_its_pdf(printed, suite):
    """The index's key-figure table printed whole: each area's row, first to last value."""
    text = "\n".join(_pdf_pages(suite["reports"] / "index.pdf"))
    index = (suite["reports"] / "index.html").read_text(encoding="utf-8")
    table = index[index.index('aria-label="Nøkkeltall per') :].split("</table>")[0]
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table)
    assert len(rows) >= 2
    lines = [_squash(line) for line in text.splitlines()]
    for name, cells in rows:
        values = re.findall(r">([^<]*)</td>", cells)
        assert len(values) == 11
        printed_row = _squash(html.unescape(name) + "".join(values))
        assert printed_row in lines, (name, values)


def test_wide_tables_are_printed_landscape(printed):
    for pdf_path in printed:
        widest = max((len(t) for t in _tables(pdf_path.with_suffix(".html")).tables), default=0)
        sizes = _sizes(pdf_path)
        landscape = [w > h for w, h in sizes]
        assert any(landscape) == (widest >= widgets.LANDSCAPE_TABLE), pdf_path.name
        assert not all(landscape), pdf_path.name  # the text itself stays portrait


def test_no_heading_alone_at_a_page_bottom_and_no_empty_page(printed):
    for pdf_path in printed:
        headings = {_squash(h) for h in _tables(pdf_path.with_suffix(".html")).headings}
        pages = _pdf_pages(pdf_path, layout=True)
        for number, text in enumerate(pages, start=1):
            lines = [li for li in text.splitlines() if li.strip() and not FOOTER.search(li)]
            if number < len(pages):
                assert len(lines) >= 5, f"{pdf_path.name} side {number} is nearly empty"
            if lines and number < len(pages):
                assert _squash(lines[-1]) not in headings, f"{pdf_path.name} side {number}"
