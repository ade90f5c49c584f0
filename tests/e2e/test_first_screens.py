"""Every page, opened fresh with nothing pressed, shows a figure with data on its first screen: at 1440 x 900 and on a
390 x 844 phone."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.conftest import HAS_DATA, PHONE_USER_AGENT, PHONE_VIEWPORT, VIEWPORT, settled
from ui.navigation import PAGES

pytestmark = pytest.mark.e2e

FIRST_FIGURE_TIMEOUT_MS = 60_000  # generous: a fresh server's first run imports torch, and this machine is shared
JOB_END_TIMEOUT_MS = 240_000  # a first visit's small job (Train: 5 epochs; Sensitivity: 16 runs of 3 epochs)
SCREENS = {"desktop": {"viewport": VIEWPORT},
           "phone": {"viewport": PHONE_VIEWPORT, "is_mobile": True, "has_touch": True, "device_scale_factor": 2,
                     "user_agent": PHONE_USER_AGENT}}


def _first_screen_shows_a_figure(tab: Page) -> None:
    """A Plotly chart with data whose top lies within the first screen (no scrolling), once the first run has laid
    the page out. Read in one go in the page, over every chart: a live page (Train) redraws its charts while it
    polls, and Streamlit may remount a chart after a run, so the chart that is first in the page for a moment may
    be a later one."""
    height = (tab.viewport_size or VIEWPORT)["height"]
    expect(tab.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=FIRST_FIGURE_TIMEOUT_MS)
    highest_with_data = f"""() => Math.min(...Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]'))
        .filter({HAS_DATA}).map(chart => chart.getBoundingClientRect().top + window.scrollY))"""
    settled(tab, FIRST_FIGURE_TIMEOUT_MS)
    try:  # the first screen shows a chart with data within the time a first visit may take
        tab.wait_for_function(f"() => ({highest_with_data})() < {height - 100}", timeout=FIRST_FIGURE_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        top = tab.evaluate(highest_with_data)
        raise AssertionError(f"the first figure with data starts at {top} px, below the first screen") from None


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
            try:
                _first_screen_shows_a_figure(tab)
            except AssertionError:  # what the page showed instead, for whoever reads the failure
                screenshot(f"first_{file.removesuffix('.py')}_{screen}_failed", tab)
                raise
        expect(tab.get_by_test_id("stException")).to_have_count(0)
        screenshot(f"first_{file.removesuffix('.py')}_{screen}", tab, whole=False)
        # a page that started a job on this first visit (Train, Sensitivity): let it end, so that the tests after
        # this one find the shared server idle
        tab.wait_for_function("() => !Array.from(document.querySelectorAll('[data-testid=stProgress]'))"
                              ".some(bar => /running|queued/.test(bar.innerText))", timeout=JOB_END_TIMEOUT_MS)
    finally:
        context.close()
