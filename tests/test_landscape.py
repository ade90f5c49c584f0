"""The landscape: its cells equal single runs, its axes and validation, the quadratic map against the theory's
stability region, ``python -m engine landscape`` and the figure (diverged cells, the theory's boundary)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import cli
from engine.figures import landscape_figure, landscape_theory_caption
from engine.figures.landscape import theory_margin
from engine.runs import (
    Axis,
    LandscapeSpec,
    LandscapeStopped,
    OptimizerChoice,
    compute_landscape,
    link_text,
    playground_comparison,
    playground_query,
    run,
)
from engine.tasks import get_surface
from engine.theory import kappa_max, largest_curvature, stability_margin
from optimizers import REGISTRY, HyperParam


def landscape(task: str, optimizer: str, x: str, y: str, **settings: object) -> LandscapeSpec:
    return LandscapeSpec(task, OptimizerChoice.parse(optimizer), Axis.parse(x), Axis.parse(y), **settings)


VALID_CORNERS = {"agaw": ("target_lr=1e-2:1:4:log", "initial_lr=1e-9:1e-3:3:log")}
"""Axes whose corners keep a cross-field rule (AGAW's initial_lr < target_lr)."""


def first_two_axes(key: str) -> tuple[str, str]:
    """Axes over an optimizer's first two hyperparameters with a range (4 and 3 values: the registry's log ranges, the
    middle 80% of a linear one, as Nesterov refuses momentum 0), or the start's coordinates where it has fewer."""
    def axis(hp: HyperParam, count: int) -> str:
        low, high = (hp.low, hp.high) if hp.log else (0.9 * hp.low + 0.1 * hp.high, 0.1 * hp.low + 0.9 * hp.high)
        if hp.kind == "int":
            low, high = math.ceil(low), math.floor(high)
        return f"{hp.name}={low!r}:{high!r}:{count}" + (":log" if hp.log else "")

    ranged = [hp for hp in REGISTRY[key].hyperparams if hp.kind != "choice" and hp.low is not None]
    return (*(axis(hp, count) for hp, count in zip(ranged, (4, 3), strict=False)), "x0=-2:1:4", "y0=-1:2:3")[:2]


def assert_cells_equal_single_runs(spec: LandscapeSpec, tolerance: float, cells: list[tuple[int, int]]) -> None:
    """Each cell's final loss (1e-10 relative), divergence step and steps to ``tolerance`` equal its run alone."""
    computed = compute_landscape(spec, tolerance=tolerance)
    for i, j in cells:
        alone = run(computed.cell_spec(i, j))
        assert computed.diverged_at[i][j] == alone.diverged_at, (i, j, alone.reason)
        if alone.status == "diverged":
            assert computed.final_loss[i][j] is None
        else:
            assert computed.final_loss[i][j] == pytest.approx(alone.summary["final_loss"], rel=1e-10, abs=1e-300)
        below = next((row["step"] for row in alone.records if row["loss"] < tolerance), None)
        assert computed.steps_to_tolerance[i][j] == below  # type: ignore[index]


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_optimizers_cells_equal_its_single_runs(key: str) -> None:
    if REGISTRY[key].runs is None:
        pytest.skip(f"{key} has no runs-axis stepping yet")
    spec = landscape("rosenbrock", key, *VALID_CORNERS.get(key, first_two_axes(key)), steps=40, noise=0.3, seed=2)
    assert_cells_equal_single_runs(spec, 10.0, [(i, j) for i in range(3) for j in range(4)])


def test_cells_equal_single_runs_where_many_diverge() -> None:
    spec = landscape("quadratic", "momentum", "lr=1e-3:1:24:log", "momentum=0:0.99:16", steps=150)
    computed = compute_landscape(spec)
    assert 0 < computed.diverged < computed.cells
    assert_cells_equal_single_runs(spec, 1e-6, [(0, 0), (15, 23), (3, 20), (8, 17), (12, 22), (5, 11), (15, 0)])


def test_start_axes_equal_runs_from_that_start() -> None:
    spec = landscape("himmelblau", "adam:lr=0.05", "x0=-4:4:5", "y0=-4:4:4", steps=60, noise=0.5)
    computed = compute_landscape(spec)
    for i, j in [(0, 0), (3, 4), (1, 2)]:
        start = [computed.x_values[j], computed.y_values[i]]
        alone = run(computed.cell_spec(i, j))
        assert computed.cell_spec(i, j).task_args["start"] == tuple(start)
        assert computed.final_loss[i][j] == pytest.approx(alone.summary["final_loss"], rel=1e-10)


def test_a_map_stops_when_asked_and_is_never_returned_cut_short() -> None:
    spec = landscape("rosenbrock", "adam", "lr=1e-4:1:64:log", "beta1=0:0.99:64", steps=2000)
    asked: list[int] = []

    def stop_after_ten_steps() -> bool:
        asked.append(1)
        return len(asked) > 10

    with pytest.raises(LandscapeStopped, match="stopped before its 2000 steps"):
        compute_landscape(spec, should_stop=stop_after_ten_steps)
    assert len(asked) == 11  # asked before every step, and no step after it said stop
    whole = compute_landscape(landscape("quadratic", "sgd", "lr=0.01:0.1:3", "x0=-1:1:2", steps=30),
                              should_stop=lambda: False)
    assert whole.cells == 6 and whole.diverged == 0


def test_the_quadratic_map_converges_inside_the_theorys_region_and_diverges_far_outside() -> None:
    spec = landscape("quadratic", "momentum", "lr=0.05:1:32:log", "momentum=0:0.9:16", steps=300)
    computed = compute_landscape(spec)
    margin = stability_margin("momentum", {"lr": np.array(computed.x_values)[None, :],
                                           "momentum": np.array(computed.y_values)[:, None]}, h=10.0)
    quadratic = get_surface("quadratic")
    start_loss = float(quadratic.at(torch.tensor(quadratic.start)))
    loss = np.array([[np.inf if v is None else v for v in row] for row in computed.final_loss])
    diverged = np.array([[step is not None for step in row] for row in computed.diverged_at])
    inside, outside = margin < 0.9, margin > 1.5
    assert inside.sum() > 100 and outside.sum() > 100
    assert np.all(loss[inside] < 1e-4 * start_loss)
    assert np.all(diverged[outside])


@pytest.mark.parametrize(
    ("key", "hyper", "lr_on_the_edge"),
    [
        ("sgd", {}, 2 / 10),
        ("momentum", {"momentum": 0.5}, 2 * 1.5 / 10),
        ("nesterov", {"momentum": 0.5}, 2 * 1.5 / 2 / 10),
        ("autosgm", {"adaptive": "false", "beta": 0.9, "gamma": 0.5, "debias": "true", "eta": 0.0,
                     "weight_decay": 0.0, "decay": "coupled"}, 2 * 1.9 * 0.5 / (0.1 * 1.5) / 10),
    ],
)
def test_the_stability_margin_is_one_on_the_known_boundaries(key: str, hyper: dict, lr_on_the_edge: float) -> None:
    assert float(stability_margin(key, {**hyper, "lr": lr_on_the_edge}, h=10.0)) == pytest.approx(1.0)  # type: ignore[arg-type]


def test_the_autosgm_margin_uses_kappa_max_and_needs_a_constant_rate() -> None:
    hyper = {"adaptive": "false", "beta": 0.9, "gamma": -0.5, "debias": "false", "eta": 0.3, "weight_decay": 0.1,
             "decay": "coupled", "lr": 0.2}
    expected = 0.2 * 0.3 / 1.5 * (4.0 + 0.1) / kappa_max(0.9, -0.5)
    assert float(stability_margin("autosgm", hyper, h=4.0)) == pytest.approx(expected)  # type: ignore[arg-type]
    assert stability_margin("autosgm", {**hyper, "adaptive": "true"}, h=4.0) is None
    assert stability_margin("adam", {"lr": 0.1}, h=4.0) is None


def test_largest_curvature_is_the_quadratics_condition_whatever_its_rotation() -> None:
    assert largest_curvature(get_surface("quadratic", condition=25.0, rotation=30.0)) == pytest.approx(25.0)
    assert largest_curvature(get_surface("expr:x**2 + 3*y**2")) == pytest.approx(6.0)
    assert largest_curvature(get_surface("rosenbrock")) is None
    assert largest_curvature(get_surface("saddle")) is None  # a quadratic, but not a bowl


def test_axis_values_read_as_a_person_writes_them() -> None:
    assert Axis.parse("lr=1e-4:1:5:log").values() == [1e-4, 1e-3, 1e-2, 0.1, 1.0]
    linear = Axis.parse("momentum=0:0.99:128").values()
    assert linear[0] == 0.0 and linear[-1] == 0.99 and linear[1] == 0.0078 and len(set(linear)) == 128
    assert Axis.parse("warmup_steps=1:20:64:log").values(integer=True) == [float(v) for v in range(1, 21)]
    axis = Axis.parse("beta1 = 0.5:0.999:7")
    assert Axis.parse(str(axis)) == axis and axis.name == "beta1"


def test_a_spec_round_trips_through_json() -> None:
    spec = landscape("quadratic", "adam:lr=0.1", "beta1=0:0.9:4", "x0=-1:1:3", steps=50, noise=0.2, seed=3,
                     task_args={"condition": 5.0, "start": [1.0, 1.0]})
    assert LandscapeSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(
    ("task", "optimizer", "x", "y", "message"),
    [
        ("quadratic", "momentum", "nope=0:1:4", "momentum=0:0.9:4", "invalid x='nope'; allowed values: 'lr', "),
        ("quadratic", "momentum", "lr=0.1:1:4", "momentum=0:1.5:4", "invalid momentum=1.5; valid range: 0 <="),
        ("quadratic", "momentum", "lr=0.1:1:1", "momentum=0:0.9:4", "invalid N=1; valid range: 2 <= N <= 256"),
        ("quadratic", "momentum", "lr=0.1:1:300", "momentum=0:0.9:4", "invalid N=300; valid range: 2 <= N <= 256"),
        ("quadratic", "momentum", "lr=0:1:4:log", "momentum=0:0.9:4", "invalid LO=0.0; valid range: LO > 0"),
        ("quadratic", "momentum", "lr=1:0.5:4", "momentum=0:0.9:4", "invalid HI=0.5; valid range: HI > 1"),
        ("quadratic", "momentum", "lr=0.1:1:4", "lr=0.1:1:4", "the two axes must differ"),
        ("quadratic", "momentum", "x0=-3:1:4", "lr=0.1:1:4", "invalid x0=-3.0; valid range: -2 <= x0 <= 2"),
        ("quadratic", "adam", "base=0:1:4", "lr=0.1:1:4", "invalid x='base'"),
        ("mnist1d", "adam", "lr=0.1:1:4", "beta1=0:0.9:4", "invalid task='mnist1d'; expected a 2-D surface"),
        ("quadratic", "adam_warmup", "warmup_steps=1.5:9:4", "lr=0.1:1:4", "invalid warmup_steps=1.5"),
    ],
)
def test_bad_landscapes_are_refused_naming_the_field(task: str, optimizer: str, x: str, y: str,
                                                     message: str) -> None:
    with pytest.raises(ValueError) as error:
        landscape(task, optimizer, x, y)
    assert message in str(error.value)


def test_a_cells_playground_link_opens_that_run() -> None:
    computed = compute_landscape(landscape("rosenbrock", "momentum", "lr=1e-5:1e-3:5:log", "y0=-1:3:4", steps=30))
    cell = computed.cell_spec(2, 3)
    comparison = playground_comparison(link_text(playground_query(cell)))
    assert comparison is not None and comparison.runs() == [cell]
    formula = landscape("expr:x**2 + 3*y**2", "sgd", "lr=0.01:0.5:3", "x0=-4:4:3", steps=20).cell(0.5, 4.0)
    assert playground_comparison(link_text(playground_query(formula))).runs() == [formula]  # type: ignore[union-attr]
    # the Playground has the quadratic's condition number and rotation: a cell of a rotated, stretched bowl opens there
    bowl = landscape("quadratic", "sgd", "lr=0.01:0.1:2", "x0=-1:1:2",
                     task_args={"condition": 4.0, "rotation": 30.0}).cell(0.01, 0.5)
    query = playground_query(bowl)
    assert (query["condition"], query["rotation"]) == ("4.0", "30.0")
    assert playground_comparison(link_text(query)).runs() == [bowl]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="the Playground has no domain"):
        playground_query(landscape("expr:x**2 + y**2", "sgd", "lr=0.01:0.1:2", "x0=-1:1:2",
                                   task_args={"domain": ((-3, 3), (-3, 3))}).cell(0.01, 0.5))


# --- figure -------------------------------------------------------------------------------------------------------


def test_the_figure_shows_diverged_cells_and_the_theorys_boundary_on_the_quadratic() -> None:
    computed = compute_landscape(landscape("quadratic", "momentum", "lr=1e-2:1:12:log", "momentum=0:0.9:8",
                                           steps=100), tolerance=1e-6)
    figure = landscape_figure(computed)
    names = [trace.name for trace in figure.data]
    assert "diverged" in names and "theory: stability boundary" in names
    hovers = [trace.hovertemplate for trace in figure.data if trace.type == "scatter" and trace.hovertemplate]
    assert any("diverged at step %{customdata[2]}" in hover for hover in hovers)
    assert all("lr = %{x" in hover and "momentum = %{y" in hover for hover in hovers)
    diverged = next(trace for trace in figure.data if trace.hovertemplate and "diverged at" in trace.hovertemplate)
    i, j, step = (int(v) for v in diverged.customdata[0])
    assert computed.diverged_at[i][j] == step
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "linear"
    caption = landscape_theory_caption(computed)
    assert caption is not None and "h = 10" in caption and caption.count(". ") == 1
    steps = landscape_figure(computed, metric="steps")
    assert any(trace.name == "never below 1e-06" for trace in steps.data)


def test_no_boundary_where_no_theory_applies() -> None:
    rosenbrock = compute_landscape(landscape("rosenbrock", "momentum", "lr=1e-5:1e-3:4:log", "momentum=0:0.9:3",
                                             steps=20))
    adam = compute_landscape(landscape("quadratic", "adam", "lr=1e-3:1:4:log", "beta1=0:0.9:3", steps=20))
    for computed in (rosenbrock, adam):
        assert theory_margin(computed) is None and landscape_theory_caption(computed) is None
        assert "theory: stability boundary" not in [trace.name for trace in landscape_figure(computed).data]
    stable = compute_landscape(landscape("quadratic", "sgd", "lr=1e-3:1e-2:4:log", "y0=-1:1:3", steps=20))
    assert "theory: stability boundary" not in [trace.name for trace in landscape_figure(stable).data]  # all inside
    with pytest.raises(ValueError, match="invalid metric='steps'"):
        landscape_figure(stable, metric="steps")  # computed without a tolerance


# --- CLI ----------------------------------------------------------------------------------------------------------


def test_cli_writes_the_map_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "map.json"
    status = cli.main(["landscape", "quadratic", "momentum:lr=0.1", "--x", "lr=1e-3:1:6:log", "--y",
                       "momentum=0:0.9:4", "--steps", "50", "--seed", "1", "--noise", "0.1", "--task-arg",
                       "condition=20", "--tolerance", "1e-3", "--out", str(out)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "4 x 6 runs (momentum by lr) of 50 steps" in printed and "run-steps/s" in printed and "best:" in printed
    data = json.loads(out.read_text())
    for key in ("x_name", "x_values", "y_name", "y_values", "final_loss", "diverged_at", "seconds"):
        assert key in data
    assert (data["x_name"], data["y_name"]) == ("lr", "momentum") and len(data["x_values"]) == 6
    assert len(data["final_loss"]) == 4 and all(len(row) == 6 for row in data["final_loss"])
    assert any(step is not None for row in data["diverged_at"] for step in row)
    for loss_row, step_row in zip(data["final_loss"], data["diverged_at"], strict=True):
        assert all((loss is None) == (step is not None) for loss, step in zip(loss_row, step_row, strict=True))
    assert data["spec"]["task_args"] == {"condition": 20} and data["tolerance"] == 1e-3
    alone = run(LandscapeSpec.from_dict(data["spec"]).cell(data["x_values"][2], data["y_values"][1]))
    assert data["final_loss"][1][2] == pytest.approx(alone.summary["final_loss"], rel=1e-10)
    assert math.isfinite(data["seconds"])


@pytest.mark.parametrize(
    ("x", "field"),
    [
        ("nope=0:1:4", "invalid x='nope'"),
        ("momentum=0:1.5:4", "invalid momentum=1.5; valid range: 0 <= momentum < 1"),
        ("lr=0.1:1:1", "invalid N=1; valid range: 2 <= N <= 256"),
        ("lr=0.1:1:300", "invalid N=300; valid range: 2 <= N <= 256"),
        ("lr=0.1:1", "invalid axis 'lr=0.1:1'; expected NAME=LO:HI:N[:log]"),
    ],
)
def test_cli_bad_axes_exit_2_with_one_line(x: str, field: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["landscape", "quadratic", "momentum", "--x", x, "--y", "y0=-1:1:3"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith("python -m engine landscape: error: ") and field in captured.err
