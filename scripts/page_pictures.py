"""Take the small pictures on Home's cards: the first figure of every page and of every lesson's first step, as a
person opening it sees it, saved to ``assets/pictures/`` (``<page>.png``, ``lesson_<key>.png``).

Run it after a change to what a page shows first (it starts its own server on a free port, with a temporary
``$OPTISCOPE_HOME``, and drives Debian's chromium)::

    PYTHONPATH=. .venv/bin/python scripts/page_pictures.py
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

from engine.lessons import load_lessons
from tests.e2e.conftest import HAS_DATA
from tests.e2e.server import streamlit_server
from ui.cards import PICTURES_DIR
from ui.navigation import PAGES

ROOT = Path(__file__).resolve().parent.parent
WIDTH_PX = 480  # a card is about a quarter of a 1440 px screen
ASPECT = 0.75  # height / width at most: a tall figure (Sweeps' verdicts) keeps its top, so the cards line up
SETTLE_MS = 4_000  # after the first figure: a live page (Train, Sensitivity) fills in a few seconds of curves
FIRST_RUN_MS = 60_000  # the server's first script run imports torch
FIRST_DATA_MS = 180_000  # a live page's first job trains its first epoch


def first_figure(tab: Page, url: str) -> bytes:
    """A PNG of the first Plotly chart ``url`` draws, once it holds data."""
    tab.goto(url)
    chart = tab.get_by_test_id("stPlotlyChart").first
    chart.locator(".main-svg").first.wait_for(timeout=FIRST_RUN_MS)
    tab.wait_for_function(f"() => ({HAS_DATA})(document.querySelector('[data-testid=stPlotlyChart]'))",
                          timeout=FIRST_DATA_MS)  # a live page's first curve, not its "nothing yet" note
    tab.wait_for_timeout(SETTLE_MS)
    chart.scroll_into_view_if_needed()
    return chart.screenshot(animations="disabled")


def save(png: bytes, name: str) -> Path:
    """``png`` cut to ``ASPECT`` from its top and scaled to ``WIDTH_PX`` wide, as ``PICTURES_DIR/<name>.png``."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.crop((0, 0, image.width, min(image.height, round(image.width * ASPECT))))
    image = image.resize((WIDTH_PX, round(image.height * WIDTH_PX / image.width)), Image.Resampling.LANCZOS)
    path = PICTURES_DIR / f"{name}.png"
    image.save(path, optimize=True)
    return path


def main() -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    PICTURES_DIR.mkdir(parents=True, exist_ok=True)
    shots = [(path, file.removesuffix(".py")) for file, _, _, path in PAGES if path is not None]
    shots += [(f"lessons?lesson={lesson.key}", f"lesson_{lesson.key}") for lesson in load_lessons()]
    with tempfile.TemporaryDirectory() as home, streamlit_server(ROOT, Path(home), Path(home) / "server.log") as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-quic"])
        tab = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        for path, name in shots:
            print(save(first_figure(tab, f"{url}/{path}"), name).relative_to(ROOT), file=sys.stderr)
        browser.close()


if __name__ == "__main__":
    main()
