"""A person opens the Landscape in a real browser, narrows an axis and watches the map redraw, reads a diverged
cell's hover, clicks a cell and lands on the Playground with that very run; the map also fits a phone."""

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
# JavaScript: the page coordinates of the centre of cell (row, column) of the map, and the cell's values.
CELL = """([row, column]) => {
    const gd = document.querySelector('.js-plotly-plot');
    const map = gd.data.find(t => t.type === 'heatmap' && t.name !== 'diverged');
    const layout = gd._fullLayout, box = gd.getBoundingClientRect();
    const x = map.x[column], y = map.y[row];
    return [box.left + layout._size.l + layout.xaxis.d2p(x), box.top + layout._size.t + layout.yaxis.d2p(y), x, y];
}"""


def map_image(page: Page) -> str:
    """The map's heatmap layer (Plotly draws each heatmap as an image)."""
    return page.locator(".js-plotly-plot").first.locator(".heatmaplayer").inner_html()


def wait_for_change(page: Page, before: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if map_image(page) != before:
            return
        page.wait_for_timeout(200)
    pytest.fail("the map did not redraw")


def map_drawn(page: Page) -> None:
    expect(page.locator(".js-plotly-plot .heatmaplayer image").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def number_field(sidebar: Locator, label: str, index: int) -> Locator:
    """The ``index``-th sidebar number field labelled ``label`` (x axis first, then y)."""
    return sidebar.get_by_test_id("stNumberInput").filter(has=sidebar.page.get_by_text(label, exact=True)) \
        .nth(index).locator("input")


def test_a_person_maps_an_optimizer_and_opens_a_cell_in_the_playground(page: Page, app_url: str,
                                                                       screenshot: Callable[..., Path]) -> None:
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name="Landscape", exact=True).click()
    expect(page.get_by_role("heading", name="Landscape", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    map_drawn(page)
    expect(page).to_have_url(re.compile(r"/landscape\?.*xname=lr"))
    expect(page.locator(".legendtext", has_text="theory: stability boundary")).to_be_visible()
    before = map_image(page)

    field = number_field(sidebar, "to", 0)  # the x axis' upper end: lr up to 1, now 0.3
    field.fill("0.3")
    field.press("Enter")
    expect(page).to_have_url(re.compile(r"xhi=0\.3"))
    wait_for_change(page, before)
    map_drawn(page)
    x, y = page.evaluate(CELL, [0, 63])[:2]  # lr = 0.3, momentum = 0: lr h = 3, beyond the edge
    page.mouse.move(x, y)
    expect(page.locator(".hovertext").first).to_contain_text("diverged at step")
    page.mouse.move(0, 0)
    screenshot("landscape")

    click_a_cell_and_land_on_its_run(page, 20, 50)
    screenshot("landscape_to_playground", whole=False)


def click_a_cell_and_land_on_its_run(page: Page, row: int, column: int) -> None:
    """Click cell (row, column) of the map: the Playground opens with that run, the cell's values in its URL."""
    x, y, lr, momentum = page.evaluate(CELL, [row, column])
    page.mouse.click(x, y)
    expect(page.get_by_role("heading", name="Playground", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"/playground\?.*opt1=momentum"))
    query = {name: values[-1] for name, values in parse_qs(urlsplit(page.url).query).items()}
    settings = dict(pair.split("=") for pair in query["opt1"].partition(":")[2].split(","))
    assert float(settings["lr"]) == pytest.approx(lr, rel=1e-12)
    assert float(settings["momentum"]) == pytest.approx(momentum, rel=1e-12)
    assert (query["surface"], query["n"]) == ("quadratic", "1")
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stAlertContentSuccess").first).to_contain_text("Heavy ball")
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_click_on_a_large_map_opens_its_run(page: Page, app_url: str) -> None:
    """96 x 96 cells: the hover markers are drawn with WebGL, and a click still names its cell."""
    page.goto(f"{app_url}/landscape?xn=96&yn=96&steps=100")
    expect(page.get_by_role("heading", name="Landscape", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    map_drawn(page)
    click_a_cell_and_land_on_its_run(page, 40, 60)


def test_the_map_fits_a_phone(phone_page: Page, app_url: str, screenshot: Callable[..., Path]) -> None:
    phone_page.goto(f"{app_url}/landscape?xn=32&yn=32")
    expect(phone_page.get_by_role("heading", name="Landscape", exact=True)).to_be_visible(
        timeout=FIRST_RUN_TIMEOUT_MS)
    map_drawn(phone_page)
    plot = phone_page.locator(".js-plotly-plot").first.bounding_box()
    assert plot is not None and plot["x"] >= 0 and plot["x"] + plot["width"] <= 390
    screenshot("landscape_phone", phone_page)
