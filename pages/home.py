"""Home: what Optiscope is, where to look first, and every registered optimizer with its hyperparameters."""

import streamlit as st

from optimizers import REGISTRY
from ui.components import escape_markdown, optimizer_cards

RESEARCH = [info for info in REGISTRY.values() if info.research]

st.title("Optiscope")
st.markdown(
    "An interactive optimizer-dynamics explorer. Pick optimizers and their hyperparameters, then watch what they do "
    "inside: the lowpass filter that smooths the gradient, and the region of step sizes where the learning "
    "dynamics stay stable. Comparisons are honest: every optimizer starts from the same initialisation, sees the "
    "same batches, and runs over several seeds."
)

st.header("Where to start")
first, second = st.columns(2)
with first, st.container(border=True):
    st.page_link("pages/filter_lab.py", label="1. Filter Lab", icon=":material/filter_alt:")
    st.markdown(
        "Momentum is a filter on the gradient. Start with the **SGD** preset, then **heavy ball**, then "
        "**AutoSGM default**: watch the pole and zero move on the z-plane and the high frequencies (the "
        "gradient's noise) drop on the magnitude plot."
    )
with second, st.container(border=True):
    st.page_link("pages/stability.py", label="2. Stability", icon=":material/radar:")
    st.markdown(
        "A filter plus a step size is a feedback loop. Find your configuration (the star) on the stability map, "
        "push the loop gain past the dark boundary, and see the simulated run beside it turn from converging "
        "to diverging, exactly where the theory says."
    )

st.header("The research optimizers")
st.caption("What the explorer exists to show, one line each; their hyperparameters are in the cards below.")
st.markdown("\n".join(f"- **{info.name}**: {escape_markdown(info.description)}" for info in RESEARCH))

st.header("Research optimizers")
st.caption("Each with its one-line description and, folded, its hyperparameters.")
optimizer_cards(RESEARCH)

st.header("Baselines")
st.caption("From torch.optim and torch.optim.lr_scheduler as they are, never re-implemented.")
optimizer_cards([info for info in REGISTRY.values() if not info.research])
