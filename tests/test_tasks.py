"""engine.tasks: every task answers for itself (length, logging, metrics, arguments, device, process), and nothing
outside engine/tasks/ asks which task a name is."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest
import torch

from engine.runs import ComparisonSpec, OptimizerChoice, RunSpec, run_comparison
from engine.tasks import MNIST1D, SURFACES, Task, get_task, mlp, named_tasks, steps_per_epoch
from engine.tasks.task import Outcome


def test_every_named_task_and_a_formula_resolve_to_a_task() -> None:
    keys = [task.key for task in named_tasks()]
    assert keys == [*SURFACES, MNIST1D]
    for key in [*keys, "expr:x**2 + 10*sin(y)"]:
        task = get_task(key)
        assert isinstance(task, Task) and task.key == key and task.title and task.description and task.phrase
        assert task.length in ("steps", "epochs") and task.default_log_every >= 1 and task.metrics
    assert get_task("rosenbrock") is get_task("rosenbrock")  # resolved once


def test_surfaces_and_mnist1d_differ_where_they_should() -> None:
    surface, network = get_task("quadratic"), get_task(MNIST1D)
    assert (surface.length, surface.default_log_every, surface.gpu_by_default, surface.in_worker_process) == (
        "steps", 1, False, False)
    assert (network.length, network.default_log_every, network.gpu_by_default, network.in_worker_process) == (
        "epochs", 10, True, True)
    assert surface.total_steps(steps=70, epochs=3, batch_size=128) == 70
    assert network.total_steps(steps=70, epochs=3, batch_size=128) == 3 * steps_per_epoch(128) == 3 * 29
    assert [key for key, _ in surface.metrics] == ["final_loss", "best_loss"]
    assert "test_accuracy_at_best_val" in dict(network.metrics)


@pytest.mark.parametrize(
    ("key", "args", "message"),
    [
        ("quadratic", {"condition": 0.5}, "quadratic: invalid condition=0.5"),
        ("quadratic", {"noise": -1.0}, "quadratic: invalid noise=-1.0"),
        ("rosenbrock", {"depth": 2}, "surface: invalid argument 'depth' for 'rosenbrock'"),
        (MNIST1D, {"noise": 0.1}, "mnist1d: invalid task argument='noise'"),
    ],
)
def test_each_task_checks_its_own_arguments(key: str, args: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_task(key).check_args(args)


def test_unknown_names_and_bad_formulas_are_refused_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"^surface: invalid name='nowhere'; allowed values: 'rosenbrock'"):
        get_task("nowhere")
    with pytest.raises(ValueError, match="__import__"):
        get_task("expr:__import__('os')")


class _Recorder:
    def __init__(self, stop_after: int) -> None:
        self.records: list[dict[str, float]] = []
        self.epochs: list[dict[str, float]] = []
        self.ticks, self.stop_after = 0, stop_after

    def stop(self) -> bool:
        return self.ticks >= self.stop_after

    def tick(self) -> None:
        self.ticks += 1


def test_a_task_runs_one_run_into_a_recorder_and_stops_when_asked() -> None:
    spec = RunSpec("rosenbrock", OptimizerChoice.parse("adam:lr=0.01"), steps=50)
    recorder = _Recorder(stop_after=7)
    outcome = get_task("rosenbrock").run(spec, torch.device("cpu"), recorder)
    assert isinstance(outcome, Outcome) and outcome.status == "cancelled"
    assert outcome.summary["steps_done"] == 7 == len(recorder.records)
    assert [row["step"] for row in recorder.records] == list(range(1, 8))


def test_the_runner_hands_each_run_to_its_task() -> None:
    spec = ComparisonSpec("quadratic", (OptimizerChoice.parse("sgd:lr=0.1"),), steps=30)
    (result,) = run_comparison(spec)
    recorder = _Recorder(stop_after=10**9)
    outcome = spec.task_info.run(spec.runs()[0], torch.device("cpu"), recorder)
    assert result.status == outcome.status == "finished"
    assert result.records == recorder.records
    assert {k: v for k, v in result.summary.items() if k != "seconds"} == {
        k: v for k, v in outcome.summary.items() if k != "seconds"}


def _task_name_comparisons(path: Path, names: set[str]) -> list[str]:
    """Where ``path`` compares something with a task name, the MNIST1D constant, or tests a name's ``expr:`` prefix."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if (isinstance(side, ast.Name) and side.id == "MNIST1D") or (
                        isinstance(side, ast.Constant) and side.value in names):
                    found.append(f"{path.name}:{node.lineno}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith" \
                and any(isinstance(arg, ast.Name) and arg.id == "EXPR_PREFIX" for arg in node.args):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_module_outside_engine_tasks_asks_which_task_a_name_is(repo_root: Path) -> None:
    names = {MNIST1D, *SURFACES}
    files = [path for folder in ("engine", "pages", "ui", "optimizers") for path in (repo_root / folder).rglob("*.py")
             if "tasks" not in path.relative_to(repo_root).parts]
    offenders = [where for path in [*files, repo_root / "app.py"] for where in _task_name_comparisons(path, names)]
    assert not offenders, "ask the Task instead: " + ", ".join(offenders)


@pytest.mark.parametrize(
    ("task", "start", "message"),
    [
        ("rosenbrock", [1e308, 0], "surface: invalid start_x=1e+308; valid range: -2 <= start_x <= 2"),
        ("rosenbrock", [math.nan, 0], "surface: invalid start_x=nan; expected a finite number with -2 <= start_x <= 2"),
        ("rosenbrock", [0, -1.5], "surface: invalid start_y=-1.5; valid range: -1 <= start_y <= 3"),
        ("expr:x**2 + y**2", [6, 0], "surface: invalid start_x=6; valid range: -5 <= start_x <= 5"),
        ("rosenbrock", "ab", "surface: invalid start='ab'; expected a point [x, y] inside the domain"),
        ("rosenbrock", [1, 2, 3], "surface: invalid start=[1, 2, 3]; expected a point [x, y] inside the domain"),
        ("rosenbrock", 5, "surface: invalid start=5; expected a point [x, y] inside the domain"),
        ("rosenbrock", [True, 0], "surface: invalid start_x=True; expected a finite number"),
    ],
)
def test_the_start_is_a_point_inside_the_domain(task: str, start: object, message: str) -> None:
    """Issue 14: ``start`` was not validated (``[1e308, 0]`` accepted, ``"ab"`` a Python error)."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        RunSpec(task, OptimizerChoice("adam"), task_args={"start": start})
    assert RunSpec("rosenbrock", OptimizerChoice("adam"), task_args={"start": (2, 3)}).task_args["start"] == (2, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"depth": 0}, "mnist1d: invalid depth=0; valid range: 1 <= depth <= 8"),
        ({"depth": 2.5}, "mnist1d: invalid depth=2.5; expected an integer with 1 <= depth <= 8"),
        ({"width": -1}, "mnist1d: invalid width=-1; valid range: 1 <= width <= 1024"),
        ({"width": "abc"}, "mnist1d: invalid width='abc'; expected an integer with 1 <= width <= 1024"),
        ({"width": 1e12}, "mnist1d: invalid width=1000000000000.0; valid range: 1 <= width <= 1024"),
    ],
)
def test_the_mlp_shape_is_bounded(args: dict[str, object], message: str) -> None:
    """Issue 14: ``width=1e12`` tried to allocate 160 TB, ``depth=0`` failed inside the run."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        RunSpec(MNIST1D, OptimizerChoice("adam"), task_args=args)
    with pytest.raises(ValueError, match="mlp: invalid width=2048; valid range"):
        mlp(width=2048)
