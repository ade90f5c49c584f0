"""Sweeps: the seed claims' shipped verdicts first; Optuna studies that tune optimizers with equal budgets in the
background, watched live; and each claim, reproduced over seeds here."""

import math
from typing import Any, NamedTuple

import plotly.graph_objects as go
import streamlit as st
from optuna.storages import BaseStorage

from engine.figures import (
    SWEEP_CAPTIONS,
    best_so_far_figure,
    importance_figure,
    parallel_figure,
    sweep_json,
    trials_csv,
)
from engine.runs import usable_cores
from engine.sweeps import (
    STORAGE_VARIABLE,
    Choices,
    Mode,
    Range,
    SearchSpace,
    SweepSpec,
    check_space,
    claims,
    default_space,
    default_storage,
    format_space,
    open_storage,
    parse_space,
    redacted,
    studies,
)
from engine.sweeps import background as sweep_jobs
from engine.tasks import MNIST1D, get_task, named_tasks
from optimizers import REGISTRY
from ui.claims import claim_section, verdict_table
from ui.figures import download_buttons, figure_with_caption
from ui.jobs import stop_polling
from ui.text import escape_markdown, literal
from ui.url_state import UrlState

POLL_SECONDS = 1.5
DEFAULT_OPTIMIZERS = ("adam", "sgd")
# The tasks a sweep can run on, by name: MNIST-1D first (the default), then the surfaces.
TASKS = {MNIST1D: get_task(MNIST1D).title} | {task.key: task.title for task in named_tasks()}
PRUNERS = {"median": "median", "hyperband": "Hyperband", "none": "none"}
VIEW = "sweeps.view"  # session_state key: the sweep shown below the configuration


@st.cache_resource(max_entries=16, show_spinner=False)
def _storage(url: str) -> BaseStorage:
    """The study storage at ``url`` (opened once per server; a failure is not cached, so a fixed URL retries)."""
    return open_storage(url)


@st.cache_data(max_entries=256, show_spinner=False)
def _mode_figures(url: str, sweep: str, label: str, ended: int) -> tuple[go.Figure, go.Figure]:
    """Parallel coordinates and importances of one mode's study, recomputed only when ``ended`` trials change."""
    del ended  # the cache key: the figures change only when a trial ends
    spec = studies.load_sweep(_storage(url), sweep)
    study = studies.studies(spec, _storage(url))[label]
    return (parallel_figure(study, f"{label}: parallel coordinates"),
            importance_figure(study, f"{label}: hyperparameter importances"))


# --- the configuration ------------------------------------------------------------------------------------------------


def optimizer_keys(url: UrlState) -> list[str]:
    """The optimizers to tune, a multiselect mirrored in the URL as ``opts=adam,sgd``."""
    default = list(DEFAULT_OPTIMIZERS)
    initial = default
    raw = st.query_params.get("opts")
    if raw is not None:
        parsed = [key.strip() for key in raw.split(",") if key.strip()]
        if parsed and all(key in REGISTRY for key in parsed):
            initial = list(dict.fromkeys(parsed))
        else:
            url.fallback("opts", ",".join(default), ValueError(
                f"URL: invalid opts={raw!r}; expected optimizers among {', '.join(REGISTRY)}"))
    chosen = st.multiselect("optimizers", tuple(REGISTRY), key=url.seed("opts", initial),
                            format_func=lambda key: REGISTRY[key].name,
                            help="Each optimizer is tuned in its own study with the same trial budget.")
    url.record("opts", ",".join(chosen))
    return chosen


def space_controls(url: UrlState, key: str) -> SearchSpace | None:
    """The hyperparameters of optimizer ``key`` to tune and their ranges (low, high, log scale), defaulting from the
    registry, mirrored in the URL as ``tune_<key>``; None after showing the message when a range is invalid."""
    name = f"tune_{key}"
    initial = default_space(key)
    raw = st.query_params.get(name)
    if raw is not None:
        try:
            initial = parse_space(key, raw)
        except ValueError as error:
            url.fallback(name, format_space(initial), error)
    tunable = [hp.name for hp in REGISTRY[key].hyperparams if hp.kind == "choice" or hp.low is not None]
    names = st.multiselect(f"{REGISTRY[key].name}: tuned hyperparameters", tunable,
                           key=url.seed(f"{name}.names", [n for n in initial if n in tunable]),
                           help="The hyperparameters Optuna searches; the others keep their registry defaults.")
    space: SearchSpace = {}
    for hp_name in names:
        seed = initial.get(hp_name) or default_space(key, [hp_name])[hp_name]
        prefix = f"{name}.{hp_name}"
        if isinstance(seed, Choices):
            options = next(hp.choices for hp in REGISTRY[key].hyperparams if hp.name == hp_name)
            values = st.multiselect(f"{hp_name} values", options, key=url.seed(prefix, list(seed.values)))
            space[hp_name] = Choices(tuple(values))
            continue
        low_column, high_column = st.columns(2)
        low = low_column.number_input(f"{hp_name} low", key=url.seed(f"{prefix}.low", float(seed.low)),
                                      format="%g", step=None)
        high = high_column.number_input(f"{hp_name} high", key=url.seed(f"{prefix}.high", float(seed.high)),
                                        format="%g", step=None)
        log = st.checkbox(f"{hp_name} on a log scale", key=url.seed(f"{prefix}.log", seed.log),
                          help="Sample log-uniformly (for scales such as a learning rate).")
        space[hp_name] = Range(float(low), float(high), bool(log), seed.integer)
    try:
        check_space(key, space)
    except ValueError as error:
        st.error(literal(error), icon=":material/error:")
        return None
    url.record(name, format_space(space))
    return space


class Config(NamedTuple):
    """The sidebar's study configuration: the spec (None after a message next to the bad field), the workers, the
    server's storage URL (``default_storage()``; None when it cannot be opened) and the container under the name
    field, for the messages about the name."""

    spec: SweepSpec | None
    workers: int
    storage_url: str | None
    note: Any


def sweep_controls(url: UrlState) -> Config:
    """The study's controls, top to bottom; see ``Config``."""
    task = url.selectbox("task", "task", MNIST1D, TASKS, help="MNIST-1D trains the seed MLP; a surface runs a 2-D "
                         "loss in a fraction of a second per trial.")
    keys = optimizer_keys(url)
    spaces = {}
    for key in keys:
        with st.container(border=True):
            spaces[key] = space_controls(url, key)
    trials = url.slider("trials per optimizer", "trials", 10, 1, 100, 1,
                        help="The same budget for every optimizer: fair tuning.")
    if get_task(task).length == "epochs":
        epochs, steps = url.slider("epochs per trial", "epochs", 10, 1, 100, 1), 200
    else:
        epochs, steps = 25, url.slider("steps per trial", "steps", 300, 10, 5000, 10)
    pruner = url.choice_input("pruner", "pruner", "median", PRUNERS,
                              help="Stop unpromising trials early on their intermediate validation losses.")
    workers = int(url.slider("workers", "workers", 1, 1, max(2, usable_cores()), 1,
                         help="Local processes that share the study (each takes trials from its queue)."))
    storage_url: str | None = default_storage()  # the server's: a link never chooses where data goes
    st.caption(escape_markdown(f"storage: {redacted(storage_url)}"),
               help=f"Set by whoever runs the server: ${STORAGE_VARIABLE} (an Optuna storage URL such as "
                    "postgresql://user@host/db, so that workers on other machines join the same study), else a "
                    "journal file under $OPTISCOPE_HOME.")
    try:
        _storage(storage_url)
    except (ValueError, OSError) as error:
        st.error(literal(f"This storage cannot be opened: {error}"), icon=":material/error:")
        storage_url = None
    name = url.text_input("sweep name", "name", "my-sweep", help="Its studies are <name>:<optimizer>; starting "
                          "an existing sweep again continues it.", check=studies.check_sweep_name)
    note = st.container()
    if not keys:
        note.info("Pick at least one optimizer to tune.", icon=":material/tune:")
        return Config(None, workers, storage_url, note)
    if any(space is None for space in spaces.values()):
        return Config(None, workers, storage_url, note)
    try:
        modes = tuple(Mode(REGISTRY[key].name, key, space=spaces[key]) for key in keys)  # type: ignore[arg-type]
        spec = SweepSpec(name=name, modes=modes, trials=int(trials), task=task, epochs=int(epochs), steps=int(steps),
                         pruner=pruner)
    except ValueError as error:
        note.error(literal(error), icon=":material/error:")
        return Config(None, workers, storage_url, note)
    return Config(spec, workers, storage_url, note)


def existing_setup_note(spec: SweepSpec, storage_url: str, note: Any) -> bool:
    """Say what Start does with a name the storage already has; False when the setups differ (Start refuses)."""
    storage = _storage(storage_url)
    if spec.name not in studies.sweep_names(storage):
        return True
    stored = studies.load_sweep(storage, spec.name)
    if stored.setup() != spec.setup():
        note.error(literal(f"A sweep named {spec.name!r} exists in this storage with another search space or setup; "
                           "choose another name, or open it below."), icon=":material/error:")
        return False
    note.info(literal(f"{spec.name!r} exists with this setup: Start continues it up to {spec.trials} trials per "
                      "optimizer."), icon=":material/info:")
    return True


# --- the sweep shown ----------------------------------------------------------------------------------------------


def _progress_text(state: sweep_jobs.NamedJobStatus | None, rows: list[studies.ModeProgress], budget: int) -> str:
    used = sum(row.complete + row.pruned for row in rows)
    counts = (f"{used} of {budget} trials used ({sum(r.complete for r in rows)} complete, "
              f"{sum(r.pruned for r in rows)} pruned) · {sum(r.failed for r in rows)} failed")
    if state is not None and state.running:
        return f"{state.state} · {counts} · {sum(r.running for r in rows)} running"
    if used >= budget:
        return f"finished · {counts}"
    return f"{'stopped' if state is not None else 'not running here'} · {counts}"


def _five_digits(value: float) -> str:
    """A number to five significant digits for the tables; a dash where there is none yet (NaN)."""
    return f"{value:.5g}" if math.isfinite(value) else "—"


def sweep_view(name: str, storage_url: str, workers: int, live: bool) -> None:
    """Progress, Stop or Resume, the best-so-far curves, each optimizer's parallel coordinates and importances, the
    trials table and the downloads of sweep ``name``."""
    storage = _storage(storage_url)
    try:
        spec = studies.load_sweep(storage, name)
    except ValueError as error:
        st.warning(literal(error), icon=":material/link_off:")
        return
    state = sweep_jobs.sweep_state(name)
    running = state is not None and state.running
    if live and not running:
        stop_polling()  # the buttons follow the sweep's end
    by_mode = studies.studies(spec, storage)
    rows = studies.progress(spec, storage)
    budget = spec.trials * len(rows)
    used = sum(row.complete + row.pruned for row in rows)
    st.subheader(f"Sweep {name}", anchor=False)
    length = get_task(spec.task).length
    st.caption(escape_markdown(f"{TASKS.get(spec.task, spec.task)} · {getattr(spec, length)} {length}"
                               + f" per trial · {spec.trials} trials per optimizer · pruner {spec.pruner}"))
    st.progress(min(used / budget, 1.0) if budget else 1.0, text=_progress_text(state, rows, budget))
    if running:
        if st.button("Stop", icon=":material/stop:", key="sweeps.stop", disabled=state.state == "stopping",
                     help="The trial in progress ends failed and is queued again: Resume continues the study."):
            sweep_jobs.stop_sweep(name)
            st.rerun()
    elif used < budget and st.button("Resume", icon=":material/play_arrow:", key="sweeps.resume",
                                     help="Run the rest of the budget (trials left by a stopped run included)."):
        try:
            sweep_jobs.start_sweep(spec, workers=workers, storage_url=storage_url)
        except ValueError as error:
            st.error(literal(error), icon=":material/error:")
        else:
            st.rerun()
    if state is not None and state.state == "failed":
        st.error(literal(f"The sweep stopped with an error: {state.error}"), icon=":material/error:")
    st.dataframe([{"optimizer": row.label, "complete": row.complete, "pruned": row.pruned, "failed": row.failed,
                   "running": row.running, "waiting": row.waiting, "best objective": _five_digits(row.best_value),
                   "best hyperparameters": ", ".join(f"{k}={_five_digits(v) if isinstance(v, float) else v}"
                                                     for k, v in row.best_params.items())}
                  for row in rows], hide_index=True, width="stretch")
    trials = {label: study.get_trials(deepcopy=False) for label, study in by_mode.items()}
    figure_with_caption(best_so_far_figure(spec, trials), SWEEP_CAPTIONS["best_so_far"], key="sweeps.best")
    tabs = st.tabs(list(by_mode))
    for tab, row in zip(tabs, rows, strict=True):
        with tab:
            parallel, importance = _mode_figures(storage_url, name, row.label, row.complete + row.pruned + row.failed)
            figure_with_caption(parallel, SWEEP_CAPTIONS["parallel"], key=f"sweeps.parallel.{row.label}")
            figure_with_caption(importance, SWEEP_CAPTIONS["importance"], key=f"sweeps.importance.{row.label}")
    st.subheader("Trials", anchor=False)
    table = studies.trials_table(spec, storage)
    if table:
        columns = {column for row in table for column in row} - {"mode", "trial", "state"}
        numbers = {column: st.column_config.NumberColumn(format="%.5g") for column in columns  # 1e-05, not 0.0000
                   if all(isinstance(row[column], float | int) for row in table if column in row)}
        st.dataframe(table, hide_index=True, width="stretch", column_config=numbers)
    else:
        st.info("The trials appear here as they start.", icon=":material/hourglass_top:")
    download_buttons([("trials (CSV)", lambda: trials_csv(studies.trials_table(spec, storage)), f"{name}_trials.csv"),
                      ("spec and best configurations (JSON)", lambda: sweep_json(spec, studies.progress(spec, storage)),
                       f"{name}_sweep.json")])


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("sweeps")
if VIEW not in st.session_state:  # a reload: re-attach to the sweep named in the URL
    st.session_state[VIEW] = st.query_params.get("view") or None
with st.sidebar:
    st.subheader("Study", anchor=False)
    buttons = st.container()
    spec, workers, storage_url, name_note = sweep_controls(url)
startable = spec is not None and storage_url is not None and existing_setup_note(spec, storage_url, name_note)
with buttons:
    start = st.button("Start", type="primary", icon=":material/play_arrow:", width="stretch", key="sweeps.start",
                      disabled=not startable or (spec is not None and sweep_jobs.is_running(spec.name)))

st.title("Sweeps")
known_claims = claims.load_claims()
st.markdown("Five claims from the seed write-ups, each re-run the fair way: every optimizer tuned with the claim's "
            "own budget, then trained from ten seeds.")
verdict_table(known_claims)

# --- the sweep --------------------------------------------------------------------------------------------------------
st.header("Tune your own", anchor="tune")
st.markdown("Tune optimizers fairly: every optimizer gets its own Optuna study over ranges generated from the "
            "registry, the **same trial budget**, the same seed and the same task; a trial's objective is its lowest "
            "validation loss (on a 2-D surface, its lowest loss). Configure a study in the sidebar and press "
            "**Start**: it runs in the background and its curves grow here; every trial is kept in the storage, so "
            "a reload or another machine's workers continue it.")
if start and spec is not None and storage_url is not None:
    try:
        sweep_jobs.start_sweep(spec, workers=workers, storage_url=storage_url)
    except ValueError as error:
        name_note.error(literal(error), icon=":material/error:")
    else:
        st.session_state[VIEW] = spec.name
        st.rerun()  # the buttons and the view follow the running sweep

view: str | None = st.session_state[VIEW]
if storage_url is not None:
    known = sorted(studies.sweep_names(_storage(storage_url)))
    if view is not None and view not in known:
        st.warning(literal(f"URL: invalid view={view!r}; expected the name of a sweep in this storage (this one was "
                           "never started here, or another storage holds it)."), icon=":material/link_off:")
        st.session_state[VIEW] = view = None
    if known:
        opened = st.selectbox("open a sweep in this storage", known, index=known.index(view) if view else None,
                              placeholder="choose a sweep…", help="Every sweep in the storage, yours or another's.")
        if opened is not None and opened != view:
            st.session_state[VIEW] = view = opened
if view:
    url.values["view"] = view
url.write()

if view and storage_url is not None:
    live = sweep_jobs.is_running(view)
    st.fragment(sweep_view, run_every=POLL_SECONDS if live else None)(view, storage_url, workers, live)
elif storage_url is not None:
    st.info("No sweep is open: configure one in the sidebar and press Start, or open one above.",
            icon=":material/tune:")

# --- the claims, one by one -----------------------------------------------------------------------------------------
st.header("The claims, one by one", anchor="claims")
st.markdown("Each claim as data, reproduced the way it was made: every mode tuned with the claim's budget, then its "
            "best configuration trained from several seeds, the write-up's number beside ours on its metric and on "
            "the clean one. Run one here: quick is a smoke test of the whole path in seconds; full is the claim's "
            "budget, as the shipped results were computed.")
for claim_key, claim in known_claims.items():
    with st.container(border=True):
        claim_section(claim_key, claim, POLL_SECONDS)
