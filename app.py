"""Optiscope's Streamlit entry point: a router over the pages in pages/, with the shared sidebar header."""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent

st.set_page_config(page_title="Optiscope", layout="wide")
st.logo(HERE / "assets" / "logo.svg", size="large")
st.sidebar.caption("Optimizer dynamics, seen from the inside.")

# A fresh server's first request by deep link runs a page file alone; ui.components.leave_legacy_navigation reroutes it.
page = st.navigation([
    st.Page(HERE / "pages" / "home.py", title="Home", icon=":material/home:", default=True),
    st.Page(HERE / "pages" / "playground.py", title="Playground", icon=":material/scatter_plot:",
            url_path="playground"),
    st.Page(HERE / "pages" / "train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page(HERE / "pages" / "filter_lab.py", title="Filter Lab", icon=":material/filter_alt:", url_path="filter_lab"),
    st.Page(HERE / "pages" / "stability.py", title="Stability", icon=":material/radar:", url_path="stability"),
    st.Page(HERE / "pages" / "sweeps.py", title="Sweeps", icon=":material/tune:", url_path="sweeps"),
])
page.run()
