"""Playground: optimizers side by side on a 2-D loss surface, their paths and what they measured at every step."""

# ruff: noqa: RUF001  (labels use Greek symbols)

import plotly.graph_objects as go
import streamlit as st

from engine.figures import (
    RUN_CAPTIONS,
    internals_figure,
    run_label,
    series_figure,
    summary_json,
    telemetry_csv,
    trajectory_figure,
)
from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, run_comparison
from engine.tasks import get_surface
from ui.components import UrlState, escape_markdown, figure_with_caption
from ui.controls import optimizer_controls, start_inputs, surface_picker, valid_choices

# One per slot: on Rosenbrock, Adam crawls along the valley while heavy ball reaches the minimum's neighbourhood.
# (A comment, not a docstring: Streamlit's magic would print a bare string on the page.)
DEFAULT_OPTIMIZERS = ("adam:lr=0.05", "momentum:lr=0.001", "nesterov:lr=0.0005", "autosgm:lr=0.01")
SERIES = (  # (record key, log y, title, y axis)
    ("loss", True, "Loss", "loss f(x, y)"),
    ("effective_lr", True, "Effective learning rate", "||update|| / ||gradient||"),
    ("lr", True, "The optimizer's own learning rate", "lr"),
    ("cos_grad_prev", False, "Gradient alignment", "cos(g_t, g_{t-1})"),
)


@st.cache_data(max_entries=64, show_spinner=False)
def _run(spec_json: str) -> list[RunResult]:
    """The comparison described by ``spec_json`` (2-D runs take well under a second)."""
    return run_comparison(ComparisonSpec.from_json(spec_json))


@st.cache_data(max_entries=128, show_spinner=False)
def _trajectory(spec_json: str, task: str, step: int, surface_3d: bool) -> go.Figure:
    """The trajectory figure of the comparison ``spec_json`` on ``task``, scrubbed to ``step``."""
    return trajectory_figure(get_surface(task), _run(spec_json), step=step, surface_3d=surface_3d)


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("playground")
choices: list[OptimizerChoice | None] = []
with st.sidebar:
    st.subheader("Surface", anchor=False)
    surface = surface_picker(url)
    x0, y0 = start_inputs(url, surface)
    noise = url.slider("gradient noise σ", "noise", 0.0, 0.0, 10.0, 0.1, fmt="%.1f",
                       help="Standard deviation of Gaussian noise added to every gradient (the same draws for all).")
    steps = url.slider("steps", "steps", 200, 10, 2000, 10, help="Optimizer steps per run.")
    count = url.slider("optimizers", "n", 2, 1, 4, 1, help="How many optimizers run side by side.")
    for slot in range(1, count + 1):
        with st.container(border=True):
            choices.append(optimizer_controls(url, slot, DEFAULT_OPTIMIZERS[slot - 1]))
url.write()

# --- guard --------------------------------------------------------------------------------------------------------
st.title("Playground")
st.markdown("Optimizers side by side on a 2-D loss surface, from the same start. Change anything in the sidebar "
            "and the runs redraw; scrub the step slider to watch them move.")
valid = valid_choices(choices)
if surface is None:
    st.info("Fix the formula in the sidebar to draw its surface.", icon=":material/edit:")
    st.stop()
if not valid:
    st.info("Fix the optimizer settings in the sidebar: none of them is valid.", icon=":material/tune:")
    st.stop()
try:
    spec = ComparisonSpec(surface.key, valid, steps=int(steps), task_args={"noise": noise, "start": (x0, y0)})
    results = _run(spec.to_json())
except ValueError as error:  # the controls prevent it; never a traceback in the browser
    st.error(f"This configuration cannot run: {error}")
    st.stop()

# --- figures ------------------------------------------------------------------------------------------------------
for result in results:
    name = escape_markdown(run_label(result))
    final = result.summary
    if result.status == "diverged":
        st.error(f"**{name}**: diverged at step {result.diverged_at}: {escape_markdown(result.reason or '')}",
                 icon=":material/trending_up:")
    else:
        where = escape_markdown(f"loss {final['final_loss']:.4g} at ({final['final_x']:.4g}, {final['final_y']:.4g})")
        st.success(f"**{name}**: {result.status} after {int(final['steps_done'])} steps, {where}",
                   icon=":material/flag:")

shared = {name: value for name, value in st.query_params.items() if name != "n" and not name.startswith("opt")}
for column, choice in zip(st.columns(len(valid)), valid, strict=True):  # this surface, one optimizer, as a map
    column.page_link("pages/landscape.py", label=f"Open {choice.label} as a landscape", icon=":material/grid_on:",
                     query_params=shared | {"opt1": str(choice)},
                     help="A map of runs of this optimizer over two of its hyperparameters, on this surface.")

last_step = max((int(r.records[-1]["step"]) for r in results if r.records), default=1)
scrub, toggle = st.columns([4, 1], vertical_alignment="bottom")
step = scrub.slider("step", 1, max(last_step, 2), max(last_step, 2), key=f"playground.step.{last_step}",
                    help="Move every run's marker to where it was at this step.") if last_step > 1 else 1
surface_3d = toggle.toggle("3-D surface", key="playground.3d", help="Draw the surface in 3-D (drag to rotate).")
figure_with_caption(_trajectory(spec.to_json(), surface.key, step, surface_3d), RUN_CAPTIONS["trajectory"],
                    key="trajectory")
for key, log_y, title, y_title in SERIES:
    figure_with_caption(series_figure(results, key, log_y=log_y, title=title, y_title=y_title), RUN_CAPTIONS[key],
                        key=key)
figure_with_caption(internals_figure(results), RUN_CAPTIONS["internals"], key="internals")

left, right = st.columns(2)
left.download_button("telemetry (CSV)", telemetry_csv(results), file_name="playground_telemetry.csv",
                     mime="text/csv", icon=":material/download:", width="stretch")
right.download_button("specs and summaries (JSON)", summary_json(results), file_name="playground_runs.json",
                      mime="application/json", icon=":material/download:", width="stretch")
