"""A crash loses nothing a person started, in a real server: a person starts a Train job (Adam against AGAW, trained
as one batch), cancels Adam alone, and the server is killed with SIGKILL while AGAW trains. Its worker process ends
within seconds; the next server, on the same home, opens the job's link as interrupted (never cancelled) with Adam's
run kept, and Resume trains the rest under the same job."""

import os
import re
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.server import server_pid, streamlit_server
from tests.test_fault import children
from tests.test_jobs import gone, seconds_until_gone

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 60_000  # a first script run imports torch; a worker starts and trains beside the server on 2 cores
CONFIGURATION = "epochs=25&batch=32"  # long enough that AGAW still trains when the server is killed
ADAM, AGAW = "Adam (lr=0.0047)", "AGAW (target_lr=0.0046, warmup_steps=107, gamma=1.7)"
WORKER_EXIT_S = 6  # "within a few seconds of their server's death"


def open_train(tab: Page, url: str, query: str) -> None:
    tab.goto(url)  # a first visit loads app.py's navigation, as the other pages' tests do
    expect(tab.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    tab.goto(f"{url}/train?{query}")
    expect(tab.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=TIMEOUT_MS)


def test_a_killed_server_loses_nothing_a_person_started(browser: Browser, repo_root: Path, home_with_mnist1d: Path,
                                                         tmp_path: Path) -> None:
    runs = home_with_mnist1d / "runs"
    tab = browser.new_page()
    with streamlit_server(repo_root, home_with_mnist1d, tmp_path / "first.log") as url:
        open_train(tab, url, CONFIGURATION)
        tab.get_by_test_id("stSidebar").get_by_role("button", name=re.compile("Start")).click()
        progress = tab.get_by_test_id("stProgress")
        expect(progress).to_contain_text("now 2 runs at once", timeout=TIMEOUT_MS)
        job_id = re.search(r"job=([\w-]+)", tab.url).group(1)  # type: ignore[union-attr]
        tab.get_by_role("button", name=f"Cancel {ADAM}").click()
        expect(progress).to_contain_text("now seed 0 · AGAW", timeout=TIMEOUT_MS)
        assert len(list(runs.glob("*.json"))) == 1, "Adam's run is saved as it ends, while AGAW trains on"
        server = server_pid(url.rsplit(":", 1)[1])
        workers = [pid for pid in children(server) if not gone(pid)]
        assert workers, "the job trains in a worker process"
        os.kill(server, signal.SIGKILL)
        elapsed = seconds_until_gone(workers)
        assert all(gone(pid) for pid in workers), "a worker outlived its server"
        assert elapsed < WORKER_EXIT_S, f"the worker took {elapsed:.1f} s to end after its server"

    with streamlit_server(repo_root, home_with_mnist1d, tmp_path / "second.log") as url:
        open_train(tab, url, f"{CONFIGURATION}&job={job_id}")
        progress = tab.get_by_test_id("stProgress")
        expect(progress).to_contain_text("interrupted · 1 of 2 runs ended", timeout=TIMEOUT_MS)
        expect(tab.get_by_test_id("stAlert").filter(has_text="Interrupted: the server stopped")).to_be_visible()
        expect(tab.get_by_text("Cancelled:", exact=False)).to_have_count(0)  # nobody cancelled the job
        expect(tab.get_by_test_id("stTable").first).to_contain_text(ADAM)  # the run that ended is kept
        tab.get_by_role("button", name="Resume").click()
        expect(progress).to_contain_text("now seed 0 · AGAW", timeout=TIMEOUT_MS)  # the rest, and only the rest
        assert job_id in tab.url, "the rest runs under the same job"
        tab.get_by_role("button", name=f"Cancel {AGAW}").click()
        expect(progress).to_contain_text("2 of 2 runs ended", timeout=TIMEOUT_MS)
        expect(tab.get_by_test_id("stException")).to_have_count(0)
    assert len(list(runs.glob("*.json"))) == 2
