"""Background sweeps and reproductions for the Sweeps page: they run off the caller's thread until their budgets are
spent, stop on request (the study continues on the next start), refuse bad input at once, and report a failure as a
message."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import claims, studies, sweep_jobs
from engine.search_space import default_space
from engine.studies import Mode, SweepSpec

TIMEOUT_S = 120.0  # a spawn process imports torch before its first trial


pytestmark = pytest.mark.usefixtures("sweep_home")


def sweep(name: str = "jobs", trials: int = 2, steps: int = 100) -> SweepSpec:
    modes = (Mode("Adam", "adam", space=default_space("adam")), Mode("SGD", "sgd", space=default_space("sgd")))
    return SweepSpec(name=name, modes=modes, trials=trials, task="rosenbrock", steps=steps)


def wait_while_running(state: Callable[[], sweep_jobs.JobState | None],
                       timeout_s: float = TIMEOUT_S) -> sweep_jobs.JobState:
    """The job's state once it no longer runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = state()
        if current is not None and not current.running:
            return current
        time.sleep(0.2)
    pytest.fail(f"the job still runs after {timeout_s} s: {state()}")


def used(spec: SweepSpec) -> list[int]:
    return [row.complete + row.pruned for row in studies.progress(spec, studies.open_storage())]


def test_a_sweep_runs_in_the_background_until_its_budgets_are_spent() -> None:
    spec = sweep()
    started = time.monotonic()
    sweep_jobs.start_sweep(spec, workers=1)
    assert time.monotonic() - started < 5.0  # returns at once: the process imports torch and trains on its own
    assert sweep_jobs.is_running(spec.name) and spec.name in sweep_jobs.running_sweeps()
    assert studies.sweep_names(studies.open_storage()) == {spec.name}  # prepared here, before it returned
    state = wait_while_running(lambda: sweep_jobs.sweep_state(spec.name))
    assert state.state == "finished" and state.error is None and state.ended_at is not None
    assert used(spec) == [2, 2]
    assert not sweep_jobs.is_running(spec.name) and spec.name not in sweep_jobs.running_sweeps()


def test_a_stopped_sweep_continues_where_it_stopped() -> None:
    spec = sweep(name="stopped", trials=50, steps=2000)
    sweep_jobs.start_sweep(spec, workers=1)
    deadline = time.monotonic() + TIMEOUT_S
    while sum(used(spec)) == 0 and time.monotonic() < deadline:  # at least one trial ended
        time.sleep(0.2)
    assert sweep_jobs.stop_sweep(spec.name)
    assert sweep_jobs.sweep_state(spec.name).state in ("stopping", "stopped")  # type: ignore[union-attr]
    state = wait_while_running(lambda: sweep_jobs.sweep_state(spec.name), timeout_s=30)
    assert state.state == "stopped" and state.error is None
    assert not sweep_jobs.stop_sweep(spec.name)  # nothing left to stop
    rows = studies.progress(spec, studies.open_storage())
    assert all(row.running == 0 for row in rows)  # the trial in progress was failed and requeued
    assert sum(row.complete + row.pruned + row.waiting for row in rows) == 100


def test_bad_input_is_refused_at_once() -> None:
    spec = sweep(name="refused")
    with pytest.raises(ValueError, match="storage: cannot open"):
        sweep_jobs.start_sweep(spec, storage_url="nosuchdialect://nowhere/db")
    with pytest.raises(ValueError, match="workers"):
        sweep_jobs.start_sweep(spec, workers=0)
    studies.prepare(spec, studies.open_storage())
    other = SweepSpec(name="refused", modes=(Mode("Adam", "adam", space=default_space("adam", ["beta1"])),),
                      trials=2, task="rosenbrock", steps=100)
    with pytest.raises(ValueError, match="exists with a different search space"):
        sweep_jobs.start_sweep(other)
    assert sweep_jobs.sweep_state("refused") is None and not sweep_jobs.is_running("refused")
    with pytest.raises(ValueError, match="claim"):
        sweep_jobs.start_reproduction("nosuchclaim", quick=True, seeds=2)
    with pytest.raises(ValueError, match="seeds"):
        sweep_jobs.start_reproduction("gnw", quick=True, seeds=1)


def test_a_quick_reproduction_runs_in_the_background_and_saves_its_result(home_with_mnist1d: Path) -> None:
    assert sweep_jobs.reproduction_state("gnw", True) is None
    sweep_jobs.start_reproduction("gnw", quick=True, seeds=2)
    assert sweep_jobs.reproduction_running("gnw", True) and not sweep_jobs.reproduction_running("gnw", False)
    with pytest.raises(ValueError, match="already running"):
        sweep_jobs.start_reproduction("gnw", quick=True, seeds=2)
    state = wait_while_running(lambda: sweep_jobs.reproduction_state("gnw", True))
    assert state.state == "finished", state
    assert state.stage is not None and state.stage.startswith("training the best configurations")
    result = claims.load_result("gnw", quick=True)
    assert result is not None and result.seeds == [1, 2] and len(result.modes) == 2


def test_a_failing_reproduction_is_recorded_as_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OPTISCOPE_HOME", str(blocker / "home"))  # nothing can be written under a file
    sweep_jobs.start_reproduction("gnw", quick=True, seeds=2)
    state = wait_while_running(lambda: sweep_jobs.reproduction_state("gnw", True))
    assert state.state == "failed" and state.error and "Error" in state.error
    assert not sweep_jobs.reproduction_running("gnw", True)
