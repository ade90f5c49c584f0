"""Seed bands: each optimizer's mean line and 95% band equal ``mean_ci`` of its seeds at every x, one seed draws no
band, runs of unequal length (live) are banded over their common part, a log-scale band stays positive, and the
legend has one entry per optimizer."""

import json
import math
from typing import Any

import plotly.graph_objects as go
import pytest

from engine.figures import (
    band_epoch_figure,
    band_internals_figure,
    band_layers_figure,
    band_series_figure,
    two_seed_note,
)
from engine.figures.bands import LOG_BAND_FLOOR, seed_band
from engine.figures.colours import optimizer_colour
from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, group_runs, mean_ci
from engine.tasks import MNIST1D

ADAM, SGD = OptimizerChoice.parse("adam:lr=0.0047"), OptimizerChoice.parse("sgd:lr=0.05")
# Three seeds' effective LR at steps 10, 20, 30 (hand-made, with a spread that differs per step).
ADAM_LR = ([0.010, 0.020, 0.030], [0.012, 0.018, 0.036], [0.011, 0.025, 0.027])


def runs(choices: tuple[OptimizerChoice, ...], seeds: int, rows: dict[tuple[str, int], list[float]],
         key: str = "effective_lr") -> list[RunResult]:
    """One RunResult per (seed, optimizer), seed-major as a job orders them: its ``key`` at steps 10, 20, ... from
    ``rows[(optimizer key, seed)]``, with matching per-epoch rows and per-layer norms."""
    spec = ComparisonSpec(MNIST1D, choices, epochs=3, batch_size=512, log_every=10, seeds=tuple(range(seeds)))
    results = []
    for run in spec.runs():
        series = rows[(run.optimizer.key, run.seed)]
        records = [{"step": 10.0 * (i + 1), key: v, "grad_norm/hidden1": v, "grad_norm/output": 2 * v,
                    "stat/lr": v} for i, v in enumerate(series)]
        epochs = [{"epoch": i + 1.0, "train_loss": v, "val_loss": 1.5 * v, "test_accuracy": 1 - v}
                  for i, v in enumerate(series)]
        results.append(RunResult(run, "finished", records, epochs, {}))
    return results


@pytest.fixture
def three_seeds() -> list[RunResult]:
    rows = {("adam", s): ADAM_LR[s] for s in range(3)} | {("sgd", s): [0.05, 0.05, 0.05] for s in range(3)}
    return runs((ADAM, SGD), 3, rows)


def named(fig: go.Figure, name: str) -> list[Any]:
    return [t for t in fig.data if t.name == name]


def test_runs_group_by_optimizer_choice_in_first_seen_order(three_seeds: list[RunResult]) -> None:
    groups = group_runs(three_seeds)
    assert [[r.spec.seed for r in g.runs] for g in groups] == [[0, 1, 2], [0, 1, 2]]
    assert [g.runs[0].spec.optimizer for g in groups] == [ADAM, SGD]


def test_mean_and_band_edges_equal_mean_ci_of_the_seeds(three_seeds: list[RunResult]) -> None:
    fig = band_series_figure(three_seeds, "effective_lr", title="t", y_title="lr")
    (line,) = named(fig, ADAM.label)
    (band,) = named(fig, f"{ADAM.label} · 95% band")
    cis = [mean_ci(values) for values in zip(*ADAM_LR, strict=True)]
    assert list(line.x) == [10.0, 20.0, 30.0]
    assert list(line.y) == pytest.approx([ci.mean for ci in cis], rel=1e-12)
    # The polygon: along the high edge, then back along the low edge.
    assert list(band.x) == [10.0, 20.0, 30.0, 30.0, 20.0, 10.0]
    assert list(band.y) == pytest.approx([ci.high for ci in cis] + [ci.low for ci in reversed(cis)], rel=1e-12)
    assert band.fill == "toself" and band.showlegend is False
    assert "n = 3 seeds" in line.text[0] and f"{cis[0].low:.4g}" in line.text[0]
    # The half-width is Student t's: t_{0.975, 2} = 4.303 times s / sqrt(3).
    s = math.sqrt(sum((v - cis[0].mean) ** 2 for v in (0.010, 0.012, 0.011)) / 2)
    assert cis[0].half_width == pytest.approx(4.302653 * s / math.sqrt(3), rel=1e-6)


def test_colours_match_the_other_figures_and_the_legend_has_one_entry_per_optimizer(
        three_seeds: list[RunResult]) -> None:
    for fig in (band_series_figure(three_seeds, "effective_lr", title="t", y_title="lr"),
                band_layers_figure(three_seeds), band_internals_figure(three_seeds)):
        legend = [t.name for t in fig.data if t.showlegend is not False]
        assert legend == [ADAM.label, SGD.label]
        assert named(fig, ADAM.label)[0].line.color == optimizer_colour("adam")
        assert named(fig, SGD.label)[0].line.color == optimizer_colour("sgd")
        assert named(fig, f"{ADAM.label} · 95% band")[0].fillcolor == "rgba(17, 119, 51, 0.2)"  # Adam's #117733
        json.loads(fig.to_json())
    loss = band_epoch_figure(three_seeds, ("train_loss", "val_loss"), names=("train", "validation"), log_y=True,
                             title="loss", y_title="cross-entropy")
    assert [t.name for t in loss.data if t.showlegend is not False] == [ADAM.label, SGD.label, "train", "validation"]
    adam = named(loss, ADAM.label)
    assert [t.line.dash for t in adam] == ["solid", "dot"]
    assert list(adam[1].y) == pytest.approx([1.5 * mean_ci(v).mean for v in zip(*ADAM_LR, strict=True)], rel=1e-12)


def test_layers_have_one_panel_each_with_a_band_per_optimizer(three_seeds: list[RunResult]) -> None:
    fig = band_layers_figure(three_seeds)
    bands = named(fig, f"{ADAM.label} · 95% band")
    assert [b.xaxis for b in bands] == ["x", "x2"]
    output = named(fig, ADAM.label)[1]
    assert list(output.y) == pytest.approx([2 * mean_ci(v).mean for v in zip(*ADAM_LR, strict=True)], rel=1e-12)


def test_one_seed_draws_the_mean_without_a_band() -> None:
    results = runs((ADAM, SGD), 1, {("adam", 0): [0.01, 0.02], ("sgd", 0): [0.05, 0.05]})
    for fig in (band_series_figure(results, "effective_lr", title="t", y_title="lr"), band_layers_figure(results),
                band_epoch_figure(results, ("test_accuracy",), title="t", y_title="acc"),
                band_internals_figure(results)):
        assert not [t for t in fig.data if (t.name or "").endswith("95% band")]
        assert list(named(fig, ADAM.label)[0].y)[:2] in ([0.01, 0.02], [0.99, 0.98])
    assert named(band_series_figure(results, "effective_lr", title="t", y_title="lr"),
                 ADAM.label)[0].text[0] == "n = 1 seed: no band"
    assert two_seed_note(results) is None


def test_runs_of_unequal_length_are_banded_over_their_common_part() -> None:
    """Live: seed 1 has logged two steps while seed 0 has four; a diverged seed's rows stop (or end non-finite)."""
    results = runs((ADAM,), 2, {("adam", 0): [0.01, 0.02, 0.03, 0.04], ("adam", 1): [0.012, 0.022]})
    fig = band_series_figure(results, "effective_lr", title="t", y_title="lr")
    (line,) = named(fig, ADAM.label)
    (band,) = named(fig, f"{ADAM.label} · 95% band")
    assert list(line.x) == [10.0, 20.0, 30.0, 40.0]
    assert list(line.y) == pytest.approx([0.011, 0.021, 0.03, 0.04])  # the mean of the seeds that have a value
    assert list(band.x) == [10.0, 20.0, 20.0, 10.0]
    assert [text.endswith("n = 2 seeds") for text in line.text] == [True, True, False, False]
    diverged = seed_band([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2, 3], [1.5, math.nan, math.inf])])
    assert [(x, ci.n) for x, ci in diverged] == [(1, 2), (2, 1), (3, 1)]


def test_a_gap_in_the_common_part_splits_the_band() -> None:
    band = seed_band([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2, 3], [1.2, math.nan, 3.3])])
    results = runs((ADAM,), 2, {("adam", 0): [1.0, 2.0, 3.0], ("adam", 1): [1.2, math.nan, 3.3]})
    (outline,) = named(band_series_figure(results, "effective_lr", title="t", y_title="lr"), f"{ADAM.label} · 95% band")
    assert [ci.n for _, ci in band] == [2, 1, 2]
    assert [None if math.isnan(x) else x for x in outline.x] == [10.0, 10.0, None, 30.0, 30.0]  # NaN: a gap


def test_a_log_scale_band_stays_positive() -> None:
    """Two seeds far apart: the t interval reaches below zero; on a log axis the low edge is drawn at a tenth of the
    mean, and the hover keeps the true interval."""
    results = runs((ADAM,), 2, {("adam", 0): [0.01, 0.02], ("adam", 1): [0.1, 0.2]})
    ci = mean_ci((0.01, 0.1))
    assert ci.low < 0
    log = band_series_figure(results, "effective_lr", log_y=True, title="t", y_title="lr")
    (band,) = named(log, f"{ADAM.label} · 95% band")
    assert all(y > 0 for y in band.y)
    assert band.y[-1] == pytest.approx(LOG_BAND_FLOOR * ci.mean) and band.y[0] == pytest.approx(ci.high)
    assert f"{ci.low:.4g}" in named(log, ADAM.label)[0].text[0]
    assert log.layout.yaxis.type == "log"
    for fig in (band_layers_figure(results), band_epoch_figure(results, ("train_loss",), log_y=True, title="t",
                                                                y_title="loss")):
        assert all(y > 0 for t in fig.data if t.y is not None for y in t.y if y is not None and math.isfinite(y))
    linear = band_series_figure(results, "effective_lr", title="t", y_title="lr")
    assert named(linear, f"{ADAM.label} · 95% band")[0].y[-1] == pytest.approx(ci.low)


def test_the_two_seed_note_names_the_optimizers_with_two_seeds(three_seeds: list[RunResult]) -> None:
    assert two_seed_note(three_seeds) is None
    two = runs((ADAM, SGD), 2, {(k, s): [0.01 + s] for k in ("adam", "sgd") for s in range(2)})
    note = two_seed_note(two)
    assert note is not None and "12.7" in note and "n = 2" in note
    assert ADAM.label in note and SGD.label in note


def test_no_layers_or_internals_show_a_note() -> None:
    results = runs((ADAM,), 1, {("adam", 0): [0.01]}, key="loss")
    bare = [RunResult(r.spec, r.status, [{"step": 10.0, "loss": 1.0}], [], {}) for r in results]
    assert band_layers_figure(bare).layout.annotations[0].text.startswith("No per-layer")
    assert band_internals_figure(bare).layout.annotations[0].text.startswith("None of these")
