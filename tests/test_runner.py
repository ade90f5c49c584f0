"""The runner: fair comparisons, telemetry on both kinds of task, divergence, cancel, progress, devices."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch

from engine.runs import ComparisonSpec, OptimizerChoice, Progress, RunResult, RunSpec, run, run_comparison, runner
from engine.runs.device import configure_threads, resolve_device, usable_cores
from engine.tasks import MNIST1D, mnist1d_task

STEP_KEYS = ("loss", "grad_norm", "update_norm", "effective_lr", "lr", "cos_grad_prev", "cos_update_neg_grad")
LAYERS = ("grad_norm/hidden1", "grad_norm/hidden2", "grad_norm/hidden3", "grad_norm/output")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One OPTISCOPE_HOME for the module, so MNIST-1D is generated once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTISCOPE_HOME", str(tmp_path_factory.mktemp("home")))
        yield


def _choices(*texts: str) -> tuple[OptimizerChoice, ...]:
    return tuple(OptimizerChoice.parse(text) for text in texts)


def _mnist(*texts: str, **overrides: object) -> ComparisonSpec:
    values: dict[str, object] = {"epochs": 1, "batch_size": 512, "log_every": 1, "device": "cpu"}
    return ComparisonSpec(MNIST1D, _choices(*texts), **{**values, **overrides})  # type: ignore[arg-type]


def _same(a: RunResult, b: RunResult) -> bool:
    """Identical telemetry (compared as text, so NaN equals NaN)."""
    return repr(a.records) == repr(b.records) and repr(a.epochs) == repr(b.epochs)


@pytest.mark.usefixtures("home")
def test_mnist_optimizers_of_a_seed_share_weights_and_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    orders: list[list[list[int]]] = []
    original = mnist1d_task.batch_order

    def recording(generator: torch.Generator, size: int, batch_size: int) -> list[torch.Tensor]:
        batches = original(generator, size, batch_size)
        if not orders or len(orders[-1]) >= 2 * len(batches):
            orders.append([])
        orders[-1].extend(batch.tolist() for batch in batches)
        return batches

    monkeypatch.setattr(mnist1d_task, "batch_order", recording)
    spec = _mnist("adam:lr=0.01", "sgd:lr=0.1", epochs=2, batch_size=900, log_every=1)
    adam, sgd = run_comparison(spec, sequential=True)
    assert len(orders) == 2 and orders[0] == orders[1]  # the same batches in the same order, both epochs
    assert orders[0][:4] != orders[0][4:]  # a new permutation each epoch
    for runs in ((adam, sgd), run_comparison(spec)):  # alone, then batched (a seed's order drawn once, shared)
        first_a, first_s = runs[0].records[0], runs[1].records[0]
        for key in ("loss", "grad_norm", *LAYERS):  # step 1 sees the same weights and batch before any update
            assert first_a[key] == first_s[key], key
        assert runs[0].records[1]["loss"] != runs[1].records[1]["loss"]


@pytest.mark.usefixtures("home")
def test_mnist_same_seed_repeats_and_seeds_differ() -> None:
    spec = _mnist("gnw_adam:lr=0.003", seeds=(0, 0, 1))
    zero, again, one = run_comparison(spec)
    assert _same(zero, again)
    assert zero.records[0]["loss"] != one.records[0]["loss"]
    assert zero.epochs != one.epochs


@pytest.mark.usefixtures("home")
def test_mnist_telemetry_is_present_and_finite() -> None:
    (result,) = run_comparison(_mnist("gnw_adam:lr=0.003"))
    assert result.status == "finished" and result.diverged_at is None and result.reason is None
    assert [row["step"] for row in result.records] == list(range(1, 9))  # 3,600 / 512: 8 steps
    assert result.records[-1]["epoch"] == 1.0
    for row in result.records:
        for key in (*STEP_KEYS, *LAYERS, "epoch", "stat/grad_norm", "stat/lr_effective"):
            assert key in row, key
            assert math.isfinite(row[key]) or (key == "cos_grad_prev" and row["step"] == 1), (key, row)
    (epoch,) = result.epochs
    assert set(epoch) == {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
                          "test_accuracy"}
    assert all(math.isfinite(value) for value in epoch.values())
    summary = result.summary
    for key in ("final_loss", "best_loss", "steps_done", "final_test_accuracy", "best_test_accuracy_seed_metric",
                "test_accuracy_at_best_val", "final_val_loss", "seconds"):
        assert math.isfinite(summary[key]), key
    assert summary["steps_done"] == 8 and summary["final_loss"] == epoch["train_loss"]
    assert summary["final_test_accuracy"] == epoch["test_accuracy"]


@pytest.mark.usefixtures("home")
def test_mnist_logs_every_log_every_steps_with_the_previous_gradient() -> None:
    (result,) = run_comparison(_mnist("adam", epochs=2, log_every=3))
    assert [row["step"] for row in result.records] == [1, 3, 6, 9, 12, 15]  # the first step at once, for live views
    assert math.isnan(result.records[0]["cos_grad_prev"])  # no previous gradient at step 1
    assert all(math.isfinite(row["cos_grad_prev"]) for row in result.records[1:])
    assert len(result.epochs) == 2 and result.summary["steps_done"] == 16


@pytest.mark.usefixtures("home")
def test_mnist_divergence_is_found_at_its_step_between_logged_steps() -> None:
    diverging, finishing = run_comparison(_mnist("sgd:lr=1e30", "adam", log_every=4))
    assert diverging.status == "diverged" and diverging.diverged_at is not None
    assert diverging.reason == f"loss became non-finite at step {diverging.diverged_at}"
    assert all(row["step"] < diverging.diverged_at for row in diverging.records)
    assert diverging.epochs == []
    assert finishing.status == "finished"


def test_surface_telemetry_trajectory_and_sgd_effective_lr() -> None:
    (result,) = run_comparison(ComparisonSpec("rosenbrock", _choices("sgd:lr=0.0005"), steps=30))
    assert result.status == "finished" and len(result.records) == 30 and result.epochs == []
    first = result.records[0]
    assert (first["step"], first["x"], first["y"], first["loss"]) == (1, -2.0, 2.0, 409.0)
    for row in result.records:
        assert row["effective_lr"] == pytest.approx(0.0005, rel=1e-9)
        assert row["cos_update_neg_grad"] == pytest.approx(1.0)
        assert row["lr"] == 0.0005
    for row in result.records[1:]:
        assert all(math.isfinite(row[key]) for key in (*STEP_KEYS, "x", "y"))
    last = result.records[-1]
    assert result.summary["steps_done"] == 30
    assert result.summary["final_loss"] < last["loss"] <= first["loss"]
    assert (result.summary["final_x"], result.summary["final_y"]) != (last["x"], last["y"])


def test_surface_start_and_a2grad_averaged_iterate() -> None:
    spec = ComparisonSpec("quadratic", _choices("a2grad", "agaw"), steps=5, task_args={"start": [0.5, -0.5]})
    a2grad, agaw = run_comparison(spec)
    assert (a2grad.records[0]["x"], a2grad.records[0]["y"]) == (0.5, -0.5)
    assert (a2grad.records[0]["xbar_x"], a2grad.records[0]["xbar_y"]) == (0.5, -0.5)  # xbar_0 = x_0
    assert {"stat/gamma", "stat/h", "xbar_x"} <= a2grad.records[-1].keys()
    assert math.isnan(a2grad.records[0]["lr"])  # A2Grad has no lr
    assert "xbar_x" not in agaw.records[0] and {"stat/lr", "stat/cosine"} <= agaw.records[0].keys()


def test_surface_noise_is_shared_by_the_optimizers_of_a_seed() -> None:
    spec = ComparisonSpec("rosenbrock", _choices("sgd:lr=0", "adam:lr=0"), seeds=(0, 1), steps=20,
                          task_args={"noise": 5.0})
    sgd0, adam0, sgd1, _ = run_comparison(spec)
    norms = [[row["grad_norm"] for row in result.records] for result in (sgd0, adam0, sgd1)]
    assert norms[0] == norms[1]  # the point stays put, so equal gradients mean equal noise
    assert norms[0] != norms[2]
    assert len(set(norms[0])) == 20  # noise drawn anew each step
    (noiseless,) = run_comparison(ComparisonSpec("rosenbrock", _choices("sgd:lr=0"), steps=1))
    assert noiseless.records[0]["grad_norm"] != norms[0][0]


def test_surface_same_seed_repeats() -> None:
    spec = ComparisonSpec("rastrigin", _choices("momentum:lr=0.001"), seeds=(4, 4), steps=50,
                          task_args={"noise": 1.0})
    first, second = run_comparison(spec)
    assert _same(first, second)


def test_divergence_stops_the_run_and_the_comparison_goes_on() -> None:
    ended: list[RunResult] = []
    spec = ComparisonSpec("rosenbrock", _choices("sgd:lr=0.5", "adam:lr=0.01"), steps=100)
    diverged, finished = run_comparison(spec, on_result=ended.append)
    assert ended == [diverged, finished]
    assert diverged.status == "diverged" and 1 <= diverged.diverged_at < 100
    assert "left the domain by a factor of 100" in diverged.reason
    assert diverged.summary["steps_done"] == diverged.diverged_at == diverged.records[-1]["step"]
    assert finished.status == "finished" and len(finished.records) == 100


def test_non_finite_loss_is_divergence() -> None:
    spec = ComparisonSpec("expr:log(x)", _choices("sgd:lr=1"), steps=10, task_args={"domain": [[0.1, 1e9], [0, 1]],
                                                                                   "start": [0.5, 0.5]})
    (result,) = run_comparison(spec)  # x = 0.5 - 1/0.5 < 0 after one step: log of a negative number is NaN
    assert result.status == "diverged" and result.diverged_at == 2
    assert result.reason == "loss became nan at step 2"
    assert len(result.records) == 1 and result.summary["steps_done"] == 1


def test_cancel_ends_the_run_in_progress_and_starts_no_other() -> None:
    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 7

    ended: list[RunResult] = []
    spec = ComparisonSpec("himmelblau", _choices("adam", "sgd"), seeds=(0, 1), steps=5)
    results = run_comparison(spec, should_stop=should_stop, on_result=ended.append, sequential=True)
    assert [result.status for result in results] == ["finished", "cancelled"]
    assert ended == results
    assert len(results[1].records) == 2 and results[1].summary["steps_done"] == 2


def test_cancel_ends_every_run_of_a_batch_at_the_same_step() -> None:
    calls = 0

    def should_stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 4 * 3  # four runs ask once each before every step: three steps, then stop

    ended: list[RunResult] = []
    spec = ComparisonSpec("himmelblau", _choices("adam", "sgd"), seeds=(0, 1), steps=5)
    results = run_comparison(spec, should_stop=should_stop, on_result=ended.append)
    assert ended == results and [r.spec for r in results] == spec.runs()
    assert [(r.status, len(r.records), r.summary["steps_done"]) for r in results] == [("cancelled", 3, 3)] * 4


@pytest.mark.usefixtures("home")
def test_cancel_on_mnist_keeps_the_records_so_far() -> None:
    calls = iter(range(100))
    result = run(_mnist("adam").runs()[0], should_stop=lambda: next(calls) >= 3)
    assert result.status == "cancelled" and [row["step"] for row in result.records] == [1, 2, 3]
    assert result.epochs == [] and result.summary["steps_done"] == 3


def test_a_stopped_optimizer_starts_no_later_run_and_the_others_go_on() -> None:
    stopped: set[int] = set()
    ended: list[RunResult] = []

    def on_result(result: RunResult) -> None:
        ended.append(result)
        stopped.add(0)  # Adam, once its seed-0 run has ended

    spec = ComparisonSpec("himmelblau", _choices("adam", "sgd"), seeds=(0, 1), steps=5)
    seen: list[Progress] = []
    results = run_comparison(spec, should_stop_optimizer=stopped.__contains__, on_result=on_result,
                             on_progress=seen.append, sequential=True)
    assert results == ended
    assert [(r.spec.optimizer.key, r.spec.seed, r.status) for r in results] == [
        ("adam", 0, "finished"), ("sgd", 0, "finished"), ("sgd", 1, "finished")]
    assert seen[-1].fraction == 1.0, "the skipped run's steps count as done"


def test_stopping_one_optimizer_mid_run_keeps_its_records_and_the_other_finishes() -> None:
    polls = 0

    def should_stop_optimizer(position: int) -> bool:
        nonlocal polls
        polls += position == 0
        return position == 0 and polls > 4  # one poll before the run starts, then one before each step

    spec = ComparisonSpec("himmelblau", _choices("adam", "sgd"), seeds=(0, 1), steps=5)
    adam, sgd0, sgd1 = run_comparison(spec, should_stop_optimizer=should_stop_optimizer, sequential=True)
    assert (adam.status, len(adam.records), adam.summary["steps_done"]) == ("cancelled", 3, 3)
    assert [r.status for r in (sgd0, sgd1)] == ["finished", "finished"] and len(sgd1.records) == 5


def test_in_a_batch_a_stopped_optimizer_cancels_its_runs_and_the_others_finish() -> None:
    polls = 0

    def should_stop_optimizer(position: int) -> bool:
        nonlocal polls
        polls += position == 0
        return position == 0 and polls > 2 + 2 * 3  # each Adam run once before the batch, then before each step

    spec = ComparisonSpec("himmelblau", _choices("adam", "sgd"), seeds=(0, 1), steps=5)
    adam0, sgd0, adam1, sgd1 = run_comparison(spec, should_stop_optimizer=should_stop_optimizer)
    assert [(r.status, len(r.records), r.summary["steps_done"]) for r in (adam0, adam1)] == [("cancelled", 3, 3)] * 2
    assert [(r.status, len(r.records)) for r in (sgd0, sgd1)] == [("finished", 5)] * 2
    alone = run_comparison(spec, sequential=True)
    assert [r.summary["final_loss"] for r in (sgd0, sgd1)] == [alone[1].summary["final_loss"],
                                                               alone[3].summary["final_loss"]]


def test_in_a_batch_an_optimizer_stopped_before_it_starts_has_no_runs() -> None:
    spec = ComparisonSpec("himmelblau", _choices("adam", "sgd"), seeds=(0, 1), steps=5)
    seen: list[Progress] = []
    results = run_comparison(spec, should_stop_optimizer=lambda position: position == 0, on_progress=seen.append)
    assert [(r.spec.optimizer.key, r.spec.seed, r.status) for r in results] == [("sgd", 0, "finished"),
                                                                                  ("sgd", 1, "finished")]
    assert seen[-1].fraction == 1.0


def test_live_telemetry_hands_over_each_row_once_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.0)
    spec = ComparisonSpec("rosenbrock", _choices("sgd:lr=0.001", "adam"), seeds=(0, 1), steps=6, log_every=2)
    for sequential in (True, False):
        reports: list[runner.Telemetry] = []
        results = run_comparison(spec, on_telemetry=reports.append, sequential=sequential)
        assert reports and all(report.records and not report.epochs for report in reports)
        for index, result in enumerate(results):
            rows = [row for report in reports if report.run == index for row in report.records]
            assert rows == result.records[: len(rows)] and len(rows) >= 2, "every row but the last may come live"
        runs = [report.run for report in reports]
        assert runs == sorted(runs) if sequential else set(runs) == {0, 1, 2, 3}, "batched: all runs grow at once"


@pytest.mark.usefixtures("home")
def test_live_telemetry_on_mnist_carries_records_and_epoch_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.0)
    reports: list[runner.Telemetry] = []
    result = run(_mnist("adam", epochs=2, log_every=2).runs()[0], on_telemetry=reports.append)
    records = [row for report in reports for row in report.records]
    epochs = [row for report in reports for row in report.epochs]
    assert records == result.records[: len(records)] and len(records) >= 6
    assert epochs == result.epochs[:1], "the first epoch's row comes live, the last with the result"


def test_progress_is_monotone_and_ends_at_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.0)
    spec = ComparisonSpec("rosenbrock", _choices("sgd:lr=0.5", "adam"), seeds=(0, 1), steps=25)
    for sequential, names in ((True, {"seed 0 · SGD (lr=0.5)", "seed 0 · Adam", "seed 1 · SGD (lr=0.5)",
                                      "seed 1 · Adam"}), (False, {"4 runs at once"})):
        seen: list[Progress] = []
        run_comparison(spec, on_progress=seen.append, sequential=sequential)
        fractions = [p.fraction for p in seen]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert seen[-1].steps_done == seen[-1].steps_total == 100
        assert {p.current for p in seen} == names
        assert all(math.isnan(p.eta_seconds) or p.eta_seconds >= 0 for p in seen)


def test_progress_is_throttled() -> None:
    seen: list[Progress] = []
    started = time.monotonic()
    run_comparison(ComparisonSpec("beale", _choices("adam"), steps=500), on_progress=seen.append)
    elapsed = time.monotonic() - started
    assert 1 <= len(seen) <= elapsed / runner.PROGRESS_INTERVAL + 2 and seen[-1].fraction == 1.0
    assert len(seen) < 50


def test_run_result_round_trips_through_json() -> None:
    result = run(RunSpec("quadratic", OptimizerChoice("a2grad"), steps=3))
    data = json.loads(json.dumps(result.to_dict()))
    again = RunResult.from_dict(data)
    assert again.spec == result.spec and again.status == result.status
    assert repr(again.records) == repr(result.records) and again.summary == result.summary


def test_device_resolution() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match=r"^device: invalid device='tpu'; allowed values: 'auto', 'cpu', 'cuda"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match=r"^device: invalid device='cuda:x'"):
        resolve_device("cuda:x")
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"valid range: 0 <= N < "):
            resolve_device("cuda:99")
    else:
        with pytest.raises(ValueError, match=r"^device: invalid device='cuda'; torch sees no CUDA GPU here"):
            resolve_device("cuda")
        with pytest.raises(ValueError, match=r"torch sees no CUDA GPU"):
            run(RunSpec("rosenbrock", OptimizerChoice("sgd"), steps=2, device="cuda"))


def test_configure_threads_sets_once() -> None:
    assert usable_cores() >= 1
    before = torch.get_num_threads()
    assert configure_threads() == before  # already configured by the fixture: unchanged


@pytest.mark.parametrize("sequential", [False, True])
def test_a_run_that_raises_ends_diverged_with_its_reason_and_the_others_go_on(
        sequential: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14: ``sgd:lr=1e308 adam`` on MNIST-1D raised ``RuntimeError: value cannot be converted to type float
    without overflow`` in SGD's step and failed the whole comparison; now only SGD's runs end (diverged, at the step
    that raised, the exception as the reason). Batched, the batch raises and runs again one run at a time: Adam's live
    rows are not sent twice."""
    from optimizers.baselines import SGDRuns

    def failing(step: Callable[..., Any]) -> Callable[..., Any]:  # the 4th step of every SGD raises, as torch
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:  # does for an lr it cannot convert to float
            self._calls = getattr(self, "_calls", 0) + 1
            if self._calls == 4:
                raise RuntimeError("value cannot be converted to type float without overflow")
            return step(self, *args, **kwargs)
        return wrapped

    monkeypatch.setattr(torch.optim.SGD, "step", failing(torch.optim.SGD.step))
    monkeypatch.setattr(SGDRuns, "step", failing(SGDRuns.step))
    monkeypatch.setattr(runner, "PROGRESS_INTERVAL", 0.0)
    spec = ComparisonSpec("rosenbrock", _choices("sgd:lr=0.001", "adam:lr=0.01"), seeds=(0, 1), steps=10)
    sent: dict[int, list[float]] = {}
    results = run_comparison(spec, sequential=sequential,
                             on_telemetry=lambda t: sent.setdefault(t.run, []).extend(r["step"] for r in t.records))
    assert [r.status for r in results] == ["diverged", "finished", "diverged", "finished"]
    for failed in results[::2]:
        assert failed.diverged_at == 4 and failed.summary["steps_done"] == 3
        assert failed.reason == "the run failed at step 4: RuntimeError: value cannot be converted to type float " \
                                "without overflow"
        assert math.isnan(failed.summary["final_loss"]) and math.isfinite(failed.summary["best_loss"])
    for adam in results[1::2]:
        assert adam.summary["steps_done"] == 10 and len(adam.records) == 10
    assert sent[1] == list(range(1, 11)) and sent[3] == list(range(1, 11)), "each row goes out live once"
