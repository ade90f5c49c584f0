"""Seed bands: each optimizer's mean over its seeds with a shaded 95% Student-t band, as plotly Figures.

The figures of ``engine.figures.runs`` draw every seed of a run as its own line; these draw each group of runs that
differ only in their seed (``engine.runs.group_runs``: the same optimizer with other hyperparameters, another length or
batch size is another curve, and a repeated seed is never pooled) as one line, the mean over its seeds, inside a
shaded band, the 95% confidence interval of that mean (Student 1908, "The probable error of a mean",
Biometrika 6(1)):

    mean ± t_{0.975, n-1} · s / sqrt(n),   s the sample standard deviation of the n seeds' values (ddof 1).

Both come from ``engine.runs.mean_ci`` at every x (logged step or epoch), the function behind the summary table's
"± half-width", so a band and the table agree. With one seed there is no band; with two, t_{0.975, 1} = 12.7 makes it
wide (``two_seed_note`` says so).

Seeds are aligned on x, and the statistics at x use the seeds with a finite value at x: a run still training (live)
is shorter than the ended ones, and a diverged run's rows stop at its divergence (a non-finite value is left out, as
in the table). So towards the right a mean may rest on fewer seeds than on the left: the hover gives n at every
point, and where n = 1 the line is that one seed's value, without a band. Colours and dashes are ``run_styles``' of
each group's first run, the colours of every other figure; the legend has one entry per group, its label (in
``legend_name``'s lines). Every figure takes ``describe``: the labels then name each group's length and seeds
(``group_runs``), as saved runs of several comparisons need.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from engine.figures.runs import (
    EPOCH_DASHES,
    LAYERS_TITLE,
    NO_INTERNALS,
    NO_LAYERS,
    column,
    epoch_column,
    finish_layers,
    finish_lines,
    finish_small_multiples,
    layer_keys,
    layer_panels,
    note_figure,
    run_styles,
    short_labels,
    small_multiples,
    stat_names,
    style_entries,
)
from engine.figures.style import legend_name
from engine.runs import MeanCI, RunResult, group_runs, mean_ci

BAND_OPACITY = 0.2
"""The band's fill opacity: translucent, so two optimizers' bands show where they overlap."""

LOG_BAND_FLOOR = 0.1
"""On a log axis the band's lower edge is drawn no lower than this fraction of the mean (one decade below it).

A Student-t interval is symmetric in linear space, so with few seeds or a large spread its lower edge reaches zero or
below, which a log axis cannot draw; an edge just above zero would stretch the axis over decades that carry nothing.
The hover always gives the interval's true edges."""

BAND_CAPTION = ("Each line is an optimizer's mean over its seeds and the shading the 95% confidence interval of that "
                "mean (Student t, as in the summary table; none with one seed), at every logged step or epoch from "
                "the seeds that have reached it: live, or after a run diverged, the mean may rest on fewer seeds (the "
                "hover gives n). Where two bands do not overlap, the optimizers differ by more than their seed-to-seed "
                "noise.")
"""The sentences a page shows above the band figures."""

Band = list[tuple[float, MeanCI]]
"""One curve: (x, mean and confidence interval of the seeds' values at x), in increasing x."""


def seed_band(seeds: Iterable[tuple[Sequence[float], Sequence[float]]]) -> Band:
    """The band of the seeds' series, each given as (xs, ys): at every x where at least one seed has a finite y,
    ``mean_ci`` of those seeds' values (n of them; NaN half-width when n = 1)."""
    at: dict[float, list[float]] = {}
    for xs, ys in seeds:
        for x, y in zip(xs, ys, strict=True):
            if math.isfinite(y):
                at.setdefault(x, []).append(y)
    return [(x, mean_ci(at[x])) for x in sorted(at)]


def two_seed_note(results: Iterable[RunResult], *, describe: bool = False) -> str | None:
    """Why a band is wide when a group has exactly two seeds (t_{0.975, 1} = 12.7); None when none has two."""
    pairs = [group.label for group in group_runs(results, describe=describe) if len(group.runs) == 2]
    if not pairs:
        return None
    t = mean_ci((-1.0, 1.0)).half_width  # s / sqrt(n) = 1 for the sample (-1, 1): its half-width is t itself
    bands = f"The band of {pairs[0]} is" if len(pairs) == 1 else f"The bands of {', '.join(pairs)} are"
    return (f"{bands} wide because n = 2: the 95% interval is mean ± t · s / √2 with Student's t = {t:.1f} for one "
            "degree of freedom. A third seed brings t down to about a third of that.")


@dataclass(frozen=True)
class Curve:
    """One optimizer's band and mean line of one quantity, on one panel (``row``, ``col``) of a figure."""

    band: Band
    label: str  # the group's label, the legend entry
    colour: str
    dash: str
    what: str  # the quantity's name in the hover
    legend: bool
    row: int | None = None
    col: int | None = None


def _groups(results: Sequence[RunResult], describe: bool) -> list[tuple[list[RunResult], str, str, str]]:
    """(runs, label, colour, dash) of each group (``group_runs``): its runs, label and the style of its first run."""
    groups = group_runs(results, describe=describe)
    styles = run_styles([group.runs[0] for group in groups])
    return [(list(group.runs), group.label, colour, dash)
            for group, (colour, dash) in zip(groups, styles, strict=True)]


def _step_band(runs: Sequence[RunResult], key: str) -> Band:
    return seed_band((column(run, "step"), column(run, key)) for run in runs)


def _edges(ci: MeanCI, log_y: bool) -> tuple[float, float]:
    """The band's drawn (low, high) at one x: the interval, its low edge raised to ``LOG_BAND_FLOOR`` · mean on a log
    axis."""
    return (max(ci.low, LOG_BAND_FLOOR * ci.mean) if log_y else ci.low), ci.high


def _outline(band: Band, log_y: bool) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The band as closed polygons: along the high edge and back along the low edge, one polygon per stretch of x
    with n >= 2, separated by NaN (a gap)."""
    xs: list[float] = []
    ys: list[float] = []
    for banded, stretch in groupby(band, key=lambda point: point[1].n >= 2):
        if not banded:
            continue
        points = list(stretch)
        if xs:
            xs.append(math.nan)
            ys.append(math.nan)
        edges = [_edges(ci, log_y) for _, ci in points]
        xs += [x for x, _ in points] + [x for x, _ in reversed(points)]
        ys += [high for _, high in edges] + [low for low, _ in reversed(edges)]
    return np.array(xs), np.array(ys)


def _translucent(colour: str) -> str:
    """``#RRGGBB`` as ``rgba(r, g, b, BAND_OPACITY)``."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {BAND_OPACITY})"


def _hover(ci: MeanCI) -> str:
    if ci.n == 1:
        return "n = 1 seed: no band"
    return f"95% CI [{ci.low:.4g}, {ci.high:.4g}] over n = {ci.n} seeds"


def draw_curves(fig: go.Figure, curves: Sequence[Curve], *, x_name: str, log_y: bool, markers: bool = False) -> None:
    """Every curve's band (where n >= 2), then every mean line, so that no band covers another optimizer's line; a
    curve of one point (a run's first logged step) is drawn as a marker, which a line alone would not show.

    The data go to plotly as numpy arrays: it validates a list element by element, some ten times slower, and this
    runs at every poll of a live job."""
    for curve in curves:
        xs, ys = _outline(curve.band, log_y)
        if xs.size:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", fill="toself", fillcolor=_translucent(curve.colour),
                                     line={"width": 0}, name=f"{curve.label} · 95% band", legendgroup=curve.label,
                                     showlegend=False, hoverinfo="skip"), row=curve.row, col=curve.col)
    for curve in curves:
        fig.add_trace(go.Scatter(x=np.array([x for x, _ in curve.band]), y=np.array([ci.mean for _, ci in curve.band]),
                                 mode="lines+markers" if markers or len(curve.band) == 1 else "lines",
                                 name=legend_name(curve.label),
                                 legendgroup=curve.label, showlegend=curve.legend, marker={"size": 6},
                                 line={"color": curve.colour, "width": 2, "dash": curve.dash},
                                 text=np.array([_hover(ci) for _, ci in curve.band]),
                                 hovertemplate=f"{curve.label}<br>{x_name} %{{x}}<br>{curve.what}: mean %{{y:.4g}}"
                                 "<br>%{text}<extra></extra>"), row=curve.row, col=curve.col)


def band_series_figure(results: Sequence[RunResult], key: str, *, log_y: bool = False, title: str,
                       y_title: str, describe: bool = False) -> go.Figure:
    """The telemetry series ``key`` against the step: per group, its mean over seeds and 95% band."""
    fig = go.Figure()
    draw_curves(fig, [Curve(_step_band(runs, key), label, colour, dash, y_title, legend=True)
                for runs, label, colour, dash in _groups(results, describe)], x_name="step", log_y=log_y)
    return finish_lines(fig, title, "step", y_title, log_y)


def band_epoch_figure(results: Sequence[RunResult], keys: Sequence[str], *, log_y: bool = False, title: str,
                      y_title: str, names: Sequence[str] | None = None, describe: bool = False) -> go.Figure:
    """The per-epoch series ``keys`` (e.g. ``train_loss`` and ``val_loss``) against the epoch: per group and key,
    its mean over seeds and 95% band, one line style per key (solid, dotted, ...) named ``names`` (default: the keys)
    in grey legend entries after the optimizers'."""
    names = list(names) if names is not None else list(keys)
    fig = go.Figure()
    curves = [Curve(seed_band((epoch_column(run, "epoch"), epoch_column(run, key)) for run in runs), label, colour,
                     dash, name, legend=index == 0)
              for runs, label, colour, _ in _groups(results, describe)
              for index, (key, name, dash) in enumerate(zip(keys, names, EPOCH_DASHES, strict=False))]
    draw_curves(fig, curves, x_name="epoch", log_y=log_y, markers=True)
    if len(keys) > 1:  # what each line style means, as legend entries without data
        style_entries(fig, names, EPOCH_DASHES)
    return finish_lines(fig, title, "epoch", y_title, log_y)


def band_layers_figure(results: Sequence[RunResult], *, describe: bool = False) -> go.Figure:
    """Per-layer gradient norms ``grad_norm/<layer>`` against the step: one panel per layer (log scale), per group its
    mean over seeds and 95% band; a note instead when no run recorded any."""
    keys = layer_keys(results)
    if not keys:
        return note_figure(NO_LAYERS, LAYERS_TITLE)
    fig = layer_panels(keys)
    draw_curves(fig, [Curve(_step_band(runs, key), label, colour, dash, key, legend=index == 0, row=1, col=index + 1)
                for runs, label, colour, dash in _groups(results, describe) for index, key in enumerate(keys)],
          x_name="step", log_y=True)
    return finish_layers(fig, keys)


def band_internals_figure(results: Sequence[RunResult], *, columns: int = 2, describe: bool = False) -> go.Figure:
    """Small multiples of the optimizers' own statistics (``stat/*``): one panel per (group, statistic) with its
    mean over seeds and 95% band; a note instead when no run reports any. Panel titles are ``short_labels``'."""
    groups = _groups(results, describe)
    shorts = short_labels([runs[0] for runs, *_ in groups])
    panels = [(runs, label, colour, dash, short, name)
              for (runs, label, colour, dash), short in zip(groups, shorts, strict=True)
              for name in dict.fromkeys(name for run in runs for name in stat_names(run))]
    if not panels:
        return note_figure(NO_INTERNALS, "Optimizer internals")
    fig = small_multiples([f"{short} · {name.removeprefix('stat/')}" for *_, short, name in panels], columns)
    shown: set[str] = set()
    curves = []
    for index, (runs, label, colour, dash, _, name) in enumerate(panels):
        curves.append(Curve(_step_band(runs, name), label, colour, dash, name, legend=label not in shown,
                             row=index // columns + 1, col=index % columns + 1))
        shown.add(label)
    draw_curves(fig, curves, x_name="step", log_y=False)
    return finish_small_multiples(fig, "Optimizer internals (stats)", len(panels), columns)
