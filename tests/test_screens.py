"""Screens: no table scrolls sideways at 1280 px; on a phone tables reflow, charts stay readable.

Also the page weight: every page small enough to send by e-mail, with the vendored
plotly.js partial bundle of the same version as the plotly package.
"""

from __future__ import annotations

import plotly.offline
import pytest

from tests.browser import offline_browser, wait_for_charts
from vtklean.publish import widgets

MAX_PAGE_BYTES = 1_500_000  # 1,5 MB
MAX_SET_BYTES = 15_000_000  # all pages of a year together: under common mail limits
# A phone as Playwright's "iPhone 13" describes it, in Debian's Chromium.
PHONE = {
    "viewport": {"width": 390, "height": 664},
    "screen": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

OVERFLOWING_TABLES = """() => [...document.querySelectorAll('.tabell')]
  .filter(t => t.scrollWidth > t.clientWidth + 1)
  .map(t => t.getAttribute('aria-label'))"""

# For each chart: the plot area, its bars (length along the value axis) and value labels.
CHART_BOXES = """() => [...document.querySelectorAll('figure.diagram .js-plotly-plot')].map(g => {
  const svg = g.querySelector('.main-svg').getBoundingClientRect();
  const area = g.querySelector('.nsewdrag').getBoundingClientRect();
  const horizontal = g._fullData.some(d => d.type === 'bar' && d.orientation === 'h');
  const lengths = [...g.querySelectorAll('.trace.bars .point path')].map(p => {
    const b = p.getBoundingClientRect();
    return horizontal ? b.width : b.height;
  });
  const labels = [...g.querySelectorAll('.textpoint text, .bartext')].map(t => {
    const b = t.getBoundingClientRect();
    return {text: t.textContent, left: b.left, right: b.right};
  });
  return {id: g.id, svgLeft: svg.left, svgRight: svg.right, plotWidth: area.width,
          plotHeight: area.height, horizontal, lengths, labels};
})"""


def _pages(suite) -> list:
    return sorted(suite["reports"].glob("*.html"))


def test_pages_are_small_enough_to_e_mail(suite):
    sizes = {p.name: p.stat().st_size for p in _pages(suite)}
    too_big = {name: size for name, size in sizes.items() if size > MAX_PAGE_BYTES}
    assert not too_big
    assert sum(sizes.values()) <= MAX_SET_BYTES


def test_pages_embed_the_vendored_bundle_of_plotlys_version(suite):
    assert widgets.plotlyjs_version() == plotly.offline.get_plotlyjs_version()
    bundle = widgets.plotlyjs()
    assert len(bundle) < len(plotly.offline.get_plotlyjs()) / 3
    chart_pages = [p for p in _pages(suite) if "Plotly.newPlot(" in p.read_text("utf-8")]
    assert len(chart_pages) >= 3
    for path in chart_pages:
        assert path.read_text(encoding="utf-8").count(bundle) == 1, path.name


def test_no_table_scrolls_sideways_at_1280_px(suite):
    with offline_browser(**DESKTOP) as (context, blocked):
        for path in _pages(suite):
            tab = context.new_page()
            tab.goto(path.as_uri(), wait_until="load")
            wait_for_charts(tab)
            tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            assert tab.evaluate(OVERFLOWING_TABLES) == [], path.name
            assert tab.evaluate("document.documentElement.scrollWidth") <= 1280, path.name
            if "Plotly.newPlot(" in path.read_text("utf-8"):
                version = tab.evaluate("Plotly.version")
                assert version == plotly.offline.get_plotlyjs_version()
            tab.close()
        assert blocked == []


@pytest.fixture(scope="module")
def phone_views(suite) -> dict:
    """Every page on a phone: overflowing tables, the widest cell edge, the charts' boxes."""
    out = {}
    with offline_browser(**PHONE) as (context, _):
        for path in _pages(suite):
            tab = context.new_page()
            tab.goto(path.as_uri(), wait_until="load")
            wait_for_charts(tab)
            tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            out[path.stem] = {
                "overflowing": tab.evaluate(OVERFLOWING_TABLES),
                "scroll_width": tab.evaluate("document.documentElement.scrollWidth"),
                "cell_right": tab.evaluate(
                    "Math.max(0, ...[...document.querySelectorAll('.tabell td, .tabell th')]"
                    ".map(c => c.getBoundingClientRect().right))"
                ),
                "charts": tab.evaluate(CHART_BOXES),
            }
            tab.close()
    return out


def test_tables_reflow_on_a_phone(phone_views):
    for name, view in phone_views.items():
        assert view["overflowing"] == [], name
        assert view["scroll_width"] <= 390, name
        assert view["cell_right"] <= 390, name


def test_charts_keep_readable_bars_and_whole_labels_on_a_phone(phone_views):
    seen = set()
    for name, view in phone_views.items():
        for chart in view["charts"]:
            seen.add(chart["id"])
            assert chart["plotWidth"] >= 150, (name, chart["id"])
            for label in chart["labels"]:
                inside = chart["svgLeft"] - 1 <= label["left"] and label["right"] <= 391
                assert inside and label["right"] <= chart["svgRight"] + 1, (name, label)
            if chart["lengths"]:
                room = chart["plotWidth"] if chart["horizontal"] else chart["plotHeight"]
                assert max(chart["lengths"]) >= 0.3 * room, (name, chart["id"])
    assert "diagram-etterslep" in seen  # the pending-gains chart was among them
