"""Sensitivity: one hyperparameter over a range for several optimizers on MNIST-1D, every value over seeds, trained in
the background as one job by the job manager; the curves fill in live."""

import contextlib
import math
import secrets

import streamlit as st

from engine.figures import SENSITIVITY_CAPTIONS, sensitivity_figure
from engine.jobs import JobStatus, get_manager
from engine.runs import (
    MeanCI,
    OptimizerChoice,
    Param,
    RunResult,
    SensitivitySpec,
    common_params,
    sensitivity_table,
    store,
)
from engine.tasks import MNIST1D, steps_per_epoch
from optimizers import REGISTRY, HyperParam
from ui.controls import optimizer_controls, valid_choices
from ui.figures import figure_with_caption
from ui.jobs import job_actions, poll_job, stop_polling
from ui.text import duration, escape_markdown
from ui.url_state import UrlState

# Adam against plain SGD over the learning rate first: the contrast the page exists to show. (A comment, not a
# docstring: Streamlit's magic would print a bare string on the page.)
DEFAULT_OPTIMIZERS = ("adam", "sgd", "momentum", "agaw")
DEFAULT_RANGES = {"lr": (1e-3, 1.0)}  # a first look narrower than the registry's slider range
BATCH = 128
POLL_SECONDS = 1.0
AUTO_START_RUN_EPOCHS = 48  # a bare first visit starts the grid at once when it is this small (16 runs x 3 epochs)
RECENT_JOBS = 20  # saved jobs looked through for the last sensitivity grid
JOB, SESSION, AUTO = "sensitivity.job", "sensitivity.session", "sensitivity.auto"  # session_state keys


def _hyperparam(keys: list[str], name: str) -> HyperParam:
    """Hyperparameter ``name`` of the first chosen optimizer (its registry range bounds the range fields)."""
    return next(hp for hp in REGISTRY[keys[0]].hyperparams if hp.name == name)


def _range(keys: list[str], name: str) -> tuple[float, float, bool]:
    """The default (low, high, log) of hyperparameter ``name``: ``DEFAULT_RANGES`` or the registry's range."""
    hp = _hyperparam(keys, name)
    low, high = DEFAULT_RANGES.get(name, (float(hp.low or 0.0), float(hp.high or 1.0)))
    return low, high, hp.log


def _reset_range(keys: list[str], name: str) -> None:
    """Sweep ``name`` over its default range and scale (before its controls are drawn, or from a callback)."""
    low, high, log = _range(keys, name)
    url.set(param=name, lo=low, hi=high, scale="log" if log else "linear")


def _grid_query(spec: SensitivitySpec) -> dict[str, str]:
    """The URL that sets this page's controls to ``spec``."""
    return {"n": str(len(spec.optimizers)), **{f"opt{slot}": str(choice) for slot, choice in
                                               enumerate(spec.optimizers, start=1)},
            "param": spec.param.name, "lo": f"{spec.param.low:g}", "hi": f"{spec.param.high:g}",
            "scale": "log" if spec.param.log else "linear", "points": str(spec.param.count),
            "seeds": str(len(spec.seeds)), "epochs": str(spec.epochs)}


def _last_grid() -> tuple[str, SensitivitySpec] | None:
    """The newest job saved on this server that is a sensitivity grid, with its grid; None when there is none."""
    job_ids = list(dict.fromkeys(run.job_id for run in store.list_runs(task=MNIST1D) if run.job_id))
    for job_id in job_ids[:RECENT_JOBS]:
        comparison, _ = store.load_job(job_id)
        with contextlib.suppress(ValueError):
            if comparison is not None:
                return job_id, SensitivitySpec.from_comparison(comparison)
    return None


def _cell(cell: dict[str, float], percent: bool) -> str:
    """``mean ± half-width`` of a table cell (a percentage for an accuracy); an em dash without values."""
    ci = MeanCI(cell["mean"], cell["ci95"], cell["n"])
    if ci.n == 0:
        return "—"
    if not percent:
        return str(ci)
    return f"{ci.mean:.1%}" + ("" if math.isnan(ci.half_width) else f" ± {ci.half_width * 100:.1f}")


def _table(grid: SensitivitySpec, results: list[RunResult]) -> None:
    """Per optimizer and value: the two metrics' mean ± 95% CI over the seeds and the diverged runs."""
    rows = [{"optimizer": row["label"], grid.param.name: f"{row['value']:g}",
             "best validation loss": _cell(row["best_val_loss"], False),
             "test accuracy at the best validation epoch": _cell(row["test_accuracy_at_best_val"], True),
             "diverged": f"{row['diverged']}/{row['runs']}"} for row in sensitivity_table(grid, results)]
    with st.expander(f"Table: every value, mean ± 95% CI over {len(grid.seeds)} seeds"):
        st.table(rows, hide_index=True, border="horizontal")
        st.caption("Student t over the seeds (none with one seed). Diverged runs are counted, not averaged.")


def job_view(job_id: str, live: bool) -> None:
    """Progress with the ETA, the two sensitivity figures (filling in while the job trains) and, once it ended, the
    table."""
    status = poll_job(get_manager(), job_id, "sensitivity job")
    if isinstance(status, str):
        st.warning(status, icon=":material/link_off:")
        return
    if live and status.done:
        stop_polling()  # the buttons follow the job's end
    try:
        grid = SensitivitySpec.from_comparison(status.spec)
    except ValueError:
        st.warning(f"Job {job_id!r} is not a sensitivity grid: it is a comparison, which the Train page shows.",
                   icon=":material/link_off:")
        return
    progress = status.progress
    fraction = 1.0 if status.state == "finished" else (progress.fraction if progress else 0.0)
    if status.state == "queued":
        text = "queued: waiting for a free worker"
    elif status.state == "running":
        eta = duration(progress.eta_seconds) if progress else "estimating…"
        text = f"running · {fraction:.0%} · {status.runs_total} runs at once · ETA {eta}"
    else:
        text = f"{status.state} · {len(status.results)} of {status.runs_total} runs ended"
    st.progress(min(max(fraction, 0.0), 1.0), text=escape_markdown(text))
    if status.state == "failed":
        st.error(f"The sensitivity job failed: {status.error}", icon=":material/error:")
    elif status.state == "cancelled":
        st.warning("Cancelled: the curves show where the runs had got to.", icon=":material/cancel:")
    results = [*status.results, *status.partials]  # the runs in progress count with their epochs so far
    for metric, caption in SENSITIVITY_CAPTIONS.items():
        figure_with_caption(sensitivity_figure(grid, results, metric), caption, key=f"sensitivity.{metric}")
    if status.done and status.results:
        _table(grid, list(status.results))


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("sensitivity")
session = st.session_state.setdefault(SESSION, secrets.token_urlsafe(9))
bare = not st.query_params  # a first visit without a link: show the last grid, or start a small one
if JOB not in st.session_state:  # a reload re-attaches to the job in the URL; a bare visit to the last saved grid
    last = _last_grid() if bare else None
    if last is not None:
        st.query_params.update(_grid_query(last[1]))  # the controls below seed themselves from the URL
    st.session_state[JOB] = st.query_params.get("job") or (last[0] if last else None)
choices: list[OptimizerChoice | None] = []
name = None
swept = st.session_state.get(url.key("param")) or st.query_params.get("param") or "lr"  # the select box's value
with st.sidebar:
    buttons = st.container()
    st.subheader("Hyperparameter", anchor=False)
    axis_box = st.container()  # drawn once the optimizers say which hyperparameters they share
    seeds = url.slider("seeds", "seeds", 2, 1, 10, 1, help="Runs per value (initial weights, batch order, split), "
                       "for the 95% bands.")
    epochs = url.slider("epochs", "epochs", 3, 1, 50, 1, help="Passes over MNIST-1D's training split per run.")
    st.subheader("Optimizers", anchor=False)
    count = url.slider("optimizers", "n", 2, 1, 4, 1, help="How many optimizers to compare over the same grid.")
    for slot in range(1, count + 1):
        with st.container(border=True):
            choices.append(optimizer_controls(url, slot, DEFAULT_OPTIMIZERS[slot - 1], skip=(swept,)))
    keys = [st.session_state[url.key(f"opt{slot}")] for slot in range(1, count + 1)]
    names = common_params(keys)
with axis_box:
    if not names:
        st.error("These optimizers share no numeric hyperparameter: choose optimizers that do (most have lr).",
                 icon=":material/error:")
    else:
        default = "lr" if "lr" in names else names[0]
        if st.session_state.get(url.key("param"), default) not in names:  # another optimizer lacks it
            _reset_range(keys, default)
        name = url.selectbox("sweeps", "param", default, {n: n for n in names},
                             help="A numeric hyperparameter every chosen optimizer has (the grid replaces their own "
                             "value of it).",
                             on_change=lambda: _reset_range(keys, st.session_state[url.key("param")]))
        start_value, end_value, log = _range(keys, name)
        hp = _hyperparam(keys, name)
        bounds = (float(hp.low if hp.low is not None else start_value),
                  float(hp.high if hp.high is not None else end_value))
        left, right = st.columns(2)
        with left:
            low = url.number_input("from", "lo", start_value, *bounds, None, fmt="%g")
        with right:
            high = url.number_input("to", "hi", end_value, *bounds, None, fmt="%g")
        scale = url.choice_input("scale", "scale", "log" if log else "linear", {"log": "log", "linear": "linear"})
        points = url.slider("values", "points", 4, 4, 16, 1, help="Grid values from 'from' to 'to'.")

st.title("Sensitivity")
st.markdown("How forgiving is an optimizer? Every chosen optimizer trains the seed MLP on MNIST-1D at every value of "
            "one hyperparameter, from the same seeds, all runs at once in the background; the curves fill in while "
            "they train.")
valid = valid_choices(choices)
spec: SensitivitySpec | None = None
if valid and name is not None:
    try:
        spec = SensitivitySpec(MNIST1D, optimizers=valid, param=Param(name, low, high, int(points), scale == "log"),
                               seeds=tuple(range(int(seeds))), epochs=int(epochs), batch_size=BATCH,
                               log_every=steps_per_epoch(BATCH))  # one step record an epoch: the curves need epochs
    except ValueError as error:  # a range the optimizer refuses, from above to below: its own message
        st.error(f"This grid cannot run: {escape_markdown(str(error))}", icon=":material/error:")

job_id: str | None = st.session_state[JOB]
status = poll_job(get_manager(), job_id, "sensitivity job") if job_id else None
running = isinstance(status, JobStatus) and not status.done
with buttons:
    left, right = st.columns(2)
    start = left.button("Start", type="primary", icon=":material/play_arrow:", width="stretch",
                        disabled=spec is None or running, key="sensitivity.start")
    stop = right.button("Cancel", icon=":material/stop:", width="stretch", disabled=not running,
                        key="sensitivity.cancel")
small = spec is not None and \
    len(spec.optimizers) * len(spec.values) * len(spec.seeds) * spec.epochs <= AUTO_START_RUN_EPOCHS
auto = bare and job_id is None and small and not st.session_state.get(AUTO)
if auto:
    st.session_state[AUTO] = True  # a first visit starts one grid at most
manager = get_manager()
job_id = job_actions(manager, JOB, job_id, status, start=start or auto, stop=stop,
                     submit=None if spec is None else lambda: manager.submit(spec.comparison(), session=session))
if job_id:
    url.values["job"] = job_id
url.write()

# --- the job --------------------------------------------------------------------------------------------------------
if job_id:
    st.fragment(job_view, run_every=POLL_SECONDS if running else None)(job_id, running)
else:
    st.info("Set up the grid in the sidebar and press **Start**.", icon=":material/play_arrow:")
