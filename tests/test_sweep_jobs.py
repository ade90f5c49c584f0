"""Background sweeps and reproductions for the Sweeps page: they run off the caller's thread until their budgets are
spent, stop on request (the study continues on the next start; a stopped reproduction never overwrites the last saved
result), refuse bad input at once, and report a failure as a message."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.jobs import NamedJobStatus
from engine.sweeps import background as sweep_jobs
from engine.sweeps import claims, studies
from engine.sweeps.search_space import default_space
from engine.sweeps.storage import open_storage
from engine.sweeps.studies import Mode, SweepSpec

TIMEOUT_S = 120.0  # a spawn process imports torch before its first trial


pytestmark = pytest.mark.usefixtures("sweep_home")


def sweep(name: str = "jobs", trials: int = 2, steps: int = 100) -> SweepSpec:
    modes = (Mode("Adam", "adam", space=default_space("adam")), Mode("SGD", "sgd", space=default_space("sgd")))
    return SweepSpec(name=name, modes=modes, trials=trials, task="rosenbrock", steps=steps)


def wait_while_running(state: Callable[[], NamedJobStatus | None], timeout_s: float = TIMEOUT_S) -> NamedJobStatus:
    """The job's state once it no longer runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = state()
        if current is not None and not current.running:
            return current
        time.sleep(0.2)
    pytest.fail(f"the job still runs after {timeout_s} s: {state()}")


def used(spec: SweepSpec) -> list[int]:
    return [row.complete + row.pruned for row in studies.progress(spec, open_storage())]


def test_a_sweep_runs_in_the_background_until_its_budgets_are_spent() -> None:
    spec = sweep()
    started = time.monotonic()
    sweep_jobs.start_sweep(spec, workers=1)
    assert time.monotonic() - started < 5.0  # returns at once: the process imports torch and trains on its own
    assert sweep_jobs.is_running(spec.name) and spec.name in sweep_jobs.running_sweeps()
    assert studies.sweep_names(open_storage()) == {spec.name}  # prepared here, before it returned
    state = wait_while_running(lambda: sweep_jobs.sweep_state(spec.name))
    assert state.state == "finished" and state.error is None and state.ended_at is not None
    assert used(spec) == [2, 2]
    assert not sweep_jobs.is_running(spec.name) and spec.name not in sweep_jobs.running_sweeps()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_sweep_continues_where_it_stopped(workers: int) -> None:
    spec = sweep(name="stopped", trials=50, steps=2000)
    sweep_jobs.start_sweep(spec, workers=workers)
    deadline = time.monotonic() + TIMEOUT_S
    while sum(used(spec)) == 0 and time.monotonic() < deadline:  # at least one trial ended
        time.sleep(0.2)
    assert sweep_jobs.stop_sweep(spec.name)
    assert sweep_jobs.sweep_state(spec.name).state in ("stopping", "cancelled")  # type: ignore[union-attr]
    state = wait_while_running(lambda: sweep_jobs.sweep_state(spec.name), timeout_s=30)
    assert state.state == "cancelled" and state.error is None
    assert not sweep_jobs.stop_sweep(spec.name)  # nothing left to stop
    rows = studies.progress(spec, open_storage())
    assert all(row.running == 0 for row in rows)  # the trial in progress was failed and requeued
    assert sum(row.complete + row.pruned + row.waiting for row in rows) == 100


def test_bad_input_is_refused_at_once() -> None:
    spec = sweep(name="refused")
    with pytest.raises(ValueError, match="storage: cannot open"):
        sweep_jobs.start_sweep(spec, storage_url="nosuchdialect://nowhere/db")
    with pytest.raises(ValueError, match="workers"):
        sweep_jobs.start_sweep(spec, workers=0)
    studies.prepare(spec, open_storage())
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
    progress = state.stage  # the last ``ReproductionProgress`` it reported: the training's end
    assert isinstance(progress, claims.ReproductionProgress), progress
    assert progress.text.startswith("training the best configurations") and progress.fraction == 1.0
    assert sweep_jobs.reproduction_progress("gnw", True) is None  # no bar once it has ended
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


def saved_before(key: str) -> bytes:
    """A last saved result of claim ``key`` (quick): the bytes a stopped reproduction must leave as they are."""
    path = claims.result_path(key, quick=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"claim": "the last saved result"}')
    return path.read_bytes()


def test_a_stopped_reproduction_ends_cancelled_and_keeps_the_last_saved_result(home_with_mnist1d: Path) -> None:
    before = saved_before("gnw")
    sweep_jobs.start_reproduction("gnw", quick=True, seeds=2)
    deadline = time.monotonic() + TIMEOUT_S
    while (state := sweep_jobs.reproduction_state("gnw", True)) is not None and state.stage is None \
            and state.running and time.monotonic() < deadline:  # the reproduction itself has begun
        time.sleep(0.2)
    assert sweep_jobs.stop_reproduction("gnw", True)
    assert sweep_jobs.reproduction_state("gnw", True).state in ("stopping", "cancelled")  # type: ignore[union-attr]
    state = wait_while_running(lambda: sweep_jobs.reproduction_state("gnw", True), timeout_s=30)
    assert state.state == "cancelled" and state.error is None, state
    assert not sweep_jobs.stop_reproduction("gnw", True)  # nothing left to stop
    assert claims.result_path("gnw", quick=True).read_bytes() == before


def test_reproduce_stopped_while_training_returns_none_and_saves_nothing(home_with_mnist1d: Path) -> None:
    before = saved_before("gnw")
    stages: list[str] = []
    result = claims.reproduce("gnw", seeds=2, quick=True, on_stage=stages.append,
                              should_stop=lambda: len(stages) == 2)  # stop once the training stage begins
    assert result is None and len(stages) == 2 and stages[1].startswith("training the best configurations")
    assert claims.result_path("gnw", quick=True).read_bytes() == before
    tuning = claims.get_claim("gnw").quick().sweep
    assert used(tuning) == [claims.QUICK["trials"]] * 2, "the tuning ran to its end before the stop"
    assert claims.reproduce("gnw", seeds=2, quick=True, should_stop=lambda: True) is None
    assert claims.result_path("gnw", quick=True).read_bytes() == before
