"""The Landscape figure: a map of runs over two axes, with the stability boundary that theory predicts drawn on it.

A pure function from ``engine.runs.Landscape`` to ``plotly.graph_objects.Figure``: a heatmap of each cell's final
loss (log colour scale) or of the steps until the loss first fell below a tolerance, diverged cells in their own
colour, and an invisible marker per cell that carries the hover (both axis values and the cell's value, or the step
it diverged at) and the cell's (row, column) as ``customdata``, so that a click on a cell names its run.

Theory on the measurement: where the surface is a convex quadratic, the figure draws level 1 of the optimizer's
stability margin (``engine.theory.stability_margin``: < 1 stable) over the axes' ranges, where it crosses them.
"""

# ruff: noqa: RUF001  (figure text uses Greek symbols)

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
import torch
from numpy.typing import NDArray

from engine.figures.colours import NEUTRAL
from engine.figures.style import finish
from engine.figures.theory import UNSTABLE
from engine.runs import START_AXES, Landscape, LandscapeSpec
from engine.theory import largest_curvature, stability_margin
from optimizers import get

Array = NDArray[np.float64]
METRICS = {"final_loss": "final loss", "steps": "steps to tolerance"}
"""What the map's colour shows, by name."""
BOUNDARY, HALO = "#FFFFFF", "#222222"  # the theory's boundary: white dashes on a dark outline
DECADE_STEPS = (1, 2, 5, 10, 20, 50, 100)  # decades between the colour bar's ticks, the first giving at most 8 ticks
THEORY_GRID = 121  # points per axis at which the margin is evaluated for the boundary's contour
FIGURE_HEIGHT, TITLE_TOP_PX = 560, 36  # the title's top this far down: below the tool bar
SVG_CELLS = 4096  # above this many cells the hover markers are drawn with WebGL

CAPTIONS: dict[str, str] = {
    "landscape": "Each cell is a full run with the two values on the axes and all else fixed, coloured by its final "
    "loss on a log scale (darker is lower) or by the step its loss first fell below the tolerance; red cells "
    "diverged, at the step the hover gives. Click a cell to open that run in the Playground.",
}
"""The sentences a page shows beside the figure."""


def _margins(spec: LandscapeSpec, xs: Array, ys: Array, h: float) -> Array | None:
    """The stability margin at every (x, y) of ``xs`` x ``ys`` (rows follow y), or None where no bound applies."""
    hyper: dict[str, Any] = dict(spec.optimizer.hyperparameters)
    for name, values in ((spec.x.name, xs[None, :]), (spec.y.name, ys[:, None])):
        if name not in START_AXES:
            hyper[name] = values
    margin = stability_margin(spec.optimizer.key, hyper, h)
    return None if margin is None else np.broadcast_to(margin, (len(ys), len(xs)))


def theory_margin(landscape: Landscape, points: int = THEORY_GRID) -> tuple[Array, Array, Array] | None:
    """(xs, ys, margin[ys, xs]) over the landscape's axes' ranges on ``points`` x ``points`` points (geometric on a
    log axis), or None when its surface is not a convex quadratic or no bound applies to its optimizer."""
    spec = landscape.spec
    h = largest_curvature(spec.surface)
    xs, ys = ((np.geomspace if axis.log else np.linspace)(axis.low, axis.high, points) for axis in (spec.x, spec.y))
    margin = None if h is None else _margins(spec, xs, ys, h)
    return None if margin is None else (xs, ys, margin)


def _log_colour(values: Array) -> tuple[Array, dict[str, Any], str]:
    """``values`` as the heatmap colours them: log10 (exact zeros at the smallest positive value) with decade ticks,
    or as they are when some are negative (a surface unbounded below); the colour bar's settings and its title."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() < 0:
        return values, {}, "final loss"
    floor = finite[finite > 0].min() if np.any(finite > 0) else 1e-300
    z = np.log10(np.maximum(values, floor))
    low, high = (math.floor(np.nanmin(z)), math.ceil(np.nanmax(z))) if finite.size else (0, 1)
    step = next((step for step in DECADE_STEPS if (high - low) / step <= 8), DECADE_STEPS[-1])
    ticks = list(range(step * math.ceil(low / step), high + 1, step))
    return z, {"tickvals": ticks, "ticktext": [f"1e{tick}" for tick in ticks]}, "final loss (log)"


def _rows(rows: list[list[Any]]) -> Array:
    return np.array([[np.nan if value is None else value for value in row] for row in rows], dtype=np.float64)


def _category(mask: Array, x: list[float], y: list[float], name: str, colour: str) -> go.Heatmap:
    """Cells where ``mask`` holds, in one flat colour, with a legend entry."""
    return go.Heatmap(x=x, y=y, z=np.where(mask, 1.0, np.nan), colorscale=[[0, colour], [1, colour]], showscale=False,
                      name=name, showlegend=True, hoverinfo="skip", xgap=0, ygap=0)


def _markers(landscape: Landscape, mask: Array, values: Array, hover: str) -> go.Scatter | go.Scattergl:
    """Invisible markers on the cells where ``mask`` holds: the hover and the click, ``customdata`` (row, column,
    value)."""
    rows, columns = np.nonzero(mask)
    x, y = np.asarray(landscape.x_values)[columns], np.asarray(landscape.y_values)[rows]
    kind = go.Scattergl if landscape.cells > SVG_CELLS else go.Scatter
    spec = landscape.spec
    template = f"{spec.x.name} = %{{x:.4~g}}<br>{spec.y.name} = %{{y:.4~g}}<br>{hover}<extra></extra>"
    return kind(x=x, y=y, mode="markers", marker={"size": 6, "color": "rgba(0, 0, 0, 0)"}, showlegend=False,
                customdata=np.column_stack([rows, columns, values[rows, columns]]), hovertemplate=template,
                name="cells")


def _add_boundary(fig: go.Figure, xs: Array, ys: Array, margin: Array) -> None:
    """The level margin = 1 as a white dashed line on a dark halo (legible on every colour of the map), and its
    legend entry (a contour's own shows no line)."""
    for colour, width, dash in ((HALO, 5, "solid"), (BOUNDARY, 2.5, "dash")):
        fig.add_trace(go.Contour(x=xs, y=ys, z=margin, contours={"start": 1, "end": 1, "size": 1, "coloring": "lines"},
                                 line={"color": colour, "width": width, "dash": dash}, showscale=False,
                                 colorscale=[[0, colour], [1, colour]], hoverinfo="skip", showlegend=False,
                                 legendgroup="theory"))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="theory: stability boundary", legendgroup="theory",
                             line={"color": HALO, "width": 2.5, "dash": "dash"}))


def landscape_figure(landscape: Landscape, *, metric: str = "final_loss") -> go.Figure:
    """The map of ``landscape`` coloured by ``metric`` (``METRICS``), with the theory's boundary where it applies."""
    if metric not in METRICS or (metric == "steps" and landscape.steps_to_tolerance is None):
        raise ValueError(f"landscape_figure: invalid metric={metric!r}; allowed values: 'final_loss', and 'steps' "
                         f"for a landscape computed with a tolerance")
    spec = landscape.spec
    x, y = landscape.x_values, landscape.y_values
    loss, diverged = _rows(landscape.final_loss), ~np.isnan(_rows(landscape.diverged_at))
    fig = go.Figure()
    if metric == "final_loss":
        z, ticks, title = _log_colour(loss)
        valued, values, hover = ~diverged, loss, "final loss = %{customdata[2]:.4~g}"
    else:
        steps = _rows(landscape.steps_to_tolerance)  # type: ignore[arg-type]
        z, ticks, title = steps, {}, f"steps to loss < {landscape.tolerance:g}"
        valued, values, hover = ~np.isnan(steps), steps, f"loss < {landscape.tolerance:g} at step %{{customdata[2]}}"
        never = ~valued & ~diverged
        fig.add_trace(_category(never, x, y, f"never below {landscape.tolerance:g}", NEUTRAL))
        fig.add_trace(_markers(landscape, never, loss, f"never below {landscape.tolerance:g}; final loss = "
                                                       "%{customdata[2]:.4~g}"))
    fig.add_trace(go.Heatmap(x=x, y=y, z=np.where(valued, z, np.nan), colorscale="Viridis", hoverinfo="skip",
                             name=METRICS[metric], colorbar={"title": {"text": title, "side": "right"}, **ticks}))
    fig.add_trace(_category(diverged, x, y, "diverged", UNSTABLE))
    fig.add_trace(_markers(landscape, valued, values, hover))
    fig.add_trace(_markers(landscape, diverged, _rows(landscape.diverged_at), "diverged at step %{customdata[2]}"))
    theory = theory_margin(landscape)
    if theory is not None and np.nanmin(theory[2]) < 1 < np.nanmax(theory[2]):
        _add_boundary(fig, *theory)
    for axis, update in ((spec.x, fig.update_xaxes), (spec.y, fig.update_yaxes)):
        label = {"x0": "start x0", "y0": "start y0"}.get(axis.name, axis.name)
        update(title_text=label + (" (log scale)" if axis.log else ""), type="log" if axis.log else "linear",
               showgrid=False, zeroline=False, exponentformat="power")
    fig.update_layout(plot_bgcolor="#FFFFFF")
    # A short title, below the height of Plotly's tool bar, which a phone shows over the title's line.
    finish(fig, f"{get(spec.optimizer.key).name}: {METRICS[metric]}", height=FIGURE_HEIGHT)
    return fig.update_layout(title_y=1 - TITLE_TOP_PX / FIGURE_HEIGHT)


def landscape_theory_caption(landscape: Landscape) -> str | None:
    """Two sentences on where the measured map and the theory's boundary agree, and why they may differ; None when
    no boundary applies. A run counts as measured stable when it did not diverge and ended below its start's loss."""
    spec = landscape.spec
    h = largest_curvature(spec.surface)
    x, y = np.asarray(landscape.x_values), np.asarray(landscape.y_values)
    margin = None if h is None else _margins(spec, x, y, h)
    if margin is None:
        return None
    starts = np.empty((len(y), len(x), 2))
    starts[...] = spec.task_args.get("start") or spec.surface.start
    for name, values in ((spec.x.name, x[None, :]), (spec.y.name, y[:, None])):
        if name in START_AXES:
            starts[..., START_AXES.index(name)] = values
    with torch.no_grad():
        start_loss = spec.surface.at(torch.from_numpy(starts)).numpy()
    predicted, measured = margin < 1, _rows(landscape.final_loss) < start_loss
    noise = f", and gradient noise (σ = {spec.noise:g}) pushes runs near it either way" if spec.noise else ""
    return (f"The dashed line is theory's edge of stability on this quadratic (largest curvature h = {h:.4g}), "
            f"inside which it puts {int(predicted.sum()):,} of the {landscape.cells:,} cells, and "
            f"{np.mean(predicted == measured):.0%} of the cells agree with it (a stable run ends below its starting "
            f"loss). Near the line they can differ: just past it a run grows too slowly to show it in {spec.steps} "
            f"steps, and just inside it converges too slowly to get below its start{noise}.")
