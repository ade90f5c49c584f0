"""Sweeps: fair hyperparameter tuning as Optuna studies that any number of worker processes, on any machines, share.

A ``SweepSpec`` tunes several optimizer *modes* on one task with an equal trial budget each. Every mode is its own
Optuna study, named ``<sweep>:<mode label>``, so neither the TPE sampler nor the pruner mixes one optimizer's
trials into another's. Every trial runs from the same seed (same initial weights, same batches) and its objective
is the lowest validation loss over its epochs (on a 2-D surface, the lowest loss); a diverged run scores +inf;
its ``RunSpec``, worker and summary are in the trial's user attributes.

Budgets through Optuna's queue (``engine.sweeps.budget``): ``prepare`` tops each study's queue up to its budget, and
a worker only runs trials it pops from that queue. A trial that ``ask`` creates outside the queue (two workers raced
for the last one) is marked FAIL with ``surplus`` at once, never run. Dead workers (``engine.sweeps.heartbeat``):
every round of ``work`` first fails the trials of dead workers and queues their budget again, so a worker killed
mid-trial loses that trial only, and restarting the command continues the study. Storage:
``engine.sweeps.storage``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import optuna
from optuna.pruners import BasePruner, HyperbandPruner, MedianPruner, NopPruner
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, Trial, TrialState

from engine.jobs import Report, Worker, WorkerFailed
from engine.runs import ComparisonSpec, OptimizerChoice, RunSettings, RunSpec, Telemetry, run
from engine.runs.device import step_work
from engine.sweeps import search_space
from engine.sweeps.budget import enqueue, top_up
from engine.sweeps.heartbeat import BEAT_EVERY, beat, fail_stale, worker_id
from engine.sweeps.search_space import Choices, SearchSpace
from engine.sweeps.storage import open_storage
from engine.tasks import MNIST1D
from optimizers.registry import HyperValue
from optimizers.validation import check_choice, check_number

PRUNERS = ("median", "hyperband", "none")

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class Mode:
    """One contender: optimizer ``key`` with ``fixed`` hyperparameters (over the registry's defaults) and the
    ``space`` it is tuned over (empty: evaluated as given, no trials)."""

    label: str
    key: str
    fixed: dict[str, HyperValue] = field(default_factory=dict)
    space: SearchSpace = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_number("mode", "label length", len(self.label.strip()), low=1, high=80, integer=True)
        OptimizerChoice(self.key, self.fixed)  # the optimizer's own checks of the fixed values
        if self.space:
            search_space.check_space(self.key, self.space)

    def choice(self, params: Mapping[str, HyperValue] | None = None) -> OptimizerChoice:
        """The optimizer at ``params`` (tuned values) over the fixed ones."""
        return OptimizerChoice(self.key, {**self.fixed, **(params or {})})

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "key": self.key, "fixed": dict(self.fixed),
                "space": search_space.to_dict(self.space)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Mode:
        return cls(data["label"], data["key"], dict(data.get("fixed", {})),
                   search_space.from_dict(data.get("space", {})))


def check_sweep_name(name: str) -> str:
    """``name`` if it can name a sweep (its studies are ``<name>:<mode>``); ``ValueError`` naming the field and what it
    accepts otherwise."""
    stripped = name.strip()
    if not stripped or ":" in stripped or len(stripped) > 80:
        raise ValueError(f"sweep: invalid name={name!r}; expected 1 to 80 characters without ':'")
    return name


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: ``trials`` trials for every mode (equal budgets), each a run of ``epochs`` (MNIST-1D) or ``steps``
    (a surface) from ``seed``; ``pruner`` stops unpromising trials early on their intermediate validation losses."""

    name: str
    modes: tuple[Mode, ...]
    trials: int = 20
    task: str = MNIST1D
    epochs: int = 25
    steps: int = 200
    batch_size: int = 128
    task_args: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    pruner: str = "median"
    device: str = "auto"

    def __post_init__(self) -> None:
        owner = "sweep"
        check_sweep_name(self.name)
        if not self.modes:
            raise ValueError(f"{owner}: invalid modes=(); expected at least one optimizer")
        labels = [mode.label for mode in self.modes]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{owner}: invalid modes; labels must differ, got {labels}")
        check_number(owner, "trials", self.trials, low=1, high=10_000, integer=True)
        check_choice(owner, "pruner", self.pruner, PRUNERS)
        self.run_spec(self.modes[0].choice())  # task, epochs, steps, batch size, seed and device, checked as a run

    def settings(self, epochs: int | None = None) -> RunSettings:
        """The run settings of this sweep's trials (with ``epochs``: of a longer final training)."""
        return RunSettings(self.task, steps=self.steps, epochs=self.epochs if epochs is None else epochs,
                           batch_size=self.batch_size, task_args=dict(self.task_args), device=self.device)

    def run_spec(self, choice: OptimizerChoice, seed: int | None = None, epochs: int | None = None) -> RunSpec:
        """One run of this sweep's setup with ``choice`` (by default from the tuning seed, for ``epochs``)."""
        return RunSpec(optimizer=choice, seed=self.seed if seed is None else seed,
                       **self.settings(epochs).settings_dict())

    def study_name(self, mode: Mode) -> str:
        return f"{self.name}:{mode.label}"

    def setup(self) -> dict[str, Any]:
        """What must match for a restart to continue a study: everything but the budget."""
        return {key: value for key, value in self.to_dict().items() if key != "trials"}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "modes": [mode.to_dict() for mode in self.modes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        return cls(**{**data, "modes": tuple(Mode.from_dict(mode) for mode in data["modes"])})


def prepare(spec: SweepSpec, storage: BaseStorage) -> None:
    """Create the sweep's studies (or check that existing ones have the same setup) and top up their queues."""
    for mode in spec.modes:
        if not mode.space:
            continue
        name = spec.study_name(mode)
        try:
            study = optuna.create_study(storage=storage, study_name=name, direction="minimize")
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(study_name=name, storage=storage)
            existing = study.user_attrs.get("sweep")
            if existing is not None and SweepSpec.from_dict(existing).setup() != spec.setup():
                raise ValueError(
                    f"sweep: study {name!r} exists with a different search space or setup; choose another --name "
                    f"(existing: {search_space.format_space(SweepSpec.from_dict(existing).modes[0].space)})"
                ) from None
        study.set_user_attr("sweep", spec.to_dict())
        study.set_user_attr("mode", mode.label)
        top_up(study, spec.trials)


def load_sweep(storage: BaseStorage, name: str) -> SweepSpec:
    """The spec of sweep ``name`` as stored with its studies; ``ValueError`` naming it when there is none."""
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        stored = summary.user_attrs.get("sweep")
        if stored is not None and stored["name"] == name:
            return SweepSpec.from_dict(stored)
    known = sorted(sweep_names(storage))
    raise ValueError(f"sweep: unknown study {name!r}; known: {', '.join(known) or 'none'}")


def sweep_names(storage: BaseStorage) -> set[str]:
    """The names of the sweeps in ``storage``."""
    return {summary.user_attrs["sweep"]["name"]
            for summary in optuna.get_all_study_summaries(storage, include_best_trial=False)
            if "sweep" in summary.user_attrs}


def studies(spec: SweepSpec, storage: BaseStorage) -> dict[str, optuna.Study]:
    """Mode label -> its study (tuned modes only), with the sweep's pruner."""
    return {
        mode.label: optuna.load_study(study_name=spec.study_name(mode), storage=storage, pruner=make_pruner(spec))
        for mode in spec.modes if mode.space
    }


def make_pruner(spec: SweepSpec) -> BasePruner:
    """Median: stop a trial whose validation loss is worse than the median of earlier trials at the same epoch
    (after 5 trials and the first fifth of the epochs); Hyperband: successive halving over 1..epochs."""
    if spec.pruner == "median":
        return MedianPruner(n_startup_trials=5, n_warmup_steps=max(1, spec.epochs // 5))
    if spec.pruner == "hyperband":
        return HyperbandPruner(min_resource=1, max_resource=spec.epochs)
    return NopPruner()


def work(storage_url: str | None, name: str, *, should_stop: Callable[[], bool] | None = None,
         on_trial: Callable[[str, FrozenTrial], None] | None = None) -> int:
    """Run trials of sweep ``name`` until its queues are empty (or ``should_stop``); returns how many ended here.

    Each round first fails the trials of dead workers (replacing them), then takes a trial from the mode with the
    most waiting, so the modes progress together. ``on_trial(mode, trial)`` after each trial ends.
    """
    storage = open_storage(storage_url)
    spec = load_sweep(storage, name)
    by_mode = studies(spec, storage)
    modes = {mode.label: mode for mode in spec.modes}
    stopped = should_stop or (lambda: False)
    ended = 0
    while not stopped():
        for study in by_mode.values():
            fail_stale(study)
        waiting = {label: len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))
                   for label, study in by_mode.items()}
        label = max(waiting, key=waiting.__getitem__, default=None)
        if label is None or waiting[label] == 0:
            break
        study = by_mode[label]
        trial = study.ask()
        if not trial.user_attrs.get("queued"):  # not from the queue: another worker took the last one
            trial.set_user_attr("surplus", True)
            study.tell(trial, state=TrialState.FAIL)
            continue
        frozen = run_trial(spec, modes[label], study, trial, stopped)
        ended += 1
        if on_trial is not None:
            on_trial(label, frozen)
    return ended


def run_trial(spec: SweepSpec, mode: Mode, study: optuna.Study, trial: Trial,
              should_stop: Callable[[], bool]) -> FrozenTrial:
    """Sample ``trial``'s hyperparameters, train, report each epoch's validation loss to the pruner and tell the
    study the outcome. A run stopped by ``should_stop`` is FAIL and replaced in the queue."""
    trial.set_user_attr("worker", worker_id())
    beat(trial)
    params = {name: _suggest(trial, name, dimension) for name, dimension in mode.space.items()}
    run_spec = spec.run_spec(mode.choice(params))
    trial.set_user_attr("run_spec", run_spec.to_dict())
    pruned = False
    last_beat = time.monotonic()

    def on_telemetry(telemetry: Telemetry) -> None:
        nonlocal pruned, last_beat
        for row in telemetry.epochs:
            trial.report(row["val_loss"] if math.isfinite(row["val_loss"]) else math.inf, int(row["epoch"]))
            pruned = pruned or trial.should_prune()
        if telemetry.epochs or time.monotonic() - last_beat > BEAT_EVERY:
            beat(trial)
            last_beat = time.monotonic()

    result = run(run_spec, on_telemetry=on_telemetry, should_stop=lambda: pruned or should_stop())
    trial.set_user_attr("summary", {key: value for key, value in result.summary.items() if math.isfinite(value)})
    if result.diverged_at is not None:
        trial.set_user_attr("diverged_at", result.diverged_at)
    if pruned:
        study.tell(trial, state=TrialState.PRUNED)
    elif result.status == "cancelled":
        study.tell(trial, state=TrialState.FAIL)
        enqueue(study)
    else:
        study.tell(trial, objective(result.epochs, result.summary, result.status))
    return study.get_trials(deepcopy=False)[trial.number]


def objective(epochs: list[dict[str, float]], summary: Mapping[str, float], status: str) -> float:
    """The value a trial minimises: the lowest validation loss over epochs (MNIST-1D) or the lowest loss (a
    surface); +inf for a diverged run, so it ranks last but still spends its budget."""
    if status == "diverged":
        return math.inf
    losses = [row["val_loss"] for row in epochs if math.isfinite(row["val_loss"])] if epochs else []
    if losses:
        return min(losses)
    best = summary.get("best_loss", math.inf)
    return best if math.isfinite(best) else math.inf


@dataclass(frozen=True)
class ModeProgress:
    """Where one mode's study stands."""

    label: str
    complete: int
    pruned: int
    failed: int
    running: int
    waiting: int
    best_value: float
    best_params: dict[str, HyperValue]


def progress(spec: SweepSpec, storage: BaseStorage) -> list[ModeProgress]:
    """Per tuned mode: trial counts by state and the best trial so far."""
    rows = []
    for label, study in studies(spec, storage).items():
        trials = study.get_trials(deepcopy=False)
        count = {state: sum(t.state == state for t in trials) for state in TrialState}
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
        best = min(complete, key=lambda t: t.value, default=None)  # type: ignore[arg-type, return-value]
        rows.append(ModeProgress(label, count[TrialState.COMPLETE], count[TrialState.PRUNED],
                                 count[TrialState.FAIL], count[TrialState.RUNNING], count[TrialState.WAITING],
                                 best.value if best else math.nan, dict(best.params) if best else {}))
    return rows


def best_choices(spec: SweepSpec, storage: BaseStorage) -> dict[str, OptimizerChoice]:
    """Mode label -> the optimizer at its best trial's hyperparameters (untuned modes: as given)."""
    best = {row.label: row.best_params for row in progress(spec, storage)}
    return {mode.label: mode.choice(best.get(mode.label, {})) for mode in spec.modes}


def trials_table(spec: SweepSpec, storage: BaseStorage) -> list[dict[str, Any]]:
    """One row per trial of every mode: mode, number, state, value, seconds, then its hyperparameters."""
    rows = []
    for label, study in studies(spec, storage).items():
        for trial in study.get_trials(deepcopy=False):
            if trial.user_attrs.get("surplus"):
                continue
            seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() \
                if trial.datetime_complete and trial.datetime_start else math.nan
            rows.append({"mode": label, "trial": trial.number, "state": trial.state.name.lower(),
                         "value": trial.value if trial.value is not None else math.nan, "seconds": seconds,
                         **trial.params})
    return rows


def run_sweep(spec: SweepSpec, *, workers: int = 1, storage_url: str | None = None,
              on_progress: Callable[[list[ModeProgress]], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> list[ModeProgress]:
    """Prepare the sweep and run it with ``workers`` local processes (1: in this process) until its budgets are
    spent; ``on_progress`` about once a second. Returns the final progress.

    Several workers are ``engine.jobs.Worker`` processes, each with its share of the cores for one trial's run; a stop
    reaches each one as it reaches one worker (its trial in progress ends FAIL and is requeued), and a worker that
    failed raises ``WorkerFailed`` with its message once all have ended.
    """
    check_number("sweep", "workers", workers, low=1, high=64, integer=True)
    storage = open_storage(storage_url)
    prepare(spec, storage)
    stopped = should_stop or (lambda: False)
    if workers == 1:
        work(storage_url, spec.name, should_stop=stopped,
             on_trial=(lambda _label, _trial: on_progress(progress(spec, storage))) if on_progress else None)
        return progress(spec, storage)
    pool = [Worker(worker_main, storage_url, spec.name, work=step_work(spec.settings()),
                   name=f"optiscope-sweep-{spec.name}-{index}") for index in range(workers)]
    errors: list[str] = []
    for worker in pool:
        worker.start()
    try:
        while any(worker.alive for worker in pool):
            if stopped():
                for worker in pool:
                    worker.stop()
            errors += [payload for worker in pool for kind, payload in worker.reports() if kind == "error"]
            if on_progress is not None:
                on_progress(progress(spec, storage))
            time.sleep(1.0)
        errors += [payload for worker in pool for kind, payload in worker.reports() if kind == "error"]
    finally:
        for worker in pool:
            worker.close()
    for study in studies(spec, storage).values():
        fail_stale(study)  # trials of workers that were terminated: failed and queued again for the next run
    if errors:
        raise WorkerFailed(f"sweep: {len(errors)} of {workers} workers failed; the first: {errors[0]}")
    return progress(spec, storage)


def comparison(spec: SweepSpec, choices: Mapping[str, OptimizerChoice], seeds: tuple[int, ...],
               epochs: int | None = None) -> ComparisonSpec:
    """The final evaluation: every mode at its chosen hyperparameters over ``seeds`` (same init and batches)."""
    return ComparisonSpec(optimizers=tuple(choices.values()), seeds=seeds,
                          **spec.settings(epochs or spec.epochs).settings_dict())


def worker_main(storage_url: str | None, name: str, *, report: Report, should_stop: Callable[[], bool]) -> None:
    """An ``engine.jobs.Worker`` target, for ``run_sweep``'s workers and the background sweeps: ``work`` on the
    prepared sweep ``name`` until its queues are empty or it is stopped (its trials are in the storage: it reports
    nothing but its end)."""
    del report
    work(storage_url, name, should_stop=should_stop)


def _suggest(trial: Trial, name: str, dimension: search_space.Dimension) -> HyperValue:
    if isinstance(dimension, Choices):
        return trial.suggest_categorical(name, dimension.values)  # type: ignore[return-value]
    if dimension.integer:
        return trial.suggest_int(name, int(dimension.low), int(dimension.high), log=dimension.log)
    return trial.suggest_float(name, dimension.low, dimension.high, log=dimension.log)
