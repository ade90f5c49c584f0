"""The Playground's main figure: every run's path over a 2-D loss surface, in 2-D contours or as a 3-D surface, with
animation frames that grow the paths step by step in the browser.

A pure function from ``engine.runs.RunResult`` lists to ``plotly.graph_objects.Figure``; each path wears its
optimizer's colour (``engine.figures.runs.run_styles``). The figure opens at ``step`` (every path drawn up to it, a
marker on each run's point there); a play/pause pair (``updatemenus``) and a slider (``sliders``) play and scrub
Plotly frames, each frame every path up to one step (https://plotly.com/python/animations/), so neither needs the
server. Frames sample the steps evenly, at most ``MAX_FRAMES`` of them and fewer for long runs, so that the paths the
frames repeat stay under ``FRAME_POINTS`` points in all; the step that the figure opens at is always a frame.
"""

# ruff: noqa: RUF001  (figure text uses the minus sign)

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from numpy.typing import NDArray

from engine.figures.runs import column, run_label, run_styles
from engine.figures.style import finish
from engine.runs import RunResult
from engine.tasks.surfaces import Domain, Surface, grid

LOG_CONTOUR_SPAN = 100.0
"""Contours switch to log10(1 + f - f_min) when f spans more than this over the plotted domain."""

MAX_FRAMES = 120
"""The most animation frames: enough for a smooth play, few enough to keep the figure small."""

MIN_FRAMES = 24
"""The fewest animation frames a run long enough for them gets, whatever ``FRAME_POINTS`` says."""

FRAME_POINTS = 50_000
"""About how many path points all frames together repeat (each frame holds every path up to its step)."""

FRAME_MS = 100
"""The default time each frame shows while playing, in milliseconds (10 frames a second)."""

_CONTROLS_Y = -0.13  # the play/pause pair and the slider, below the x axis (in fractions of the plot's height)
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


def _upto(result: RunResult, step: int) -> int:
    """How many of the run's records are at or before ``step`` (at least one, when it has any)."""
    return max(1, sum(1 for row in result.records if row["step"] <= step)) if result.records else 0


def frame_steps(last_step: int, runs: int, step: int | None = None) -> list[int]:
    """The steps the animation's frames show: evenly spaced from 1 to ``last_step``, ``MAX_FRAMES`` at most and fewer
    when ``runs`` paths that long would repeat more than ``FRAME_POINTS`` points (a frame at step s repeats about s
    points a run, so F frames about F * last_step / 2), never fewer than ``MIN_FRAMES``; plus ``step`` (clamped)."""
    budget = 2 * FRAME_POINTS // max(1, runs * last_step)
    count = min(last_step, MAX_FRAMES, max(MIN_FRAMES, budget))
    steps = {round(1 + i * (last_step - 1) / (count - 1)) for i in range(count)} if count > 1 else {last_step}
    if step is not None:
        steps.add(min(max(int(step), 1), last_step))
    return sorted(steps)


def edge_point(inside: Sequence[float], outside: Sequence[float], domain: Domain) -> tuple[float, float]:
    """Where the segment from ``inside`` to ``outside`` leaves ``domain``: ``outside`` itself when it is inside, the
    segment's last point in the domain when ``inside`` is, else ``outside`` clamped into it."""
    (xmin, xmax), (ymin, ymax) = domain
    lows, highs = (xmin, ymin), (xmax, ymax)

    def within(p: Sequence[float]) -> bool:
        return all(low <= v <= high for v, low, high in zip(p, lows, highs, strict=True))

    if within(outside):
        return float(outside[0]), float(outside[1])
    if not within(inside):
        return tuple(min(max(float(v), low), high) for v, low, high in zip(outside, lows, highs, strict=True))  # type: ignore[return-value]
    t = 1.0  # the largest fraction of the segment that stays in the domain, coordinate by coordinate
    for a, b, low, high in zip(inside, outside, lows, highs, strict=True):
        if b > high:
            t = min(t, (high - a) / (b - a))
        elif b < low:
            t = min(t, (low - a) / (b - a))
    return (min(max(inside[0] + t * (outside[0] - inside[0]), xmin), xmax),
            min(max(inside[1] + t * (outside[1] - inside[1]), ymin), ymax))


def _diverged_point(surface: Surface, result: RunResult) -> dict[str, float]:
    """Where a diverged run went (its final point, or its last record when that is not finite), on the plot's edge."""
    last = result.records[-1]
    final = (result.summary.get("final_x", math.nan), result.summary.get("final_y", math.nan))
    target = final if all(map(math.isfinite, final)) else (last["x"], last["y"])
    x, y = edge_point((last["x"], last["y"]), target, surface.domain)
    loss = float(surface(torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)))
    return {"x": x, "y": y, "loss": loss if math.isfinite(loss) else last["loss"]}


def trajectory_figure(surface: Surface, results: Sequence[RunResult], *, step: int | None = None, n: int = 150,
                      surface_3d: bool = False, frame_ms: int = FRAME_MS) -> go.Figure:
    """The surface's contours (or its 3-D surface) with each run's path (x, y) up to ``step`` (default: the last
    step) and a marker on its point there, the start, the minima, and an x on the plot's edge where a run diverged;
    play/pause buttons (each frame shown ``frame_ms`` ms) and a step slider, opened at ``step``, animate the paths."""
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
    last_step = max((int(r.records[-1]["step"]) for r in results if r.records), default=1)
    shown = last_step if step is None else min(max(int(step), 1), last_step)
    animated: list[tuple[int, RunResult, str]] = []  # (index of the path trace, its run, its name)
    for result, (colour, dash) in zip(results, run_styles(results), strict=True):
        if not result.records:
            continue
        name = run_label(result)
        animated.append((len(fig.data), result, name))
        count = _upto(result, shown)
        steps = [int(row["step"]) for row in result.records]
        hover = f"{name}<br>step %{{customdata}}<br>(%{{x:.4g}}, %{{y:.4g}})<br>loss %{{text}}<extra></extra>"
        texts = [f"{v:.4g}" for v in column(result, "loss")]
        line = {"color": colour, "width": 2, "dash": dash}
        path = _path(result, count, floor, log, surface_3d)
        if surface_3d:
            fig.add_trace(go.Scatter3d(**path, mode="lines", name=name, line=line, customdata=steps, text=texts,
                                       hovertemplate=hover, legendgroup=name))
        else:
            fig.add_trace(go.Scatter(**path, mode="lines+markers", name=name, line=line,
                                     marker={"color": colour, "size": 3}, customdata=steps, text=texts,
                                     hovertemplate=hover, legendgroup=name))
        current = _current(result, count, floor, log, surface_3d)
        _marker(fig, surface_3d, current, name=f"{name} at step {current['customdata'][0]}", colour=colour,
                symbol="circle", size=12, group=name, legend=False,
                hover=f"{name}<br>step %{{customdata}}<br>(%{{x:.4g}}, %{{y:.4g}})<br>loss %{{text}}")
        if result.status == "diverged":
            edge = _diverged_point(surface, result)
            where = f"({result.summary.get('final_x', math.nan):.4g}, {result.summary.get('final_y', math.nan):.4g})"
            _marker(fig, surface_3d, _point(edge, floor, log, surface_3d), name=f"{name}: diverged", colour=colour,
                    symbol="x", size=14, group=name,
                    hover=f"{name}<br>diverged at step {result.diverged_at}: {result.reason or 'diverged'}<br>"
                          f"it went to {where}; the x marks where its path leaves the plot")
    start = _start(surface, results)
    start_loss = float(surface(*(torch.tensor(v, dtype=torch.float64) for v in start)))
    start_row = {"x": start[0], "y": start[1], "loss": start_loss}
    _marker(fig, surface_3d, _point(start_row, floor, log, surface_3d), name="start", colour="#FFFFFF",
            symbol="square", size=11, hover=f"start ({start[0]:.4g}, {start[1]:.4g})")
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
    finish(fig, f"{surface.name}: trajectories", height=620)
    fig.update_layout(margin={"b": 140})
    if surface_3d:
        fig.update_layout(scene={"xaxis": {"title": {"text": "x"}, "range": [xmin, xmax]},
                                 "yaxis": {"title": {"text": "y"}, "range": [ymin, ymax]},
                                 "zaxis": {"title": {"text": scale_title}}},
                          margin={"l": 10, "r": 10})
    else:
        fig.update_xaxes(title_text="x", range=[xmin, xmax], showgrid=False, zeroline=False)
        fig.update_yaxes(title_text="y", range=[ymin, ymax], showgrid=False, zeroline=False)
    _animate(fig, animated, frame_steps(last_step, len(animated), step), shown, floor, log, surface_3d, frame_ms)
    return fig


def _path(result: RunResult, count: int, floor: float, log: bool, surface_3d: bool) -> dict[str, list[float]]:
    """The run's first ``count`` points as trace coordinates (x, y, and the lifted loss in 3-D)."""
    rows = result.records[:count]
    path = {"x": [row["x"] for row in rows], "y": [row["y"] for row in rows]}
    if surface_3d:
        path["z"] = _lift([row["loss"] for row in rows], floor, log)
    return path


def _current(result: RunResult, count: int, floor: float, log: bool, surface_3d: bool) -> dict[str, list[Any]]:
    """The marker on the run's ``count``-th point: its coordinates, step (``customdata``) and loss (``text``)."""
    row = result.records[count - 1]
    return _point(row, floor, log, surface_3d) | {"customdata": [int(row["step"])], "text": [f"{row['loss']:.4g}"]}


def _point(row: dict[str, float], floor: float, log: bool, surface_3d: bool) -> dict[str, list[Any]]:
    """One point as trace coordinates."""
    point: dict[str, list[Any]] = {"x": [row["x"]], "y": [row["y"]]}
    if surface_3d:
        point["z"] = _lift([row["loss"]], floor, log)
    return point


def _animate(fig: go.Figure, animated: Sequence[tuple[int, RunResult, str]], steps: Sequence[int], shown: int,
             floor: float, log: bool, surface_3d: bool, frame_ms: int) -> None:
    """Frames (one per step of ``steps``, named by it) that set every path and marker, a play/pause pair and a slider
    opened at ``shown``. Every frame redraws the figure: a 3-D scene must, and a 2-D frame that moves only the
    traces it names loses the contour (plotly.js 3 drops it from the plot when it skips the redraw). The frames'
    paths are float32 arrays (sent as binary, half the bytes; 1e-7 relative, far below a pixel), the figure's own
    float64 records."""
    indices = [index for index, _, _ in animated] + [index + 1 for index, _, _ in animated]
    trace = go.Scatter3d if surface_3d else go.Scatter  # frames name the type: Plotly checks them as scatter else
    frames = []
    for frame_step in steps:
        paths, markers = [], []
        for _, result, name in animated:
            count = _upto(result, frame_step)
            path = _path(result, count, floor, log, surface_3d)
            paths.append(trace({axis: np.asarray(values, dtype=np.float32) for axis, values in path.items()}))
            current = _current(result, count, floor, log, surface_3d)
            markers.append(trace(current, name=f"{name} at step {current['customdata'][0]}"))
        frames.append(go.Frame(name=str(frame_step), data=paths + markers, traces=indices))
    fig.frames = frames
    still = {"duration": 0, "redraw": True}
    play = {"frame": {"duration": frame_ms, "redraw": True}, "fromcurrent": True, "mode": "immediate",
            "transition": {"duration": 0}}
    fig.update_layout(
        updatemenus=[{"type": "buttons", "direction": "left", "showactive": False, "x": 0.0, "xanchor": "left",
                      "y": _CONTROLS_Y, "yanchor": "top", "pad": {"t": 0, "l": 0},
                      "buttons": [{"label": "▶ play", "method": "animate", "args": [None, play]},
                                  {"label": "❚❚ pause", "method": "animate",
                                   "args": [[None], {"frame": still, "mode": "immediate",
                                                     "transition": {"duration": 0}}]}]}],
        sliders=[{"active": steps.index(shown), "x": 0.0, "len": 1.0, "xanchor": "left", "y": _CONTROLS_Y,
                  "yanchor": "top", "pad": {"t": 10, "b": 0, "l": 0, "r": 0},
                  "currentvalue": {"prefix": "step ", "xanchor": "right", "font": {"size": 13, "color": "#333333"}},
                  "ticklen": 0, "minorticklen": 0,  # up to 121 stops: no tick labels, the current value says the step
                  "font": {"color": "rgba(0, 0, 0, 0)", "size": 1},
                  "steps": [{"label": str(s), "method": "animate",
                             "args": [[str(s)], {"frame": still, "mode": "immediate", "transition": {"duration": 0}}]}
                            for s in steps]}])


def _marker(fig: go.Figure, surface_3d: bool, point: dict[str, list[Any]], *, name: str, colour: str, symbol: str,
            size: int, hover: str, group: str | None = None, legend: bool = True) -> None:
    """One marked point of a run (or the start) on the 2-D or 3-D figure."""
    outline = {"color": "#000000", "width": 1}
    common = {"name": name, "hovertemplate": hover + "<extra></extra>", "showlegend": legend, **point}
    if group is not None:
        common["legendgroup"] = group
    if surface_3d:
        symbol3d = {"x": "x", "circle": "circle", "square": "square"}[symbol]
        fig.add_trace(go.Scatter3d(mode="markers", **common,
                                   marker={"color": colour, "symbol": symbol3d, "size": size // 2, "line": outline}))
    else:
        marker = {"color": colour, "symbol": "x-thin" if symbol == "x" else symbol, "size": size, "line": outline}
        if symbol == "x":
            marker["line"] = {"color": colour, "width": 3}
        fig.add_trace(go.Scatter(mode="markers", marker=marker, cliponaxis=False, **common))
