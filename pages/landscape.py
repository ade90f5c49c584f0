"""Landscape: one optimizer run from every cell of a grid over two hyperparameters (or the start), as one map; a click
on a cell opens that run in the Playground."""

import hashlib

import streamlit as st

from engine.figures import LANDSCAPE_CAPTIONS, LANDSCAPE_METRICS, landscape_figure, landscape_theory_caption
from engine.runs import (
    NOISE_RANGE,
    START_AXES,
    STEPS_RANGE,
    Axis,
    Landscape,
    LandscapeSpec,
    compute_landscape,
    playground_query,
)
from engine.tasks import Surface
from optimizers import REGISTRY
from ui.controls import optimizer_controls, start_inputs, surface_arguments, surface_picker
from ui.figures import download_buttons, figure_with_caption
from ui.session import until_session_ends
from ui.text import escape_markdown
from ui.url_state import UrlState

# Heavy ball on the quadratic: the measured map beside the theory's edge lr h < 2 (1 + momentum). (A comment, not a
# docstring: Streamlit's magic would print a bare string on the page.)
DEFAULT_SURFACE, DEFAULT_OPTIMIZER = "quadratic", "momentum"
DEFAULT_TOLERANCE = 1e-6
AXES = (("x", "x axis (columns)"), ("y", "y axis (rows)"))


@st.cache_data(max_entries=16, show_spinner="Running every cell of the map…")
def _landscape(spec_json: str, tolerance: float) -> Landscape:
    """The landscape ``spec_json`` (a 64 x 64 map of 200 steps takes about a tenth of a second, 256 x 256 of 2,000
    steps seconds: it stops if the page's session ends)."""
    spec = LandscapeSpec.from_json(spec_json)
    return until_session_ends(lambda ended: compute_landscape(spec, tolerance=tolerance, should_stop=ended))


def _axis_names(key: str) -> dict[str, str]:
    """What an axis can sweep for optimizer ``key``: its hyperparameters with a numeric range, and the start."""
    names = {hp.name: hp.name for hp in REGISTRY[key].hyperparams if hp.kind != "choice" and hp.low is not None}
    return names | {"x0": "start x0", "y0": "start y0"}


def _axis_range(key: str, name: str, surface: Surface | None) -> tuple[float, float, bool]:
    """An axis' default (low, high, log): the registry's range, or the surface's domain for the start."""
    if name in START_AXES:
        low, high = surface.domain[START_AXES.index(name)] if surface is not None else (-5.0, 5.0)
        return float(low), float(high), False
    hp = next(hp for hp in REGISTRY[key].hyperparams if hp.name == name)
    return float(hp.low), float(hp.high), hp.log  # type: ignore[arg-type]


def _reset_axis(axis: str, key: str, name: str, surface: Surface | None) -> None:
    """Point ``axis`` at ``name`` with its default range (before its controls are drawn, or from a callback)."""
    low, high, log = _axis_range(key, name, surface)
    url.set(**{f"{axis}name": name, f"{axis}lo": low, f"{axis}hi": high, f"{axis}scale": "log" if log else "linear"})


def _stale(axis: str, key: str, surface: Surface | None) -> bool:
    """Whether ``axis`` sweeps what optimizer ``key`` lacks, or a start coordinate outside the surface's domain."""
    chosen = st.session_state.get(url.key(f"{axis}name"))
    if chosen is None or chosen not in _axis_names(key):
        return chosen is not None
    low, high = (st.session_state.get(url.key(f"{axis}{end}")) for end in ("lo", "hi"))
    if chosen not in START_AXES or surface is None or low is None or high is None:
        return False
    domain = surface.domain[START_AXES.index(chosen)]
    return not domain[0] <= low <= high <= domain[1]


def _axis_controls(axis: str, title: str, key: str, surface: Surface | None, default: str) -> Axis | None:
    """One axis' controls (what it sweeps, its range, scale and resolution), in the URL as ``<axis>name``,
    ``<axis>lo``, ``<axis>hi``, ``<axis>scale`` and ``<axis>n``; the ``Axis``, or None after its message."""
    names = _axis_names(key)
    if _stale(axis, key, surface):  # another optimizer, or a start axis outside a new surface's domain
        chosen = st.session_state[url.key(f"{axis}name")]
        _reset_axis(axis, key, chosen if chosen in names else default, surface)
    st.markdown(f"**{title}**")
    name = url.selectbox("sweeps", f"{axis}name", default, names, help="A hyperparameter, or the start's x or y.",
                         on_change=lambda: _reset_axis(axis, key, st.session_state[url.key(f"{axis}name")], surface))
    bottom, top, log = _axis_range(key, name, surface)
    left, right = st.columns(2)
    with left:
        low = url.number_input("from", f"{axis}lo", bottom, bottom, top, None, fmt="%g")
    with right:
        high = url.number_input("to", f"{axis}hi", top, bottom, top, None, fmt="%g")
    scale = url.choice_input("scale", f"{axis}scale", "log" if log else "linear", {"log": "log", "linear": "linear"})
    count = url.slider("resolution", f"{axis}n", 64, 2, 256, 1, help="Values along this axis (runs: their product).")
    try:
        return Axis(name, low, high, int(count), scale == "log")
    except ValueError as error:
        st.error(str(error), icon=":material/error:")
        return None


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("landscape")
with st.sidebar:
    st.subheader("Surface", anchor=False)
    surface = surface_picker(url, DEFAULT_SURFACE)
    arguments = surface_arguments(url, surface)  # a quadratic's condition number and rotation
    start_box = st.container()  # the start's fields, drawn once the axes say which coordinates they leave fixed
    noise = url.slider("gradient noise σ", "noise", 0.0, *NOISE_RANGE, 0.1, fmt="%.1f",  # noqa: RUF001
                       help="Standard deviation of Gaussian noise added to every gradient (the same draws for all).")
    steps = url.slider("steps", "steps", 200, *STEPS_RANGE, 10, help="Optimizer steps per run.")
    st.subheader("Optimizer", anchor=False)
    choice = optimizer_controls(url, 1, DEFAULT_OPTIMIZER)
    key = st.session_state[url.key("opt1")]
    defaults = [*_axis_names(key)][:2]  # the first two hyperparameters with a range (or the start's x, y)
    st.subheader("Axes", anchor=False)
    axes = [_axis_controls(axis, title, key, surface, default)
            for (axis, title), default in zip(AXES, defaults, strict=True)]
    with start_box:
        start = start_inputs(url, surface, skip=[axis.name for axis in axes if axis is not None])
    st.subheader("Colour", anchor=False)
    metric = url.choice_input("colour by", "metric", "final_loss", LANDSCAPE_METRICS)
    tolerance = url.number_input("tolerance", "tol", DEFAULT_TOLERANCE, 1e-300, 1e300, None, fmt="%g",
                                 help="Steps until the loss first falls below this.") if metric == "steps" \
        else DEFAULT_TOLERANCE
url.write()

# --- guard --------------------------------------------------------------------------------------------------------
st.title("Landscape")
st.markdown("Every cell of the map is a whole run of one optimizer, with the two values on its axes and everything "
            "else fixed: how it behaves over a range of hyperparameters, at a glance. Change anything in the sidebar "
            "and the map redraws; click a cell to watch that run in the Playground.")
if surface is None or choice is None or None in axes:
    st.info("Fix the settings marked in the sidebar to draw the map.", icon=":material/tune:")
    st.stop()
try:
    spec = LandscapeSpec(surface.key, choice, *axes, steps=int(steps), noise=float(noise),  # type: ignore[arg-type]
                         task_args={"start": start, **arguments})
    landscape = _landscape(spec.to_json(), float(tolerance))
except ValueError as error:  # an axis range the optimizer refuses: its own message, never a traceback
    st.error(f"This map cannot run: {escape_markdown(str(error))}", icon=":material/error:")
    st.stop()

# --- figure -------------------------------------------------------------------------------------------------------
st.caption(escape_markdown(" · ".join(landscape.describe())))
# Drawn afresh each run (not cached): an unpickled figure serialises its keys in another order, which would give the
# chart a new identity and drop a click made on the previous run's chart.
figure = landscape_figure(landscape, metric=metric)
caption = " ".join(filter(None, (LANDSCAPE_CAPTIONS["landscape"], landscape_theory_caption(landscape))))
digest = hashlib.sha1(f"{spec.to_json()}{tolerance}{metric}".encode()).hexdigest()[:12]  # a new map: no old click
state = figure_with_caption(figure, caption, key=f"map.{digest}", select=True)
points = state["selection"]["points"] if state else []
if points:  # a click on a cell: its marker's (row, column), and that run in the Playground
    clicked = figure.data[points[0]["curve_number"]].customdata[points[0]["point_index"]]
    i, j = int(clicked[0]), int(clicked[1])
    st.switch_page("pages/playground.py", query_params=playground_query(landscape.cell_spec(i, j)))
download_buttons([("map (JSON)", landscape.to_json, "landscape.json")])
