"""WCAG 2.1 AA checks on every page of the sample build, and the print/PDF versions."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import plotly.graph_objects as go
import pytest

from tests.browser import offline_browser, wait_for_charts
from vtklean.model import figures, processed
from vtklean.publish import charts

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _pages(suite) -> list[Path]:
    return sorted(suite["reports"].glob("*.html"))


def test_axe_finds_no_serious_or_critical_violation(suite):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    found = {}
    with offline_browser() as (context, _):
        for path in _pages(suite):
            page = context.new_page()
            page.goto(path.as_uri(), wait_until="load")
            wait_for_charts(page)
            result = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
            bad = [
                (v["id"], v["impact"], len(v["nodes"]))
                for v in result.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            if bad:
                found[path.name] = bad
            assert result.response["passes"], path.name  # axe really ran
            page.close()
    assert found == {}


def test_reflow_at_320_px_without_horizontal_page_scroll(suite):
    with offline_browser(viewport={"width": 320, "height": 800}) as (context, _):
        for path in _pages(suite):
            page = context.new_page()
            page.goto(path.as_uri(), wait_until="load")
            wait_for_charts(page)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, (path.name, width)
            page.close()


def test_keyboard_first_stop_is_the_skip_link(suite):
    with offline_browser() as (context, _):
        page = context.new_page()
        page.goto((suite["reports"] / "oversikt.html").as_uri(), wait_until="load")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.getAttribute('href')") == "#innhold"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
        # Every folded table opens from the keyboard.
        page.focus("details summary")
        page.keyboard.press("Enter")
        assert page.evaluate("document.querySelector('details').open")


def _headings(html: str) -> list[int]:
    return [int(level) for level in re.findall(r"<h([1-6])[ >]", html)]


@pytest.mark.parametrize(
    "name", ["oversikt", "tjenesteomrade-omsorg", "datakvalitet", "index", "pilot-effekter"]
)
def test_headings_in_order_and_contents_on_long_pages(suite, name):
    html = (suite["reports"] / f"{name}.html").read_text(encoding="utf-8")
    levels = _headings(html)
    assert levels.count(1) == 1 and levels[0] == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, (name, levels)
    if name.startswith(("oversikt", "tjenesteomrade")):
        targets = re.findall(r'<nav class="innhold".*?</nav>', html, re.S)[0]
        for anchor in re.findall(r'href="#([^"]+)"', targets):
            assert f'id="{anchor}"' in html


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _colours(fig) -> list[str]:
    out = []
    for trace in fig.data:
        colour = (getattr(trace, "marker", None) and trace.marker.color) or (
            getattr(trace, "line", None) and trace.line.color
        )
        if isinstance(colour, str):
            out.append(colour)
    return out


def test_chart_colours_have_3_to_1_contrast_and_more_than_colour(suite):
    data = processed.load(suite["reports"].parent.parent / "processed" / "2017")
    ds = data.datasets
    built = [
        charts.gains_history(figures.gains_history(ds), "31.12.2017"),
        charts.rollout(figures.rollout(ds)),
        charts.by_category(figures.category_totals(ds)),
        charts.by_method(figures.method_totals(ds)),
        charts.backlog(figures.backlog(ds), "31.12.2017"),
        charts.sick_leave(figures.monthly_sick_leave(ds), figures.lean_starts(ds)),
        charts.area_comparison(data.key_figures),
    ]
    for chart in built:
        fig = go.Figure(chart.figure)  # plotly's objects, to read the properties it resolves
        colours = _colours(fig)
        assert colours, chart.key
        for colour in colours:
            assert contrast(colour, "#ffffff") >= 3.0, (chart.key, colour)
        if len(fig.data) > 1:  # series also differ by pattern, symbol or mode
            looks = {
                (
                    str(getattr(getattr(t, "marker", None), "pattern", None)),
                    str(getattr(getattr(t, "marker", None), "symbol", None)),
                    getattr(t, "mode", None),
                    getattr(t, "type", None),
                )
                for t in fig.data
            }
            assert len(looks) == len(fig.data) or chart.key == "utrulling", chart.key
        assert fig.layout.xaxis.title.text, chart.key


def _ppm_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    header = data.split(b"\n", 3)
    width, height = map(int, header[1].split())
    return width, height, header[3]


def _dark_blue_share(pixels: bytes) -> float:
    count = 0
    for i in range(0, len(pixels) - 2, 3):
        r, g, b = pixels[i], pixels[i + 1], pixels[i + 2]
        if r < 60 and 60 < g < 110 and 90 < b < 140:  # the bar colour #1b4f72
            count += 1
    return count / (len(pixels) / 3)


def test_overview_pdf_shows_every_chart_and_the_key_figures(suite, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed")
    pdf_path = suite["reports"] / "oversikt.pdf"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for figure_text in ("46,3", "33,1", "43 av 76", "31.12.2017", "side 1 av"):
        assert figure_text in text
    # Axis titles exist only in the drawn charts (SVG text), never in the page's own text.
    html = (suite["reports"] / "oversikt.html").read_text(encoding="utf-8")
    titles = set(re.findall(r'"title":\s*\{"text":\s*"([^"]+)"', html))
    decoded = {json.loads(f'"{t}"') for t in titles}
    missing = [t for t in decoded if t.split(" (")[0] not in text]
    assert not missing, missing
    subprocess.run(["pdftoppm", "-r", "30", str(pdf_path), str(tmp_path / "side")], check=True)
    pages = sorted(tmp_path.glob("side-*.ppm"))
    assert len(pages) >= 5
    with_bars = [p.name for p in pages if _dark_blue_share(_ppm_pixels(p)[2]) > 0.002]
    chart_count = html.count("Plotly.newPlot(")
    assert len(with_bars) >= chart_count // 2, with_bars


def test_every_page_has_a_pdf(suite):
    html_pages = {p.stem for p in _pages(suite)} - {"tilgjengelighet"}
    pdfs = {p.stem for p in suite["reports"].glob("*.pdf")}
    assert pdfs == html_pages
    for path in suite["reports"].glob("*.pdf"):
        assert path.read_bytes().startswith(b"%PDF")


def test_accessibility_statement_is_linked_from_the_index(suite):
    index = (suite["reports"] / "index.html").read_text(encoding="utf-8")
    assert 'href="tilgjengelighet.html"' in index
    statement = (suite["reports"] / "tilgjengelighet.html").read_text(encoding="utf-8")
    assert "WCAG 2.1" in statement and "axe-core" in statement
