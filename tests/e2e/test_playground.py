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
    expect(page.get_by_test_id("stMarkdownContainer").filter(has_text="A comment, not a docstring")).to_have_count(0)
    expect(page.locator(".legendtext", has_text="Adam (lr=0.01)").first).to_be_visible()
    before = paths(page)

    lr = slider(sidebar, "lr")  # the first slot's: SGD at the shared 0.01
    expect(lr).to_have_attribute("aria-valuetext", "0.01")  # the default exactly, not the nearest grid point
    lr.focus()
    lr.press("ArrowRight")  # the next stop on the log scale: 1, 1.5, 2, 3, 5, 7 per decade
    expect(page).to_have_url(re.compile(r"opt1=sgd%3Alr%3D0\.015|opt1=sgd:lr=0\.015"))
    wait_for_change(page, before)
    expect(page.locator(".legendtext", has_text="SGD (lr=0.015)").first).to_be_visible()
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
    # a panel's title is two lines, the optimizer over the statistic (one line overlapped its neighbours on a phone)
    expect(internals.locator(".annotation", has_text=re.compile(r"AutoSGM\s*stability_margin")).first).to_be_visible()
    assert overlapping_titles(page) == []
    screenshot(name)


CURRENT_VALUE = ".slider-group > .slider-label"  # Plotly's slider draws its current value first, then the stops'


def current_step(page: Page) -> str:
    """The trajectory figure's slider label, "step N" (Plotly draws it in the browser)."""
    return page.locator(".js-plotly-plot").first.locator(CURRENT_VALUE).first.text_content() or ""


def play_and_pause(page: Page) -> None:
    """Press play: the label and the paths change again and again with no rerun of the page; pause stops them."""
    chart = page.locator(".js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    expect(chart.locator(CURRENT_VALUE).first).to_have_text("step 200", timeout=FIRST_RUN_TIMEOUT_MS)
    before = paths(page)
    chart.locator(".updatemenu-button", has_text="play").click()
    seen = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(seen) < 3:
        seen.add(current_step(page))
        page.wait_for_timeout(150)
    assert len(seen - {"step 200"}) >= 2, seen  # the frames advance, one after another
    assert paths(page) != before  # the paths regrow from the start
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)  # no script run: Plotly plays in the browser
    chart.locator(".updatemenu-button", has_text="pause").click()
    page.wait_for_timeout(300)
    paused = current_step(page)
    page.wait_for_timeout(800)
    assert current_step(page) == paused and paused != "step 200"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_person_plays_the_trajectories_in_the_browser(page: Page, phone_page: Page, app_url: str,
                                                         screenshot: Callable[..., Path], phone: bool) -> None:
    tab = phone_page if phone else page
    tab.goto(f"{app_url}/playground?speed=8")
    expect(tab.get_by_role("heading", name="Playground", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(tab.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(tab.get_by_test_id("stException")).to_have_count(0)
    screenshot(f"playground_play_{'phone' if phone else 'desktop'}_before", tab, whole=False)
    play_and_pause(tab)
    tab.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    screenshot(f"playground_play_{'phone' if phone else 'desktop'}_paused", tab, whole=False)


def test_names_show_literally_and_switching_surfaces_warns_of_nothing(page: Page, app_url: str,
                                                                      screenshot: Callable[..., Path]) -> None:
    page.goto(f"{app_url}/playground?surface=formula&formula=__import__('os')")
    sidebar = page.get_by_test_id("stSidebar")
    # a link's formula that does not parse: the default formula, and a warning naming the field and the reason
    expect(page.get_by_test_id("stAlertContentWarning").filter(has_text="invalid formula")).to_contain_text(
        "'__import__' at column 1", timeout=FIRST_RUN_TIMEOUT_MS)
    error = sidebar.get_by_test_id("stAlertContentError")  # a typed one: the parser's message where it was typed
    field = sidebar.get_by_role("textbox", name="f(x, y) =")
    field.fill("x.__class__")
    field.press("Enter")
    expect(error).to_contain_text("'x.__class__' at column 1")
    field.fill("x**2 + y**2")
    field.press("Enter")
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    sidebar.get_by_test_id("stSelectbox").filter(has_text="loss surface").click()
    page.get_by_role("option", name="Rosenbrock").click()
    expect(page).to_have_url(re.compile(r"surface=rosenbrock"))
    expect(page.locator(".gtitle", has_text="Rosenbrock").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    page.goto(f"{app_url}/playground?surface=rosenbrock&x0=-4&n=1&opt1=sgd:lr%3D1")
    warning = page.get_by_test_id("stAlertContentWarning")
    expect(warning).to_contain_text("invalid x0=-4", timeout=FIRST_RUN_TIMEOUT_MS)
    assert warning.bounding_box()["width"] > 600  # full width, never one word per line
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("past SGD's limit of 2")
    screenshot("playground_messages")
