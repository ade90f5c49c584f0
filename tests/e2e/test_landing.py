"""A person opens the landing page in a real browser: every optimizer is there, a card opens, nothing breaks."""

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from optimizers import REGISTRY

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch


def test_a_person_reads_the_landing_page(page: Page, app_url: str, screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    for info in REGISTRY.values():
        expect(page.get_by_role("heading", name=info.name, exact=True)).to_be_visible()

    a2grad = REGISTRY["a2grad"]
    card = page.get_by_test_id("stVerticalBlock").filter(  # the innermost block around the heading: its card
        has=page.get_by_role("heading", name=a2grad.name, exact=True)
    ).last
    card.get_by_text("Hyperparameters").click()
    for hp in a2grad.hyperparams:
        expect(card.get_by_role("cell", name=hp.name, exact=True)).to_be_visible()

    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot("landing")
