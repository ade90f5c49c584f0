"""Sweeps as Optuna studies: equal budgets, workers that share a study, dead workers, refused mismatches."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from engine.sweeps import studies
from engine.sweeps.budget import USED
from engine.sweeps.search_space import Range, default_space
from engine.sweeps.storage import open_storage
from engine.sweeps.studies import Mode, SweepSpec

SURFACE_STEPS = 300  # a trial of a few tenths of a second


def spec(name: str = "sweep", trials: int = 4, steps: int = SURFACE_STEPS, **changes: object) -> SweepSpec:
    modes = (Mode("Adam", "adam", space=default_space("adam")), Mode("SGD", "sgd", space=default_space("sgd")))
    return SweepSpec(name=name, modes=modes, trials=trials, task="rosenbrock", steps=steps, **changes)  # type: ignore[arg-type]


def journal(tmp_path: Path) -> str:
    return f"journal:{tmp_path / 'journal.log'}"


def trials_by_state(sweep: SweepSpec, url: str) -> dict[str, Counter[TrialState]]:
    storage = open_storage(url)
    return {label: Counter(t.state for t in study.get_trials(deepcopy=False))
            for label, study in studies.studies(sweep, storage).items()}


def run_trials(sweep: SweepSpec, url: str) -> list[optuna.trial.FrozenTrial]:
    """Every trial that was actually run (it has a RunSpec), over all modes."""
    storage = open_storage(url)
    return [t for study in studies.studies(sweep, storage).values() for t in study.get_trials(deepcopy=False)
            if "run_spec" in t.user_attrs]


def start_worker(url: str, name: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OPTISCOPE_HOME": str(home), "OPTISCOPE_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "engine", "worker", "--storage", url, "--study", name],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_one_worker_spends_exactly_each_modes_budget(tmp_path: Path) -> None:
    sweep = spec(trials=5)
    rows = studies.run_sweep(sweep, storage_url=journal(tmp_path))
    assert [(row.label, row.complete + row.pruned, row.failed, row.running, row.waiting) for row in rows] == [
        ("Adam", 5, 0, 0, 0), ("SGD", 5, 0, 0, 0)]
    for trial in run_trials(sweep, journal(tmp_path)):
        run_spec = trial.user_attrs["run_spec"]
        assert run_spec["seed"] == 0 and run_spec["steps"] == SURFACE_STEPS  # same start for every trial
        assert run_spec["optimizer"]["hyperparameters"]["lr"] == trial.params["lr"]
        assert math.isfinite(trial.value) or trial.user_attrs.get("diverged_at") is not None
    best = studies.best_choices(sweep, open_storage(journal(tmp_path)))
    assert best["Adam"].hyperparameters["lr"] == min(
        (t for t in run_trials(sweep, journal(tmp_path)) if "beta1" in t.user_attrs["run_spec"]["optimizer"]
         ["hyperparameters"]), key=lambda t: t.value).params["lr"]


def test_a_restart_continues_and_a_larger_budget_tops_up(tmp_path: Path) -> None:
    url = journal(tmp_path)
    studies.run_sweep(spec(trials=2), storage_url=url)
    studies.run_sweep(spec(trials=2), storage_url=url)  # nothing left to do
    assert [sum(c.values()) for c in trials_by_state(spec(), url).values()] == [2, 2]
    rows = studies.run_sweep(spec(trials=3), storage_url=url)
    assert [row.complete + row.pruned for row in rows] == [3, 3]


def test_a_study_with_another_search_space_is_refused(tmp_path: Path) -> None:
    url = journal(tmp_path)
    studies.prepare(spec(), open_storage(url))
    narrower = spec()
    narrower = SweepSpec.from_dict({**narrower.to_dict(), "modes": [
        Mode("Adam", "adam", space={"lr": Range(1e-3, 1e-1, log=True)}).to_dict(), narrower.modes[1].to_dict()]})
    with pytest.raises(ValueError, match=r"study 'sweep:Adam' exists with a different search space"):
        studies.prepare(narrower, open_storage(url))
    with pytest.raises(ValueError, match="study 'sweep:Adam' exists"):
        studies.prepare(spec(steps=SURFACE_STEPS + 1), open_storage(url))


def two_workers_spend_the_budget(sweep: SweepSpec, url: str, tmp_path: Path, timeout_s: float = 240) -> None:
    """Prepare ``sweep`` in ``url``, run two worker processes to the end, and check that every mode spent exactly
    its budget: nothing lost, nothing run twice, nothing left running or waiting."""
    studies.prepare(sweep, open_storage(url))
    workers = [start_worker(url, sweep.name, tmp_path) for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=timeout_s)
        assert worker.returncode == 0, err
    ran = run_trials(sweep, url)
    budget = sweep.trials * len(sweep.modes)
    assert len(ran) == budget
    assert len({(t.user_attrs["run_spec"]["optimizer"]["key"], t.number) for t in ran}) == budget
    assert all(t.state in USED for t in ran)  # nothing run is left failed, running or lost
    for counts in trials_by_state(sweep, url).values():
        assert counts[TrialState.COMPLETE] + counts[TrialState.PRUNED] == sweep.trials
        assert counts[TrialState.RUNNING] == counts[TrialState.WAITING] == 0


def test_two_worker_processes_share_one_study_without_losing_or_repeating_a_trial(tmp_path: Path) -> None:
    two_workers_spend_the_budget(spec(trials=4, steps=100), journal(tmp_path), tmp_path)


def test_the_sweep_command_runs_two_local_workers(tmp_path: Path) -> None:
    sweep = spec(name="cli-sweep", trials=2, steps=100)
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(sweep.to_dict()))
    env = {**os.environ, "OPTISCOPE_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "engine", "sweep", str(path), "--workers", "2", "--quiet"],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "sweep cli-sweep: 2 trials per optimizer" in done.stdout
    lines = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:] if line.strip()}
    for mode in ("Adam", "SGD"):
        assert int(lines[mode][1]) + int(lines[mode][2]) == 2 and lines[mode][3] == "0"  # complete + pruned; failed
    workers = {t.user_attrs["worker"] for t in run_trials(sweep, f"journal:{tmp_path / 'home/studies/journal.log'}")}
    assert len(workers) >= 1 and all(":" in worker for worker in workers)


def test_a_worker_killed_mid_trial_loses_that_trial_only(tmp_path: Path) -> None:
    sweep, url = spec(name="killed", trials=2, steps=4000), journal(tmp_path)
    studies.prepare(sweep, open_storage(url))
    worker = start_worker(url, sweep.name, tmp_path)
    storage = open_storage(url)
    deadline = time.monotonic() + 120
    while not any(t.state == TrialState.RUNNING and "run_spec" in t.user_attrs
                  for study in studies.studies(sweep, storage).values() for t in study.get_trials(deepcopy=False)):
        assert time.monotonic() < deadline, "no trial started"
        assert worker.poll() is None, worker.communicate()[1]
        time.sleep(0.1)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    counts = trials_by_state(sweep, url)
    assert sum(c[TrialState.RUNNING] for c in counts.values()) == 1  # the dead worker's trial, still "running"

    studies.run_sweep(sweep, storage_url=url)  # the restarted command
    counts = trials_by_state(sweep, url)
    for label, count in counts.items():
        assert count[TrialState.COMPLETE] + count[TrialState.PRUNED] == 2, label
        assert count[TrialState.RUNNING] == count[TrialState.WAITING] == 0
    assert sum(c[TrialState.FAIL] for c in counts.values()) == 1


def test_a_trial_from_outside_the_queue_is_marked_surplus_and_not_run(tmp_path: Path) -> None:
    sweep, url = spec(name="surplus", trials=1), journal(tmp_path)
    studies.run_sweep(sweep, storage_url=url)
    storage = open_storage(url)
    study = studies.studies(sweep, storage)["Adam"]
    assert not study.ask().user_attrs.get("queued")  # what a worker that lost the race for the last trial gets
    assert studies.work(url, sweep.name) == 0


@pytest.mark.parametrize(("status", "epochs", "summary", "expected"), [
    ("finished", [{"val_loss": 2.0}, {"val_loss": 1.5}, {"val_loss": 1.7}], {}, 1.5),
    ("finished", [{"val_loss": math.nan}, {"val_loss": 1.9}], {}, 1.9),
    ("finished", [], {"best_loss": 0.25}, 0.25),
    ("diverged", [{"val_loss": 1.0}], {"best_loss": 0.1}, math.inf),
])
def test_the_objective_is_the_lowest_validation_loss(status: str, epochs: list[dict[str, float]],
                                                      summary: dict[str, float], expected: float) -> None:
    assert studies.objective(epochs, summary, status) == expected


def test_pruners_and_bad_specs() -> None:
    assert isinstance(studies.make_pruner(spec()), optuna.pruners.MedianPruner)
    assert isinstance(studies.make_pruner(spec(pruner="hyperband")), optuna.pruners.HyperbandPruner)
    assert isinstance(studies.make_pruner(spec(pruner="none")), optuna.pruners.NopPruner)
    with pytest.raises(ValueError, match="invalid pruner='asha'"):
        spec(pruner="asha")
    with pytest.raises(ValueError, match="invalid trials=0"):
        spec(trials=0)
    with pytest.raises(ValueError, match="invalid name"):
        spec(name="a:b")
    with pytest.raises(ValueError, match="labels must differ"):
        SweepSpec("x", (Mode("A", "adam", space=default_space("adam")), Mode("A", "sgd")))
    with pytest.raises(ValueError, match="storage: cannot open"):
        open_storage("postgresql://user:secret@127.0.0.1:1/db")
    try:
        open_storage("postgresql://user:secret@127.0.0.1:1/db")
    except ValueError as error:
        assert "secret" not in str(error)


def test_spec_json_round_trip() -> None:
    sweep = spec(task_args={"noise": 0.1}, pruner="hyperband")
    assert SweepSpec.from_dict(json.loads(json.dumps(sweep.to_dict()))) == sweep
