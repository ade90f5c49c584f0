"""A person opens Sweeps in a real browser: first, with nothing pressed, the seed claims' verdict table on the first
screen of a desktop and of a phone, inside the page; then, with a tiny surface study in the link, presses Start and
watches the best-so-far chart appear and the trials table fill while the sweep runs in the background, then reads
the claims."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.sweeps import claims
from tests.e2e.conftest import settled

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch and optuna
SWEEP_TIMEOUT_MS = 120_000  # a spawn process starts, imports torch and runs 6 surface trials
CONFIGURATION = "task=rosenbrock&trials=3&steps=100&name=browser"
TRIALS = 6  # 3 trials for each of the default optimizers, Adam and SGD
FIGURES = ["Best objective so far · browser", "Adam: parallel coordinates", "Adam: hyperparameter importances"]

# The titles of the Plotly figures shown (a fragment's replaced charts stay hidden until its run ends).
TITLES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(plot => plot.offsetParent !== null)
    .map(plot => plot.querySelector('.gtitle')?.textContent)"""
# Each static table (st.table): its box on the page, whether it fits its width or scrolls sideways, and its text.
TABLES_JS = """() => { const main = document.querySelector('[data-testid="stMain"]').getBoundingClientRect();
    return Array.from(document.querySelectorAll('[data-testid="stTable"]')).map(table => {
        const box = table.querySelector('table').parentElement, rect = box.getBoundingClientRect();
        return {top: table.getBoundingClientRect().top, fits: box.scrollWidth <= box.clientWidth + 1,
                scrolls: ['auto', 'scroll'].includes(getComputedStyle(box).overflowX),
                inside: rect.left >= main.left - 1 && rect.right <= main.right + 1, text: table.innerText}; }); }"""
# The rows of each data grid shown (glide-data-grid draws on a canvas but keeps aria-rowcount, header included).
ROWS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] [aria-rowcount]'))
    .map(grid => Number(grid.getAttribute('aria-rowcount')) - 1)"""


def test_a_person_runs_a_tiny_sweep_and_watches_it_fill(page: Page, app_url: str,
                                                         screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)  # as the other pages' tests: a first visit loads app.py's navigation into the sidebar
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.goto(f"{app_url}/sweeps?{CONFIGURATION}")
    expect(page.get_by_role("heading", name="Sweeps", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page).to_have_url(re.compile("trials=3&steps=100"), timeout=FIRST_RUN_TIMEOUT_MS)
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
    expect(page.get_by_role("heading", name=re.compile("^The claims, one by one"))).to_be_visible(
        timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name=re.compile("Run reproduction"))).to_have_count(5)
    expect(sidebar.get_by_role("textbox", name="sweep name")).to_have_value("browser")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot("sweeps")


def verdict_table(tab: Page, app_url: str) -> dict[str, object]:
    """Open Sweeps with a bare link; the first table, once drawn, as ``TABLES_JS`` describes it."""
    tab.goto(f"{app_url}/sweeps")
    expect(tab.get_by_role("heading", name="Sweeps", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(tab.get_by_test_id("stTable").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    settled(tab)  # the first run has laid the page out: its first table is the verdicts'
    return tab.evaluate(TABLES_JS)[0]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_first_screen_shows_the_claims_verdicts(viewport: str, page: Page, phone_page: Page, app_url: str,
                                                    screenshot: Callable[..., Path]) -> None:
    """Nothing pressed: the verdicts figure starts on the first screen (900 px tall at 1440 px wide, 844 px on a 390
    px phone); the verdict table under it names every write-up, gives a verdict or says plainly that there is no
    shipped result, and stays inside the page (it fits, or scrolls sideways within it)."""
    tab = page if viewport == "desktop" else phone_page
    tab.goto(app_url)
    expect(tab.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    table = verdict_table(tab, app_url)
    figure = tab.get_by_test_id("stPlotlyChart").first
    expect(figure.locator(".annotation", has_text="The AGAW write-up")).to_be_visible()
    assert figure.bounding_box()["y"] < tab.viewport_size["height"] * 0.6  # type: ignore[index, operator]
    assert table["inside"] and (table["fits"] or table["scrolls"]), table
    text = str(table["text"])
    for claim in claims.load_claims().values():
        assert claim.source in text
    verdicts = re.findall(r"\bholds\b|\bcontradicted\b|not distinguishable at \d+ seeds|no shipped result yet", text)
    assert len(verdicts) >= 2 * sum(len(claim.comparisons) for claim in claims.load_claims().values())  # every row
    assert "shared/seeds" not in text
    if viewport == "desktop":
        assert table["fits"], "at 1440 px the verdict table fits without scrolling"
    expect(tab.get_by_test_id("stException")).to_have_count(0)
    screenshot(f"sweeps_first_screen_{viewport}", tab, whole=False)
    screenshot(f"sweeps_whole_{viewport}", tab)


def test_a_quick_reproduction_shows_its_progress_then_a_smoke_test(page: Page, app_url: str,
                                                                   screenshot: Callable[..., Path]) -> None:
    """A person runs the GNW-Adam claim's quick reproduction: a progress bar says the stage, done of total and an
    ETA while it runs; its result then reads as a smoke test, with no verdict word in the claim's section."""
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.goto(f"{app_url}/sweeps")
    keys = list(claims.load_claims())
    run = page.get_by_role("button", name=re.compile("Run reproduction")).nth(keys.index("gnw"))
    run.click(timeout=FIRST_RUN_TIMEOUT_MS)
    bar = page.get_by_test_id("stProgress")  # the only bar: no sweep is open
    expect(bar).to_contain_text(re.compile(r"stage [12] of 2, .* of \d+ (trials|steps) · ETA"),
                                timeout=FIRST_RUN_TIMEOUT_MS)
    bar.scroll_into_view_if_needed()
    screenshot("sweeps_reproduction_progress", whole=False)
    done = page.get_by_text(re.compile("Your last quick reproduction"))
    expect(done).to_be_visible(timeout=SWEEP_TIMEOUT_MS)
    expect(bar).to_have_count(0)
    section = done.evaluate("""(node, title) => { while (!node.innerText.includes(title)) node = node.parentElement;
                                                   return node.innerText; }""", claims.get_claim("gnw").title)
    local = section[section.index("Your last quick reproduction"):]  # above it: the shipped full-budget result
    assert claims.SMOKE_TEST in local and "GNW-Adam vs Adam" in local
    assert not re.search(r"\bholds\b|\bcontradicted\b|not distinguishable", local), local
    expect(page.get_by_test_id("stException")).to_have_count(0)
