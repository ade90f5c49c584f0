"""The Playground's main figure: every run's path over a 2-D loss surface, in 2-D contours or as a 3-D surface.

A pure function from ``engine.runs.RunResult`` lists to ``plotly.graph_objects.Figure``; each path wears its
optimizer's colour (``engine.figures.runs.run_styles``), and ``step`` scrubs a marker along it.
"""

# ruff: noqa: RUF001  (figure text uses the minus sign)

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from numpy.typing import NDArray

from engine.figures.runs import column, run_label, run_styles
from engine.figures.style import finish
from engine.runs import RunResult
from engine.tasks.surfaces import Surface, grid

LOG_CONTOUR_SPAN = 100.0
"""Contours switch to log10(1 + f - f_min) when f spans more than this over the plotted domain."""

_CONTOUR_SCALE = [[0.0, "#FFFFFF"], [1.0, "#9A9A9A"]]  # pale, so the optimizers' colours stand out on it


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
