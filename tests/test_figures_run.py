"""The Playground's figures: trajectories and series equal the records, colours follow the optimizer, markers for the
minima, the scrubbed step and a divergence, and every figure serialises to JSON."""

import csv
import io
import json
import math
from typing import Any

import plotly.graph_objects as go
import pytest

from engine.figures.colours import optimizer_colour
from engine.figures.exports import summary_json, telemetry_csv
from engine.figures.runs import (
    CAPTIONS,
    STABILITY_MARGIN,
    internals_figure,
    log_ticks,
    run_label,
    series_figure,
    short_labels,
)
from engine.figures.style import LEGEND_CHARACTERS, legend_name
from engine.figures.trajectory import FRAME_POINTS, MAX_FRAMES, MIN_FRAMES, edge_point, frame_steps, trajectory_figure
from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, run_comparison
from engine.tasks.surfaces import get_surface

ROSENBROCK = get_surface("rosenbrock")


@pytest.fixture(scope="module")
def results() -> list[RunResult]:
    """Adam and heavy ball that finish, SGD that diverges at once, AutoSGM that reports stats (60 steps)."""
    choices = tuple(OptimizerChoice.parse(text) for text in ("adam:lr=0.05", "momentum:lr=0.001", "sgd:lr=1",
                                                             "autosgm"))
    return run_comparison(ComparisonSpec("rosenbrock", choices, steps=60))


def named(fig: go.Figure, name: str) -> Any:
    return next(t for t in fig.data if t.name == name)


def same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_fixture_has_a_diverged_run(results: list[RunResult]) -> None:
    assert [r.status for r in results] == ["finished", "finished", "diverged", "finished"]


def test_trajectories_equal_the_records_in_the_optimizers_colours(results: list[RunResult]) -> None:
    fig = trajectory_figure(ROSENBROCK, results)
    assert fig.data[0].type == "contour"
    for result in results:
        path = named(fig, run_label(result))
        assert list(path.x) == [row["x"] for row in result.records]
        assert list(path.y) == [row["y"] for row in result.records]
        assert path.line.color == optimizer_colour(result.spec.optimizer.key)


def test_same_optimizer_twice_keeps_its_colour_and_is_dashed() -> None:
    choices = (OptimizerChoice.parse("adam:lr=0.01"), OptimizerChoice.parse("adam:lr=0.1"))
    results = run_comparison(ComparisonSpec("quadratic", choices, steps=5))
    fig = series_figure(results, "loss", title="loss", y_title="loss")
    assert [t.line.color for t in fig.data] == [optimizer_colour("adam")] * 2
    assert [t.line.dash for t in fig.data] == ["solid", "dash"]


def test_start_and_minima_are_marked(results: list[RunResult]) -> None:
    fig = trajectory_figure(ROSENBROCK, results)
    assert (list(named(fig, "start").x), list(named(fig, "start").y)) == ([-2.0], [2.0])
    minimum = named(fig, "minimum")
    assert (list(minimum.x), list(minimum.y)) == ([1.0], [1.0])
    assert minimum.marker.symbol == "star"


def test_a_surface_without_minima_has_no_minimum_marker() -> None:
    results = run_comparison(ComparisonSpec("saddle", (OptimizerChoice("sgd"),), steps=5))
    fig = trajectory_figure(get_surface("saddle"), results)
    assert all(t.name != "minimum" for t in fig.data)


def test_step_marker_is_at_the_record_of_that_step(results: list[RunResult]) -> None:
    adam = results[0]
    fig = trajectory_figure(ROSENBROCK, results, step=25)
    marker = named(fig, f"{run_label(adam)} at step 25")
    row = adam.records[24]
    assert row["step"] == 25
    assert (marker.x[0], marker.y[0]) == (row["x"], row["y"])
    assert marker.marker.color == optimizer_colour("adam")
    diverged = results[2]  # one record only: its marker stays on it
    assert named(fig, f"{run_label(diverged)} at step 1").x[0] == diverged.records[0]["x"]


def test_without_a_step_the_marker_is_on_the_last_record(results: list[RunResult]) -> None:
    fig = trajectory_figure(ROSENBROCK, results)
    assert named(fig, f"{run_label(results[0])} at step 60").x[0] == results[0].records[-1]["x"]


def test_a_diverged_run_ends_with_an_x_on_the_plots_edge_and_its_reason(results: list[RunResult]) -> None:
    diverged = results[2]  # SGD lr=1 from (-2, 2): its one step lands at (1604, 402), far off the plot
    fig = trajectory_figure(ROSENBROCK, results)
    marker = named(fig, f"{run_label(diverged)}: diverged")
    assert marker.marker.symbol == "x-thin" and marker.cliponaxis is False
    (_, xmax), (ymin, ymax) = ROSENBROCK.domain
    x, y = marker.x[0], marker.y[0]
    assert x == pytest.approx(xmax) and ymin <= y <= ymax  # where the step's segment leaves the plot, on its edge
    start, final = diverged.records[-1], diverged.summary
    assert (y - start["y"]) * (final["final_x"] - start["x"]) == pytest.approx(
        (x - start["x"]) * (final["final_y"] - start["y"]))  # on the line from the last record to where it went
    assert diverged.reason in marker.hovertemplate and "diverged at step 1" in marker.hovertemplate
    assert all(not t.name.endswith(": diverged") for t in fig.data if t.name != marker.name)


@pytest.mark.parametrize(("inside", "outside", "edge"), [
    ((0.0, 0.0), (1.0, 0.5), (1.0, 0.5)),  # inside: itself
    ((0.0, 0.0), (4.0, 1.0), (2.0, 0.5)),  # through the right edge
    ((1.0, 1.0), (1.0, -9.0), (1.0, -2.0)),  # through the bottom
    ((3.0, 3.0), (5.0, -7.0), (2.0, -2.0)),  # both outside: clamped
])
def test_edge_point(inside: tuple[float, float], outside: tuple[float, float], edge: tuple[float, float]) -> None:
    assert edge_point(inside, outside, ((-2.0, 2.0), (-2.0, 2.0))) == pytest.approx(edge)


def test_frames_grow_every_path_to_its_last_point(results: list[RunResult]) -> None:
    fig = trajectory_figure(ROSENBROCK, results)
    steps = [int(frame.name) for frame in fig.frames]
    assert steps[0] == 1 and steps[-1] == 60 and steps == sorted(set(steps))
    paths = {index: run for index, trace in enumerate(fig.data) for run in results if trace.name == run_label(run)}
    for frame in fig.frames:
        assert set(paths) <= set(frame.traces)
    for index, run in paths.items():
        slot = fig.frames[0].traces.index(index)
        lengths = [len(frame.data[slot].x) for frame in fig.frames]
        assert lengths == sorted(lengths) and lengths[0] == 1  # they grow, monotonically
        assert lengths[-1] == len(run.records)
        last = fig.frames[-1].data[slot]
        assert (last.x[-1], last.y[-1]) == pytest.approx((run.records[-1]["x"], run.records[-1]["y"]), rel=1e-6)
        marker = fig.frames[-1].data[fig.frames[0].traces.index(index + 1)]
        assert marker.customdata[0] == run.records[-1]["step"]


def test_the_slider_opens_at_the_step_and_the_buttons_play_at_the_speed(results: list[RunResult]) -> None:
    fig = trajectory_figure(ROSENBROCK, results, step=37, frame_ms=40)
    [slider] = fig.layout.sliders
    assert slider.steps[slider.active].label == "37" and list(slider.steps[slider.active].args[0]) == ["37"]
    assert "37" in [frame.name for frame in fig.frames]
    play, pause = fig.layout.updatemenus[0].buttons
    assert play.args[1]["frame"]["duration"] == 40 and play.args[1]["fromcurrent"] is True
    assert list(pause.args[0]) == [None]
    assert len(named(fig, run_label(results[0])).x) == 37  # the figure itself shows step 37


def test_long_runs_get_fewer_frames_and_the_url_step_is_always_one() -> None:
    assert len(frame_steps(200, 4)) == MAX_FRAMES  # 120 frames of at most 200 points: under FRAME_POINTS
    assert frame_steps(10, 4) == list(range(1, 11))
    long = frame_steps(2000, 4, step=1234)
    assert MIN_FRAMES <= len(long) <= MIN_FRAMES + 1 and 1234 in long and long[0] == 1 and long[-1] == 2000
    assert len(frame_steps(2000, 4)) * 2000 * 4 / 2 <= max(FRAME_POINTS, MIN_FRAMES * 2000 * 4 / 2)


def test_3d_frames_animate_the_3d_paths(results: list[RunResult]) -> None:
    fig = trajectory_figure(ROSENBROCK, results, surface_3d=True, n=20, step=10)
    assert fig.frames[0].data[0].type == "scatter3d" and len(fig.frames[0].data[0].z) == 1
    assert fig.layout.updatemenus[0].buttons[0].args[1]["frame"]["redraw"] is True  # a 3-D scene must redraw
    assert fig.frames[0].data[2].type == "scatter3d" and len(fig.frames[0].data[2].x) == 1  # a run's marker


def test_large_ranges_are_shaded_on_a_log_scale(results: list[RunResult]) -> None:
    contour = trajectory_figure(ROSENBROCK, results).data[0]
    assert "log10" in contour.colorbar.title.text
    assert max(max(row) for row in contour.z) < 5  # log10(1 + 2509) ~ 3.4
    small = run_comparison(ComparisonSpec("saddle", (OptimizerChoice("sgd"),), steps=3))
    assert trajectory_figure(get_surface("saddle"), small).data[0].colorbar.title.text == "f(x, y)"


def test_3d_variant_draws_a_surface_and_3d_paths(results: list[RunResult]) -> None:
    fig = trajectory_figure(ROSENBROCK, results, surface_3d=True, n=40)
    assert fig.data[0].type == "surface"
    path = named(fig, run_label(results[0]))
    assert path.type == "scatter3d"
    assert list(path.x) == [row["x"] for row in results[0].records]


def test_a_formula_surface_draws() -> None:
    surface = get_surface("expr:x**2 + 5*y**2 + 2*sin(3*x)")
    results = run_comparison(ComparisonSpec(surface.key, (OptimizerChoice.parse("adam:lr=0.1"),), steps=10))
    fig = trajectory_figure(surface, results)
    assert all(t.name != "minimum" for t in fig.data)
    json.loads(fig.to_json())


@pytest.mark.parametrize(("key", "log_y"), [("loss", True), ("effective_lr", True), ("lr", False),
                                            ("cos_grad_prev", False)])
def test_series_equal_the_records(results: list[RunResult], key: str, log_y: bool) -> None:
    fig = series_figure(results, key, log_y=log_y, title=key, y_title=key)
    assert fig.layout.yaxis.type == ("log" if log_y else "linear")
    for result, trace in zip(results, fig.data, strict=True):
        assert trace.name == run_label(result)
        assert list(trace.x) == [row["step"] for row in result.records]
        assert same(list(trace.y), [row[key] for row in result.records])
        assert trace.line.color == optimizer_colour(result.spec.optimizer.key)


def test_internals_show_each_stat_of_the_runs_that_have_them(results: list[RunResult]) -> None:
    autosgm = results[3]
    stats = [key for key in autosgm.records[0] if key.startswith("stat/")]
    fig = internals_figure(results)
    assert len(fig.data) == len(stats)
    assert {t.line.color for t in fig.data} == {optimizer_colour("autosgm")}
    for trace, key in zip(fig.data, stats, strict=True):
        assert same(list(trace.y), [row[key] for row in autosgm.records])
    assert [a.text for a in fig.layout.annotations] == [f"AutoSGM<br>{k.removeprefix('stat/')}" for k in stats]


def test_internals_titles_stay_short_when_labels_are_long() -> None:
    choices = tuple(OptimizerChoice.parse(text) for text in (
        "agaw:target_lr=0.0046,warmup_steps=107,gamma=1.7", "autosgm:lr=0.01,beta=0.95", "autosgm:lr=0.1"))
    results = run_comparison(ComparisonSpec("rosenbrock", choices, steps=5))
    assert short_labels(results) == ["AGAW", "AutoSGM", "AutoSGM #2"]
    fig = internals_figure(results)
    titles = [a.text.replace("<br>", " · ") for a in fig.layout.annotations]  # two lines: optimizer, then statistic
    assert "AutoSGM #2 · stability_margin" in titles and "AGAW · cosine" in titles
    assert max(len(title) for title in titles) <= 32  # the run's full label is in the legend, not in the title
    assert max(len(line) for a in fig.layout.annotations for line in a.text.split("<br>")) <= 20  # a phone's panel
    assert {t.name for t in fig.data} == {legend_name(run_label(r)) for r in results}
    gap = fig.layout.yaxis.domain[0] - fig.layout.yaxis4.domain[1]  # row 1 over row 2, in the plot's fraction
    assert gap * (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b) >= 60  # px for ticks and a title


def test_a_long_label_takes_legend_lines_that_fit_a_phone_and_the_hover_keeps_it_whole() -> None:
    """AGAW with three hyperparameters is some 50 characters: on a 390 px phone it ran under the chart's toolbar."""
    choices = tuple(OptimizerChoice.parse(text) for text in ("adam:lr=0.05",
                                                             "agaw:target_lr=0.0046,warmup_steps=107,gamma=1.7"))
    results = run_comparison(ComparisonSpec("rosenbrock", choices, steps=5))
    adam, agaw = series_figure(results, "loss", log_y=True, title="loss", y_title="loss").data
    assert adam.name == run_label(results[0]) == "Adam (lr=0.05)"  # a short label: one line, as it was
    assert agaw.name.split("<br>") == ["AGAW (target_lr=0.0046,", "warmup_steps=107, gamma=1.7)"]
    assert all(len(line) <= LEGEND_CHARACTERS for line in agaw.name.split("<br>"))
    assert agaw.hovertemplate.startswith(f"{run_label(results[1])}<br>step")


def test_internals_without_stats_say_so(results: list[RunResult]) -> None:
    fig = internals_figure(results[:2])
    assert not fig.data
    assert "None of these optimizers" in fig.layout.annotations[0].text


def test_every_figure_serialises_to_json(results: list[RunResult]) -> None:
    figures = [trajectory_figure(ROSENBROCK, results, step=10), trajectory_figure(ROSENBROCK, results, surface_3d=True),
               series_figure(results, "loss", log_y=True, title="loss", y_title="loss"), internals_figure(results),
               internals_figure(results[:1])]
    for fig in figures:
        assert json.loads(fig.to_json())["data"] is not None


def test_captions_cover_every_figure_and_name_the_formulas() -> None:
    assert set(CAPTIONS) == {"trajectory", "loss", "effective_lr", "lr", "cos_grad_prev", "internals"}
    assert "||update|| / ||gradient||" in CAPTIONS["effective_lr"]
    assert "cos(g_t, g_{t-1})" in CAPTIONS["cos_grad_prev"]
    for text in CAPTIONS.values():
        assert 2 <= text.count(". ") + 1 <= 4


def test_downloads_hold_every_record_and_summary(results: list[RunResult]) -> None:
    rows = list(csv.DictReader(io.StringIO(telemetry_csv(results))))
    assert len(rows) == sum(len(r.records) for r in results)
    assert rows[0]["optimizer"] == "adam:lr=0.05" and float(rows[0]["x"]) == results[0].records[0]["x"]
    data = json.loads(summary_json(results))
    assert [run["status"] for run in data["runs"]] == [r.status for r in results]
    assert data["runs"][2]["diverged_at"] == 1 and data["runs"][2]["reason"] == results[2].reason


def test_telemetry_csv_can_keep_only_some_columns(results: list[RunResult]) -> None:
    text = telemetry_csv(results[3:], ("step", STABILITY_MARGIN))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["run", "optimizer", "seed", "step", STABILITY_MARGIN]
    assert [float(row[STABILITY_MARGIN]) for row in rows[1:]] == [r[STABILITY_MARGIN] for r in results[3].records[1:]]


@pytest.mark.parametrize(("values", "expected"), [
    ((0.08, 0.5), [0.1, 0.2, 0.5]),
    ((0.2, 4.0), [0.2, 0.5, 1.0, 2.0]),
    ((1e-8, 1e3), [1e-8, 1e-6, 1e-4, 1e-2, 1.0, 100.0]),  # every second power: at most LOG_TICKS_MAX labels
    ((0.6, 1.6), [0.6, 0.7, 0.8, 0.9, 1.0]),  # a short range: every digit
    ((0.11, 0.99), [0.2, 0.5]),  # no power of ten inside, and all eight digits would crowd
    ((0.0015, 0.95), [0.01, 0.1]),
    ((0.0, -1.0, float("nan")), []),
])
def test_log_ticks_stay_few_and_readable(values: tuple[float, ...], expected: list[float]) -> None:
    assert log_ticks(values) == expected
