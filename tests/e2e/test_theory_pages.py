"""A person walks Home -> Filter Lab -> Stability in a real browser: presets and sliders move the figures, the maps
render, and a link with a bad value shows a warning instead of breaking."""

# ruff: noqa: RUF001  (legend texts use the spec's Greek symbols)

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch


def legend(page: Page, text: str) -> Locator:
    """The Plotly legend entry whose whole text is ``text``."""
    return page.locator(".legendtext", has_text=re.compile(f"^{re.escape(text)}$")).first  # two during a rerun


def no_exception_and_charts(page: Page, charts: int) -> None:
    """Every chart of the page drawn by Plotly, and no exception box."""
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(charts)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_person_explores_the_filter_and_its_stability(page: Page, app_url: str,
                                                         screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Where to start")).to_be_visible()
    screenshot("home")

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name="Filter Lab").click()
    expect(page.get_by_role("heading", name="Filter Lab", exact=True)).to_be_visible()
    no_exception_and_charts(page, 4)

    sidebar.get_by_role("button", name="heavy ball").click()
    expect(legend(page, "zero γ = 0")).to_be_visible()  # exact: waits for the rerun, not the old "0.5528"
    expect(legend(page, "pole β = 0.9")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/filter_lab\?.*gamma=0(&|$)"))

    slider = sidebar.get_by_test_id("stSlider").filter(has_text="pole β").get_by_role("slider")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    expect(legend(page, "pole β = 0.903")).to_be_visible()
    expect(legend(page, "zero γ = 0")).to_be_visible()  # the slider moved the pole only
    expect(page).to_have_url(re.compile(r"beta=0\.903"))
    no_exception_and_charts(page, 4)
    screenshot("filter_lab")

    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name="Stability").click()
    expect(page.get_by_role("heading", name="Stability", exact=True)).to_be_visible()
    no_exception_and_charts(page, 3)
    expect(page.locator(".legendtext", has_text="deadbeat").first).to_be_visible()
    screenshot("stability")

    page.goto(f"{app_url}/stability?beta=7")
    expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text("invalid beta=7", timeout=FIRST_RUN_TIMEOUT_MS)
    no_exception_and_charts(page, 3)
    expect(page).to_have_url(re.compile(r"beta=0\.9\b"))
    screenshot("stability_bad_url")
