"""Load: N people each running a Train job at once; how stale their pages get, how fast a newcomer's page loads, and
whether the server goes idle after the jobs.

``streamlit run app.py`` on a free 127.0.0.1 port with a temporary ``$OPTISCOPE_HOME`` (MNIST-1D generated in it
first), driven by headless Chromium (Debian's, through Playwright's ``executable_path``, as the browser tests). For
each N in ``--sessions`` (1, 4, 8 by default), N browser contexts (N sessions) open the Train page with a small
comparison in the link and press Start together. Then:

- staleness: each page records when its progress text changes (a MutationObserver, in the page's clock, which is
  this machine's). Two numbers per session: the longest gap between updates while its job runs (the job's progress
  moves every step, so a live page changes at every poll), and the lag from the job's last run being saved (the
  run file's ``saved_at``) to the page showing it finished. Reported as the worst over sessions, and as a ratio to
  the page's poll interval (``pages/train.py``'s ``POLL_SECONDS``): about 2 is the target (two polls). A page's
  updates wait for its tab as well as for the server (Streamlit's browser asks for each poll, then draws it), and here
  the N tabs draw their live charts on the server's own cores: the CPU that the server and the browser tabs used
  while the jobs ran says where the time went.
- newcomer: with the N jobs running, another context loads the Train page; the time from ``goto`` to the page's
  script run having ended, against the same load on the idle server at the start (the ratio). At the server's job
  limit the newcomer presses Start and must read the busy message, which counts queued jobs as queued.
- idle after: the server's CPU (utime + stime of its process, from /proc) over the 10 s that begin 10 s after the
  last job ended, as a fraction of one core, against the idle server's CPU over the same span at the start.

The machine is shared and noisy: ratios against a reference measured in the same run, never absolute targets. Every
session runs on 127.0.0.1; each level is bounded in time (``--timeout``).

    PYTHONPATH=. python benchmarks/bench_load.py [--sessions 1 4 8] [--epochs 2] [--timeout 240]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from engine.runs import store
from tests.e2e.conftest import CHROMIUM_ARGS, VIEWPORT
from tests.e2e.server import cpu_fraction, cpu_seconds, server_pid, streamlit_server

ROOT = Path(__file__).resolve().parent.parent
IDLE_SPAN_S = 10.0  # the CPU window, which begins IDLE_SPAN_S after the last job's end
# The Train page's poll interval, read from the page (importing a page runs it).
POLL_SECONDS = float(re.search(r"^POLL_SECONDS = ([0-9.]+)", (ROOT / "pages" / "train.py").read_text(), re.M)[1])
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'

# After a newcomer's Start: its job is in the URL, or an alert says the server is busy.
STARTED_OR_BUSY_JS = """() => location.search.includes('job=') || Array.from(
    document.querySelectorAll('[data-testid="stAlert"]')).some(alert => /busy/.test(alert.innerText))"""

# Records every change of the progress text, with the time in ms since the epoch, in window.__progress.
WATCH_JS = """() => {
    window.__progress = [];
    const read = () => {
        const bar = document.querySelector('[data-testid="stProgress"]');
        const text = bar ? bar.innerText.trim() : '';
        const log = window.__progress;
        if (text && (!log.length || log[log.length - 1][1] !== text)) log.push([Date.now(), text]);
    };
    new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
    read();
}"""


def browser_cpu_seconds() -> float:
    """utime + stime of every Chromium process now alive."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"chromium" in (entry / "cmdline").read_bytes():
                total += cpu_seconds(int(entry.name))
        except OSError:
            continue
    return total


def load_time(browser: Browser, url: str) -> tuple[Page, float]:
    """A new session's Train page (a new context), and the seconds from ``goto`` to its script run's end."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    started = time.monotonic()
    page.goto(url)
    page.wait_for_selector('[data-testid="stProgress"], [data-testid="stButton"]', timeout=600_000)
    page.wait_for_selector(SETTLED, timeout=600_000)
    return page, time.monotonic() - started


def saved_at(job_id: str) -> float | None:
    """When the job's last run was saved (epoch seconds), or None while it has none."""
    runs = store.list_runs(job_id=job_id)
    return max(datetime.fromisoformat(run.saved_at).timestamp() for run in runs) if runs else None


def level(browser: Browser, url: str, pid: int, sessions: int, idle_load: float, idle_cpu: float,
          timeout: float) -> None:
    """N sessions at once; prints its lines."""
    pages = []
    for _ in range(sessions):
        page, _ = load_time(browser, url)
        pages.append(page)
    started, server_started, browsers_started = time.monotonic(), cpu_seconds(pid), browser_cpu_seconds()
    for page in pages:  # press Start everywhere, then watch
        page.get_by_test_id("stButton").filter(has_text="Start").click()
    jobs = []
    for page in pages:
        page.wait_for_url("**job=*", timeout=60_000)
        page.evaluate(WATCH_JS)
        jobs.append(page.url.split("job=")[1].split("&")[0])

    newcomer, newcomer_load = load_time(browser, url)
    busy = ""
    if sessions >= 8:  # the server's limit: a Start must say so, with queued jobs counted as queued
        newcomer.get_by_test_id("stButton").filter(has_text="Start").click()
        newcomer.wait_for_function(STARTED_OR_BUSY_JS, timeout=60_000)
        alert = newcomer.get_by_test_id("stAlert").filter(has_text="busy")
        accepted = "job=" in newcomer.url  # jobs that ended meanwhile made room: it started
        busy = alert.first.inner_text() if alert.count() else \
            "(accepted: jobs had ended meanwhile)" if accepted else "(neither started nor a busy message)"
    newcomer.context.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(
            (page.evaluate("() => window.__progress") or [[0, ""]])[-1][1].startswith(("finished", "failed"))
            for page in pages):
        time.sleep(0.5)
    loaded = time.monotonic() - started
    server_load = (cpu_seconds(pid) - server_started) / loaded
    browsers_load = (browser_cpu_seconds() - browsers_started) / loaded
    ended = [saved_at(job) for job in jobs]
    last_end = max((end for end in ended if end is not None), default=time.time())
    logs = [page.evaluate("() => window.__progress") for page in pages]
    gaps, lags = [], []
    for log, end in zip(logs, ended, strict=True):
        running = [at / 1000 for at, text in log if text.startswith("running")]  # a queued page has nothing new
        gaps.append(max((b - a for a, b in itertools.pairwise(running)), default=0.0))
        shown = next((at / 1000 for at, text in log if text.startswith(("finished", "failed"))), None)
        lags.append(shown - end if shown is not None and end is not None else float("inf"))
    time.sleep(max(0.0, last_end + IDLE_SPAN_S - time.time()))
    after_cpu = cpu_fraction(pid, IDLE_SPAN_S)
    for page in pages:
        page.context.close()

    gap, lag = max(gaps), max(lags)
    print(f"sessions={sessions}: longest gap between a running page's updates {gap:.2f} s = "
          f"{gap / POLL_SECONDS:.2f} x the poll interval; a finished job shown {lag:.2f} s after its last save = "
          f"{lag / POLL_SECONDS:.2f} x the poll interval")
    print(f"sessions={sessions}: while the jobs ran ({loaded:.0f} s) the server used {server_load:.0%} of a core, the "
          f"{sessions} browser tabs {browsers_load:.0%} (the workers train at a lower priority)")
    print(f"sessions={sessions}: newcomer's page loaded in {newcomer_load:.2f} s = {newcomer_load / idle_load:.2f} x "
          f"an idle server's {idle_load:.2f} s" + (f"; Start said: {busy!r}" if busy else ""))
    print(f"sessions={sessions}: server CPU {IDLE_SPAN_S:.0f}-{2 * IDLE_SPAN_S:.0f} s after the last job ended "
          f"{after_cpu:.1%} of a core = {after_cpu / max(idle_cpu, 1e-3):.1f} x idle ({idle_cpu:.1%})", flush=True)


@contextmanager
def server(home: Path) -> Iterator[tuple[str, int]]:
    """The app on a free port, its runs and MNIST-1D in ``home``; yields its URL and pid."""
    os.environ["OPTISCOPE_HOME"] = str(home)  # this process reads the run store there too
    from engine.tasks.mnist1d import load_mnist1d

    load_mnist1d()  # generated once here, not by eight workers at once
    with streamlit_server(ROOT, home, home / "server.log") as url:
        yield url, server_pid(url.rsplit(":", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds each level may take to end its jobs")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    query = f"epochs={args.epochs}&batch=128&seeds=1&n=1&opt1=adam:lr=0.0047"
    with tempfile.TemporaryDirectory() as home, server(Path(home)) as (url, pid), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
        train = f"{url}/train?{query}"
        load_time(browser, train)[0].context.close()  # warm-up: the first script run imports and caches
        page, idle_load = load_time(browser, train)
        page.context.close()
        idle_cpu = cpu_fraction(pid, IDLE_SPAN_S)
        print(f"idle server: Train page loads in {idle_load:.2f} s, CPU {idle_cpu:.1%} of a core; poll interval "
              f"{POLL_SECONDS:.1f} s", flush=True)
        for sessions in args.sessions:
            level(browser, train, pid, sessions, idle_load, idle_cpu, args.timeout)
        browser.close()


if __name__ == "__main__":
    main()
