"""Debian's Chromium driven by Playwright, with every request outside file: blocked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from vtklean.publish import pdf


@contextmanager
def offline_browser(**context_args) -> Iterator[tuple[object, list[str]]]:
    """A browser context that may only load files; yields (context, blocked URLs)."""
    browser_path = pdf.chromium()
    if browser_path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; .ci/run installs it from Debian")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path, args=list(pdf.CHROMIUM_FLAGS))
        context = browser.new_context(**context_args)

        def route(r):
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        try:
            yield context, blocked
        finally:
            browser.close()


def wait_for_charts(page) -> int:
    """Wait until every chart on the page has drawn its traces; return how many there are."""
    expected = page.locator("figure.diagram").count()
    if expected:
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .main-svg .trace').length >= n",
            arg=expected,
            timeout=30_000,
        )
    return expected
