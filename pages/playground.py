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
from engine.runs import (
    MAX_OPTIMIZERS,
    NOISE_RANGE,
    STEPS_RANGE,
    ComparisonSpec,
    OptimizerChoice,
    RunResult,
    run_comparison,
)
from engine.tasks import get_surface
from engine.theory import divergence_explanation
from ui.controls import optimizer_controls, start_inputs, surface_arguments, surface_picker, valid_choices
from ui.figures import figure_with_caption
from ui.session import until_session_ends
from ui.text import escape_markdown
from ui.url_state import UrlState

# The default comparison: one learning rate for all four, on a quadratic elongated (κ = 30) and turned (30°) so
# that SGD crawls along the flat axis, heavy ball overshoots and spirals in, Nesterov damps the spiral and Adam's
# per-coordinate steps take their own diagonal path. (A comment, not a docstring: Streamlit's magic prints those.)
DEFAULT_SURFACE = "quadratic"
DEFAULT_ARGUMENTS = {"condition": 30.0, "rotation": 30}
DEFAULT_OPTIMIZERS = ("sgd:lr=0.01", "momentum:lr=0.01", "nesterov:lr=0.01", "adam:lr=0.01")
SERIES = (  # (record key, log y, title, y axis)
    ("loss", True, "Loss", "loss f(x, y)"),
    ("effective_lr", True, "Effective learning rate", "||update|| / ||gradient||"),
    ("lr", True, "The optimizer's own learning rate", "lr"),
    ("cos_grad_prev", False, "Gradient alignment", "cos(g_t, g_{t-1})"),
)
PLAYGROUND_ONLY = ("n", "step", "surface3d", "speed")  # not passed on to the Landscape (nor opt1..opt4)


@st.cache_data(max_entries=64, show_spinner=False)
def _run(spec_json: str) -> list[RunResult]:
    """The comparison described by ``spec_json`` (2-D runs take up to about two seconds; they stop if the page's
    session ends)."""
    spec = ComparisonSpec.from_json(spec_json)
    return until_session_ends(lambda ended: run_comparison(spec, should_stop=ended))


@st.cache_data(max_entries=128, show_spinner=False)
def _trajectory(spec_json: str, step: int, surface_3d: bool, frame_ms: int) -> go.Figure:
    """The trajectory figure of the comparison ``spec_json``, opened at ``step``, playing a frame per ``frame_ms``."""
    spec = ComparisonSpec.from_json(spec_json)
    arguments = {name: value for name, value in spec.task_args.items() if name not in ("noise", "start")}
    return trajectory_figure(get_surface(spec.task, **arguments), _run(spec_json), step=step, surface_3d=surface_3d,
                             frame_ms=frame_ms)


def _end_at_new_steps() -> None:
    """A new number of steps opens the figure at its end, as a first visit does."""
    st.session_state[url.key("step")] = st.session_state[url.key("steps")]


# --- inputs -------------------------------------------------------------------------------------------------------
st.title("Playground")
st.markdown("Optimizers side by side on a 2-D loss surface, from the same start: at first SGD, heavy ball, Nesterov "
            "and Adam, all at lr = 0.01, on an elongated bowl. Press ▶ play under the figure to watch them move; "
            "change anything in the sidebar and the runs redraw.")
url = UrlState("playground", notices=st.container())  # a bad link's warnings, full width above everything
choices: list[OptimizerChoice | None] = []
with st.sidebar:
    st.subheader("Surface", anchor=False)
    surface = surface_picker(url, DEFAULT_SURFACE)
    # a link that names its surface without arguments (the Landscape's) means the engine's own: κ = 10, 0°
    named = surface is not None and st.query_params.get("surface") == surface.key
    arguments = surface_arguments(url, surface, {} if named else DEFAULT_ARGUMENTS)
    if arguments:
        surface = get_surface(surface.key, **arguments)
    x0, y0 = start_inputs(url, surface)
    noise = url.slider("gradient noise σ", "noise", 0.0, *NOISE_RANGE, 0.1, fmt="%.1f",
                       help="Standard deviation of Gaussian noise added to every gradient (the same draws for all).")
    steps = url.slider("steps", "steps", 200, *STEPS_RANGE, 10, help="Optimizer steps per run.",
                       on_change=_end_at_new_steps)
    count = url.slider("optimizers", "n", MAX_OPTIMIZERS, 1, MAX_OPTIMIZERS, 1,
                       help="How many optimizers run side by side.")
    for slot in range(1, count + 1):
        with st.container(border=True):
            choices.append(optimizer_controls(url, slot, DEFAULT_OPTIMIZERS[slot - 1]))
trajectory_box = st.container()  # the paths, above the controls that view them: on a phone the figure comes first
opens, speed_column, toggle = st.columns([1, 2, 1], vertical_alignment="bottom")
with opens:
    step = url.number_input("opens at step", "step", int(steps), 1, int(steps), 1,
                            help="The step the figure (and a copied link) opens at; play and scrub in the figure.")
with speed_column:
    speed = url.slider("animation speed (frames/s)", "speed", 10, 1, 30, 1,
                       help="How fast ▶ play grows the paths (up to 120 frames, evenly spread over the steps).")
with toggle:
    surface_3d = url.toggle("3-D surface", "surface3d", False, help="Draw the surface in 3-D (drag to rotate).")
url.write()

# --- guard --------------------------------------------------------------------------------------------------------
valid = valid_choices(choices)
if surface is None:
    st.info("Fix the formula in the sidebar to draw its surface.", icon=":material/edit:")
    st.stop()
if not valid:
    st.info("Fix the optimizer settings in the sidebar: none of them is valid.", icon=":material/tune:")
    st.stop()
try:
    spec = ComparisonSpec(surface.key, valid, steps=int(steps),
                          task_args={"noise": noise, "start": (x0, y0), **arguments})
    results = _run(spec.to_json())
except ValueError as error:  # an undefined start, say; never a traceback in the browser
    st.error(f"This configuration cannot run: {escape_markdown(str(error))}", icon=":material/block:")
    st.stop()

# --- figures ------------------------------------------------------------------------------------------------------
with trajectory_box:
    figure_with_caption(_trajectory(spec.to_json(), int(step), surface_3d, round(1000 / speed)),
                        RUN_CAPTIONS["trajectory"], key="trajectory")
# each run's outcome (a diverged one says why), under the paths: on a phone the figure comes first
for result in results:
    name = escape_markdown(run_label(result))
    final = result.summary
    if result.status == "diverged":
        choice = result.spec.optimizer
        why = divergence_explanation(surface, (x0, y0), choice.key, choice.hyperparameters)
        st.error(f"**{name}**: diverged at step {result.diverged_at}: {escape_markdown(result.reason or '')}"
                 + (f". {escape_markdown(why)}." if why else ""), icon=":material/trending_up:")
    else:
        where = escape_markdown(f"loss {final['final_loss']:.4g} at ({final['final_x']:.4g}, {final['final_y']:.4g})")
        st.success(f"**{name}**: {result.status} after {int(final['steps_done'])} steps, {where}",
                   icon=":material/flag:")

shared = {name: value for name, value in st.query_params.items()
          if name not in PLAYGROUND_ONLY and not name.startswith("opt")}
for column, choice in zip(st.columns(len(valid)), valid, strict=True):  # this surface, one optimizer, as a map
    column.page_link("pages/landscape.py", label=f"Open {choice.label} as a landscape", icon=":material/grid_on:",
                     query_params=shared | {"opt1": str(choice)},
                     help="A map of runs of this optimizer over two of its hyperparameters, on this surface.")

for key, log_y, title, y_title in SERIES:
    figure_with_caption(series_figure(results, key, log_y=log_y, title=title, y_title=y_title), RUN_CAPTIONS[key],
                        key=key)
figure_with_caption(internals_figure(results), RUN_CAPTIONS["internals"], key="internals")

left, right = st.columns(2)
left.download_button("telemetry (CSV)", telemetry_csv(results), file_name="playground_telemetry.csv",
                     mime="text/csv", icon=":material/download:", width="stretch")
right.download_button("specs and summaries (JSON)", summary_json(results), file_name="playground_runs.json",
                      mime="application/json", icon=":material/download:", width="stretch")
