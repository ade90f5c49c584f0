"""The controls that set a run up, each mirrored in the page's URL: a loss surface and its start, and an optimizer
with one control per hyperparameter, generated from the registry."""

import math
from collections.abc import Collection, Mapping, Sequence

import streamlit as st

from engine.runs import CONDITION_RANGE, ROTATION_RANGE, OptimizerChoice
from engine.tasks import EXPR_DOMAIN, EXPR_PREFIX, EXPR_START, SURFACES, Surface, get_surface, surface_argument_names
from optimizers import REGISTRY, HyperParam
from optimizers.registry import HyperValue
from ui.text import escape_markdown, plain_number
from ui.url_state import UrlState

# --- surface controls ---------------------------------------------------------------------------------------------

SURFACE_FORMULA = "formula"  # the surface option that shows a text field for a typed formula (the URL's ``formula``)
DEFAULT_FORMULA = "x**2 + 5*y**2 + 2*sin(3*x)"
FORMULA_HELP = "x, y, numbers, pi, e, + - * / **, and sin, cos, exp, log, sqrt, abs, tanh ..."  # what a formula holds


def _check_formula(text: str) -> None:
    """Refuse a link's formula that does not parse: the parser's message, then what a formula may hold."""
    try:
        get_surface(EXPR_PREFIX + text)
    except ValueError as error:
        raise ValueError(f"{error}; expected a formula of {FORMULA_HELP}") from None


def surface_picker(state: UrlState, default: str = "rosenbrock") -> Surface | None:
    """A loss-surface select box (a named surface, or a formula typed in a text field), in the URL as ``surface`` and
    ``formula``; choosing another moves the start (``x0``, ``y0``) to that surface's own. A link's formula that does
    not parse falls back to the default one, with the parser's message as a warning. Returns the surface, or None
    after the parser's message when the typed formula does not parse."""

    def reset_start() -> None:
        chosen = st.session_state[state.key("surface")]
        x0, y0 = EXPR_START if chosen == SURFACE_FORMULA else SURFACES[chosen].start
        state.set(x0=float(x0), y0=float(y0))

    # a surface's name without its default arguments ("Quadratic", not "Quadratic (κ = 10, 0°)"): controls set them
    options = {key: surface.name.partition(" (")[0] for key, surface in SURFACES.items()}
    options[SURFACE_FORMULA] = "formula…"
    chosen = state.selectbox("loss surface", "surface", default, options, on_change=reset_start,
                             help="A classic test function, or your own formula in x and y.")
    if chosen != SURFACE_FORMULA:
        return get_surface(chosen)
    formula = state.text_input("f(x, y) =", SURFACE_FORMULA, DEFAULT_FORMULA, help=FORMULA_HELP,
                               check=_check_formula)
    try:
        return get_surface(EXPR_PREFIX + formula)
    except ValueError as error:
        st.error(escape_markdown(str(error)), icon=":material/error:")
        return None


def surface_arguments(state: UrlState, surface: Surface | None,
                      defaults: Mapping[str, float] | None = None) -> dict[str, float]:
    """The surface's own arguments as controls, in the URL: a condition number kappa (``condition``, a log slider over
    ``CONDITION_RANGE``) and a rotation in degrees (``rotation``, over ``ROTATION_RANGE``: every orientation)
    for a surface that takes them (the quadratic), starting at ``defaults`` (else the engine's: 10 and 0); none for
    the others. ``get_surface(surface.key, **arguments)`` draws it."""
    names = surface_argument_names(surface.key) if surface is not None else ()
    defaults = defaults or {}
    arguments: dict[str, float] = {}
    if "condition" in names:
        low, high = CONDITION_RANGE
        stops = [v for k in range(round(math.log10(low)), round(math.log10(high)) + 1) for m in LOG_MANTISSAS
                 if low <= (v := float(f"{m}e{k}")) <= high]
        arguments["condition"] = float(state.select_slider(
            "condition number κ", "condition", float(defaults.get("condition", 10.0)), stops, format_func=plain_number,
            help="The ratio of the largest curvature to the smallest: how elongated the bowl is. Gradient descent "
                 "needs lr < 2 / κ."))
    if "rotation" in names:
        rotation = state.slider("rotation (degrees)", "rotation", int(defaults.get("rotation", 0)), *ROTATION_RANGE, 1,
                                help="The angle of the bowl's flat axis from the x axis.")
        arguments["rotation"] = float(rotation)
    return arguments


def start_inputs(state: UrlState, surface: Surface | None, *, skip: Collection[str] = ()) -> tuple[float, float]:
    """The start (``x0``, ``y0``) inside the surface's domain (a formula's default one while it does not parse), side
    by side, in the URL; a coordinate named in ``skip`` gets no field and stays the surface's own."""
    start = surface.start if surface is not None else EXPR_START
    (xmin, xmax), (ymin, ymax) = surface.domain if surface is not None else EXPR_DOMAIN
    fields = [(label, name, index, low, high) for label, name, index, low, high
              in (("start x", "x0", 0, xmin, xmax), ("start y", "y0", 1, ymin, ymax)) if name not in skip]
    point = [float(start[0]), float(start[1])]
    for column, (label, name, index, low, high) in zip(st.columns(len(fields)) if fields else [], fields, strict=True):
        with column:
            point[index] = state.number_input(label, name, point[index], float(low), float(high), 0.1, fmt="%.3f",
                                              help="Where every run starts (inside the plotted domain).")
    return point[0], point[1]


# --- optimizer controls (registry-driven) -------------------------------------------------------------------------

LOG_MANTISSAS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)  # a log slider's stops in every decade: numbers a person writes
PRIMARY_HYPERPARAMS = 3  # hyperparameters shown at once; the rest of an optimizer's fold into an expander


def log_stops(hp: HyperParam) -> list[float] | list[int]:
    """The stops of a log-scale hyperparameter's slider: ``LOG_MANTISSAS`` times the powers of ten between the
    registry's low and high, and low, high and the default themselves, so that the default (``0.05``, ``1e-08``) is
    a stop exactly and a value round-trips through the slider and the URL unchanged (unique integers for an integer
    hyperparameter)."""
    low, high = float(hp.low), float(hp.high)  # type: ignore[arg-type]
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    grid = {float(f"{m}e{k}") for k in decades for m in LOG_MANTISSAS}  # parsed, so 3e-05 is the float "3e-05"
    stops = {v for v in grid if low <= v <= high} | {low, high, float(hp.default)}  # type: ignore[arg-type]
    if hp.kind == "int":
        return sorted({round(v) for v in stops})
    return sorted(stops)


def linear_step(hp: HyperParam) -> float | int:
    """A linear hyperparameter's slider step: 1 for an integer, else a power of ten about 1/1000 of its range."""
    if hp.kind == "int":
        return 1
    return 10.0 ** math.floor(math.log10((float(hp.high) - float(hp.low)) / 1000))  # type: ignore[arg-type]


def _step_format(step: float) -> str:
    return f"%.{max(0, -math.floor(math.log10(step)))}f"


def hyperparam_control(hp: HyperParam, key: str, value: HyperValue, label: str | None = None) -> HyperValue:
    """One control for ``hp`` (labelled ``label``, else its name) keyed ``key``, seeded with ``value`` on its first
    run: a slider over geometric stops on a log scale, over the registry's range on a linear one, an integer slider, a
    select box for a choice, a number field where the registry gives no range."""
    label = label or hp.name
    extra_key = key + ".extra"  # a seeded value off the slider's stops, kept so the stops stay the same every run
    if key not in st.session_state:
        st.session_state[key] = value
        st.session_state[extra_key] = value
    seeded = st.session_state.get(extra_key, value)
    if hp.kind == "choice":
        return st.selectbox(label, hp.choices, key=key, help=hp.help)
    if hp.low is None or hp.high is None:  # no range in the registry: a plain number field
        return st.number_input(label, key=key, help=hp.help, format="%g")
    if hp.log:
        stops = sorted({*log_stops(hp), seeded})
        return st.select_slider(label, stops, key=key, help=hp.help, format_func=plain_number)
    step = linear_step(hp)
    low, high = min(hp.low, seeded), max(hp.high, seeded)  # type: ignore[type-var]
    if hp.kind == "int":
        return st.slider(label, int(low), int(high), step=1, key=key, help=hp.help)
    chosen = st.slider(label, float(low), float(high), step=step, key=key, help=hp.help, format=_step_format(step))
    return round(float(chosen), max(0, -math.floor(math.log10(step))) + 2)


def optimizer_controls(state: UrlState, slot: int, default: str, *,
                       skip: Collection[str] = ()) -> OptimizerChoice | None:
    """An optimizer picker and one control per hyperparameter, generated from the registry, mirrored in the URL.

    The URL parameter ``opt<slot>`` holds the choice in ``OptimizerChoice.parse`` form (``adam:lr=0.01``); a bad one
    (unknown optimizer, unreadable or invalid value) falls back to ``default`` with a warning. Log-scale numbers get a
    slider over geometric stops, linear ones a slider over their registry range, integers an integer slider, choices
    a select box; each shows the registry's help on hover. A hyperparameter named in ``skip`` (one that another
    control sets, such as a sensitivity grid's axis) gets no control and keeps its value from the URL or default.
    Returns the validated choice, or ``None`` after showing the optimizer's own message when the values do not make
    a valid optimizer.
    """
    name = f"opt{slot}"
    raw = st.query_params.get(name)
    initial = OptimizerChoice.parse(default)
    if raw is not None:
        try:
            initial = OptimizerChoice.parse(raw)
        except ValueError as error:
            state.fallback(name, default, ValueError(f"URL: invalid {name}={raw!r}: {error}"))
    key_widget = state.seed(name, initial.key)
    if st.session_state[key_widget] not in REGISTRY:  # a stale key (a registry that changed under a session)
        st.session_state[key_widget] = initial.key
    key = st.selectbox(f"optimizer {slot}", tuple(REGISTRY), key=key_widget, format_func=lambda k: REGISTRY[k].name,
                       help="Pick an optimizer; its hyperparameters follow, with their registry defaults.")
    info = REGISTRY[key]
    st.caption(info.description)
    seeds = initial.hyperparameters if key == initial.key else info.defaults()
    values: dict[str, HyperValue] = {}
    controlled = [hp.name for hp in info.hyperparams if hp.name not in skip]
    for hp in info.hyperparams:
        if hp.name not in controlled:
            values[hp.name] = seeds[hp.name]
            continue
        index = controlled.index(hp.name)
        if index == PRIMARY_HYPERPARAMS:
            more = st.expander(f"more {info.name} hyperparameters ({len(controlled) - index})")
        with more if index >= PRIMARY_HYPERPARAMS else st.container():
            values[hp.name] = hyperparam_control(hp, state.key(f"{name}.{key}.{hp.name}"), seeds[hp.name])
    defaults = info.defaults()
    changed = ",".join(f"{n}={v:g}" if isinstance(v, float) else f"{n}={v}"
                       for n, v in values.items() if v != defaults[n])
    try:
        choice = OptimizerChoice(key, values)
    except ValueError as error:
        state.record(name, key + (":" + changed if changed else ""))
        st.error(escape_markdown(str(error)), icon=":material/error:")
        return None
    state.record(name, str(choice))
    return choice


def valid_choices(choices: Sequence[OptimizerChoice | None]) -> tuple[OptimizerChoice, ...]:
    """The optimizers whose settings are valid (``optimizer_controls`` gives None for the others, after their
    message); a warning on the page when some are left out."""
    valid = tuple(choice for choice in choices if choice is not None)
    if len(valid) < len(choices):
        st.warning("Optimizers with invalid settings are left out until they are fixed (see the sidebar).")
    return valid
