"""A person opens Sweeps in a real browser with a tiny surface study in the link, presses Start and watches the
best-so-far chart appear and the trials table fill while the sweep runs in the background, then reads the claims."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch and optuna
SWEEP_TIMEOUT_MS = 120_000  # a spawn process starts, imports torch and runs 6 surface trials
CONFIGURATION = "task=rosenbrock&trials=3&steps=100&name=browser"
TRIALS = 6  # 3 trials for each of the default optimizers, Adam and SGD
FIGURES = ["Best objective so far · browser", "Adam: parallel coordinates", "Adam: hyperparameter importances"]

# The titles of the Plotly figures shown (a fragment's replaced charts stay hidden until its run ends).
TITLES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(plot => plot.offsetParent !== null)
    .map(plot => plot.querySelector('.gtitle')?.textContent)"""
# The rows of each data grid shown (glide-data-grid draws on a canvas but keeps aria-rowcount, header included).
ROWS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] [aria-rowcount]'))
    .map(grid => Number(grid.getAttribute('aria-rowcount')) - 1)"""


def test_a_person_runs_a_tiny_sweep_and_watches_it_fill(page: Page, app_url: str,
                                                         screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)  # as the other pages' tests: a first visit loads app.py's navigation into the sidebar
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.goto(f"{app_url}/sweeps?{CONFIGURATION}")
    expect(page.get_by_role("heading", name="Sweeps", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page).to_have_url(re.compile("trials=3&steps=100"))
    expect(page.get_by_role("button", name=re.compile("Run reproduction"))).to_have_count(5)  # the first run ended
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("textbox", name="sweep name")).to_have_value("browser")
    start = sidebar.get_by_role("button", name=re.compile("Start"))
    expect(start).to_be_enabled()
    start.click()

    expect(page).to_have_url(re.compile(r"view=browser"), timeout=FIRST_RUN_TIMEOUT_MS)
    progress = page.get_by_test_id("stProgress").first
    expect(progress).to_contain_text("trials used", timeout=FIRST_RUN_TIMEOUT_MS)
    expect(progress).to_contain_text(f"finished · {TRIALS} of {TRIALS} trials used", timeout=SWEEP_TIMEOUT_MS)
    expect(page.locator("[data-stale='true']")).to_have_count(0)  # the page's last rerun after the sweep ended
    page.wait_for_function(f"() => {json.dumps(FIGURES)}.every(title => ({TITLES_JS})().includes(title))",
                           timeout=FIRST_RUN_TIMEOUT_MS)
    page.wait_for_function(f"() => ({ROWS_JS})().includes({TRIALS})", timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name=re.compile("trials \\(CSV\\)"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("^Claims"))).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name=re.compile("Run reproduction"))).to_have_count(5)
    expect(sidebar.get_by_role("textbox", name="sweep name")).to_have_value("browser")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot("sweeps")
