"""A person's very first visit to a freshly started server is a shared deep link (``/train``, ``/stability``): the
page opens inside the app's own frame (logo, titled navigation), never Streamlit's legacy file-name navigation of the
``pages/`` folder that it serves until some session has run ``app.py``'s ``st.navigation``."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.server import streamlit_server

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
NAVIGATION = ["Home", "Playground", "Train", "Filter Lab", "Stability", "Sweeps"]  # app.py's titles, not files


@pytest.fixture
def app_url(repo_root: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh `streamlit run app.py` for this test alone (the shared session server has served other pages
    already), so the test's first request is the server's first request; health checks run no script."""
    with streamlit_server(repo_root, tmp_path / "optiscope-home", tmp_path / "server.log") as url:
        yield url


@pytest.mark.parametrize(("path", "heading", "ready"), [
    ("train", "Train", lambda page: page.get_by_role("button", name="Start")),
    ("stability", "Stability", lambda page: page.locator(".js-plotly-plot .main-svg").nth(3)),  # the live margin
])
def test_a_first_visit_by_deep_link_gets_the_apps_navigation(page: Page, app_url: str,
                                                             screenshot: Callable[[str], Path], path: str,
                                                             heading: str, ready: Callable[[Page], Locator]) -> None:
    page.goto(f"{app_url}/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(ready(page)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)  # the page is drawn, not its skeleton
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    expect(links).to_have_count(len(NAVIGATION))  # the legacy list has one more: "app", the entry point itself
    assert [text.split("\n")[-1] for text in links.all_inner_texts()] == NAVIGATION  # each after its icon
    expect(page.get_by_test_id("stSidebarLogo")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)  # no "Page not found"
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/{path}(\?|$)"))
    screenshot(f"deep_link_{path}")
