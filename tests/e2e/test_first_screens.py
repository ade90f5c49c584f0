"""Every page, opened fresh with nothing pressed, shows a figure with data on its first screen: at 1440 x 900 and on a
390 x 844 phone."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import HAS_DATA, PHONE_USER_AGENT, PHONE_VIEWPORT, VIEWPORT, settled
from ui.components import PAGES

pytestmark = pytest.mark.e2e

FIRST_FIGURE_TIMEOUT_MS = 60_000  # generous: a fresh server's first run imports torch, and this machine is shared
JOB_END_TIMEOUT_MS = 240_000  # a first visit's small job (Train: 5 epochs; Sensitivity: 16 runs of 3 epochs)
SCREENS = {"desktop": {"viewport": VIEWPORT},
           "phone": {"viewport": PHONE_VIEWPORT, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
                     "user_agent": PHONE_USER_AGENT}}


def _first_screen_shows_a_figure(tab: Page) -> None:
    """A Plotly chart with data whose top lies within the first screen (no scrolling), measured once the first run
    has laid the page out (mid-run, on a loaded machine, a later chart was once drawn before the first). Read in one
    go in the page: a live page (Train) redraws its charts while it polls, so a chart found a moment ago may be gone.
    """
    height = (tab.viewport_size or VIEWPORT)["height"]
    expect(tab.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=FIRST_FIGURE_TIMEOUT_MS)
    first_chart = f"""() => {{
        const chart = document.querySelector('[data-testid=stPlotlyChart]');
        return chart && ({HAS_DATA})(chart) ? {{top: chart.getBoundingClientRect().top + window.scrollY}} : null;
    }}"""
    tab.wait_for_function(first_chart, timeout=FIRST_FIGURE_TIMEOUT_MS)
    settled(tab, FIRST_FIGURE_TIMEOUT_MS)
    top = tab.wait_for_function(first_chart, timeout=FIRST_FIGURE_TIMEOUT_MS).json_value()["top"]
    assert top < height - 100, f"the first figure starts at {top} px, below the first screen"


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize(("file", "path"), [(file, path) for file, _, _, path in PAGES], ids=lambda value: str(value))
def test_a_page_opened_fresh_shows_a_figure_at_once(browser: Browser, app_url: str, screen: str, file: str,
                                                    path: str | None,
                                                    screenshot: Callable[..., Path]) -> None:
    context = browser.new_context(**SCREENS[screen])  # type: ignore[arg-type]
    tab = context.new_page()
    try:
        tab.goto(f"{app_url}/{path or ''}")
        if path is None:  # Home: the lessons' and pages' pictures, at once
            expect(tab.get_by_test_id("stImage").first).to_be_visible(timeout=FIRST_FIGURE_TIMEOUT_MS)
            settled(tab, FIRST_FIGURE_TIMEOUT_MS)  # measured once the first run has laid the page out
            top = tab.get_by_test_id("stImage").first.bounding_box()["y"]  # type: ignore[index]
            assert top < tab.viewport_size["height"] - 100, f"the first picture starts at {top} px"  # type: ignore[index]
        else:
            _first_screen_shows_a_figure(tab)
        expect(tab.get_by_test_id("stException")).to_have_count(0)
        screenshot(f"first_{file.removesuffix('.py')}_{screen}", tab, whole=False)
        # a page that started a job on this first visit (Train, Sensitivity): let it end, so that the tests after
        # this one find the shared server idle
        tab.wait_for_function("() => !Array.from(document.querySelectorAll('[data-testid=stProgress]'))"
                              ".some(bar => /running|queued/.test(bar.innerText))", timeout=JOB_END_TIMEOUT_MS)
    finally:
        context.close()
