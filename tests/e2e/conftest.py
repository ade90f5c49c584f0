"""Browser-test fixtures: `streamlit run app.py` on a free port, and Debian's chromium driven by Playwright."""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.server import streamlit_server

MISSING_CHROMIUM = "browser tests need Debian's chromium package (apt-get install chromium)"
# This machine's network is closed: without these flags chromium stalls on its background services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}
# A phone's user agent: Streamlit's frontend tells a phone by it (it closes the sidebar after a tap on a page link).
PHONE_USER_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/17.5 Mobile/15E148 Safari/604.1")
# A chart whose Plotly data has something drawn: a trace with points, a surface, a table's cells or the axes of a
# parallel-coordinates plot (an empty figure, or one holding only a "nothing yet" note, has none). Read from Plotly's
# _fullData: plotly.py sends arrays base64-encoded, which only the full data holds decoded.
HAS_DATA = """chart => {
    const plot = chart.querySelector('.js-plotly-plot');
    return !!plot && Array.isArray(plot._fullData) && plot._fullData.some(trace =>
        (trace.x && trace.x.length > 0) || (trace.z && trace.z.length > 0) || (trace.r && trace.r.length > 0)
        || (trace.dimensions && trace.dimensions.length > 0) || (trace.cells && trace.cells.values.length > 0));
}"""


def settled(tab: Page, timeout_ms: float = 60_000) -> None:
    """Until the page's script run has ended and nothing on it is stale: read a page's layout only then (mid-run, on
    a loaded machine, a later element can stand where an earlier one will be)."""
    tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    tab.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=timeout_ms)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium; a missing one fails the run under CI=true and skips the browser tests elsewhere."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but chromium is missing: {MISSING_CHROMIUM}")
        pytest.skip(MISSING_CHROMIUM)
    return path


@pytest.fixture(scope="session")
def app_url(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the session, its runs in a temporary home, never in the user's ~/.optiscope."""
    home, logs = tmp_path_factory.mktemp("optiscope-home"), tmp_path_factory.mktemp("streamlit")
    try:
        with streamlit_server(repo_root, home, logs / "server.log") as url:
            yield url
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    """Headless chromium for the whole session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    """A fresh desktop-sized tab, on nothing yet: the test navigates to ``app_url``."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


@pytest.fixture
def second_page(browser: Browser, app_url: str) -> Iterator[Page]:
    """Another fresh desktop-sized tab in its own browser context: a second person, e.g. opening a shared link."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser: Browser, app_url: str) -> Iterator[Page]:
    """A fresh tab the size of a phone (390 px wide, touch, a phone's user agent), on nothing yet."""
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  user_agent=PHONE_USER_AGENT)
    yield context.new_page()
    context.close()


@pytest.fixture
def screenshot(page: Page, repo_root: Path) -> Callable[..., Path]:
    """``screenshot(name)`` saves the whole page to tests/artifacts/<name>.png and returns the path;
    ``screenshot(name, tab)`` saves another tab (a ``phone_page``), and ``whole=False`` only its first screen.

    Streamlit scrolls inside its main element, not the document, so for the whole page the viewport grows to the
    content's height first (at the tab's own width).
    """

    def save(name: str, tab: Page | None = None, *, whole: bool = True) -> Path:
        tab = tab or page
        if whole:
            size = tab.viewport_size or VIEWPORT
            height = tab.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
            tab.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
        path = repo_root / "tests" / "artifacts" / f"{name}.png"
        path.parent.mkdir(exist_ok=True)
        tab.screenshot(path=path, full_page=whole, animations="disabled")
        return path

    return save
