"""A person walks Home -> Filter Lab -> Stability in a real browser: presets and sliders move the figures, the maps
and the live margin render, the downloads hold the figures' data, and a link with a bad value shows a warning instead
of breaking."""

# ruff: noqa: RUF001  (legend texts use the spec's Greek symbols)

import csv
import io
import json
import math
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
    """Every chart of the page drawn by Plotly, and no exception box (a page's first run imports its modules)."""
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot")).to_have_count(charts, timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)


DOWNLOAD_TIMEOUT_MS = 30_000  # a map's CSV (200 x 200 rows) is made on the click


def download(page: Page, label: str) -> tuple[str, str]:
    """Click the download button ``label``; the file's suggested name and its text."""
    with page.expect_download(timeout=DOWNLOAD_TIMEOUT_MS) as event:
        page.get_by_test_id("stDownloadButton").filter(has_text=label).get_by_role("button").click()
    return event.value.suggested_filename, Path(event.value.path()).read_text()


def test_a_person_explores_the_filter_and_its_stability(page: Page, app_url: str,
                                                         screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="The explorer, page by page")).to_be_visible()
    screenshot("home")

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name="Filter Lab").click()
    expect(page.get_by_role("heading", name="Filter Lab", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
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
    name, text = download(page, "frequency response (CSV)")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert name == "filter_frequency_response.csv" and len(rows) == 512
    assert float(rows[0]["omega_over_pi"]) == 0  # DC: heavy ball's gain 1 / (1 - beta)
    assert float(rows[0]["magnitude_db"]) == pytest.approx(20 * math.log10(1 / (1 - 0.903)))
    name, text = download(page, "configuration (JSON)")
    assert name == "filter_lab.json" and json.loads(text)["config"]["beta"] == 0.903
    screenshot("filter_lab")

    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name="Stability").click()
    expect(page.get_by_role("heading", name="Stability", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    no_exception_and_charts(page, 4)  # two maps, the simulated run, the live margin of the Playground example
    expect(page.locator(".legendtext", has_text="deadbeat").first).to_be_visible()
    expect(page.locator(".legendtext", has_text="AutoSGM (lr=0.5)").first).to_be_visible()
    name, text = download(page, "live margin (CSV)")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert name == "stability_margin.csv" and len(rows) == 200
    assert list(rows[0]) == ["run", "optimizer", "seed", "step", "stat/stability_margin"]
    assert 0 < float(rows[-1]["stat/stability_margin"]) < 1
    name, text = download(page, "(κ, β) map (CSV)")
    assert name == "stability_map_kappa_beta.csv" and text.startswith("kappa,beta,spectral_radius\n")
    assert len(text.splitlines()) == 200 * 200 + 1
    screenshot("stability")

    page.goto(f"{app_url}/stability?beta=7")
    expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text("invalid beta=7", timeout=FIRST_RUN_TIMEOUT_MS)
    no_exception_and_charts(page, 4)
    expect(page).to_have_url(re.compile(r"beta=0\.9\b"))
    screenshot("stability_bad_url")
