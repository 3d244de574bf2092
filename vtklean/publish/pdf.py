"""Print versions: one PDF per report page, drawn by headless Chromium with the network off."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from vtklean.core.errors import UsageError

log = logging.getLogger(__name__)

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
FOOTER = (
    '<div style="font-size:8pt;width:100%;text-align:center;color:#52606d;'
    'font-family:Arial,sans-serif"><span class="title"></span> – side '
    '<span class="pageNumber"></span> av <span class="totalPages"></span></div>'
)
A4_CONTENT_WIDTH_PX = 720  # A4 less 15 mm margins at 96 dpi: charts are laid out to fit


class PdfError(UsageError):
    """PDFs cannot be made here (no Chromium): exit code 2, like a wrong option."""


def chromium() -> str | None:
    """Path of Debian's Chromium, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def write_pdfs(folder: Path, pages: list[str]) -> list[Path]:
    """Print each `<page>.html` in `folder` to `<page>.pdf`, every chart drawn."""
    browser_path = chromium()
    if browser_path is None:
        raise PdfError("fant ikke Chromium; installer den med «apt-get install chromium»")
    from playwright.sync_api import sync_playwright  # imported only when printing

    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=list(CHROMIUM_FLAGS))
        context = browser.new_context(viewport={"width": A4_CONTENT_WIDTH_PX, "height": 1000})
        context.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort(),
        )
        for name in pages:
            page = context.new_page()
            page.goto((folder / f"{name}.html").as_uri(), wait_until="load")
            charts = page.locator("figure.diagram").count()
            if charts:
                page.wait_for_function(
                    "n => document.querySelectorAll('.js-plotly-plot .main-svg .trace').length"
                    " >= n",
                    arg=charts,
                    timeout=60_000,
                )
            page.emulate_media(media="print")
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            target = folder / f"{name}.pdf"
            page.pdf(
                path=str(target),
                format="A4",
                prefer_css_page_size=True,  # wide tables are on landscape pages (style.css)
                print_background=True,
                margin={"top": "15mm", "bottom": "18mm", "left": "15mm", "right": "15mm"},
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER,
            )
            log.info("Skrev %s", target)
            written.append(target)
            page.close()
        browser.close()
    return written
