"""A person opens the Playground in a real browser, nudges an optimizer's learning rate and watches its path redraw,
then types a formula of their own."""

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
CHARTS = 6  # trajectory, loss, effective LR, lr, cosine, internals


def paths(page: Page) -> str:
    """The SVG of the trajectory figure's lines and markers."""
    return page.locator(".js-plotly-plot").first.locator(".scatterlayer").first.inner_html()


def wait_for_change(page: Page, before: str, timeout_s: float = 20.0) -> str:
    """The trajectory SVG once it differs from ``before`` (the rerun redrew it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = paths(page)
        if now != before:
            return now
        page.wait_for_timeout(200)
    pytest.fail("the trajectory figure did not redraw")


def charts_and_no_exception(page: Page) -> None:
    """Every chart drawn, and no exception box (a shared machine can take seconds over a page's first run)."""
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.locator(".js-plotly-plot")).to_have_count(CHARTS, timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def slider(sidebar: Locator, label: str) -> Locator:
    """The first sidebar slider whose label is exactly ``label``."""
    box = sidebar.get_by_test_id("stSlider").filter(has=sidebar.page.get_by_text(label, exact=True)).first
    return box.get_by_role("slider")


def test_a_person_tunes_an_optimizer_and_types_a_formula(page: Page, app_url: str,
                                                          screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)
    # Wait for app.py's own navigation: before its first run the frontend lists pages/ by file name.
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name="Playground", exact=True).click()
    expect(page.get_by_role("heading", name="Playground", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    charts_and_no_exception(page)
    expect(page).to_have_url(re.compile(r"/playground\?"))
    expect(page.get_by_test_id("stMarkdownContainer").filter(has_text="One per slot")).to_have_count(0)
    expect(page.locator(".legendtext", has_text="Adam (lr=0.05)").first).to_be_visible()
    before = paths(page)

    lr = slider(sidebar, "lr")
    expect(lr).to_have_attribute("aria-valuetext", "0.05")  # the default exactly, not the nearest grid point
    lr.focus()
    lr.press("ArrowRight")  # the next stop on the log scale: 1, 1.5, 2, 3, 5, 7 per decade
    expect(page).to_have_url(re.compile(r"opt1=adam%3Alr%3D0\.07|opt1=adam:lr=0\.07"))
    wait_for_change(page, before)
    expect(page.locator(".legendtext", has_text="Adam (lr=0.07)").first).to_be_visible()
    charts_and_no_exception(page)
    screenshot("playground")

    sidebar.get_by_test_id("stSelectbox").filter(has_text="loss surface").click()
    page.get_by_role("option", name="formula…").click()
    field = sidebar.get_by_role("textbox", name="f(x, y) =")
    expect(field).to_be_visible()
    field.fill("x**2 + 3*y**2 + sin(4*x)")
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"formula=x"))
    expect(page.locator(".gtitle", has_text="x**2 + 3*y**2 + sin(4*x)").first).to_be_visible()
    charts_and_no_exception(page)
    screenshot("playground_formula")

    field.fill("x**2 + foo(y)")
    field.press("Enter")
    expect(sidebar.get_by_test_id("stAlertContentError")).to_contain_text("'foo'")
    expect(page.get_by_test_id("stException")).to_have_count(0)


def overlapping_titles(page: Page) -> list[tuple[str, str]]:
    """The pairs of subplot titles of the internals figure (the last chart) whose boxes on screen overlap."""
    boxes = page.locator(".js-plotly-plot").last.locator(".annotation").evaluate_all(
        "nodes => nodes.map(n => { const r = n.getBoundingClientRect();"
        " return [n.textContent, r.left, r.top, r.right, r.bottom]; })")
    return [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]


@pytest.mark.parametrize(("name", "optimizers"), [
    ("playground_internals", ("agaw", "a2grad", "gao", "autosgm")),
    ("playground_internals_gnw", ("gnw_adam", "autosgm:lr=0.01", "autosgm:lr=0.1,beta=0.95", "agaw")),
])
def test_the_internals_of_several_optimizers_stay_legible(page: Page, app_url: str, screenshot: Callable[[str], Path],
                                                         name: str, optimizers: tuple[str, ...]) -> None:
    query = "&".join(f"opt{slot}={text}" for slot, text in enumerate(optimizers, start=1))
    page.goto(f"{app_url}/playground?steps=100&n={len(optimizers)}&{query}")
    expect(page.get_by_role("heading", name="Playground", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    charts_and_no_exception(page)
    internals = page.locator(".js-plotly-plot").last
    expect(internals.locator(".annotation", has_text="AutoSGM · stability_margin").first).to_be_visible()
    assert overlapping_titles(page) == []
    screenshot(name)
