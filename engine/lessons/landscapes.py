"""The ``landscape`` step kind: one optimizer run from every cell of a grid over two hyperparameters (the Landscape
page's map), with the theory's edge of stability on a quadratic (``engine.lessons.surfaces`` holds the surface
configuration and the sentences it shares with the ``surface`` kind)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import Any, ClassVar

import plotly.graph_objects as go

from engine.figures import HIGHLIGHT, LANDSCAPE_CAPTIONS, landscape_figure
from engine.lessons.base import (
    CONVERGES,
    DIVERGES,
    Arguments,
    Config,
    Figures,
    Kind,
    Link,
    Outcome,
    number,
    only,
    whole,
)
from engine.lessons.surfaces import (
    QUADRATIC_ARGS,
    converged,
    margin_sentence,
    run_sentence,
    start_config,
    surface_args,
    surface_config,
    surface_controls,
)
from engine.runs import Axis, Landscape, LandscapeSpec, OptimizerChoice, RunResult, RunSpec, compute_landscape
from engine.runs import run as run_one
from optimizers import HyperParam


@lru_cache(maxsize=16)
def _landscape(key: str) -> Landscape:
    """The landscape ``key`` (a ``LandscapeSpec``'s JSON), computed once per process."""
    return compute_landscape(LandscapeSpec.from_json(key))


@lru_cache(maxsize=64)
def _cell(key: str) -> RunResult:
    """The single run ``key`` (a ``RunSpec``'s JSON): the question's cell of a landscape."""
    return run_one(RunSpec.from_json(key))


class LandscapeKind(Kind):
    """One optimizer run from every cell of a grid over two hyperparameters: the Landscape's map, with the theory's
    boundary on a quadratic. Configuration: the surface (as ``surface``'s), ``optimizer``, the axes ``x`` and ``y``
    (``lr=0.01:1:48:log``, the CLI's form), ``steps`` and ``point`` [x, y], the cell the question asks about.
    Measure: ``status`` (``converges`` / ``diverges``) of the run at ``point``."""

    name = "landscape"
    measures: ClassVar[dict[str, bool]] = {"status": False}
    _FIELDS = ("surface", *QUADRATIC_ARGS, "x0", "y0", "optimizer", "x", "y", "steps", "point")

    def check(self, data: Mapping[str, Any]) -> Config:
        only(data, self._FIELDS)
        config: Config = {}
        surface = surface_config(data, config)
        start_config(data, surface, config)
        config["optimizer"] = str(OptimizerChoice.parse(str(data.get("optimizer", "momentum"))))
        for axis in ("x", "y"):
            config[axis] = str(Axis.parse(str(data.get(axis, ""))))
        config["steps"] = whole(data, "steps", 200, 10, 2000)
        point = data.get("point")
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ValueError(f"invalid point={point!r}; expected [x, y], the cell the question asks about")
        spec = self.spec(config)
        config["point"] = [number({"point x": point[0]}, "point x", low=spec.x.low, high=spec.x.high),
                           number({"point y": point[1]}, "point y", low=spec.y.low, high=spec.y.high)]
        return config

    def spec(self, config: Config) -> LandscapeSpec:
        return LandscapeSpec(config["surface"], OptimizerChoice.parse(config["optimizer"]), Axis.parse(config["x"]),
                             Axis.parse(config["y"]), steps=config["steps"],
                             task_args={**surface_args(config), "start": (config["x0"], config["y0"])})

    def controls(self, config: Config) -> list[HyperParam]:
        return surface_controls(config)

    def cell(self, config: Config) -> RunResult:
        return _cell(self.spec(config).cell(*config["point"]).to_json())

    def figures(self, config: Config, measure: str, arguments: Arguments, revealed: bool) -> Figures:
        spec = self.spec(config)
        landscape = _landscape(spec.to_json())
        if revealed:
            figure, caption = landscape_figure(landscape), LANDSCAPE_CAPTIONS["landscape"]
        else:  # the axes and the question's point, every cell still blank, no boundary: nothing gives it away
            blank = [[None] * len(landscape.x_values) for _ in landscape.y_values]
            figure = landscape_figure(replace(landscape, final_loss=blank, diverged_at=blank))
            figure.data = [trace for trace in figure.data if trace.legendgroup != "theory" and trace.name != "diverged"]
            figure.update_layout(plot_bgcolor="#EEEEEE", showlegend=False)  # grey: not run yet
            caption = "Every cell will be a whole run with the values on the axes; the star is the question's run. " \
                      "Commit to a prediction to fill the map and draw theory's edge of stability on it."
        x, y = config["point"]
        figure.add_trace(go.Scatter(x=[x], y=[y], mode="markers", name="the question's run",
                                    marker={"symbol": "star", "size": 18, "color": HIGHLIGHT,
                                            "line": {"color": "#000000", "width": 1}},
                                    hovertemplate=f"{spec.x.name} = {x:g}<br>{spec.y.name} = {y:g}<extra></extra>"))
        return [(figure, caption)]

    def outcome(self, config: Config, measure: str, arguments: Arguments) -> Outcome:
        result = self.cell(config)
        surface = self.spec(config).surface
        return Outcome(CONVERGES if converged(result) else DIVERGES,
                       margin_sentence(result.spec.optimizer, surface), run_sentence(result) + ".")

    def link(self, config: Config) -> Link:
        query = {"surface": config["surface"], **{arg: f"{config[arg]:g}" for arg in QUADRATIC_ARGS if arg in config},
                 "x0": f"{config['x0']:g}", "y0": f"{config['y0']:g}", "noise": "0", "steps": str(config["steps"]),
                 "opt1": config["optimizer"], "metric": "final_loss"}
        for name, axis in (("x", Axis.parse(config["x"])), ("y", Axis.parse(config["y"]))):
            query |= {f"{name}name": axis.name, f"{name}lo": f"{axis.low:g}", f"{name}hi": f"{axis.high:g}",
                      f"{name}scale": "log" if axis.log else "linear", f"{name}n": str(axis.count)}
        return Link("pages/landscape.py", "Landscape", query)
