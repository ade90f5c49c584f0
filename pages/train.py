"""Train: optimizers side by side on the seed MLP on MNIST-1D, run by the job manager in the background and polled."""

import contextlib
import math
import secrets
import time
from collections.abc import Sequence

import streamlit as st

from engine.figures import (
    BAND_CAPTION,
    NO_INTERNALS,
    RUN_CAPTIONS,
    band_epoch_figure,
    band_internals_figure,
    band_layers_figure,
    band_series_figure,
    epoch_figure,
    internals_figure,
    layers_figure,
    series_figure,
    summary_json,
    telemetry_csv,
    two_seed_note,
)
from engine.jobs import Busy, JobStatus, UnknownJob, get_manager
from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, group_runs, mean_ci, store
from engine.tasks import MNIST1D, get_task, steps_per_epoch
from ui.controls import optimizer_controls, valid_choices
from ui.figures import figure_with_caption
from ui.jobs import job_actions, poll_job, stop_polling
from ui.text import duration, escape_markdown
from ui.url_state import UrlState

# One per slot: Adam and AGAW (an Adam warmup) tuned to about the same learning rate, then two baselines.
# (A comment, not a docstring: Streamlit's magic would print a bare string on the page.)
DEFAULT_OPTIMIZERS = ("adam:lr=0.0047", "agaw:target_lr=0.0046,gamma=1.7,warmup_steps=107", "sgd:lr=0.05",
                      "nesterov:lr=0.01")
# The comparison a first visit starts when nothing was run here yet: Adam against AGAW (whose warmup shows in the
# internals), one seed, a few epochs, so every curve fills in within seconds.
FIRST_COMPARISON = {"epochs": 5, "batch": 128, "seeds": 1, "optimizers": DEFAULT_OPTIMIZERS[:2]}
POLL_SECONDS = 1.0
# The curves of a running job are redrawn less often than its progress: six figures a poll were most of a live page's
# cost, on the server and in the browser (benchmarks/bench_load.py), while the progress text stays a second fresh.
CURVES_SECONDS = 3.0
MIN_RECORDS = 20  # logged steps per run at least: a short run logs more often than every 10 steps
JOB, SESSION, PAST, OPENED = "train.job", "train.session", "train.past", "train.opened"  # session_state keys
TRAIN_CAPTIONS = {
    "loss": "Training loss (solid) and validation loss (dotted) after every epoch, on a log scale. A validation "
    "curve that turns up while the training loss keeps falling is overfitting; the gap between the two is the "
    "generalization gap.",
    "accuracy": "Test accuracy after every epoch. Choosing the epoch with the best test accuracy peeks at the test "
    "set, so the summary also gives the test accuracy at the epoch with the best validation loss: the clean number.",
    "effective_lr": "The step each optimizer actually took, ||update|| / ||gradient||, at every logged step. A "
    "warmup such as AGAW starts small and rises; Adam's adaptivity makes it drift as its gradient statistics change.",
    "cos_grad_prev": "The cosine between consecutive mini-batch gradients, cos(g_t, g_{t-1}), at every logged step. "
    "Near 0 the mini-batch noise dominates; positive values mean successive batches agree. AGAW's warmup only "
    "advances while it is positive.",
    "layers": "The gradient norm of each linear layer (weights and bias together), on a log scale. Layers whose "
    "norms differ by decades take very different steps under plain SGD; adaptive methods even that out.",
    "internals": RUN_CAPTIONS["internals"],
}
VIEWS = {"band": "mean ± 95% band", "seeds": "individual seeds"}  # the curves' view: URL value -> label
METRICS = (  # (summary key, column, as a percentage)
    ("final_test_accuracy", "final test accuracy", True),
    ("best_test_accuracy_seed_metric", "best test accuracy (peeks at the test set)", True),
    ("test_accuracy_at_best_val", "test accuracy at the best validation epoch (clean)", True),
    ("final_val_loss", "final validation loss", False),
)


def _ci(values: Sequence[float], percent: bool) -> str:
    """Mean and 95% CI half-width over seeds, as ``81.2% ± 1.5`` or ``0.512 ± 0.01``; a dash without values (an em
    dash: a table cell of ``-`` alone would render as a Markdown list bullet)."""
    ci = mean_ci(values)
    if ci.n == 0:
        return "—"
    scale, unit = (100.0, "%") if percent else (1.0, "")
    text = f"{ci.mean * scale:.1f}{unit}" if percent else f"{ci.mean:.4g}"
    if not math.isnan(ci.half_width):
        text += f" ± {ci.half_width * scale:.1f}" if percent else f" ± {ci.half_width:.2g}"
    return text


def summary_rows(results: Sequence[RunResult], describe: bool = False) -> list[dict[str, object]]:
    """One row per group of runs with identical settings (``group_runs``; ``describe`` names each group's epochs and
    seeds): mean and 95% CI over its seeds of each metric, how many runs diverged and, when any run in the table was
    cancelled, how many were cancelled (on every row, so the column reads as counts)."""
    rows = []
    for group in group_runs(results, describe=describe):
        runs = group.runs
        ended = [r for r in runs if r.status != "cancelled"]
        row: dict[str, object] = {"optimizer": group.label, "seeds": len(ended)}
        for key, column, percent in METRICS:
            row[column] = _ci([float(r.summary.get(key, math.nan)) for r in ended], percent)
        row["diverged"] = sum(r.status == "diverged" for r in runs)
        row["cancelled"] = len(runs) - len(ended)
        rows.append(row)
    if not any(row["cancelled"] for row in rows):
        for row in rows:
            del row["cancelled"]
    return rows


def summary_table(results: Sequence[RunResult], describe: bool = False) -> None:
    st.table(summary_rows(results, describe), hide_index=True, border="horizontal")
    st.caption("Mean over seeds ± the half-width of its 95% confidence interval (Student t; none with one seed). "
               "Diverged runs are counted, not averaged.")


def _has(results: Sequence[RunResult], rows: str, key: str) -> bool:
    """Whether some run has a finite value of ``key`` (any ``key`` prefix match when it ends in ``/``) in its
    ``rows`` (``records`` or ``epochs``): a figure of it would draw something."""
    return any(isinstance(value, float | int) and math.isfinite(value)
               for result in results for row in getattr(result, rows)
               for name, value in row.items() if name == key or (key.endswith("/") and name.startswith(key)))


def figures(results: Sequence[RunResult], prefix: str, bands: bool, describe: bool = False) -> None:
    """The Train page's figures of ``results``, keyed ``<prefix>.<figure>``: each group's mean over its seeds with
    a 95% band when ``bands``, else every seed's own line; ``describe`` names each group's epochs and seeds. Only
    figures with data are drawn (a run that has just started has no epoch yet, and its first step no previous
    gradient): a line says when the others come."""
    results = list(results)
    epoch, series, layers, internals = (
        (band_epoch_figure, band_series_figure, band_layers_figure, band_internals_figure) if bands
        else (epoch_figure, series_figure, layers_figure, internals_figure))
    if _has(results, "epochs", "train_loss"):
        figure_with_caption(epoch(results, ("train_loss", "val_loss"), names=("train", "validation"), log_y=True,
                                  title="Loss per epoch", y_title="cross-entropy", describe=describe),
                            TRAIN_CAPTIONS["loss"], key=f"{prefix}.loss")
        figure_with_caption(epoch(results, ("test_accuracy",), title="Test accuracy per epoch",
                                  y_title="test accuracy", describe=describe),
                            TRAIN_CAPTIONS["accuracy"], key=f"{prefix}.accuracy")
    else:
        st.caption("The loss and the test accuracy per epoch appear here when the first epoch ends.")
    if _has(results, "records", "effective_lr"):
        figure_with_caption(series(results, "effective_lr", log_y=True, title="Effective learning rate",
                                   y_title="||update|| / ||gradient||", describe=describe),
                            TRAIN_CAPTIONS["effective_lr"], key=f"{prefix}.effective_lr")
    if _has(results, "records", "cos_grad_prev"):
        figure_with_caption(series(results, "cos_grad_prev", title="Gradient alignment", y_title="cos(g_t, g_{t-1})",
                                   describe=describe),
                            TRAIN_CAPTIONS["cos_grad_prev"], key=f"{prefix}.cos")
    if _has(results, "records", "grad_norm/"):
        figure_with_caption(layers(results, describe=describe), TRAIN_CAPTIONS["layers"], key=f"{prefix}.layers")
    if _has(results, "records", "stat/"):
        figure_with_caption(internals(results, describe=describe), TRAIN_CAPTIONS["internals"],
                            key=f"{prefix}.internals")
    elif results and all(result.records for result in results):
        st.caption(f"Optimizer internals: {NO_INTERNALS}")
    if bands:  # after the figures: on a phone's first screen the first figure comes before any reading
        st.caption(escape_markdown(BAND_CAPTION))
        if note := two_seed_note(results, describe=describe):
            st.info(escape_markdown(note), icon=":material/info:")


def downloads(results: Sequence[RunResult], prefix: str, describe: bool = False) -> None:
    left, right = st.columns(2)
    left.download_button("telemetry (CSV)", telemetry_csv(results, describe=describe),
                         file_name=f"{prefix}_telemetry.csv",
                         mime="text/csv", icon=":material/download:", width="stretch", key=f"{prefix}.csv")
    right.download_button("specs and summaries (JSON)", summary_json(results), file_name=f"{prefix}_runs.json",
                          mime="application/json", icon=":material/download:", width="stretch", key=f"{prefix}.json")


def first_comparison() -> ComparisonSpec:
    """The small comparison a first visit starts when no comparison was saved here yet (``FIRST_COMPARISON``)."""
    epochs, batch = FIRST_COMPARISON["epochs"], FIRST_COMPARISON["batch"]
    return ComparisonSpec(MNIST1D, tuple(OptimizerChoice.parse(text) for text in FIRST_COMPARISON["optimizers"]),
                          epochs=epochs, batch_size=batch, log_every=log_every_for(epochs, batch),
                          seeds=tuple(range(FIRST_COMPARISON["seeds"])))


def log_every_for(epochs: int, batch: int) -> int:
    """The task's logging interval, shortened so that a short run still logs ``MIN_RECORDS`` steps."""
    return min(get_task(MNIST1D).default_log_every, max(1, epochs * steps_per_epoch(batch) // MIN_RECORDS))


def open_first(session: str) -> tuple[str | None, str]:
    """A first visit without any settings in its link opens on a comparison: the one saved last on this machine,
    else a small one started now (``first_comparison``). Returns its job id (None when the server is too busy to
    start one) and the line that says what is shown."""
    latest = store.latest_job(MNIST1D)
    if latest is not None:
        return latest, "the last comparison run on this server"
    manager, spec = get_manager(), first_comparison()
    started = next((job.job_id for job in manager.jobs() if job.spec == spec and not job.done), None)
    if started is not None:  # another first visit started it a moment ago: share it rather than train it twice
        return started, "a small comparison, started for you"
    try:
        return manager.submit(spec, session=session), "a small comparison, started for you"
    except Busy as error:
        return None, str(error)


def settings_into_url(spec: ComparisonSpec) -> None:
    """Put the comparison's settings into the URL before the sidebar reads it, so the controls show what is shown
    and the link reproduces it; settings the controls cannot show (more than four optimizers, other seeds, values
    past a slider's range) leave the URL as it is."""
    if (len(spec.optimizers) > 4 or spec.seeds != tuple(range(len(spec.seeds))) or not 1 <= len(spec.seeds) <= 10
            or not 1 <= spec.epochs <= 100 or not 1 <= spec.batch_size <= 1024 or spec.task_args):
        return
    st.query_params.update({"epochs": str(spec.epochs), "batch": str(spec.batch_size), "seeds": str(len(spec.seeds)),
                            "n": str(len(spec.optimizers)),
                            **{f"opt{slot}": str(choice) for slot, choice in enumerate(spec.optimizers, 1)}})


def _poll(job_id: str) -> JobStatus | str:
    """The job's status, or the message to show instead (the page never raises into the browser)."""
    return poll_job(get_manager(), job_id, "training job")


def _cancel_optimizer(job_id: str, position: int) -> None:
    """Stop one optimizer of the job (a button's callback, so the fragment's next poll already shows it)."""
    with contextlib.suppress(UnknownJob):  # it ended and was dropped meanwhile: the view says so
        get_manager().cancel(job_id, optimizer=position)


def optimizer_buttons(status: JobStatus) -> None:
    """One Cancel button per optimizer of a running job: it stops that optimizer alone, the others go on."""
    columns = st.columns(len(status.spec.optimizers))
    for position, (column, choice) in enumerate(zip(columns, status.spec.optimizers, strict=True)):
        stopped = position in status.stopped_optimizers
        label = f"{choice.label}: cancelled" if stopped else f"Cancel {choice.label}"
        column.button(escape_markdown(label), icon=":material/cancel:", width="stretch",
                      key=f"train.cancel.{position}", disabled=not status.optimizer_pending(position),
                      on_click=_cancel_optimizer, args=(status.job_id, position),
                      help="Stop this optimizer alone: its runs end where they are (their curves so far are kept, "
                      "marked cancelled); the other optimizers go on.")


def resume_button(status: JobStatus, ended: str) -> None:
    """What an interrupted job says (its server stopped before it ended: nobody cancelled it), and a button that runs
    the rest of it under the same id; a busy server's message instead of starting it."""
    st.warning(f"Interrupted: the server stopped (a crash or a restart) before this job ended. {ended}; they are kept "
               "below, and **Resume** runs the rest.", icon=":material/power_off:")
    if st.button("Resume", type="primary", icon=":material/replay:", key="train.resume",
                 help="Run the runs that had not ended, with the same settings; the ended ones are kept."):
        try:
            get_manager().resume(status.job_id, session=st.session_state[SESSION])
        except (Busy, UnknownJob, ValueError) as error:
            st.warning(escape_markdown(str(error)), icon=":material/hourglass_top:")
        else:
            st.rerun()  # the whole page: its buttons and the polling follow the running job


def job_view(job_id: str, live: bool) -> None:
    """Progress with the ETA, a Cancel button per optimizer and what the job's state says (polled every
    ``POLL_SECONDS`` while it runs; ``job_curves`` draws its curves)."""
    status = _poll(job_id)
    if isinstance(status, str):
        st.warning(status, icon=":material/link_off:")
        return
    if live and status.done:
        stop_polling()  # the buttons and the past runs follow the job's end
    progress = status.progress
    fraction = 1.0 if status.state == "finished" else (progress.fraction if progress else 0.0)
    ended = f"{len(status.results)} of {status.runs_total} runs ended"
    if status.state == "queued":
        text = "queued: waiting for a free worker"
    elif status.state == "running":
        current = f" · now {progress.current}" if progress and progress.current else ""
        eta = duration(progress.eta_seconds) if progress else "estimating…"
        # the time since Start changes at every poll, so a live page always has news and a stale one shows it
        text = f"running · {fraction:.0%}{current} · ETA {eta} · {duration(time.time() - status.submitted_at)} so far"
    else:
        text = f"{status.state} · {ended}"
    st.progress(min(max(fraction, 0.0), 1.0), text=escape_markdown(text))
    if not status.done:
        optimizer_buttons(status)
    if status.done and status.stopped_optimizers:
        names = ", ".join(status.spec.optimizers[position].label for position in status.stopped_optimizers)
        st.info(f"Cancelled one by one: {escape_markdown(names)}. Their runs are kept below as far as they got, "
                "marked cancelled.", icon=":material/cancel:")
    if status.state == "cancelled":
        st.warning(f"Cancelled: {ended}; their curves and summary are below.", icon=":material/cancel:")
    elif status.state == "failed":
        st.error(f"The training job failed: {escape_markdown(status.error or '')}", icon=":material/error:")
    elif status.state == "interrupted":
        resume_button(status, ended)
    elif status.error:  # a run that could not be saved: said at once, not only when the job ends
        st.error(f"{escape_markdown(status.error)}. The job runs on and will end failed.", icon=":material/error:")
    for result in status.results:
        if result.status == "diverged":
            st.error(f"**{escape_markdown(result.spec.optimizer.label)}** (seed {result.spec.seed}) diverged at step "
                     f"{result.diverged_at}: {escape_markdown(result.reason or '')}", icon=":material/trending_up:")


def job_curves(job_id: str, bands: bool) -> None:
    """The job's curves (growing while a run trains; seed bands when ``bands``), and once it ended the summary and
    downloads. Its own fragment, redrawn every ``CURVES_SECONDS`` while the job runs (``job_view`` ends the polling
    when the job ends)."""
    status = _poll(job_id)
    if isinstance(status, str):  # job_view says why
        return
    results = list(status.results)
    drawn = [*results, *status.partials]  # the runs in progress, as they grow
    if drawn:
        figures(drawn, "job", bands)
    elif not status.done:
        st.info("The curves appear here as soon as the first steps are logged.", icon=":material/hourglass_top:")
    if status.done and results:
        st.subheader("Summary", anchor=False)
        summary_table(results)
        downloads(results, "train")


def _delete(run_ids: list[str]) -> None:
    for run_id in run_ids:
        store.delete(run_id)
    st.session_state[PAST] = []


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("train")
session = st.session_state.setdefault(SESSION, secrets.token_urlsafe(9))
if JOB not in st.session_state:  # a reload: re-attach to the job named in the URL
    st.session_state[JOB] = st.query_params.get("job") or None
    if not st.query_params:  # a first visit with a bare link: open on a comparison, nothing to press
        st.session_state[JOB], opened_as = open_first(session)
        st.session_state[OPENED] = (st.session_state[JOB], opened_as)
        opened = _poll(st.session_state[JOB]) if st.session_state[JOB] else None
        if isinstance(opened, JobStatus):
            settings_into_url(opened.spec)
choices: list[OptimizerChoice | None] = []
with st.sidebar:
    st.subheader("Training", anchor=False)
    buttons = st.container()
    epochs = url.slider("epochs", "epochs", 10, 1, 100, 1, help="Passes over MNIST-1D's training split.")
    batch = url.slider("batch size", "batch", 128, 1, 1024, 1, help="Examples per optimizer step.")
    seeds = url.slider("seeds", "seeds", 1, 1, 10, 1,
                       help="Independent runs per optimizer (initial weights, batch order and split), for the "
                       "confidence intervals.")
    count = url.slider("optimizers", "n", 2, 1, 4, 1, help="How many optimizers train side by side.")
    for slot in range(1, count + 1):
        with st.container(border=True):
            choices.append(optimizer_controls(url, slot, DEFAULT_OPTIMIZERS[slot - 1]))

st.title("Train")
st.markdown("Optimizers side by side on the seed MLP on MNIST-1D: the same initial weights, the same mini-batches, "
            "several seeds, trained in the background while the curves grow. Every run is saved under Past runs.")
valid = valid_choices(choices)
spec: ComparisonSpec | None = None
try:
    spec = ComparisonSpec(MNIST1D, valid, epochs=int(epochs), batch_size=int(batch),
                          log_every=log_every_for(int(epochs), int(batch)), seeds=tuple(range(int(seeds)))) \
        if valid else None
except ValueError as error:  # the controls prevent it; never a traceback in the browser
    st.error(f"This configuration cannot run: {error}")

job_id: str | None = st.session_state[JOB]
status = _poll(job_id) if job_id else None
running = isinstance(status, JobStatus) and not status.done
with buttons:
    left, right = st.columns(2)
    start = left.button("Start", type="primary", icon=":material/play_arrow:", width="stretch",
                        disabled=spec is None or running, key="train.start")
    stop = right.button("Cancel", icon=":material/stop:", width="stretch", disabled=not running, key="train.cancel")
manager = get_manager()
job_id = job_actions(manager, JOB, job_id, status, start=start, stop=stop,
                     submit=None if spec is None else lambda: manager.submit(spec, session=session))
with st.sidebar:  # a view of the curves, not of the training: beside the other settings, off a phone's first screen
    bands = url.choice_input("Show", "show", "band", VIEWS,
                             help="Each optimizer as its mean over the seeds with the 95% confidence interval of that "
                             "mean shaded (Student t, as the summary table), or every seed as its own line.") == "band"
if job_id:
    url.values["job"] = job_id
url.write()
if spec is None and not valid:
    st.info("Fix the optimizer settings in the sidebar: none of them is valid.", icon=":material/tune:")

# --- the job --------------------------------------------------------------------------------------------------------
opened_job, opened_as = st.session_state.get(OPENED, (None, ""))
if opened_job is not None and job_id == opened_job:  # still the comparison the page opened on
    st.caption(f"Showing {escape_markdown(opened_as)}; set up your own in the sidebar and press **Start**.")
elif opened_as and opened_job is None and not job_id:  # the server was too busy to start one
    st.info(escape_markdown(opened_as), icon=":material/hourglass_top:")
if job_id:
    st.fragment(job_view, run_every=POLL_SECONDS if running else None)(job_id, running)
    st.fragment(job_curves, run_every=CURVES_SECONDS if running else None)(job_id, bands)
else:
    st.info("Set up the comparison in the sidebar and press **Start**.", icon=":material/play_arrow:")

# --- past runs ------------------------------------------------------------------------------------------------------
st.divider()
st.header("Past runs", anchor=False)
saved = store.list_runs(task=MNIST1D)
if not saved:
    st.caption(f"No saved MNIST-1D runs yet (they are kept in {store.runs_dir()}).")
else:
    def _describe(run: store.StoredRun) -> str:
        accuracy = run.summary.get("final_test_accuracy", math.nan)
        shown = f"{accuracy:.1%}" if math.isfinite(accuracy) else "-"
        return (f"{run.saved_at[:19].replace('T', ' ')} · {run.label} · {run.spec.epochs} epochs · batch "
                f"{run.spec.batch_size} · seed {run.seed} · {run.status} · test {shown}")

    labels = {run.run_id: _describe(run) for run in saved}
    st.session_state[PAST] = [run_id for run_id in st.session_state.get(PAST, []) if run_id in labels]
    picked = st.multiselect("saved runs (newest first)", list(labels), format_func=labels.__getitem__, key=PAST,
                            help="Pick runs to compare them with the same table and figures. Runs with identical "
                            "settings (optimizer, epochs, batch size, ...) are pooled over their seeds; any other "
                            "difference, or the same seed picked twice, makes another row.")
    st.button("Delete selected", icon=":material/delete:", disabled=not picked, on_click=_delete, args=(picked,),
              key="train.delete")
    loaded = []
    for run_id in picked:
        try:
            loaded.append(store.load(run_id))
        except (KeyError, ValueError) as error:
            st.warning(f"Could not load {run_id}: {error}")
    if loaded:
        summary_table(loaded, describe=True)
        downloads(loaded, "past", describe=True)
        figures(loaded, "past", bands, describe=True)
