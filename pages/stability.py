"""Stability: AutoSGM's closed loop on a quadratic, its stable region and rate, and a real run beside it (spec §3.2)."""

# ruff: noqa: RUF001  (labels use the spec's Greek symbols)

import plotly.graph_objects as go
import streamlit as st

from engine.figures_theory import (
    CAPTIONS,
    FILTER_PRESETS,
    error_trajectory_figure,
    stability_map_beta_figure,
    stability_map_gamma_figure,
)
from engine.simulate import simulate_quadratic
from engine.theory import deadbeat, fastest_kappa, kappa_max, spectral_radius
from ui.components import UrlState, figure_with_caption

DEFAULT = FILTER_PRESETS[-1]  # AutoSGM's default filter
KAPPA_HIGH = 8.0


@st.cache_data(max_entries=64, show_spinner=False)
def _maps(beta: float, gamma: float, kappa: float) -> tuple[go.Figure, go.Figure]:
    """The two stability maps with the configuration (beta, gamma, kappa) marked."""
    return (stability_map_beta_figure(gamma, beta=beta, kappa=kappa),
            stability_map_gamma_figure(beta, gamma=gamma, kappa=kappa))


@st.cache_data(max_entries=64, show_spinner=False)
def _run(beta: float, gamma: float, kappa: float, steps: int) -> tuple[go.Figure, float, float]:
    """A real AutoSGM run on the quadratic h = 1 at this configuration, against the predicted rate."""
    rho, bound = float(spectral_radius(kappa, beta, gamma)), float(kappa_max(beta, gamma))
    errors = simulate_quadratic(beta, gamma, kappa=kappa, steps=steps)
    return error_trajectory_figure(errors, predicted_rate=rho, labels=["AutoSGM run"]), rho, bound


def _preset(beta: float, gamma: float) -> dict[str, float]:
    """A preset's filter at its fastest loop gain."""
    kappa = float(fastest_kappa(beta, gamma)[0])
    return {"beta": beta, "gamma": round(gamma, 4), "kappa": round(min(max(kappa, 0.01), KAPPA_HIGH), 2)}


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("stability")
with st.sidebar:
    st.subheader("Presets", anchor=False)
    st.caption("Each filter at its fastest loop gain κ.")
    for preset in FILTER_PRESETS:
        st.button(preset.name, key=f"preset {preset.name}", on_click=url.set, width="stretch",
                  kwargs=_preset(preset.beta, preset.gamma))
    st.subheader("Configuration", anchor=False)
    beta = url.slider("pole β", "beta", DEFAULT.beta, 0.0, 0.999, 0.001, fmt="%.3f",
                      help="The filter's pole; the map on the right is drawn at this β. 0 <= β < 1.")
    gamma = url.slider("zero γ", "gamma", round(DEFAULT.gamma, 4), -1.0, 0.999, 0.001, fmt="%.3f",
                       help="The filter's zero; the map on the left is drawn at this γ.")
    kappa = url.slider("loop gain κ = α η̄ h", "kappa", 1.0, 0.01, KAPPA_HIGH, 0.01, fmt="%.2f",
                       help="The step size α times the filter's gain η̄ = (1-β)/(1-γ) times the curvature h.")
    st.button("deadbeat for this β", key="deadbeat", width="stretch", on_click=url.set,
              kwargs=dict(zip(("kappa", "gamma"), (round(float(v), 4) for v in deadbeat(beta)), strict=True)),
              help="Nesterov's zero γ = β/(1+β) at κ = 1 + β: the error vanishes in two steps.")
    steps = url.slider("simulated steps", "steps", 60, 10, 300, 10, help="Length of the simulated run.")
url.write()

# --- guard --------------------------------------------------------------------------------------------------------
st.title("Stability")
st.markdown("On a quadratic with curvature h, AutoSGM at a constant rate is a linear feedback loop: the filter "
            "(β, γ) and the loop gain κ decide whether the error shrinks, and how fast. Your configuration is the "
            "orange star on both maps; the run below is the real optimizer at that configuration.")
try:
    map_beta, map_gamma = _maps(beta, gamma, kappa)
    run, rho, bound = _run(beta, gamma, kappa, steps)
except ValueError as error:  # the controls and the URL check prevent it; never a traceback in the browser
    st.error(f"This configuration cannot be analysed: {error}")
    st.stop()

# --- figures ------------------------------------------------------------------------------------------------------
verdict = "converges" if rho < 1 else "diverges"
columns = st.columns(4)
columns[0].metric("spectral radius ρ", f"{rho:.4f}", help="Per-step contraction of the error; < 1 is stable.")
columns[1].metric("stable loop gains", f"0 < κ < {bound:.4g}")
columns[2].metric("margin κ / κ_max", f"{kappa / bound:.3f}")
columns[3].metric("prediction", f"{verdict}", help="From ρ alone; the run below checks it.")
(st.success if rho < 1 else st.error)(f"The theory says this configuration {verdict}: ρ = {rho:.4f} "
                                      f"{'<' if rho < 1 else '>='} 1.")

figure_with_caption(map_beta, CAPTIONS["stability_map_beta"], key="map_beta")
figure_with_caption(map_gamma, CAPTIONS["stability_map_gamma"], key="map_gamma")
figure_with_caption(run, CAPTIONS["error_trajectory"], key="error_trajectory")
