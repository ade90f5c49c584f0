"""Optiscope's Streamlit entry point: the landing page, listing every registered optimizer, until the pages arrive."""

from pathlib import Path

import streamlit as st

from optimizers import REGISTRY
from ui.components import optimizer_cards

HERE = Path(__file__).parent

st.set_page_config(page_title="Optiscope", layout="wide")
st.logo(HERE / "assets" / "logo.svg", size="large")

st.title("Optiscope")
st.markdown(
    "An interactive optimizer-dynamics explorer. Pick optimizers and their hyperparameters, then watch them work: "
    "on 2-D loss surfaces, instantly, and on a small MLP trained live on MNIST-1D. Comparisons are honest: "
    "every optimizer starts from the same initialisation, sees the same batches, and runs over several seeds."
)

st.header("Research optimizers")
st.caption("The optimizers the explorer exists to show.")
optimizer_cards([info for info in REGISTRY.values() if info.research])

st.header("Baselines")
st.caption("From torch.optim and torch.optim.lr_scheduler as they are, never re-implemented.")
optimizer_cards([info for info in REGISTRY.values() if not info.research])
