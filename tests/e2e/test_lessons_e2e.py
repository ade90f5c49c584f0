"""A person walks a whole lesson in a real browser: at every step they read, commit to a prediction, see the verdict
with the theory's number beside the run's, and go on to the end; the first step also fits a phone."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.lessons import get_lesson

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
LESSON = get_lesson("edge-of-stability")


def figure_drawn(page: Page) -> None:
    """A Plotly chart drawn, and no exception box."""
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_person_walks_the_edge_of_stability_lesson(page: Page, app_url: str,
                                                     screenshot: Callable[..., Path]) -> None:
    page.goto(f"{app_url}/lessons?lesson={LESSON.key}")
    expect(page.get_by_role("heading", name=LESSON.title)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    for number, step in enumerate(LESSON.steps, start=1):
        heading = page.get_by_role("heading", name=f"Step {number} of {len(LESSON.steps)}: {step.title}")
        expect(heading).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
        figure_drawn(page)
        check = page.get_by_role("button", name="Check my prediction")
        expect(check).to_be_disabled()  # nothing picked yet
        expect(page.get_by_text("Your prediction held")).to_have_count(0)
        screenshot(f"lesson_step{number}")
        right = step.question.option(step.question.answer).text
        page.get_by_test_id("stRadio").get_by_text(right, exact=True).click()
        expect(check).to_be_enabled()
        check.click()
        expect(page.get_by_text("Your prediction held")).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
        expect(page.get_by_text("The run:")).to_be_visible()
        expect(check).to_have_count(0)  # the rerun has ended: no stale element of the question left
        figure_drawn(page)
        committed = [s.question.answer for s in LESSON.steps[:number]] + ["-"] * (len(LESSON.steps) - number)
        expect(page).to_have_url(re.compile("answers=" + re.escape(",".join(committed)).replace(",", "(,|%2C)")))
        link = page.get_by_role("link", name=re.compile("^Open in the "))
        expect(link).to_have_attribute("href", re.compile(r"(playground|landscape)\?.*surface=quadratic"))
        screenshot(f"lesson_step{number}_revealed")
        if number < len(LESSON.steps):
            page.get_by_role("button", name="Next step").click()
    expect(page.get_by_text(f"Lesson done: {len(LESSON.steps)} of {len(LESSON.steps)} predictions held"))\
        .to_be_visible()
    answers = ",".join(step.question.answer for step in LESSON.steps)
    assert f"answers={answers}" in page.url.replace("%2C", ",")
    screenshot("lesson_done")


def test_the_first_lesson_fits_a_phone(phone_page: Page, app_url: str, screenshot: Callable[..., Path]) -> None:
    phone_page.goto(f"{app_url}/lessons")
    first = get_lesson("momentum-is-a-lowpass-filter")
    expect(phone_page.get_by_role("heading", name=first.title)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    figure_drawn(phone_page)
    screenshot("lesson_phone_first_screen", phone_page, whole=False)
    step = first.steps[0]
    phone_page.get_by_test_id("stRadio").get_by_text(step.question.option(step.question.answer).text,
                                                       exact=True).click()
    check = phone_page.get_by_role("button", name="Check my prediction")
    check.click()
    expect(phone_page.get_by_text("Your prediction held")).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(check).to_have_count(0)  # the rerun has ended
    figure_drawn(phone_page)
    screenshot("lesson_phone", phone_page)
