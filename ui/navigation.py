"""The app's pages: their files, titles, icons and URL paths, Home's guide to them, the pages for ``st.navigation``,
and the way out of Streamlit's legacy ``pages/`` mode on a fresh server."""

from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
# The app's pages in navigation order: file in pages/, title, Material icon, URL path (None: the default page, at /).
PAGES = (
    ("home.py", "Home", ":material/home:", None),
    ("lessons.py", "Lessons", ":material/school:", "lessons"),
    ("playground.py", "Playground", ":material/scatter_plot:", "playground"),
    ("landscape.py", "Landscape", ":material/grid_on:", "landscape"),
    ("train.py", "Train", ":material/model_training:", "train"),
    ("sensitivity.py", "Sensitivity", ":material/show_chart:", "sensitivity"),
    ("filter_lab.py", "Filter Lab", ":material/filter_alt:", "filter_lab"),
    ("stability.py", "Stability", ":material/radar:", "stability"),
    ("sweeps.py", "Sweeps", ":material/tune:", "sweeps"),
)

# What each page but Home shows and what to do there: Home's guide, in ``PAGES`` order (the order they build on
# each other).
PAGE_GUIDE = {
    "lessons.py": "Predict, then see: each step sets up a run, asks what will happen, and only then shows it, with "
    "the theory's number beside the run's.",
    "playground.py": "Optimizers side by side on a 2-D surface, from the same start. Press play and watch heavy ball "
    "overshoot where Adam crawls; a diverged run says why.",
    "landscape.py": "One optimizer run at every cell of a grid of two hyperparameters: where it converges, where it "
    "diverges, and the theory's stability boundary drawn over it.",
    "train.py": "The seed MLP on MNIST-1D, trained live: the same initial weights and batches for every optimizer, "
    "several seeds, a 95% band around each mean.",
    "sensitivity.py": "The final accuracy against one hyperparameter, over seeds: how sharp is the optimum, and where "
    "does each optimizer break?",
    "filter_lab.py": "Momentum is a lowpass filter on the gradient: its pole and zero on the z-plane, and how much of "
    "the gradient's noise each frequency lets through.",
    "stability.py": "A filter plus a step size is a feedback loop: the region where AutoSGM's learning dynamics stay "
    "stable, with a simulated run beside it.",
    "sweeps.py": "The seed write-ups' claims, re-run with equal tuning budgets over ten seeds, and your own Optuna "
    "sweeps.",
}


def app_pages() -> list[st.Page]:
    """The app's pages for ``st.navigation``, made afresh for every script run (``st.navigation`` takes its pages
    for that run); Home is the default page."""
    return [st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=url_path, default=url_path is None)
            for file, title, icon, url_path in PAGES]


_LEFT_LEGACY_NAVIGATION = "ui.navigation.left_legacy_navigation"  # session_state: this session has rerouted once


def leave_legacy_navigation() -> None:
    """Rerun through app.py's router when Streamlit runs a page file on its own, the legacy ``pages/`` way.

    Until some session calls ``st.navigation``, Streamlit treats a ``pages/`` folder beside the entry point as a legacy
    multipage app (``_mpa_v1`` in streamlit/runtime/scriptrunner/script_runner.py): a fresh server's first request by
    deep link, such as ``/train``, runs ``pages/train.py`` alone, without app.py's sidebar (and ``/`` runs app.py as
    one of those pages). Every page imports the ``ui`` package (through any of its modules), and a server's first
    script run, the first to import it, is always such a legacy run. So that import (``ui/__init__.py``) calls this:
    ``st.navigation``, after which the app ignores ``pages/`` in every session (its documented behaviour), and a rerun:
    app.py then routes the same URL (a page's hash is that of its URL path in both modes). The rerun abandons the
    import, which runs again in the next script run: the session's mark lets that one pass.

    ``client.showSidebarNavigation = false`` in .streamlit/config.toml hid the legacy run's list of file names; in
    Streamlit 1.67 the option also hides ``st.navigation``'s sidebar list (streamlit/commands/navigation.py), so with
    the legacy mode over for good it is turned back on (a scriptable option) for the app's own list.
    tests/e2e/test_deep_links.py checks all this.
    """
    # Outside a script run (an import by a test): nothing to reroute. get_script_run_ctx is the documented way to ask
    # (https://docs.streamlit.io/develop/concepts/design/multithreading).
    if get_script_run_ctx() is None or st.session_state.get(_LEFT_LEGACY_NAVIGATION):
        return
    st.session_state[_LEFT_LEGACY_NAVIGATION] = True
    st.navigation(app_pages(), position="hidden")
    st.set_option("client.showSidebarNavigation", True)
    st.rerun()

