"""Stability: AutoSGM's closed loop on a quadratic, its stable region and rate, a real run beside it (spec §3.2),
and the live stability margin of an AutoSGM run from the Playground or Train."""

# ruff: noqa: RUF001  (labels use the spec's Greek symbols)

import plotly.graph_objects as go
import streamlit as st

from engine.figures import (
    FILTER_PRESETS,
    STABILITY_MARGIN,
    THEORY_CAPTIONS,
    column,
    config_json,
    error_trajectory_csv,
    error_trajectory_figure,
    heatmap_csv,
    margin_figure,
    run_label,
    stability_map_beta_figure,
    stability_map_gamma_figure,
    telemetry_csv,
)
from engine.runs import RunResult, link_text, playground_comparison, run_comparison, store
from engine.theory import deadbeat, fastest_kappa, kappa_max, simulate_quadratic, spectral_radius
from ui.figures import download_buttons, figure_with_caption
from ui.session import until_session_ends
from ui.text import literal
from ui.url_state import UrlState

DEFAULT = FILTER_PRESETS[-1]  # AutoSGM's default filter
KAPPA_HIGH = 8.0
MARGIN_OPTIMIZERS = ("autosgm",)  # the registry keys whose stats report a stability margin
PLAYGROUND = "playground"  # the live margin's source: a Playground link (else a saved run's id)
# AutoSGM on the 2-D quadratic at a rate whose margin climbs as the gradients shrink (a comment: Streamlit's magic
# would print a bare string).
EXAMPLE = {"surface": "quadratic", "steps": "200", "n": "1", "opt1": "autosgm:lr=0.5"}


@st.cache_data(max_entries=64, show_spinner=False)
def _maps(beta: float, gamma: float, kappa: float) -> tuple[go.Figure, go.Figure]:
    """The two stability maps with the configuration (beta, gamma, kappa) marked."""
    return (stability_map_beta_figure(gamma, beta=beta, kappa=kappa),
            stability_map_gamma_figure(beta, gamma=gamma, kappa=kappa))


@st.cache_data(max_entries=64, show_spinner=False)
def _run(beta: float, gamma: float, kappa: float, steps: int) -> tuple[go.Figure, str, float, float]:
    """A real AutoSGM run on the quadratic h = 1 at this configuration against the predicted rate, as a figure and
    as CSV, with the rate rho and the bound kappa_max."""
    rho, bound = float(spectral_radius(kappa, beta, gamma)), float(kappa_max(beta, gamma))
    errors = simulate_quadratic(beta, gamma, kappa=kappa, steps=steps)
    figure = error_trajectory_figure(errors, predicted_rate=rho, labels=["AutoSGM run"])
    return figure, error_trajectory_csv(errors, rho), rho, bound


@st.cache_data(max_entries=32, show_spinner=False)
def _playground_runs(link: str) -> list[RunResult]:
    """The AutoSGM runs of a Playground link, rerun; none if it has no AutoSGM. The link is held to the Playground's
    limits (``playground_comparison``): at most its steps for its optimizers, well under a second of 2-D runs."""
    spec = playground_comparison(link, MARGIN_OPTIMIZERS)
    return [] if spec is None else until_session_ends(lambda ended: run_comparison(spec, should_stop=ended))


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
    st.subheader("Live margin", anchor=False)
    saved = {run.run_id: f"Train: {run.label}, seed {run.seed}, {run.saved_at[:16].replace('T', ' ')}"
             for run in store.list_runs() if run.optimizer.partition(":")[0] in MARGIN_OPTIMIZERS}
    source = url.selectbox("AutoSGM run", "run", PLAYGROUND, {PLAYGROUND: "from a Playground link"} | saved,
                           help="A Playground configuration (its link), or an AutoSGM run saved by Train.")
    link = url.text_input("Playground link", PLAYGROUND, link_text(EXAMPLE),
                          help="Paste the Playground's address (or the part after ?): its AutoSGM runs are rerun "
                               "here, held to the Playground's own limits.",
                          check=lambda text: playground_comparison(text, MARGIN_OPTIMIZERS)) \
        if source == PLAYGROUND else ""
url.write()

# --- guard --------------------------------------------------------------------------------------------------------
st.title("Stability")
st.markdown("On a quadratic with curvature h, AutoSGM at a constant rate is a linear feedback loop: the filter "
            "(β, γ) and the loop gain κ decide whether the error shrinks, and how fast. Your configuration is the "
            "orange star on both maps; the run below is the real optimizer at that configuration.")
try:
    map_beta, map_gamma = _maps(beta, gamma, kappa)
    run, run_csv, rho, bound = _run(beta, gamma, kappa, steps)
except ValueError as error:  # the controls and the URL check prevent it; never a traceback in the browser
    st.error(f"This configuration cannot be analysed: {literal(error)}")
    st.stop()

# --- figures ------------------------------------------------------------------------------------------------------
verdict = "converges" if rho < 1 else "diverges"
(st.success if rho < 1 else st.error)(f"The theory says this configuration {verdict}: ρ = {rho:.4f} "
                                      f"{'<' if rho < 1 else '>='} 1.")
figure_with_caption(map_beta, THEORY_CAPTIONS["stability_map_beta"], key="map_beta")
columns = st.columns(4)  # the numbers under the first map: on a phone the map comes first
columns[0].metric("spectral radius ρ", f"{rho:.4f}", help="Per-step contraction of the error; < 1 is stable.")
columns[1].metric("stable loop gains", f"0 < κ < {bound:.4g}")
columns[2].metric("margin κ / κ_max", f"{kappa / bound:.3f}")
columns[3].metric("prediction", f"{verdict}", help="From ρ alone; the run below checks it.")
figure_with_caption(map_gamma, THEORY_CAPTIONS["stability_map_gamma"], key="map_gamma")
figure_with_caption(run, THEORY_CAPTIONS["error_trajectory"], key="error_trajectory")

st.header("The live margin of a real run", anchor=False)
st.markdown("The maps assume a constant rate; a real AutoSGM run changes its rate every step. Its stats report where "
            "each step sits: pick a Playground configuration or a run saved by Train in the sidebar.")
try:
    live = _playground_runs(link) if source == PLAYGROUND else [store.load(source)]
except (KeyError, ValueError) as error:  # a bad link or a vanished file: a message, never a traceback
    st.error(f"This run cannot be read: {literal(error)}", icon=":material/link_off:")
    live = []
if not live:
    st.info("No AutoSGM run to read here: the Playground link has no AutoSGM among its optimizers"
            + ("." if saved else ", and Train has saved none yet.")
            + " Make one on the Playground, then paste its link, or train one on Train.", icon=":material/info:")
    st.page_link("pages/playground.py", label="Open the Playground with AutoSGM", icon=":material/scatter_plot:",
                 query_params=EXAMPLE)
for index, result in enumerate(live):
    figure_with_caption(margin_figure(column(result, "step"), column(result, STABILITY_MARGIN),
                                      label=run_label(result)), THEORY_CAPTIONS["margin"], key=f"margin {index}")

st.subheader("Downloads", anchor=False)
download_buttons([
    ("(κ, β) map (CSV)", lambda: heatmap_csv(map_beta, "kappa", "beta", "spectral_radius"),
     "stability_map_kappa_beta.csv"),
    ("(γ, κ) map (CSV)", lambda: heatmap_csv(map_gamma, "gamma", "kappa", "spectral_radius"),
     "stability_map_gamma_kappa.csv"),
    ("simulated run (CSV)", lambda: run_csv, "stability_run.csv"),
    ("live margin (CSV)", lambda: telemetry_csv(live, ("step", STABILITY_MARGIN)), "stability_margin.csv"),
    ("configuration (JSON)", lambda: config_json("stability", url.values), "stability.json"),
])
