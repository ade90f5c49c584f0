"""A person opens Sensitivity in a real browser with a small grid in the link (Adam and SGD over four learning rates,
two seeds, eight epochs), presses Start and watches the two figures fill in while the grid trains as one job, reads the
table at the end, reloads the page and finds the grid again, and opens the same link on a phone."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
UPDATE_TIMEOUT_MS = 20_000  # a rerun on this shared machine, while a worker trains beside the server
TRAINING_TIMEOUT_MS = 180_000  # a worker process starts, imports torch and trains 16 runs of 8 epochs
CONFIGURATION = "n=2&opt1=adam&opt2=sgd&param=lr&lo=0.001&hi=1&scale=log&points=4&seeds=2&epochs=8"
TITLES = ["Best validation loss", "Clean test accuracy"]

# Per shown Plotly figure: its title, subtitle and the number of points of each trace by name. While a fragment
# reruns, Streamlit keeps each replaced chart hidden (display: none) until the run ends: only visible ones count.
FIGURES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(plot => plot.offsetParent !== null).map(plot => ({title: plot.layout?.title?.text || '',
        subtitle: plot.layout?.title?.subtitle?.text || '',
        points: Object.fromEntries((plot._fullData || plot.data || [])
            .map(trace => [trace.name, trace.x ? trace.x.length : 0]))}))"""


def live_points(page: Page, timeout_s: float = 150.0) -> int:
    """Wait until a figure drawn while the job runs ("live" in its subtitle) shows Adam's curve; its point count."""
    handle = page.wait_for_function(
        f"() => {{ const live = ({FIGURES_JS})().find(figure => figure.subtitle.startsWith('live: epoch') && "
        "figure.points['Adam'] > 0); return live ? live.points['Adam'] : null; }", timeout=timeout_s * 1000)
    return int(handle.json_value())


def test_a_person_computes_a_small_grid_and_watches_the_curves_fill(
        page: Page, phone_page: Page, app_url: str, screenshot: Callable[..., Path]) -> None:
    page.goto(app_url)  # as the other pages' tests: a first visit loads app.py's navigation into the sidebar
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.goto(f"{app_url}/sensitivity?{CONFIGURATION}")
    expect(page.get_by_role("heading", name="Sensitivity", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stAlert")).to_contain_text("press Start", timeout=UPDATE_TIMEOUT_MS)
    start = page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile("Start"))
    expect(start).to_be_enabled()
    start.click()

    # While the grid trains, the figures show the values with runs so far, marked live.
    expect(page).to_have_url(re.compile(r"job=[\w-]+"), timeout=FIRST_RUN_TIMEOUT_MS)
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text("16 runs at once", timeout=FIRST_RUN_TIMEOUT_MS)
    assert 1 <= live_points(page) <= 4
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=UPDATE_TIMEOUT_MS)  # between two polls
    screenshot("sensitivity_live")

    # At the end: both figures with every value for both optimizers, and the table.
    expect(progress).to_contain_text("finished · 16 of 16 runs ended", timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=UPDATE_TIMEOUT_MS)
    figures = page.evaluate(FIGURES_JS)
    assert [figure["title"] for figure in figures] == TITLES
    assert all(figure["points"]["Adam"] == figure["points"]["SGD"] == 4 for figure in figures)
    assert {"Adam · 95% band", "SGD · 95% band"} <= set(figures[0]["points"])
    page.get_by_text(re.compile("^Table: every value")).click()
    expect(page.get_by_test_id("stTable")).to_contain_text("best validation loss", timeout=UPDATE_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot("sensitivity")

    # A reload finds the grid named in the URL; the link opens it on a phone too.
    shared_url = page.url
    page.reload()
    expect(page.get_by_test_id("stProgress")).to_contain_text("finished · 16 of 16 runs ended",
                                                              timeout=FIRST_RUN_TIMEOUT_MS)
    phone_page.goto(shared_url)
    expect(phone_page.get_by_test_id("stProgress")).to_contain_text("finished", timeout=FIRST_RUN_TIMEOUT_MS)
    phone_page.wait_for_function(f"() => ({FIGURES_JS})().length === 2", timeout=UPDATE_TIMEOUT_MS)
    expect(phone_page.get_by_test_id("stException")).to_have_count(0)
    screenshot("sensitivity_phone", phone_page)
