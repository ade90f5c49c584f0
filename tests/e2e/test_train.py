"""A person opens Train with a bare link and finds a comparison drawn at once (wide and on a phone); then opens Train
with a small configuration in the link, presses Start and watches the curves grow, cancels one optimizer while the
other trains on (through a page reload, which re-attaches) to the end, reads the summary, reloads the page and finds
the job again, downloads the telemetry as CSV, and opens the shared link in a new tab to see the same configuration."""

import csv
import io
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from engine.figures.style import legend_name

pytestmark = pytest.mark.e2e

FIRST_RUN_TIMEOUT_MS = 30_000  # the first script run imports torch
UPDATE_TIMEOUT_MS = 20_000  # a rerun on this shared 2-core machine, while a worker trains beside the server
TRAINING_TIMEOUT_MS = 120_000  # a worker process starts, imports torch and trains AGAW for the configured epochs
# 25 epochs of 113 steps (batch 32): long enough to watch a run grow and cancel it on a fast machine, short enough
# to wait for the other run on a slow one.
CONFIGURATION = "epochs=25&batch=32"
ADAM, AGAW = "Adam (lr=0.0047)", "AGAW (target_lr=0.0046, warmup_steps=107, gamma=1.7)"
AGAW_LEGEND = legend_name(AGAW)  # the name of AGAW's trace with the legend entry: two lines, to fit a phone
EFFECTIVE_LR = 2  # the figures in page order: loss, accuracy, effective LR, cosine, layers, internals

# The number of points of every trace of every shown Plotly figure, as {name: points} per figure. While a fragment
# reruns, Streamlit keeps each replaced chart hidden (display: none) until the run ends: only visible ones count.
# Plotly may keep typed arrays undecoded in ``data`` ({dtype, bdata}); ``_fullData`` holds them decoded.
POINTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(plot => plot.offsetParent !== null)
    .map(plot => Object.fromEntries((plot._fullData || plot.data || [])
        .map(trace => [trace.name, trace.x ? trace.x.length : 0])))"""
TITLES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(plot => plot.offsetParent !== null)
    .map(plot => plot.querySelector('.gtitle')?.textContent)"""
LIVE_TITLES = {"Loss per epoch", "Test accuracy per epoch", "Effective learning rate", "Gradient alignment",
               "Gradient norm per layer", "Optimizer internals"}  # before any "(...)" the title may carry


# Per shown Plotly figure: its title and how many finite y values its traces draw.
DRAWN_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(plot => plot.offsetParent !== null)
    .map(plot => ({title: plot.querySelector('.gtitle')?.textContent || '',
                   finite: (plot._fullData || []).reduce((count, trace) => count + Array.from(trace.y || [])
                       .filter(y => y !== null && Number.isFinite(Number(y))).length, 0)}))"""
# Per table: whether its content fits its box, whether the box scrolls sideways, and whether the box stays inside the
# main column (a table cut off at the column's edge fails all three).
TABLES_JS = """() => {
    const main = (document.querySelector('[data-testid="stMain"]') || document.body).getBoundingClientRect();
    return Array.from(document.querySelectorAll('[data-testid="stTable"]')).map(table => {
        const box = table.querySelector('table').parentElement, rect = box.getBoundingClientRect();
        return {fits: box.scrollWidth <= box.clientWidth + 1,
                scrolls: ['auto', 'scroll'].includes(getComputedStyle(box).overflowX),
                inside: rect.right <= main.right + 1}; }); }"""


def first_screen(tab: Page, app_url: str) -> list[dict[str, object]]:
    """Open Train with a bare link and wait until a figure with data is drawn; every drawn figure's title and data."""
    tab.goto(f"{app_url}/train")
    expect(tab.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(tab).to_have_url(re.compile(r"job=[\w-]+"), timeout=UPDATE_TIMEOUT_MS)
    # The first step is logged at once, so the wait is the worker's start and, in the tests' fresh home only, the one
    # generation of MNIST-1D (some 3 s alone, more on this shared machine); with the dataset cached, a few seconds.
    tab.wait_for_function(f"() => ({DRAWN_JS})().some(figure => figure.finite > 0)", timeout=FIRST_RUN_TIMEOUT_MS)
    return tab.evaluate(DRAWN_JS)


def test_train_opens_on_a_comparison_that_draws_at_once_on_a_wide_screen_and_a_phone(
        page: Page, phone_page: Page, app_url: str, screenshot: Callable[..., Path]) -> None:
    """A person opens Train without pressing anything and sees a comparison drawn: the small one the page starts on
    the first visit (or the last one run here), every figure with data, the tables inside the page."""
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    figures = first_screen(page, app_url)
    assert figures and all(figure["finite"] > 0 for figure in figures), figures
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot("train_first_screen", whole=False)

    figures = first_screen(phone_page, app_url)  # a second visitor, on a phone: the same comparison
    assert all(figure["finite"] > 0 for figure in figures), figures
    screenshot("train_first_screen_phone", phone_page, whole=False)
    # Cancel it if it still trains (this machine is shared): the summary of what ran shows, and its table fits, or
    # scrolls, in the page.
    cancel = page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile("^.*Cancel$"))
    if cancel.is_enabled():
        cancel.click()
    for tab in (page, phone_page):
        expect(tab.get_by_test_id("stProgress")).to_contain_text(re.compile("cancelled|finished"),
                                                                 timeout=FIRST_RUN_TIMEOUT_MS)
        tab.wait_for_function(f"() => ({TABLES_JS})().length > 0", timeout=UPDATE_TIMEOUT_MS)  # the summary's
        expect(tab.locator("[data-stale='true']")).to_have_count(0, timeout=UPDATE_TIMEOUT_MS)
        tables = tab.evaluate(TABLES_JS)
        assert tables and all(t["inside"] and (t["fits"] or t["scrolls"]) for t in tables), tables
        assert all(figure["finite"] > 0 for figure in tab.evaluate(DRAWN_JS))
    assert page.evaluate(TABLES_JS)[0]["fits"], "at 1440 px the summary fits without scrolling"
    screenshot("train_first_cancelled")
    screenshot("train_first_cancelled_phone", phone_page)


def points(page: Page, figure: int, name: str) -> int:
    """How many points the trace ``name`` of the ``figure``-th Plotly figure on the page has now (0 if none)."""
    figures = page.evaluate(POINTS_JS)
    return figures[figure].get(name, 0) if len(figures) > figure else 0


def wait_for_growth(page: Page, figure: int, name: str, timeout_s: float = 60.0) -> tuple[int, int]:
    """Two point counts of the trace, the second larger than the first (a live poll drew more of the run)."""
    deadline = time.monotonic() + timeout_s
    first = 0
    while time.monotonic() < deadline:
        now = points(page, figure, name)
        if first and now > first:
            return first, now
        first = first or now
        page.wait_for_timeout(250)
    pytest.fail(f"the trace {name!r} of figure {figure} did not grow live (points: {first})")


def slider_value(sidebar: Locator, label: str) -> str:
    """The value of the sidebar slider labelled exactly ``label``."""
    box = sidebar.get_by_test_id("stSlider").filter(has=sidebar.page.get_by_text(label, exact=True)).first
    return box.get_by_test_id("stSliderThumbValue").inner_text()


def test_a_person_trains_two_optimizers_cancels_one_and_finds_the_other(
        page: Page, second_page: Page, app_url: str, screenshot: Callable[[str], Path]) -> None:
    page.goto(app_url)  # as the other pages' tests: a first visit loads app.py's navigation into the sidebar
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.goto(f"{app_url}/train?{CONFIGURATION}")
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    sidebar = page.get_by_test_id("stSidebar")
    expect(page).to_have_url(re.compile(CONFIGURATION))
    start = sidebar.get_by_role("button", name=re.compile("Start"))
    expect(start).to_be_enabled()
    start.click()

    # While Adam trains, its curves grow, with progress and an ETA.
    expect(page).to_have_url(re.compile(r"job=[\w-]+"), timeout=FIRST_RUN_TIMEOUT_MS)
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text("ETA", timeout=FIRST_RUN_TIMEOUT_MS)
    before, after = wait_for_growth(page, EFFECTIVE_LR, ADAM)
    assert 0 < before < after
    expect(progress).to_contain_text("now 2 runs at once", timeout=UPDATE_TIMEOUT_MS)  # trained together
    page.wait_for_function(  # every figure is drawn while the run trains (a fragment run draws them one by one)
        f"titles => {{ const shown = ({TITLES_JS})().map(title => (title || '').split(' (')[0]); "
        "return titles.every(title => shown.includes(title)); }", arg=sorted(LIVE_TITLES))
    screenshot("train_live")

    # Cancel Adam alone: its curves so far stay, AGAW trains on to the end.
    page.get_by_role("button", name=f"Cancel {ADAM}").click()
    expect(page.get_by_role("button", name=f"{ADAM}: cancelled")).to_be_disabled(timeout=UPDATE_TIMEOUT_MS)
    expect(progress).to_contain_text("now seed 0 · AGAW", timeout=FIRST_RUN_TIMEOUT_MS)

    # A reload while AGAW trains re-attaches to the running job: the curves go on growing.
    page.reload()
    expect(progress).to_contain_text("now seed 0 · AGAW", timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_role("button", name=f"{ADAM}: cancelled")).to_be_disabled(timeout=UPDATE_TIMEOUT_MS)
    wait_for_growth(page, EFFECTIVE_LR, AGAW_LEGEND)
    expect(progress).to_contain_text("finished", timeout=TRAINING_TIMEOUT_MS)
    table = page.get_by_test_id("stTable").first
    expect(table).to_contain_text(ADAM, timeout=UPDATE_TIMEOUT_MS)
    expect(table).to_contain_text("AGAW")
    expect(table).to_contain_text("cancelled")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=UPDATE_TIMEOUT_MS)  # the last rerun is done
    assert points(page, EFFECTIVE_LR, ADAM) >= after, "the cancelled run's curve is kept"  # counted once drawn
    screenshot("train_finished")

    # A reload finds the ended job named in the URL; its runs are also among the past runs.
    shared_url = page.url
    page.reload()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stProgress")).to_contain_text("finished · 2 of 2 runs ended",
                                                              timeout=UPDATE_TIMEOUT_MS)
    expect(page.get_by_test_id("stTable").first).to_contain_text("AGAW")
    expect(page.get_by_test_id("stMultiSelect")).to_be_visible(timeout=UPDATE_TIMEOUT_MS)

    # The telemetry as CSV: a header and a row per logged step of both runs.
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("telemetry \\(CSV\\)")).first.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows and {"run", "optimizer", "seed", "step", "loss", "effective_lr"} <= rows[0].keys()
    assert {row["run"] for row in rows} == {ADAM, AGAW}

    # The link opens the same configuration (and the same job) in a new tab.
    second_page.goto(shared_url)
    expect(second_page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    expect(second_page.get_by_test_id("stProgress")).to_contain_text("finished", timeout=UPDATE_TIMEOUT_MS)
    shared_sidebar = second_page.get_by_test_id("stSidebar")
    assert (slider_value(shared_sidebar, "epochs"), slider_value(shared_sidebar, "batch size")) == ("25", "32")
    assert slider_value(shared_sidebar, "optimizers") == slider_value(sidebar, "optimizers") == "2"
    expect(shared_sidebar).to_contain_text("AGAW")
    expect(second_page).to_have_url(shared_url)
    expect(second_page.get_by_test_id("stException")).to_have_count(0)


# Three seeds of each optimizer, short: the figures show each optimizer's mean and its 95% band over the seeds.
SEEDS_CONFIGURATION = "epochs=3&batch=256&seeds=3"
BAND_SUFFIX = " · 95% band"
# The names of the traces of every shown Plotly figure, per figure (as POINTS_JS, for names).
NAMES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(plot => plot.offsetParent !== null)
    .map(plot => (plot._fullData || plot.data || []).map(trace => trace.name))"""


def trace_names(page: Page) -> list[list[str]]:
    """The trace names of every shown figure, in page order."""
    return page.evaluate(NAMES_JS)


def wait_for_bands(page: Page) -> None:
    """Until the six figures are drawn, each with a band of both optimizers (three seeds each)."""
    page.wait_for_function(
        f"suffix => {{ const figures = ({NAMES_JS})(); return figures.length === 6 && figures.every(names => "
        "names.filter(name => (name || '').endsWith(suffix)).length >= 2); }", arg=BAND_SUFFIX,
        timeout=UPDATE_TIMEOUT_MS)


def test_seed_bands_show_each_optimizer_as_its_mean_and_the_seeds_on_request(
        page: Page, phone_page: Page, app_url: str, screenshot: Callable[..., Path]) -> None:
    """A person trains two optimizers over three seeds and sees each as one line in a shaded band (wide and narrow
    screens), then switches to the individual seeds: one line per seed, no bands."""
    page.goto(app_url)
    expect(page.get_by_role("heading", name="Optiscope", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.goto(f"{app_url}/train?{SEEDS_CONFIGURATION}")
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=FIRST_RUN_TIMEOUT_MS)
    page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile("Start")).click()
    expect(page).to_have_url(re.compile(r"job=[\w-]+"), timeout=FIRST_RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stProgress")).to_contain_text("finished · 6 of 6 runs ended",
                                                              timeout=TRAINING_TIMEOUT_MS)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=UPDATE_TIMEOUT_MS)
    expect(page).to_have_url(re.compile("show=band"))
    wait_for_bands(page)
    figures = trace_names(page)
    legend_lines = {name for name in figures[2] if not name.endswith(BAND_SUFFIX)}
    assert legend_lines == {ADAM, AGAW_LEGEND}, "one mean line per optimizer, not one per seed"
    expect(page.get_by_test_id("stAlert")).to_have_count(0)  # no n = 2 note with three seeds
    expect(page.get_by_test_id("stException")).to_have_count(0)
    shared_url = page.url
    screenshot("train_bands")

    # The same job on a phone: the bands at 390 px.
    phone_page.goto(shared_url)
    expect(phone_page.get_by_test_id("stProgress")).to_contain_text("finished", timeout=FIRST_RUN_TIMEOUT_MS)
    wait_for_bands(phone_page)
    expect(phone_page.get_by_test_id("stException")).to_have_count(0)
    screenshot("train_bands_phone", phone_page)

    # Individual seeds: a line per seed, no band; the URL keeps the choice.
    page.get_by_text("individual seeds", exact=True).click()
    expect(page).to_have_url(re.compile("show=seeds"), timeout=UPDATE_TIMEOUT_MS)
    page.wait_for_function(
        f"() => {{ const figures = ({NAMES_JS})(); return figures.length === 6 && "
        f"figures.every(names => !names.some(name => (name || '').endsWith('{BAND_SUFFIX}'))) && "
        "figures[2].some(name => (name || '').endsWith(' · seed 2')); }", timeout=UPDATE_TIMEOUT_MS)
    assert set(trace_names(page)[2]) == {ADAM, AGAW_LEGEND, *(f"{name} · seed {seed}" for name in (ADAM, AGAW)
                                                              for seed in (1, 2))}
    screenshot("train_seeds")
