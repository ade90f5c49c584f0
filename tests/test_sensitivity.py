"""Sensitivity grids: the axis and spec (eager checks naming the field), the table against mean_ci of the runs, the
CLI (tables, --out JSON, exit 2), the shared Optuna study (two workers cover every point exactly once, a stopped
point runs again) and the figure (bands, log axis, live partial results, diverged runs in the hover)."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from engine import cli
from engine.figures import sensitivity_figure
from engine.runs import (
    ComparisonSpec,
    OptimizerChoice,
    Param,
    RunResult,
    SensitivitySpec,
    mean_ci,
    run_comparison,
    sensitivity_table,
)
from engine.sweeps import grid, open_storage
from engine.tasks import MNIST1D

SMALL = {"depth": 1, "width": 16}  # a tiny MLP: a grid of runs in a second or two
TASK_ARGS = ["--task-arg", "depth=1", "--task-arg", "width=16"]


def small_spec(points: int = 3, seeds: int = 2, **changes: Any) -> SensitivitySpec:
    """Adam and SGD over lr (log), one epoch of the tiny MLP."""
    values: dict[str, Any] = {"optimizers": (OptimizerChoice.parse("adam"), OptimizerChoice.parse("sgd")),
                              "param": Param("lr", 1e-3, 1.0, points, True), "seeds": tuple(range(seeds)),
                              "epochs": 1, "batch_size": 256, "task_args": SMALL, **changes}
    return SensitivitySpec(MNIST1D, **values)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, mnist1d_cache: Path) -> tuple[SensitivitySpec, list[RunResult]]:
    """A small grid trained once for the module (one batch)."""
    spec = small_spec()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTISCOPE_HOME", str(mnist1d_cache.parent.parent))
        return spec, run_comparison(spec.comparison())


# --- the axis and the spec ----------------------------------------------------------------------------------------


def test_the_axis_parses_and_spaces_its_values() -> None:
    param = Param.parse("lr=1e-3:1:4:log")
    assert (param.name, param.low, param.high, param.count, param.log) == ("lr", 1e-3, 1.0, 4, True)
    assert param.values() == [0.001, 0.01, 0.1, 1.0]
    assert Param.parse("beta1=0:0.9:4").values() == [0.0, 0.3, 0.6, 0.9]
    assert Param.parse(str(param)) == param


@pytest.mark.parametrize(("text", "message"), [
    ("lr=1e-3:1:1", "invalid N=1; valid range: 2 <= N <= 64"),
    ("lr=1e-3:1:65", "invalid N=65; valid range: 2 <= N <= 64"),
    ("lr=0:1:4:log", "invalid LO=0.0; valid range: LO > 0"),
    ("lr=1:0.1:4", "invalid HI=0.1; valid range: HI > 1"),
    ("lr=1:2", "expected NAME=LO:HI:N[:log]"),
])
def test_a_bad_axis_names_its_field(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Param.parse(text)


@pytest.mark.parametrize(("changes", "message"), [
    ({"param": Param("momentum", 0.0, 0.9, 4)}, "invalid param='momentum'; not a numeric hyperparameter of Adam"),
    ({"param": Param("beta1", 0.5, 1.5, 4), "optimizers": (OptimizerChoice.parse("adam"),)},
     "Adam: invalid beta1=1.5; valid range: 0 <= beta1 < 1"),
    ({"optimizers": (OptimizerChoice.parse("adam:lr=0.1"), OptimizerChoice.parse("adam:lr=0.2"))},
     "each must differ in more than lr"),
    ({"optimizers": ()}, "invalid optimizers=()"),
    ({"seeds": 0}, "invalid seeds=()"),
    ({"epochs": 0}, "invalid epochs=0; valid range: 1 <= epochs"),
])
def test_a_bad_spec_names_its_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        small_spec(**changes)


def test_a_surface_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid task='rosenbrock'; expected a network trained in epochs"):
        SensitivitySpec("rosenbrock", optimizers=(OptimizerChoice.parse("adam"),), param=Param("lr", 0.1, 1.0, 2))


def test_the_grid_is_one_comparison_optimizer_major_and_inverts() -> None:
    spec = small_spec(optimizers=(OptimizerChoice.parse("momentum:lr=0.5,momentum=0.5"),
                                  OptimizerChoice.parse("momentum:momentum=0.8")))
    assert [str(choice) for choice in spec.optimizers] == ["momentum:momentum=0.5", "momentum:momentum=0.8"]
    comparison = spec.comparison()
    assert [str(choice) for choice in comparison.optimizers] == [
        f"momentum:lr={lr},momentum={m}" for m in (0.5, 0.8) for lr in spec.values]
    assert spec.values[0] == 0.001 and spec.values[-1] == 1.0 and 0.03 < spec.values[1] < 0.033  # log: ~10^-1.5
    assert comparison.seeds == (0, 1) and comparison.task_args == SMALL and comparison.epochs == 1
    assert SensitivitySpec.from_comparison(comparison) == spec
    assert SensitivitySpec.from_json(spec.to_json()) == spec
    assert spec.locate(comparison.optimizers[4]) == (1, 1)
    with pytest.raises(ValueError, match="not a grid of one hyperparameter"):
        SensitivitySpec.from_comparison(ComparisonSpec(MNIST1D, (OptimizerChoice.parse("adam"),)))


def test_an_integer_hyperparameter_takes_whole_values() -> None:
    spec = small_spec(optimizers=(OptimizerChoice.parse("adam_warmup"),), param=Param("warmup_steps", 1, 1000, 4, True))
    assert spec.values == (1.0, 10.0, 100.0, 1000.0)
    assert [choice.hyperparameters["warmup_steps"] for choice in spec.comparison().optimizers] == [1, 10, 100, 1000]


# --- the table ----------------------------------------------------------------------------------------------------


def expected(runs: list[RunResult]) -> tuple[list[float], list[float]]:
    """Each run's best validation loss and its test accuracy at that epoch, straight from its epoch rows."""
    best = [min(runs_row["val_loss"] for runs_row in run.epochs) for run in runs]
    accuracy = [min(run.epochs, key=lambda row: row["val_loss"])["test_accuracy"] for run in runs]
    return best, accuracy


def test_the_table_is_mean_ci_of_the_runs(trained: tuple[SensitivitySpec, list[RunResult]]) -> None:
    spec, results = trained
    rows = sensitivity_table(spec, results)
    assert [(row["optimizer"], row["value"]) for row in rows] == [
        (name, value) for name in ("adam", "sgd") for value in spec.values]
    for row in rows:
        runs = [r for r in results if r.spec.optimizer.key == row["key"]
                and r.spec.optimizer.hyperparameters["lr"] == row["value"]]
        assert len(runs) == row["runs"] == 2 and row["diverged"] == 0
        best, accuracy = expected(runs)
        for key, values in (("best_val_loss", best), ("test_accuracy_at_best_val", accuracy)):
            stat = mean_ci(values)
            assert row[key] == {"mean": stat.mean, "ci95": stat.half_width, "n": 2}


def test_diverged_runs_are_counted_not_averaged_and_cancelled_ones_count_so_far(
        trained: tuple[SensitivitySpec, list[RunResult]]) -> None:
    spec, results = trained
    first, second = results[0], results[len(spec.points())]  # adam at lr=0.001, seeds 0 and 1
    diverged = RunResult(second.spec, "diverged", [], second.epochs[:1], {}, 12, "loss became non-finite")
    row = sensitivity_table(spec, [first, diverged])[0]
    assert row["runs"] == 2 and row["diverged"] == 1 and row["best_val_loss"]["n"] == 1
    assert row["best_val_loss"]["mean"] == min(r["val_loss"] for r in first.epochs)
    cancelled = RunResult(second.spec, "cancelled", [], second.epochs, {})
    row = sensitivity_table(spec, [cancelled])[0]
    assert row["cancelled"] == 1 and row["best_val_loss"]["n"] == 1, "a cancelled run counts with its epochs so far"


# --- the command line ---------------------------------------------------------------------------------------------


def test_the_cli_prints_a_table_per_optimizer_and_writes_json(home_with_mnist1d: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sensitivity.json"
    status = cli.main(["sensitivity", "mnist1d", "adam", "sgd", "--param", "lr=1e-3:1:3:log", "--seeds", "2",
                       "--epochs", "1", "--batch-size", "256", *TASK_ARGS, "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    header = r"\nAdam\nlr +best validation loss +test accuracy at the best validation epoch +diverged\n"
    assert re.search(header, printed), printed
    assert "\nSGD\n" in printed
    data = json.loads(out.read_text())
    assert set(data) == {"sensitivity", "param", "values", "table", "runs", "seconds", "study"}
    assert data["param"] == "lr" and data["values"] == list(small_spec().values) and data["study"] is None
    assert len(data["table"]) == 6 and len(data["runs"]) == 12
    assert set(data["runs"][0]) == {"optimizer", "value", "seed", "status", "diverged_at", "reason",
                                    "best_val_loss", "test_accuracy_at_best_val", "summary"}
    assert SensitivitySpec.from_dict(data["sensitivity"]).param == Param("lr", 1e-3, 1.0, 3, True)
    for row in data["table"]:
        runs = [run for run in data["runs"] if (run["optimizer"], run["value"]) == (row["optimizer"], row["value"])]
        assert mean_ci(run["best_val_loss"] for run in runs).mean == pytest.approx(row["best_val_loss"]["mean"])


@pytest.mark.parametrize(("argv", "message"), [
    (["adam", "--param", "lr=1e-3:1:1:log"], "invalid N=1; valid range: 2 <= N <= 64"),
    (["adam", "--param", "lr=1e-3:1"], "expected NAME=LO:HI:N[:log]"),
    (["adam", "sgd", "--param", "beta1=0:0.9:4"], "invalid param='beta1'; not a numeric hyperparameter of SGD"),
    (["adam", "--param", "beta1=0.5:1.5:4"], "invalid beta1=1.5; valid range: 0 <= beta1 < 1"),
    (["adam", "--param", "lr=1e-3:1:4", "--seeds", "0"], "invalid seeds=0; valid range: 1 <= seeds"),
    (["adam", "--param", "lr=1e-3:1:4", "--epochs", "0"], "invalid epochs=0; valid range: 1 <= epochs"),
    (["nosuchopt", "--param", "lr=1e-3:1:4"], "unknown optimizer 'nosuchopt'"),
    (["adam"], "the following arguments are required: --param"),
])
def test_bad_input_exits_2_with_one_line_naming_the_field(argv: list[str], message: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sensitivity", "mnist1d", *argv])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error, error


# --- the shared study ---------------------------------------------------------------------------------------------


def complete_points(storage_url: str, spec: SensitivitySpec) -> list[tuple[int, int]]:
    """The grid point of every complete trial (a point run twice would appear twice)."""
    study = optuna.load_study(study_name=grid.study_name(spec), storage=open_storage(storage_url))
    return sorted(tuple(t.user_attrs["point"]) for t in study.get_trials(states=(TrialState.COMPLETE,)))


def test_two_worker_processes_cover_every_point_exactly_once(home_with_mnist1d: Path, tmp_path: Path,
                                                             repo_root: Path) -> None:
    spec = small_spec(points=3)
    url = f"journal:{tmp_path / 'journal.log'}"
    grid.prepare(spec, open_storage(url))
    name = grid.study_name(spec)
    command = [sys.executable, "-m", "engine", "worker", "--storage", url, "--study", name]
    env = {**os.environ, "OPTISCOPE_THREADS": "1"}  # two processes on a shared machine: a core each
    workers = [subprocess.Popen(command, cwd=repo_root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=240) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert complete_points(url, spec) == spec.points()
    ended = [int(out.split(": ")[1].split()[0]) for out, _ in outputs]
    assert sum(ended) == len(spec.points())
    results = grid.results(spec, open_storage(url))
    assert len(results) == len(spec.points()) * len(spec.seeds) and not results[0].records
    assert sensitivity_table(spec, results)[0]["best_val_loss"]["n"] == 2


def test_a_stopped_point_is_queued_again_and_a_second_worker_finishes_the_grid(home_with_mnist1d: Path,
                                                                               tmp_path: Path) -> None:
    spec = small_spec(points=2, seeds=1)
    url = f"journal:{tmp_path / 'journal.log'}"
    grid.prepare(spec, open_storage(url))
    name = grid.study_name(spec)
    calls = iter(range(10_000))
    assert grid.work(url, name, should_stop=lambda: next(calls) > 0) == 1  # stopped inside its first point
    assert complete_points(url, spec) == []
    assert grid.work(url, name) == len(spec.points())  # the stopped point came back to the queue
    assert complete_points(url, spec) == spec.points()
    assert grid.work(url, name) == 0
    grid.prepare(spec, open_storage(url))  # a restart of the same grid queues nothing more
    assert grid.work(url, name) == 0 and complete_points(url, spec) == spec.points()


def test_the_cli_shares_its_grid_through_a_storage_and_the_worker_joins_it(
        home_with_mnist1d: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"journal:{tmp_path / 'journal.log'}"
    out = tmp_path / "shared.json"
    argv = ["sensitivity", "mnist1d", "adam", "sgd", "--param", "lr=1e-3:1:2:log", "--seeds", "1", "--epochs", "1",
            "--batch-size", "256", *TASK_ARGS, "--storage", url, "--out", str(out)]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["study"].startswith("sensitivity-") and f"--study {data['study']}" in captured.err
    assert len(data["runs"]) == 4 and all(run["status"] == "finished" for run in data["runs"])
    assert cli.main(["worker", "--storage", url, "--study", data["study"]]) == 0  # nothing left: it just ends
    assert capsys.readouterr().out.strip() == f"{data['study']}: 0 trials ended in this worker"


# --- the figure ---------------------------------------------------------------------------------------------------


def traces(figure: Any) -> dict[str, Any]:
    return {trace.name: trace for trace in figure.data}


def test_the_figure_draws_each_optimizer_with_a_band_on_a_log_axis(
        trained: tuple[SensitivitySpec, list[RunResult]]) -> None:
    spec, results = trained
    figure = sensitivity_figure(spec, results)
    named = traces(figure)
    assert {"Adam", "SGD", "Adam · 95% band", "SGD · 95% band"} <= set(named)
    assert list(named["Adam"].x) == list(spec.values) and "markers" in named["Adam"].mode
    rows = sensitivity_table(spec, results)
    assert list(named["SGD"].y) == [row["best_val_loss"]["mean"] for row in rows if row["optimizer"] == "sgd"]
    assert figure.layout.xaxis.type == "log" and figure.layout.xaxis.title.text == "lr (log scale)"
    assert named["Adam"].line.color != named["SGD"].line.color
    accuracy = sensitivity_figure(spec, results, "test_accuracy_at_best_val")
    assert accuracy.layout.title.text == "Clean test accuracy"
    assert accuracy.layout.yaxis.tickformat == ".0%" and accuracy.layout.yaxis.range[0] >= 0.0
    assert accuracy.layout.yaxis.range[1] <= 1.05


def test_the_figure_fills_in_with_partial_results_and_marks_divergence(
        trained: tuple[SensitivitySpec, list[RunResult]]) -> None:
    spec, results = trained
    adam_low, adam_mid = results[0], results[1]
    running = RunResult(adam_mid.spec, "running", [], adam_mid.epochs, {})
    sgd_high = results[5]
    diverged = RunResult(sgd_high.spec, "diverged", [], [], {}, 3, "loss became non-finite at step 3")
    figure = sensitivity_figure(spec, [adam_low, running, diverged])
    named = traces(figure)
    assert list(named["Adam"].x) == list(spec.values[:2]), "only the values with results so far"
    assert "SGD" not in named and "Adam · 95% band" not in named  # one seed each: no band
    cross = named["SGD · diverged"]
    assert list(cross.x) == [1.0] and "1 of 1 runs diverged (not averaged)" in cross.hovertemplate
    assert figure.layout.title.subtitle.text.startswith("live: epoch 1 of 1")
    empty = sensitivity_figure(spec, [RunResult(adam_mid.spec, "running", [], [], {})])
    assert "No run has finished an epoch yet" in empty.layout.annotations[0].text


def test_an_exploding_loss_does_not_flatten_the_curves(trained: tuple[SensitivitySpec, list[RunResult]]) -> None:
    spec, results = trained
    last = results[2]  # adam at lr=1, seed 0
    exploded = RunResult(last.spec, "finished", [], [{**row, "val_loss": 1e4} for row in last.epochs], {})
    figure = sensitivity_figure(spec, [*results[:2], exploded])
    low, high = figure.layout.yaxis.range
    assert high == pytest.approx(3 * min(traces(figure)["Adam"].y)) and math.isfinite(low)
    assert figure.layout.yaxis.title.text.endswith(f"(cut at {high:.3g})")
    assert "cut at" not in sensitivity_figure(spec, results[:2]).layout.yaxis.title.text, "nothing to clip"
