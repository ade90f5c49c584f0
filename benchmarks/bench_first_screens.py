"""Time every page's first screen in a real browser: from opening it fresh to its first figure with data, against a
plain rerun of the same page.

A headless Chromium (Debian's, through Playwright's ``executable_path``, as the browser tests) drives
``streamlit run app.py`` on a free localhost port with a temporary ``$OPTISCOPE_HOME``. For each page, in a fresh
browser context (a new visitor, nothing pressed):

(a) first figure: from ``goto`` to the first Plotly chart holding data (``HAS_DATA`` of the browser tests; Home:
its first picture), with the browser's cache empty: a first-time visitor, who also downloads and parses Streamlit's
JavaScript (its Plotly chunk is lazy-loaded with the first chart). A page that starts a job on a first visit (Train,
Sensitivity) counts until the job's first curve is drawn; that page then waits for its job to end before the next
page is measured, so jobs never overlap.
(b) returning visitor: the same page opened again in the same browser (a new Streamlit session, the browser's cache
warm), to its first figure with data.
(c) plain rerun: Streamlit's "R" shortcut on that page once it has settled (nothing changed, the caches warm): the
floor any script run of that page pays, so (a) / (c) and (b) / (c) say how much more a visit costs than a rerun.

Target: a meaningful figure within about two seconds of opening a page (issue 13). The first visit to the server
(imports, torch) is a warm-up and not timed. Times are medians over rounds; the machine is shared and noisy.

    PYTHONPATH=. python benchmarks/bench_first_screens.py [--rounds 3] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from playwright.sync_api import Page, sync_playwright

from benchmarks.bench_ui import TIMEOUT_MS, plain_rerun, settle, streamlit_app
from tests.e2e.conftest import CHROMIUM_ARGS, HAS_DATA, VIEWPORT
from ui.navigation import PAGES

TARGET_S = 2.0
JOB_END_TIMEOUT_MS = 300_000  # a page's first-visit job (a small default) ends within minutes even on a busy machine


def first_figure(page: Page, url: str, home: bool) -> float:
    """Seconds from opening ``url`` to its first figure with data (Home: its first picture)."""
    start = time.perf_counter()
    page.goto(url)
    if home:
        page.get_by_test_id("stImage").first.wait_for(timeout=TIMEOUT_MS)
    else:
        page.wait_for_function(f"() => {{ const chart = document.querySelector('[data-testid=stPlotlyChart]'); "
                               f"return !!chart && ({HAS_DATA})(chart); }}", polling="raf", timeout=TIMEOUT_MS)
    return time.perf_counter() - start


def verdict(seconds: float) -> str:
    return "met" if seconds <= TARGET_S else "MISSED"


def wait_for_jobs(page: Page) -> None:
    """Until no progress bar of the page says its job is running or queued."""
    page.wait_for_function("() => !Array.from(document.querySelectorAll('[data-testid=stProgress]'))"
                           ".some(bar => /running|queued/.test(bar.innerText))", timeout=JOB_END_TIMEOUT_MS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh visits (and plain reruns) per page")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    kinds = ("first", "again", "rerun")
    times: dict[str, dict[str, list[float]]] = {title: {kind: [] for kind in kinds} for _, title, _, _ in PAGES}
    with streamlit_app() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
        warm = browser.new_context(viewport=VIEWPORT).new_page()
        first_figure(warm, url, home=True)  # the server's first run: imports, torch
        warm.context.close()
        for _ in range(args.rounds):
            for _, title, _, path in PAGES:
                context = browser.new_context(viewport=VIEWPORT)
                page = context.new_page()
                for kind in ("first", "again"):
                    times[title][kind].append(first_figure(page, f"{url}/{path or ''}", home=path is None))
                    wait_for_jobs(page)
                    settle(page)
                times[title]["rerun"].append(plain_rerun(page))
                print(f"    measured {title}: " + ", ".join(f"{kind} {seconds[-1]:.2f} s" for kind, seconds
                                                         in times[title].items()), file=sys.stderr, flush=True)
                context.close()
        browser.close()

    print(f"First screens at 1440 x 900, median of {args.rounds} rounds (target: a figure within about "
          f"{TARGET_S:g} s); first visit: the browser's cache empty; returning: cache warm, a new session:")
    for title, measured in times.items():
        first, again, rerun = (statistics.median(measured[kind]) for kind in kinds)
        print(f"    {title:<12} first visit {first:5.2f} s ({first / rerun:4.1f}x)  returning {again:5.2f} s "
              f"({again / rerun:4.1f}x)  plain rerun (R) {rerun:5.2f} s  "
              f"({verdict(again)} returning, {verdict(first)} first)")

if __name__ == "__main__":
    main()
