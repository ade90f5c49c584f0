"""Sensitivity curves: per optimizer, what one hyperparameter's value does to the trained network, as plotly Figures.

``sensitivity_figure`` draws one of ``engine.runs.sensitivity.METRICS`` (the best validation loss, or the test
accuracy at the best validation epoch) against the swept hyperparameter, on a log axis when the grid is log-spaced:
per optimizer its mean over the seeds at each grid value (a marker per value) inside the shaded 95% Student-t band of
that mean, drawn by ``engine.figures.bands`` from ``engine.runs.sensitivity_table``'s statistics, so the figure and
the table agree. Only values with results so far are drawn, and a run still training counts with its epochs so far,
so the curves fill in live. A value where runs diverged gets a cross in the optimizer's colour whose hover says how
many (they are not averaged): at the mean of the others, or at the worst end of the axis when all diverged. One
colour per optimizer, the same as on every page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from engine.figures.bands import Curve, draw_curves
from engine.figures.runs import finish_lines, note_figure, run_styles
from engine.runs import MeanCI, RunResult, SensitivitySpec, sensitivity_table

TITLES = {"best_val_loss": ("Best validation loss", "lowest validation loss over the epochs"),
          "test_accuracy_at_best_val": ("Clean test accuracy", "test accuracy at the best validation epoch")}
"""Per metric: (figure title, short enough for a phone's width beside the mode bar; y-axis title)."""

CAPTIONS = {
    "best_val_loss": "Each line is an optimizer's lowest validation loss over its epochs, averaged over the seeds at "
    "every value of the hyperparameter, with its 95% band. How forgiving an optimizer is shows in how flat its curve "
    "is around its best value: a wide, shallow valley means a rough guess works; a narrow one means it must be tuned. "
    "A cross marks a value where runs diverged (the hover says how many; they are not averaged).",
    "test_accuracy_at_best_val": "The test accuracy at each run's epoch of lowest validation loss: the clean number, "
    "chosen without peeking at the test set. Read it as the loss curve upside down: a broad plateau near the top "
    "means the optimizer tolerates a wide range of the hyperparameter.",
}
"""The sentences a page shows beside each sensitivity figure, by metric."""

CLIP = 3.0
"""The loss axis shows at most this many times the lowest mean loss (``_y_range``)."""

NO_POINTS = "No run has finished an epoch yet: the curves appear after the first one."


def sensitivity_figure(spec: SensitivitySpec, results: Sequence[RunResult], metric: str = "best_val_loss") -> go.Figure:
    """``metric`` (a key of ``TITLES``) against ``spec.param`` for every optimizer with results: mean and 95% band
    over the seeds, a cross where runs diverged; a note instead while no run has finished an epoch."""
    title, y_title = TITLES[metric]
    rows = sensitivity_table(spec, results)
    firsts: dict[int, RunResult] = {}  # each optimizer's first run: its colour and dash, as on every other figure
    for result in results:
        point = spec.locate(result.spec.optimizer)
        if point is not None:
            firsts.setdefault(point[0], result)
    shown = sorted(firsts)
    styles = dict(zip(shown, run_styles([firsts[i] for i in shown]), strict=True))
    curves, crosses = [], []
    for i in shown:
        label = spec.optimizers[i].label
        mine = [row for row in rows if row["optimizer"] == str(spec.optimizers[i])]
        band = [(float(row["value"]), MeanCI(row[metric]["mean"], row[metric]["ci95"], row[metric]["n"]))
                for row in mine if row[metric]["n"] > 0]
        if band:
            curves.append(Curve(band, label, *styles[i], y_title, legend=True))
        crosses += [(row, label, styles[i][0]) for row in mine if row["diverged"]]
    if not curves and not crosses:
        return note_figure(NO_POINTS, title)
    fig = go.Figure()
    draw_curves(fig, curves, x_name=spec.param.name, log_y=False, markers=True)
    ceiling = _y_range(fig, curves, metric)
    _diverged(fig, crosses, curves, metric, spec.param.name, ceiling)
    if ceiling is not None:  # in the axis title: a note in the plot area ran into the legend on a phone
        y_title = f"{y_title} (cut at {ceiling:.3g})"
    running = [len(result.epochs) for result in results if result.status == "running"]
    live = f"live: epoch {min(running)} of {spec.epochs}, the curves still move" if running else None
    finish_lines(fig, title, spec.param.name + (" (log scale)" if spec.param.log else ""), y_title, False,
                 subtitle=live)
    fig.update_xaxes(type="log" if spec.param.log else "linear", exponentformat="power")
    if metric == "test_accuracy_at_best_val":
        fig.update_yaxes(tickformat=".0%")
    return fig


def _y_range(fig: go.Figure, curves: Sequence[Curve], metric: str) -> float | None:
    """Fit the y axis to the drawn means and bands inside what the metric can be (a loss >= 0, an accuracy in
    [0, 1]: a Student-t band may reach past either), a loss axis to at most ``CLIP`` times the lowest mean loss (an
    exploding run's loss would flatten every curve into a line, so the axis title says where it is cut); the ceiling
    when the loss axis is clipped, else None."""
    means = [ci.mean for curve in curves for _, ci in curve.band]
    if not means:
        return None
    values = means + [edge for curve in curves for _, ci in curve.band for edge in (ci.low, ci.high)
                      if math.isfinite(edge)]
    low, high = max(0.0, min(values)), max(values)
    ceiling = CLIP * min(means) if metric == "best_val_loss" and min(means) > 0 else None
    clipped = ceiling is not None and high > ceiling
    high = ceiling if clipped else min(high, 1.0) if metric == "test_accuracy_at_best_val" else high
    pad = 0.05 * (high - low) if high > low else 0.05
    fig.update_yaxes(range=[max(0.0, low - pad), high + (0.0 if clipped else pad)])
    return ceiling if clipped else None


def _diverged(fig: go.Figure, crosses: Sequence[tuple[dict[str, Any], str, str]], curves: Sequence[Curve],
              metric: str, name: str, ceiling: float | None) -> None:
    """A cross per (row, label, colour) whose runs diverged: at the row's mean, or at the worst value drawn (the
    highest loss, at most the axis' ``ceiling``; the lowest accuracy) when every run there diverged."""
    drawn = [ci.mean for curve in curves for _, ci in curve.band]
    worst = (max(drawn) if metric == "best_val_loss" else min(drawn)) if drawn else 0.0
    worst = worst if ceiling is None else min(worst, ceiling)
    for row, label, colour in crosses:
        y = row[metric]["mean"] if row[metric]["n"] else worst
        text = (f"{label}<br>{name} {row['value']:g}: {row['diverged']} of {row['runs']} runs diverged "
                "(not averaged)")
        fig.add_trace(go.Scatter(x=[row["value"]], y=[y], mode="markers", name=f"{label} · diverged",
                                 legendgroup=label, showlegend=False,
                                 marker={"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": colour}},
                                 hovertemplate=text + "<extra></extra>"))
