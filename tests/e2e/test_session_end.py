"""A page's work stops when its session ends: a person opens the Landscape's largest map (256 x 256 runs of 2,000
steps, several seconds of both cores), then closes the tab while it computes; the server stops computing at once
instead of finishing a map that nobody will see."""

import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser

from tests.e2e.server import cpu_fraction, cpu_seconds, server_pid

pytestmark = pytest.mark.e2e

# The Landscape's limits at once; the noise makes this map one no other test has cached on this server.
LARGEST_MAP = {"surface": "rosenbrock", "opt1": "adam", "noise": "0.37", "steps": "2000",
               "xname": "lr", "xlo": "0.0001", "xhi": "1", "xscale": "log", "xn": "256",
               "yname": "beta1", "ylo": "0", "yhi": "0.99", "yscale": "linear", "yn": "256"}
BUSY_CPU_S = 1.0  # CPU the server spends on the map before the tab closes: it is computing
SETTLE_S = 1.0  # after the close: the websocket's end reaches the server, the map's loop asks between steps
WINDOW_S = 4.0  # the map alone would keep both cores busy for all of it
IDLE_FRACTION = 0.4  # of one core, over the window: a server that stopped (a computing one uses 1 to 2 cores)


def test_closing_the_tab_stops_the_maps_computation(browser: Browser, app_url: str) -> None:
    pid = server_pid(app_url.rsplit(":", 1)[1])
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{app_url}/landscape?{urlencode(LARGEST_MAP)}")
    tab.get_by_text("Running every cell of the map").wait_for(timeout=60_000)
    started, deadline = cpu_seconds(pid), time.monotonic() + 60
    while cpu_seconds(pid) - started < BUSY_CPU_S:
        assert time.monotonic() < deadline, "the server never started computing the map"
        time.sleep(0.1)
    context.close()
    time.sleep(SETTLE_S)
    used = cpu_fraction(pid, WINDOW_S)
    assert used < IDLE_FRACTION, f"the server went on computing a closed tab's map: {used:.2f} of a core"
