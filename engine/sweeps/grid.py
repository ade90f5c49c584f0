"""Sensitivity grids larger than one machine: one Optuna study per ``SensitivitySpec`` that worker processes on any
machines share, as they share sweeps.

The study ``sensitivity-<hash of the spec>`` holds the spec in its user attributes (``sensitivity``). Each grid
point (optimizer i, value j) is one trial whose parameters are the indices ``optimizer`` and ``value``; the trial
trains the point's seeds as one batch (``run_comparison``), stores each run (its rows per epoch, summary and status;
not its per-step records) in its user attributes (``runs``) and tells the mean best validation loss of its runs (+inf
when all diverged).

Scheduling is the sweeps' queue (``engine.sweeps.budget``) with the grid in it: ``prepare`` (and ``top_up``)
enqueues every point that no trial holds (complete, running or waiting) as a WAITING trial with its indices fixed, and
a worker runs only the trials it pops, which the storage hands to exactly one worker each; so every point runs exactly
once however many workers pop. (Optuna's ``GridSampler`` does not give that: its documentation warns that parallel
workers may evaluate a point twice, and it counts a failed point as visited, so a point lost with a dead worker would
never run again; hence no sampler picks points here.) A trial that ``ask`` creates outside the queue, or the empty
one that ``heartbeat.fail_stale`` queues for a dead worker's trial, is marked FAIL (``surplus``) unrun: the worker
that failed a dead worker's trial, or stopped its own, queues its point again (``top_up``), as does the next
``prepare``. Only two such top-ups at the same instant may queue a freed point twice; ``results`` reads the first
complete trial of each point. A running point beats every ``BEAT_EVERY`` seconds (``engine.sweeps.heartbeat``).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, Trial, TrialState

from engine.runs import RunResult, SensitivitySpec, Telemetry, mean_ci, run_comparison, run_metrics
from engine.sweeps.budget import PENDING
from engine.sweeps.heartbeat import BEAT_EVERY, beat, fail_stale, worker_id
from engine.sweeps.storage import open_storage

PREFIX = "sensitivity-"
ATTR = "sensitivity"  # the study's user attribute holding the spec
WAIT_EVERY = 2.0  # seconds between looks at the points other workers run, while ``work(wait=True)`` waits for them

Point = tuple[int, int]


def study_name(spec: SensitivitySpec) -> str:
    """``sensitivity-<12 hex digits>``: the same grid gives the same study on every machine, whatever its device."""
    grid = {key: value for key, value in spec.to_dict().items() if key != "device"}
    return PREFIX + hashlib.sha256(json.dumps(grid, sort_keys=True).encode()).hexdigest()[:12]


def prepare(spec: SensitivitySpec, storage: BaseStorage) -> optuna.Study:
    """Create the spec's study (or load it) and queue every point that no trial holds; the study."""
    name = study_name(spec)
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction="minimize")
        study.set_user_attr(ATTR, spec.to_dict())
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage)
    top_up(study, spec)
    return study


def load(storage: BaseStorage, name: str) -> SensitivitySpec | None:
    """The spec of the sensitivity study ``name``; None when ``name`` is no such study."""
    if not name.startswith(PREFIX):
        return None
    try:
        stored = optuna.load_study(study_name=name, storage=storage).user_attrs.get(ATTR)
    except KeyError:  # no study of that name
        return None
    return SensitivitySpec.from_dict(stored) if stored is not None else None


def owns(storage_url: str | None, name: str) -> bool:
    """Whether ``name`` is a sensitivity study in the storage at ``storage_url`` (``python -m engine worker``'s
    choice between this module's ``work`` and the sweeps')."""
    return load(open_storage(storage_url), name) is not None


def top_up(study: optuna.Study, spec: SensitivitySpec) -> int:
    """Enqueue each point of ``spec`` that no trial holds (complete, running or waiting); returns how many."""
    held = {_point(trial) for trial in study.get_trials(deepcopy=False) if trial.state in (TrialState.COMPLETE,
                                                                                            *PENDING)}
    missing = [point for point in spec.points() if point not in held]
    for optimizer, value in missing:
        study.enqueue_trial({"optimizer": optimizer, "value": value}, user_attrs={"point": [optimizer, value]})
    return len(missing)


def _point(trial: FrozenTrial | Trial) -> Point | None:
    """The grid point a queued trial holds; None for any other trial."""
    point = trial.user_attrs.get("point")
    return (int(point[0]), int(point[1])) if point else None


def work(storage_url: str | None, name: str, *, should_stop: Callable[[], bool] | None = None,
         on_progress: Callable[[], None] | None = None, wait: bool = False) -> int:
    """Run points of the sensitivity study ``name`` until none waits (with ``wait``: until none runs elsewhere
    either, re-running any point a dead worker lost); returns how many points ended here. Each round first fails
    the trials of dead workers and queues their points again. ``on_progress()`` after each point and, while
    ``wait`` waits for other workers, every ``WAIT_EVERY`` seconds."""
    storage = open_storage(storage_url)
    spec = load(storage, name)
    if spec is None:
        raise ValueError(f"sensitivity: unknown study {name!r} in this storage")
    study = optuna.load_study(study_name=name, storage=storage)
    stopped = should_stop or (lambda: False)
    ended = 0
    while not stopped():
        if fail_stale(study):
            top_up(study, spec)
        states = {trial.state for trial in study.get_trials(deepcopy=False)}
        if TrialState.WAITING not in states:
            if not wait or TrialState.RUNNING not in states:
                break
            time.sleep(WAIT_EVERY)
        else:
            trial = study.ask()
            if _point(trial) is None:  # not one of the grid's queued points: never run
                trial.set_user_attr("surplus", True)
                study.tell(trial, state=TrialState.FAIL)
                continue
            run_point(spec, study, trial, stopped)
            ended += 1
        if on_progress is not None:
            on_progress()
    return ended


def run_point(spec: SensitivitySpec, study: optuna.Study, trial: Trial, should_stop: Callable[[], bool]) -> None:
    """Train the trial's point over the spec's seeds as one batch and tell the study; a stopped point is FAIL and
    queued again."""
    trial.set_user_attr("worker", worker_id())
    beat(trial)
    point = (trial.suggest_int("optimizer", 0, len(spec.optimizers) - 1),
             trial.suggest_int("value", 0, len(spec.values) - 1))
    last_beat = time.monotonic()

    def on_telemetry(_: Telemetry) -> None:
        nonlocal last_beat
        if time.monotonic() - last_beat > BEAT_EVERY:
            beat(trial)
            last_beat = time.monotonic()

    results = run_comparison(spec.comparison([point]), should_stop=should_stop, on_telemetry=on_telemetry)
    if len(results) < len(spec.seeds) or any(result.status == "cancelled" for result in results):
        study.tell(trial, state=TrialState.FAIL)
        top_up(study, spec)
    else:
        trial.set_user_attr("runs", [{**result.to_dict(), "records": []} for result in results])
        best = mean_ci(run_metrics(result)["best_val_loss"] for result in results if result.status != "diverged")
        study.tell(trial, best.mean if best.n else math.inf)


def results(spec: SensitivitySpec, storage: BaseStorage) -> list[RunResult]:
    """The runs of every point that has ended (the first complete trial of each point), in grid order."""
    by_point: dict[Point, list[RunResult]] = {}
    for trial in _complete(spec, storage):
        point = _point(trial)
        if point is not None and point not in by_point:
            by_point[point] = [RunResult.from_dict(run) for run in trial.user_attrs.get("runs", [])]
    return [result for point in spec.points() for result in by_point.get(point, [])]


def points_done(spec: SensitivitySpec, storage: BaseStorage) -> int:
    """How many points of the grid have ended (a complete trial)."""
    return len({_point(trial) for trial in _complete(spec, storage)} - {None})


def _complete(spec: SensitivitySpec, storage: BaseStorage) -> list[FrozenTrial]:
    study = optuna.load_study(study_name=study_name(spec), storage=storage)
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
