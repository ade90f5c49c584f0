"""Filter Lab: AutoSGM's lowpass filter H(z) = eta (1 - gamma z^-1) / (1 - beta z^-1), seen every way (spec §2, §4)."""

# ruff: noqa: RUF001  (labels use the spec's Greek symbols)

import math

import plotly.graph_objects as go
import streamlit as st

from engine.figures import (
    FILTER_PRESETS,
    THEORY_CAPTIONS,
    config_json,
    design_plane_figure,
    frequency_csv,
    frequency_figure,
    time_response_csv,
    time_response_figure,
    zplane_figure,
)
from engine.theory import LowpassResponse, lowpass
from ui.figures import download_buttons, figure_with_caption
from ui.text import literal
from ui.url_state import UrlState

DEFAULT = FILTER_PRESETS[-1]  # AutoSGM's default filter
DEBIAS = {"true": "seed 1/(1-β^t)", "exact": "exact", "false": "off"}  # AutoSGM's own debias option values
_DEBIAS_TRACE = {"true": "step, seed debias 1/(1-β^t)", "exact": "step, exact debias"}


@st.cache_data(max_entries=256, show_spinner=False)
def _figures(beta: float, gamma: float, eta: float) -> tuple[dict[str, go.Figure], LowpassResponse]:
    """The four Filter Lab figures for one (beta, gamma, eta), and the response they draw (its summary numbers)."""
    response = lowpass(beta, gamma, eta)
    figures = {"zplane": zplane_figure(response), "frequency": frequency_figure(response),
               "time_response": time_response_figure(response), "design_plane": design_plane_figure(beta, gamma)}
    return figures, response


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("filter_lab")
with st.sidebar:
    st.subheader("Presets", anchor=False)
    for preset in FILTER_PRESETS:
        st.button(preset.name, key=f"preset {preset.name}", on_click=url.set, width="stretch",
                  kwargs={"beta": preset.beta, "gamma": round(preset.gamma, 4), "eta": round(preset.eta, 4)},
                  help=f"β = {preset.beta:g}, γ = {preset.gamma:.4g}, η = {preset.eta:.4g}")
    st.subheader("Filter", anchor=False)
    beta = url.slider("pole β", "beta", DEFAULT.beta, 0.0, 0.999, 0.001, fmt="%.3f",
                      help="The filter's pole: how much of the past it remembers. 0 <= β < 1.")
    gamma = url.slider("zero γ", "gamma", round(DEFAULT.gamma, 4), -1.0, 0.999, 0.001, fmt="%.3f",
                       help="The filter's zero. γ < β makes a lowpass; γ = 0 is a plain EMA.")
    if gamma >= beta:
        st.info("γ ≥ β: the filter is not a lowpass (γ = β passes everything unchanged).")
    elif gamma < -(1 - beta) / (1 + beta):
        st.info(f"γ is below the lowest admissible zero -(1-β)/(1+β) = {-(1 - beta) / (1 + beta):.4f}.")
    eta = url.number_input("gain η", "eta", round(DEFAULT.eta, 4), 0.001, 10.0, 0.01, fmt="%.4f",
                           help="Overall gain. The unit-DC gain (1-β)/(1-γ) makes a constant gradient pass as is.")
    st.caption(f"unit-DC gain here: η = (1-β)/(1-γ) = {(1 - beta) / (1 - gamma):.4f}")
    debias = url.choice_input("debias", "debias", "true", DEBIAS, help="AutoSGM's debias option, for the step "
                              "response: the seed's 1/(1-β^t), the exact one, or none.")
url.write()

# --- guard --------------------------------------------------------------------------------------------------------
st.title("Filter Lab")
st.markdown("Momentum and Adam's moving average are one lowpass filter on the gradient, with a pole β, a zero γ and "
            "a gain η. Pick a preset in the sidebar, then move the pole and the zero.")
try:
    figures, response = _figures(beta, gamma, eta)
except ValueError as error:  # the controls and the URL check prevent it; never a traceback in the browser
    st.error(f"This filter cannot be drawn: {literal(error)}")
    st.stop()

# --- figures ------------------------------------------------------------------------------------------------------
for trace in figures["time_response"].data:  # the debias option picks which debiased step is drawn
    if trace.name in _DEBIAS_TRACE.values() and trace.name != _DEBIAS_TRACE.get(debias):
        trace.visible = "legendonly"

figure_with_caption(figures["zplane"], THEORY_CAPTIONS["zplane"], key="zplane")
# the filter's numbers under the z-plane: on a phone the first figure comes before them
cutoff = "none" if math.isnan(response.cutoff) else f"{response.cutoff / math.pi:.3f} π"
for column, label, value in zip(st.columns(5), ("DC gain H(1)", "Nyquist gain H(-1)", "noise gain Σh²",
                                                "mean lag (steps)", "-3 dB frequency"), (
        f"{response.dc_gain:.4g}", f"{response.nyquist_gain:.4g}", f"{response.noise_gain:.4g}",
        f"{response.dc_group_delay:.3g}", cutoff), strict=True):
    column.metric(label, value)
figure_with_caption(figures["frequency"], THEORY_CAPTIONS["frequency"], key="frequency")
figure_with_caption(figures["time_response"], THEORY_CAPTIONS["time_response"], key="time_response")
figure_with_caption(figures["design_plane"], THEORY_CAPTIONS["design_plane"], key="design_plane")

st.subheader("Downloads", anchor=False)
download_buttons([
    ("frequency response (CSV)", lambda: frequency_csv(response), "filter_frequency_response.csv"),
    ("impulse and step responses (CSV)", lambda: time_response_csv(response), "filter_time_responses.csv"),
    ("configuration (JSON)", lambda: config_json("filter_lab", url.values), "filter_lab.json"),
])
