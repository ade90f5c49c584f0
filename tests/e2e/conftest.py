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
def screenshot(page: Page, repo_root: Path) -> Callable[[str], Path]:
    """``screenshot(name)`` saves the whole page to tests/artifacts/<name>.png and returns the path.

    Streamlit scrolls inside its main element, not the document, so the viewport grows to the content's height first.
    """

    def save(name: str) -> Path:
        height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
        page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
        path = repo_root / "tests" / "artifacts" / f"{name}.png"
        path.parent.mkdir(exist_ok=True)
        page.screenshot(path=path, full_page=True, animations="disabled")
        return path

    return save
