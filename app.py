"""Optiscope's Streamlit entry point: a router over the pages in pages/, with the shared sidebar header."""

from pathlib import Path

import streamlit as st

from ui.navigation import app_pages

HERE = Path(__file__).parent

st.set_page_config(page_title="Optiscope", layout="wide")
st.logo(HERE / "assets" / "logo.svg", size="large")
st.sidebar.caption("Optimizer dynamics, seen from the inside.")

# The app's pages, listed in the sidebar by title and icon. (A fresh server's first request runs in Streamlit's
# legacy pages/ mode, without this file: ui.navigation.leave_legacy_navigation reroutes it here.)
page = st.navigation(app_pages())
page.run()
