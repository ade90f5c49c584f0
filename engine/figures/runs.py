"""The Playground's figures: 2-D runs on a loss surface and their per-step telemetry, as plotly Figures.

Pure functions from ``engine.runs.RunResult`` lists to ``plotly.graph_objects.Figure`` (no Streamlit), so the page, the
CLI's HTML export and the tests build the same figures. Every trace of a run wears its optimizer's colour
(``engine.figures.colours.optimizer_colour``); a second run of the same optimizer in one figure is dashed.
``CAPTIONS`` holds the text a page shows beside each figure; ``telemetry_csv`` and ``summary_json`` are the page's
downloads.
"""

# ruff: noqa: RUF001  (figure text uses Greek symbols)

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from numpy.typing import NDArray
from plotly.subplots import make_subplots

from engine.figures.colours import NEUTRAL, optimizer_colour
from engine.figures.style import TEMPLATE, finish
from engine.runs import RunResult
from engine.tasks.surfaces import Surface, grid
from optimizers import get

LOG_CONTOUR_SPAN = 100.0
"""Contours switch to log10(1 + f - f_min) when f spans more than this over the plotted domain."""

_DASHES = ("solid", "dash", "dot", "dashdot")  # the 1st, 2nd, ... run of the same optimizer in one figure
_CONTOUR_SCALE = [[0.0, "#FFFFFF"], [1.0, "#9A9A9A"]]  # pale, so the optimizers' colours stand out on it

CAPTIONS: dict[str, str] = {
    "trajectory": "Each optimizer's path over the loss surface from the same start (square) towards the minimum "
    "(star), one point per step. The shading is f itself, or log10(1 + f - f_min) when f spans more than two decades "
    "over the domain, so valleys stay visible. Drag the step slider to see where every run was at that step; a run "
    "that diverged ends with an x, its reason in the hover.",
    "loss": "The loss f(x_t, y_t) at every step, on a log scale: a straight line down is linear convergence, a "
    "flat stretch a plateau or a slow valley. Runs start at the same loss because they start at the same point.",
    "effective_lr": "The step the optimizer actually took, measured from the iterates: effective LR = ||update|| / "
    "||gradient||. For plain SGD it equals the learning rate; momentum and adaptivity make it rise and fall with the "
    "gradient's history, which is what this plot shows.",
    "lr": "The learning rate the optimizer itself holds (its param_groups' lr): constant for the baselines, rising "
    "for warmups such as AGAW. Compare it with the effective LR to see how much momentum or adaptivity rescales it.",
    "cos_grad_prev": "The cosine between this step's gradient and the previous one, cos(g_t, g_{t-1}). Near 1 the "
    "gradients agree (a straight descent); near -1 they flip-flop, the sign of oscillation across a valley that "
    "a smaller step or more momentum damps.",
    "internals": "What each optimizer reports about itself (its stats), one small plot per quantity: AGAW's "
    "warmup LR and cosine, A2Grad's h and gamma, AutoSGM's window, numerator, denominator and stability margin. "
    "Only optimizers that report internals appear here.",
}
"""The sentences a page shows beside each figure, by figure."""


def run_label(result: RunResult) -> str:
    """A run's display name: its optimizer's label, with the seed when it is not 0."""
    label = result.spec.optimizer.label
    return label if result.spec.seed == 0 else f"{label} · seed {result.spec.seed}"


def run_styles(results: Sequence[RunResult]) -> list[tuple[str, str]]:
    """(colour, dash) per run: the optimizer's colour, dashed for its 2nd, 3rd ... run in the figure."""
    seen: dict[str, int] = {}
    styles = []
    for result in results:
        key = result.spec.optimizer.key
        styles.append((optimizer_colour(key), _DASHES[seen.get(key, 0) % len(_DASHES)]))
        seen[key] = seen.get(key, 0) + 1
    return styles


def column(result: RunResult, key: str) -> list[float]:
    """The records' ``key`` in step order (NaN where a record lacks it)."""
    return [float(row.get(key, math.nan)) for row in result.records]


def _shading(zs: NDArray[np.float64], floor: float) -> tuple[NDArray[np.float64], bool]:
    """The contour values: ``zs`` itself, or log10(1 + zs - floor) when zs spans more than ``LOG_CONTOUR_SPAN``."""
    finite = zs[np.isfinite(zs)]
    if finite.size == 0:
        return np.zeros_like(zs), False
    if float(finite.max() - floor) <= LOG_CONTOUR_SPAN:
        return np.where(np.isfinite(zs), zs, np.nan), False
    return np.log10(1.0 + np.clip(np.where(np.isfinite(zs), zs, np.nan) - floor, 0.0, None)), True


def _lift(values: Sequence[float], floor: float, log: bool) -> list[float]:
    """Losses on the contour's scale (for the 3-D trajectories)."""
    return [math.log10(1.0 + max(v - floor, 0.0)) if log else v for v in values]


def _start(surface: Surface, results: Sequence[RunResult]) -> tuple[float, float]:
    start = results[0].spec.task_args.get("start") if results else None
    return (float(start[0]), float(start[1])) if start is not None else surface.start


def _at_step(result: RunResult, step: int | None) -> dict[str, float] | None:
    """The last record at or before ``step`` (the last record when ``step`` is None)."""
    if not result.records:
        return None
    if step is None:
        return result.records[-1]
    before = [row for row in result.records if row["step"] <= step]
    return before[-1] if before else result.records[0]


def trajectory_figure(surface: Surface, results: Sequence[RunResult], *, step: int | None = None, n: int = 150,
                      surface_3d: bool = False) -> go.Figure:
    """The surface's contours (or its 3-D surface) with each run's path (x, y), the start, the minima, the point of
    every run at ``step`` (default: its last record) and an x where a run diverged."""
    xs, ys, zs = grid(surface, n)
    finite = zs[np.isfinite(zs)]
    floor = surface.min_value if surface.min_value is not None else (float(finite.min()) if finite.size else 0.0)
    shade, log = _shading(zs, floor)
    scale_title = "log10(1 + f − f_min)" if log else "f(x, y)"
    fig = go.Figure()
    if surface_3d:
        fig.add_trace(go.Surface(x=xs, y=ys, z=shade, colorscale="Greys", reversescale=True, opacity=0.85,
                                 name="surface", showscale=False, hovertemplate="(%{x:.3g}, %{y:.3g})<extra></extra>"))
    else:
        fig.add_trace(go.Contour(x=xs, y=ys, z=shade, colorscale=_CONTOUR_SCALE, ncontours=25, name="surface",
                                 line={"width": 0.5, "color": "#777777"}, showscale=True,
                                 colorbar={"title": {"text": scale_title, "side": "right"}, "thickness": 12},
                                 hovertemplate="(%{x:.3g}, %{y:.3g})<extra></extra>"))
    start = _start(surface, results)
    for result, (colour, dash) in zip(results, run_styles(results), strict=True):
        name = run_label(result)
        x, y, loss = column(result, "x"), column(result, "y"), column(result, "loss")
        steps = [int(row["step"]) for row in result.records]
        hover = f"{name}<br>step %{{customdata}}<br>(%{{x:.4g}}, %{{y:.4g}})<br>loss %{{text}}<extra></extra>"
        texts = [f"{v:.4g}" for v in loss]
        line = {"color": colour, "width": 2, "dash": dash}
        if surface_3d:
            fig.add_trace(go.Scatter3d(x=x, y=y, z=_lift(loss, floor, log), mode="lines", name=name, line=line,
                                       customdata=steps, text=texts, hovertemplate=hover, legendgroup=name))
        else:
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name, line=line,
                                     marker={"color": colour, "size": 3}, customdata=steps, text=texts,
                                     hovertemplate=hover, legendgroup=name))
        if result.status == "diverged" and result.records:
            last = result.records[-1]
            reason = result.reason or "diverged"
            _marker(fig, surface_3d, last, floor, log, name=f"{name}: diverged", colour=colour, symbol="x",
                    size=14, hover=f"{name}<br>diverged at step {result.diverged_at}: {reason}", group=name)
        current = _at_step(result, step)
        if current is not None:
            _marker(fig, surface_3d, current, floor, log, name=f"{name} at step {int(current['step'])}",
                    colour=colour, symbol="circle", size=12, hover=f"{name}<br>step {int(current['step'])}<br>"
                    f"({current['x']:.4g}, {current['y']:.4g})<br>loss {current['loss']:.4g}", group=name,
                    legend=False)
    start_loss = float(surface(*(torch.tensor(v, dtype=torch.float64) for v in start)))
    _marker(fig, surface_3d, {"x": start[0], "y": start[1], "loss": start_loss}, floor, log, name="start",
            colour="#FFFFFF", symbol="square", size=11, hover=f"start ({start[0]:.4g}, {start[1]:.4g})")
    if surface.minima:
        mx, my = [m[0] for m in surface.minima], [m[1] for m in surface.minima]
        hover = "minimum (%{x:.4g}, %{y:.4g})<extra></extra>"
        marker = {"color": "#FFD700", "symbol": "star", "size": 15, "line": {"color": "#000000", "width": 1}}
        if surface_3d:
            mz = _lift([surface.min_value or 0.0] * len(mx), floor, log)
            marker3d = {"color": "#FFD700", "symbol": "diamond", "size": 6, "line": {"color": "#000000", "width": 1}}
            fig.add_trace(go.Scatter3d(x=mx, y=my, z=mz, mode="markers", name="minimum", marker=marker3d,
                                       hovertemplate=hover))
        else:
            fig.add_trace(go.Scatter(x=mx, y=my, mode="markers", name="minimum", marker=marker,
                                     hovertemplate=hover))
    (xmin, xmax), (ymin, ymax) = surface.domain
    title = f"{surface.name}: trajectories" + (f" (step {step})" if step is not None else "")
    finish(fig, title, height=560)
    if surface_3d:
        fig.update_layout(scene={"xaxis": {"title": {"text": "x"}, "range": [xmin, xmax]},
                                 "yaxis": {"title": {"text": "y"}, "range": [ymin, ymax]},
                                 "zaxis": {"title": {"text": scale_title}}},
                          margin={"l": 10, "r": 10})
    else:
        fig.update_xaxes(title_text="x", range=[xmin, xmax], showgrid=False, zeroline=False)
        fig.update_yaxes(title_text="y", range=[ymin, ymax], showgrid=False, zeroline=False)
    return fig


def _marker(fig: go.Figure, surface_3d: bool, row: dict[str, float], floor: float, log: bool, *, name: str,
            colour: str, symbol: str, size: int, hover: str, group: str | None = None, legend: bool = True) -> None:
    """One marked point of a run (or the start) on the 2-D or 3-D figure."""
    outline = {"color": "#000000", "width": 1}
    common = {"name": name, "hovertemplate": hover + "<extra></extra>", "showlegend": legend}
    if group is not None:
        common["legendgroup"] = group
    if surface_3d:
        symbol3d = {"x": "x", "circle": "circle", "square": "square"}[symbol]
        fig.add_trace(go.Scatter3d(x=[row["x"]], y=[row["y"]], z=_lift([row["loss"]], floor, log), mode="markers",
                                   marker={"color": colour, "symbol": symbol3d, "size": size // 2, "line": outline},
                                   **common))
    else:
        marker = {"color": colour, "symbol": "x-thin" if symbol == "x" else symbol, "size": size, "line": outline}
        if symbol == "x":
            marker["line"] = {"color": colour, "width": 3}
        fig.add_trace(go.Scatter(x=[row["x"]], y=[row["y"]], mode="markers", marker=marker, **common))


LOG_TICKS_MAX = 6  # labelled ticks on a log axis: more crowd each other in a panel a few hundred pixels high


def log_ticks(values: Iterable[float]) -> list[float]:
    """Tick values for a log axis over the positive finite ``values``: 1-2-5 in each decade; only every n-th power of
    ten when that gives more than ``LOG_TICKS_MAX``; every n-th digit (0.2, 0.4, ...) when it gives fewer than two
    (a short range). Plotly's own choice labels every minor tick of a short range (0.15, 0.2, 0.25, ...), and those
    labels overlap."""
    finite = [v for v in values if math.isfinite(v) and v > 0]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)

    def inside(mantissas: Iterable[int]) -> list[float]:
        return [t for t in (float(f"{m}e{k}") for k in decades for m in mantissas) if low <= t <= high]

    ticks = inside((1, 2, 5))
    if len(ticks) > LOG_TICKS_MAX:  # more than two decades: their powers of ten
        ticks = inside((1,))
    elif len(ticks) < 2:
        ticks = inside(range(1, 10)) or ticks
    return ticks[:: math.ceil(len(ticks) / LOG_TICKS_MAX)] if ticks else []


def _tidy_log_y(fig: go.Figure) -> None:
    """Label every log y axis of ``fig`` at ``log_ticks`` of all its traces' values."""
    ticks = log_ticks(v for trace in fig.data for v in (() if trace.y is None else trace.y) if v is not None)
    if ticks:
        fig.update_yaxes(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], selector={"type": "log"})


def finish_lines(fig: go.Figure, title: str, x_title: str, y_title: str, log_y: bool) -> go.Figure:
    """The shared look of a line figure against the step or the epoch, with readable log ticks when ``log_y``."""
    finish(fig, title, height=380)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    _tidy_log_y(fig)
    return fig


def series_figure(results: Sequence[RunResult], key: str, *, log_y: bool = False, title: str,
                  y_title: str) -> go.Figure:
    """The telemetry series ``key`` of every run against the step, in the optimizers' colours."""
    fig = go.Figure()
    for result, (colour, dash) in zip(results, run_styles(results), strict=True):
        name = run_label(result)
        fig.add_trace(go.Scatter(x=column(result, "step"), y=column(result, key), mode="lines", name=name,
                                 line={"color": colour, "width": 2, "dash": dash}, legendgroup=name,
                                 hovertemplate=f"{name}<br>step %{{x}}<br>{y_title} %{{y:.4g}}<extra></extra>"))
    return finish_lines(fig, title, "step", y_title, log_y)


STABILITY_MARGIN = "stat/stability_margin"
"""The telemetry key of AutoSGM's live stability margin kappa_t / kappa_max (``optimizers.autosgm``)."""


def stat_names(result: RunResult) -> list[str]:
    """The ``stat/*`` keys a run recorded, in first-seen order."""
    names: dict[str, None] = {}
    for row in result.records:
        names.update({key: None for key in row if key.startswith("stat/")})
    return list(names)


def short_labels(results: Sequence[RunResult]) -> list[str]:
    """Each run's optimizer name without its hyperparameters (``AutoSGM``), numbered from its second run in the list
    (``AutoSGM #2``): short enough for a small panel's title, while the legend gives the full ``run_label``."""
    seen: dict[str, int] = {}
    labels = []
    for result in results:
        name = get(result.spec.optimizer.key).name
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return labels


INTERNALS_PANEL_PX = 210  # height of one row of internals panels, title and tick labels included


def note_figure(text: str, title: str) -> go.Figure:
    """A figure with ``text`` in its middle and no axes: what a figure shows when there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": NEUTRAL})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, title, height=220)


NO_INTERNALS = "None of these optimizers reports internal statistics."


def small_multiples(titles: Sequence[str], columns: int) -> go.Figure:
    """An empty grid of ``len(titles)`` panels, ``columns`` wide, titled ``titles`` (the internals' layout)."""
    rows = -(-len(titles) // columns)
    return make_subplots(rows=rows, cols=columns, subplot_titles=list(titles), horizontal_spacing=0.12,
                         # 70 px between rows: tick labels, then the title
                         vertical_spacing=min(70 / (INTERNALS_PANEL_PX * rows), 0.3))


def finish_small_multiples(fig: go.Figure, title: str, panels: int, columns: int) -> go.Figure:
    """The look of a ``small_multiples`` grid of ``panels`` panels: small panel titles and ticks, the legend under
    the figure's title."""
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 11}
    height = 180 + INTERNALS_PANEL_PX * -(-panels // columns)
    finish(fig, title, height=height)
    # The legend right under the title, in pixels from the top: the first row's panel titles sit above the plots.
    fig.update_layout(legend={"yref": "container", "y": 1 - 42 / height, "yanchor": "top"},
                      margin={"t": 140})
    fig.update_xaxes(tickfont={"size": 10})
    fig.update_yaxes(tickfont={"size": 10}, exponentformat="power", nticks=5)
    fig.update_layout(template=TEMPLATE)
    return fig


def internals_figure(results: Sequence[RunResult], *, columns: int = 3) -> go.Figure:
    """Small multiples of every run's own statistics (``stat/*``): one panel per (run, statistic), in the run's
    colour; a note instead when no run reports any.

    A panel's title is the short ``<optimizer> · <statistic>`` (``short_labels``) so that titles never run into their
    neighbours at any width a page gives the figure; the legend names each run in full.
    """
    panels = [(result, style, short, name)
              for result, style, short in zip(results, run_styles(results), short_labels(results), strict=True)
              for name in stat_names(result)]
    if not panels:
        return note_figure(NO_INTERNALS, "Optimizer internals")
    fig = small_multiples([f"{short} · {name.removeprefix('stat/')}" for _, _, short, name in panels], columns)
    shown: set[str] = set()
    for index, (result, (colour, dash), _, name) in enumerate(panels):
        label = run_label(result)
        fig.add_trace(go.Scatter(x=column(result, "step"), y=column(result, name), mode="lines", name=label,
                                 line={"color": colour, "width": 1.5, "dash": dash}, legendgroup=label,
                                 showlegend=label not in shown,
                                 hovertemplate=f"{label}<br>step %{{x}}<br>{name} %{{y:.4g}}<extra></extra>"),
                      row=index // columns + 1, col=index % columns + 1)
        shown.add(label)
    return finish_small_multiples(fig, "Optimizer internals (stats)", len(panels), columns)


# --- downloads ----------------------------------------------------------------------------------------------------


def telemetry_csv(results: Sequence[RunResult], keys: Sequence[str] | None = None) -> str:
    """Every record of every run as CSV: ``run``, ``optimizer``, ``seed``, then ``keys`` (default: the union of the
    records' keys, in first-seen order; empty where a record lacks one)."""
    if keys is None:
        keys = list(dict.fromkeys(key for result in results for row in result.records for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["run", "optimizer", "seed", *keys], lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for result in results:
        head = {"run": run_label(result), "optimizer": str(result.spec.optimizer), "seed": result.spec.seed}
        for row in result.records:
            writer.writerow({**head, **row})
    return buffer.getvalue()


def summary_json(results: Sequence[RunResult]) -> str:
    """Each run's spec, status (with where and why it diverged) and summary, as JSON (NaN written as null)."""

    def clean(value: object) -> object:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    runs = [{"spec": result.spec.to_dict(), "status": result.status, "diverged_at": result.diverged_at,
             "reason": result.reason, "summary": {k: clean(v) for k, v in result.summary.items()}}
            for result in results]
    return json.dumps({"runs": runs}, indent=2, sort_keys=True)


# --- MNIST-1D (the Train page) ------------------------------------------------------------------------------------

EPOCH_DASHES = ("solid", "dot", "dash", "dashdot")  # the 1st, 2nd, ... key of one epoch figure


def epoch_column(result: RunResult, key: str) -> list[float]:
    """The per-epoch rows' ``key`` in epoch order (NaN where a row lacks it)."""
    return [float(row.get(key, math.nan)) for row in result.epochs]


def epoch_figure(results: Sequence[RunResult], keys: Sequence[str], *, log_y: bool = False, title: str,
                 y_title: str, names: Sequence[str] | None = None) -> go.Figure:
    """The per-epoch series ``keys`` (e.g. ``train_loss`` and ``val_loss``) of every run against the epoch, in the
    optimizers' colours: one line style per key (solid, dotted, ...), named ``names`` (default: the keys)."""
    names = list(names) if names is not None else list(keys)
    fig = go.Figure()
    for result, (colour, _) in zip(results, run_styles(results), strict=True):
        label = run_label(result)
        for key, name, dash in zip(keys, names, EPOCH_DASHES, strict=False):
            trace_name = f"{label} · {name}" if len(keys) > 1 else label
            fig.add_trace(go.Scatter(x=epoch_column(result, "epoch"), y=epoch_column(result, key),
                                     mode="lines+markers", name=trace_name, legendgroup=label,
                                     line={"color": colour, "width": 2, "dash": dash}, marker={"size": 6},
                                     hovertemplate=f"{trace_name}<br>epoch %{{x}}<br>{name} %{{y:.4g}}<extra></extra>"))
    return finish_lines(fig, title, "epoch", y_title, log_y)


def layer_keys(results: Sequence[RunResult]) -> list[str]:
    """The ``grad_norm/<layer>`` keys the runs recorded, in first-seen order."""
    names: dict[str, None] = {}
    for result in results:
        for row in result.records:
            names.update({key: None for key in row if key.startswith("grad_norm/")})
    return list(names)


NO_LAYERS = "No per-layer gradient norms recorded yet."
LAYERS_TITLE = "Gradient norm per layer"


def layer_panels(keys: Sequence[str]) -> go.Figure:
    """An empty row of one panel per ``grad_norm/<layer>`` key, sharing the y axis (the layers' layout)."""
    return make_subplots(rows=1, cols=len(keys), shared_yaxes=True, horizontal_spacing=0.03)


def finish_layers(fig: go.Figure, keys: Sequence[str]) -> go.Figure:
    """The look of a ``layer_panels`` figure: the layer under each panel, a shared log scale with readable ticks.

    Each panel's x title is two short lines, the layer and ``step``: on a phone a panel is some 80 px wide, and one
    line (``hidden1 · step``) runs into its neighbour's."""
    finish(fig, f"{LAYERS_TITLE} (shared scale)", height=380)
    fig.update_layout(margin_b=80)
    for index, key in enumerate(keys):
        fig.update_xaxes(title_text=f"{key.removeprefix('grad_norm/')}<br>step", title_font_size=12,
                         row=1, col=index + 1)
    fig.update_yaxes(type="log")
    _tidy_log_y(fig)
    fig.update_yaxes(title_text="||g_layer||", row=1, col=1)
    fig.update_layout(template=TEMPLATE)
    return fig


def layers_figure(results: Sequence[RunResult]) -> go.Figure:
    """Per-layer gradient norms ``grad_norm/<layer>`` against the step: one panel per layer (log scale), one line per
    run in its optimizer's colour; a note instead when no run recorded any."""
    keys = layer_keys(results)
    if not keys:
        return note_figure(NO_LAYERS, LAYERS_TITLE)
    fig = layer_panels(keys)
    for result, (colour, dash) in zip(results, run_styles(results), strict=True):
        label = run_label(result)
        for index, key in enumerate(keys):
            fig.add_trace(go.Scatter(x=column(result, "step"), y=column(result, key), mode="lines", name=label,
                                     line={"color": colour, "width": 1.5, "dash": dash}, legendgroup=label,
                                     showlegend=index == 0,
                                     hovertemplate=f"{label}<br>step %{{x}}<br>{key} %{{y:.4g}}<extra></extra>"),
                          row=1, col=index + 1)
    return finish_layers(fig, keys)
