"""A person's very first visit to a freshly started server is a shared deep link (``/train``, ``/stability``): the
page opens inside the app's own frame (logo, titled navigation), never Streamlit's legacy file-name navigation of the
``pages/`` folder that it serves until some session has run ``app.py``'s ``st.navigation``, and never a page file run
on its own, without that frame."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.server import streamlit_server

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
# app.py's titles, not files
NAVIGATION = ["Home", "Lessons", "Playground", "Landscape", "Train", "Sensitivity", "Filter Lab", "Stability", "Sweeps"]

# Installed before the app's own scripts: from the first frame on, every page-link list the sidebar shows (each link's
# text after its icon) and whether a page's title was ever on screen without the app's logo (a page file run alone).
WATCH_JS = """
window.navigationsSeen = [];
window.titleWithoutLogo = false;
new MutationObserver(() => {
    const links = Array.from(document.querySelectorAll('[data-testid="stSidebarNav"] a'))
        .map(link => link.innerText.split('\\n').pop());
    const last = window.navigationsSeen[window.navigationsSeen.length - 1];
    if (links.length && JSON.stringify(links) !== JSON.stringify(last)) window.navigationsSeen.push(links);
    if (document.querySelector('h1') && !document.querySelector('[data-testid="stSidebarLogo"]'))
        window.titleWithoutLogo = true;
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture
def app_url(repo_root: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh `streamlit run app.py` for this test alone (the shared session server has served other pages
    already), so the test's first request is the server's first request; health checks run no script."""
    with streamlit_server(repo_root, tmp_path / "optiscope-home", tmp_path / "server.log") as url:
        yield url


def navigation_links(page: Page) -> Locator:
    return page.get_by_test_id("stSidebarNav").get_by_role("link")


def assert_only_the_apps_navigation_was_shown(page: Page) -> None:
    assert page.evaluate("window.navigationsSeen") == [NAVIGATION]  # never the legacy list of file names
    assert page.evaluate("window.titleWithoutLogo") is False  # never a page without the app's frame


@pytest.mark.parametrize(("path", "heading", "ready"), [
    ("train", "Train", lambda page: page.get_by_role("button", name="Start")),
    ("stability", "Stability", lambda page: page.locator(".js-plotly-plot .main-svg").nth(3)),  # the live margin
])
def test_a_first_visit_by_deep_link_gets_the_apps_navigation(page: Page, app_url: str,
                                                             screenshot: Callable[..., Path], path: str,
                                                             heading: str, ready: Callable[[Page], Locator]) -> None:
    page.add_init_script(WATCH_JS)
    page.goto(f"{app_url}/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(ready(page)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)  # the page is drawn, not its skeleton
    links = navigation_links(page)
    expect(links).to_have_count(len(NAVIGATION))  # the legacy list has one more: "app", the entry point itself
    assert [text.split("\n")[-1] for text in links.all_inner_texts()] == NAVIGATION  # each after its icon
    expect(links.filter(has_text=heading)).to_have_attribute("aria-current", "page")  # the current page, highlighted
    expect(page.get_by_test_id("stSidebarLogo")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)  # no "Page not found"
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/{path}(\?|$)"))
    assert_only_the_apps_navigation_was_shown(page)
    screenshot(f"deep_link_{path}")


def test_a_first_visit_by_deep_link_on_a_phone(phone_page: Page, app_url: str,
                                              screenshot: Callable[..., Path]) -> None:
    """On a phone the sidebar starts closed; opened, it holds the app's navigation, and a tap on a page goes there and
    closes it again."""
    phone_page.add_init_script(WATCH_JS)
    phone_page.goto(f"{app_url}/filter_lab")
    expect(phone_page.get_by_role("heading", name="Filter Lab", exact=True)).to_be_visible(
        timeout=FIRST_RUN_TIMEOUT_MS)
    expect(phone_page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    sidebar = phone_page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    screenshot("deep_link_phone", phone_page, whole=False)  # a phone's first screen

    phone_page.get_by_test_id("stExpandSidebarButton").click()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    links = navigation_links(phone_page)
    expect(links).to_have_count(len(NAVIGATION))
    assert [text.split("\n")[-1] for text in links.all_inner_texts()] == NAVIGATION
    expect(phone_page.get_by_test_id("stSidebarLogo")).to_be_visible()
    screenshot("deep_link_phone_sidebar", phone_page, whole=False)  # a phone's first screen

    links.filter(has_text="Stability").click()
    expect(phone_page.get_by_role("heading", name="Stability", exact=True)).to_be_visible(
        timeout=FIRST_RUN_TIMEOUT_MS)
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    expect(phone_page).to_have_url(re.compile(r"/stability(\?|$)"))
    expect(phone_page.get_by_test_id("stException")).to_have_count(0)
    assert_only_the_apps_navigation_was_shown(phone_page)
