"""A person opens Train in a real browser with a tiny configuration in the link, presses Start, watches the progress
bar and then reads the summary table of the finished comparison."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
TRAINING_TIMEOUT_MS = 60_000  # a worker process starts, imports torch and trains 2 optimizers for one epoch


def test_a_person_trains_two_optimizers_and_reads_the_summary(page: Page, app_url: str,
                                                               screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)  # as the other pages' tests: a first visit loads app.py's navigation into the sidebar
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.goto(f"{app_url}/train?epochs=1&batch=512")
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    expect(page).to_have_url(re.compile(r"epochs=1&batch=512"))
    start = sidebar.get_by_role("button", name=re.compile("Start"))
    expect(start).to_be_enabled()
    start.click()

    expect(page).to_have_url(re.compile(r"job=[\w-]+"), timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    table = page.get_by_test_id("stTable")
    expect(table).to_contain_text("Adam (lr=0.0047)", timeout=TRAINING_TIMEOUT_MS)
    expect(table).to_contain_text("AGAW")
    expect(page.get_by_test_id("stProgress")).to_contain_text("finished")
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(6)
    expect(page.locator(".legendtext", has_text="AGAW").first).to_be_visible()
    expect(page.get_by_text("No per-layer gradient norms recorded yet.")).to_have_count(0)  # short runs log often
    expect(start).to_be_enabled()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator("[data-stale='true']")).to_have_count(0)  # the page's last rerun after the job ended is done
    screenshot("train")
