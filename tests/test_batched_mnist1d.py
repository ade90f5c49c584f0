"""MNIST-1D runs trained as one stacked computation (``MNIST1DTask.run_batch``) end as the same runs alone
(``MNIST1DTask.run``, the optimizer's own ``torch.optim`` class): every registered optimizer, float32, the final
validation loss to 1e-4 relative after 2 epochs, the same status, step of divergence, telemetry keys and rows; a run
that diverges or is cancelled inside a batch ends as it would alone, and the others go on untouched."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from engine.runs import ComparisonSpec, OptimizerChoice, RunSpec, run_comparison
from engine.tasks import MNIST1D, Outcome, get_task
from optimizers import REGISTRY, HyperParam

SMALL = {"depth": 2, "width": 32}
"""A small MLP for the registry table: the same code paths as the seed MLP, a fraction of the time."""
CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module", autouse=True)
def home(tmp_path_factory: pytest.TempPathFactory, mnist1d_cache: Path) -> Iterator[None]:
    """One OPTISCOPE_HOME for the module, holding the session's MNIST-1D."""
    home = tmp_path_factory.mktemp("home")
    (home / "cache").mkdir()
    shutil.copy(mnist1d_cache, home / "cache" / mnist1d_cache.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTISCOPE_HOME", str(home))
        yield


class Recorder:
    """The runner's progress tracker as a task sees it; ``stop_after``: ask the run to stop once it took that many
    steps. ``early``: the outcome a batch handed over when the run ended before it (``Recorder.end``)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.records: list[dict[str, float]] = []
        self.epochs: list[dict[str, float]] = []
        self.steps = 0
        self.asked = 0  # how often ``stop`` was asked
        self.stop_after = stop_after
        self.early: Outcome | None = None

    def stop(self) -> bool:
        self.asked += 1
        return self.stop_after is not None and self.steps >= self.stop_after

    def tick(self) -> None:
        self.steps += 1

    def end(self, outcome: Outcome) -> None:
        assert self.early is None, "a run ends once"
        self.early = outcome


Run = tuple[Outcome, Recorder]


def _runs(*optimizers: str, **settings: object) -> list[RunSpec]:
    values: dict[str, object] = {"epochs": 2, "seeds": (0, 1), "log_every": 4, "task_args": SMALL, "device": "cpu"}
    values.update(settings)
    return ComparisonSpec(MNIST1D, tuple(OptimizerChoice.parse(text) for text in optimizers), **values).runs()


def _alone(runs: list[RunSpec], stop_after: list[int | None] | None = None) -> list[Run]:
    task = get_task(MNIST1D)
    recorders = [Recorder(after) for after in stop_after or [None] * len(runs)]
    return [(task.run(spec, CPU, recorder), recorder) for spec, recorder in zip(runs, recorders, strict=True)]


def _together(runs: list[RunSpec], stop_after: list[int | None] | None = None) -> list[Run]:
    recorders = [Recorder(after) for after in stop_after or [None] * len(runs)]
    return list(zip(get_task(MNIST1D).run_batch(runs, CPU, recorders), recorders, strict=True))


def _close(a: float, b: float, rel: float, abs_: float = 0.0) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def _assert_same(batched: Run, alone: Run, label: str) -> None:
    """The run of a batch ended as the run alone: status, step of divergence and reason, steps done, the final
    validation loss to 1e-4 relative, the same telemetry rows with the same keys (values to 1e-3)."""
    (outcome, recorder), (reference, expected) = batched, alone
    assert (outcome.status, outcome.diverged_at, outcome.reason) == (
        reference.status, reference.diverged_at, reference.reason), label
    assert outcome.summary.keys() == reference.summary.keys(), label
    assert outcome.summary["steps_done"] == reference.summary["steps_done"], label
    if recorder.early is not None:  # what went out when it ended is what the batch says at its end, but the time
        assert recorder.early.status != "finished" and recorder.early.summary["seconds"] <= outcome.summary["seconds"]
        assert replace(recorder.early, summary={**recorder.early.summary, "seconds": 0}) == \
            replace(outcome, summary={**outcome.summary, "seconds": 0}), label
    assert _close(outcome.summary["final_val_loss"], reference.summary["final_val_loss"], 1e-4), label
    assert (recorder.steps, recorder.asked) == (expected.steps, expected.asked), label
    for kind in ("records", "epochs"):
        rows, reference_rows = getattr(recorder, kind), getattr(expected, kind)
        assert len(rows) == len(reference_rows), (label, kind)
        for row, reference_row in zip(rows, reference_rows, strict=True):
            assert list(row) == list(reference_row), (label, kind)
            for key, value in row.items():
                assert _close(value, reference_row[key], 1e-3, 1e-6), (label, kind, key, value, reference_row[key])


def _assert_all_same(runs: list[RunSpec], batched: list[Run], alone: list[Run]) -> None:
    for spec, together, apart in zip(runs, batched, alone, strict=True):
        _assert_same(together, apart, f"seed {spec.seed} {spec.optimizer}")


def _elsewhere(param: HyperParam) -> float | int:
    """A value of ``param`` other than its default: a third of the way through its explorer range (log-spaced
    where the range is)."""
    low, high = float(param.low), float(param.high)  # type: ignore[arg-type]
    value = math.exp(math.log(low) + (math.log(high) - math.log(low)) / 3) if param.log else low + (high - low) / 3
    return round(value) if param.kind == "int" else value


def _table_case(key: str) -> tuple[str, ...]:
    """The optimizer at its defaults, again with its first number elsewhere (two runs of its group with different
    hyperparameters), and Adam beside them."""
    numeric = next(param for param in REGISTRY[key].hyperparams if param.kind != "choice")
    return key, f"{key}:{numeric.name}={_elsewhere(numeric)}", "adam"


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_optimizer_batched_equals_alone(key: str) -> None:
    runs = _runs(*_table_case(key))
    _assert_all_same(runs, _together(runs), _alone(runs))


@pytest.mark.parametrize(("key", "name", "choice"), [
    (key, param.name, choice) for key, info in REGISTRY.items() for param in info.hyperparams
    for choice in param.choices if choice != param.default])
def test_every_choice_batched_equals_alone(key: str, name: str, choice: str) -> None:
    companion = ",window_order=0.5" if choice == "beta_exp" else ""  # its base, window_order, lies in (0, 1)
    runs = _runs(f"{key}:{name}={choice}{companion}")
    _assert_all_same(runs, _together(runs), _alone(runs))


def test_the_seed_mlp_batched_equals_alone() -> None:
    runs = _runs("momentum", "adam", task_args={}, log_every=10)
    batched, alone = _together(runs), _alone(runs)
    _assert_all_same(runs, batched, alone)
    assert all(outcome.status == "finished" for outcome, _ in batched)
    # One value of each hyperparameter per optimizer: torch's own optimizer kernels and, on a CPU, the products of
    # nn.Linear's forward and backward (engine.tasks.stacked_mlp.StackedLinear), so the epochs agree bit for bit.
    assert [recorder.epochs for _, recorder in batched] == [recorder.epochs for _, recorder in alone]


def test_the_seed_mlp_with_every_research_optimizer_batched_equals_alone() -> None:
    """Their per-run reductions (cosines, norms) in float32 on the full model: 1e-4 after two epochs."""
    runs = _runs(*(key for key, info in REGISTRY.items() if info.research), task_args={}, log_every=10)
    _assert_all_same(runs, _together(runs), _alone(runs))


def test_a_diverging_run_ends_as_alone_and_the_others_go_on_untouched() -> None:
    runs = _runs("sgd:lr=1000000", "adam", log_every=5)
    batched, alone = _together(runs), _alone(runs)
    _assert_all_same(runs, batched, alone)
    statuses = [outcome.status for outcome, _ in batched]
    assert statuses == ["diverged", "finished", "diverged", "finished"]
    assert [recorder.early is not None for _, recorder in batched] == [True, False, True, False]  # told at once
    assert batched[0][0].diverged_at not in (None, 5)  # found in the sync of a later logged step, as alone


@pytest.mark.parametrize("key", list(REGISTRY))
def test_a_rate_at_the_edge_of_the_weights_dtype_ends_its_runs_alone_as_diverged(key: str) -> None:
    """A rate past float32 (1e300) is refused by the spec, naming the field and its range. One at the edge (3e38) is
    run: its updates overflow in its own runs (inf in the maths, or torch's overflow error from a scalar kernel such
    as Adam's lr / (1 - beta1^t), which the runner confines to these runs), which end diverged, while Adam's runs
    equal their runs alone."""
    rate = next(param.name for param in REGISTRY[key].hyperparams if param.name in ("lr", "target_lr", "lips"))
    if rate != "lips":
        with pytest.raises(ValueError, match=f"invalid {rate}=1e\\+300 for mnist1d; valid range"):
            _runs(f"{key}:{rate}=1e300", "adam", epochs=1)
    runs = _runs(f"{key}:{rate}={1e-300 if rate == 'lips' else 3e38}", "adam", epochs=1)
    results = run_comparison(ComparisonSpec(MNIST1D, (runs[0].optimizer, runs[1].optimizer), epochs=1, seeds=(0, 1),
                                            log_every=4, task_args=SMALL, device="cpu"))
    assert [result.status for result in results] == ["diverged", "finished"] * 2, key  # by seed, then optimizer
    adam = [result for result in results if result.spec.optimizer == runs[1].optimizer]
    alone = _alone([run for run in runs if run.optimizer == runs[1].optimizer])
    for result, (outcome, recorder) in zip(adam, alone, strict=True):
        assert result.summary["final_val_loss"] == pytest.approx(outcome.summary["final_val_loss"], rel=1e-4)
        assert len(result.records) == len(recorder.records)


def test_runs_diverging_at_a_logged_step_and_at_an_epoch_end_keep_their_rows() -> None:
    # 4 steps an epoch, a record every 3 steps: SGD at lr 50 diverges at step 7, found at the end of epoch 2 (its
    # first epoch's row stays); at lr 200, at step 6, a logged step (as the runs alone show).
    runs = _runs("sgd:lr=50", "sgd:lr=200", "adam", seeds=(0,), epochs=4, batch_size=900, log_every=3)
    batched, alone = _together(runs), _alone(runs)
    _assert_all_same(runs, batched, alone)
    (late, late_rows), (early, _), (adam, _) = batched
    assert (late.status, early.status, adam.status) == ("diverged", "diverged", "finished")
    assert late.diverged_at % 3 != 0 and len(late_rows.epochs) == 1 and early.diverged_at % 3 == 0


def test_a_cancelled_run_ends_with_its_steps_and_the_others_go_on() -> None:
    runs = _runs("sgd:lr=0.1", "adam", "momentum", seeds=(0,))
    stop_after = [None, 35, None]  # Adam is asked to stop in its second epoch, after 35 steps
    batched, alone = _together(runs, stop_after), _alone(runs, stop_after)
    _assert_all_same(runs, batched, alone)
    (sgd, _), (adam, recorder), (momentum, _) = batched
    assert adam.status == "cancelled" and adam.summary["steps_done"] == 35 and len(recorder.epochs) == 1
    assert recorder.early is not None and recorder.early.status == "cancelled"  # told at once, not at the end
    assert sgd.status == momentum.status == "finished"


def test_requests_out_of_group_order_come_back_in_their_order_with_a_record_every_step() -> None:
    runs = _runs("adam", "sgd:lr=0.1", "adam:lr=0.003", epochs=1, log_every=1)  # adam's rows are laid out together
    _assert_all_same(runs, _together(runs), _alone(runs))


def test_a_run_that_ends_before_its_batch_is_reported_at_once() -> None:
    """Issue 14: a batch reported every result when it ended, so a crash meanwhile lost the runs that had ended (a
    diverged run, an optimizer cancelled alone); now such a run goes out (``on_result``, where a job saves it) when
    it ends, while the others still train, and the results still come back in the comparison's order."""
    spec = ComparisonSpec(MNIST1D, (OptimizerChoice.parse("sgd:lr=1000000"), OptimizerChoice.parse("adam")),
                          epochs=2, seeds=(0, 1), log_every=5, task_args=SMALL, device="cpu")
    reported: list[str] = []
    results = run_comparison(spec, on_result=lambda result: reported.append(result.spec.optimizer.key))
    assert reported == ["sgd", "sgd", "adam", "adam"]  # the diverged runs first, as they ended
    assert [(result.spec.optimizer.key, result.status) for result in results] == [
        ("sgd", "diverged"), ("adam", "finished"), ("sgd", "diverged"), ("adam", "finished")]
