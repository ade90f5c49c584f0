"""A landscape: one optimizer run from every cell of a grid over two of its hyperparameters (or the start's x / y).

Cell (i, j) of a landscape over the axes x (columns) and y (rows) is the full run with x = ``x_values[j]`` and
y = ``y_values[i]``, all else fixed: the same run as ``python -m engine run TASK OPT:<x>=<x_values[j]>,<y>=
<y_values[i]> --steps S --seed K`` (``LandscapeSpec.cell`` is that run's ``RunSpec``). The R = rows x columns runs
step together on the surface as one [R, 2] computation (``engine.tasks.surface_batch.SurfaceBatch``) through the
optimizer's runs-axis maths, each axis a per-run [R] tensor, so a 256 x 256 map costs about as much as a few
hundred runs alone. ``compute_landscape`` measures each cell's final loss (None where the run diverged), the step it
diverged at, and optionally the first step k whose loss f(x_k) fell below a tolerance.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from engine.runs.device import configure_threads, resolve_device, step_work
from engine.runs.spec import OptimizerChoice, RunSpec
from engine.tasks import Surface, get_task
from engine.tasks.batch import RunsGroup
from engine.tasks.surface_batch import SurfaceBatch
from engine.tasks.surface_task import SurfaceTask
from optimizers import get
from optimizers.validation import check_choice, check_number

OWNER = "landscape"
START_AXES = ("x0", "y0")
"""Axis names that move the start point's x or y instead of a hyperparameter."""
MAX_COUNT = 256
"""The most values an axis takes (a map of at most 256 x 256 runs)."""


def surface_task(name: str, owner: str) -> SurfaceTask:
    """The task ``name``, which must be a 2-D surface (named or a formula); ``ValueError`` otherwise."""
    task = get_task(name)
    if not isinstance(task, SurfaceTask):
        raise ValueError(f"{owner}: invalid task={name!r}; expected a 2-D surface (a landscape's cells are points)")
    return task


@dataclass(frozen=True)
class Axis:
    """``count`` values of ``name`` from ``low`` to ``high``, evenly spaced, or geometrically where ``log``.

    The ends are exactly ``low`` and ``high``; the values between are rounded to numbers a person writes, to three
    significant digits of the spacing on a linear axis (0.0078, not 0.0077952755905511811 on 0 .. 0.99 over 128
    values) and of the step's relative size on a log axis (0.0031623 on 1e-5 .. 1 over 128), which moves a value by
    at most 0.5% of the spacing. The JSON, the hover and a Playground link then show the very values that ran (the
    Playground's linear sliders keep 1e-5 of their range, enough for a range of a quarter of theirs or more).
    """

    owner: ClassVar[str] = OWNER  # how messages name what the axis belongs to
    max_count: ClassVar[int] = MAX_COUNT
    name: str
    low: float
    high: float
    count: int
    log: bool = False

    def __post_init__(self) -> None:
        owner = f"{self.owner} axis {self.name!r}"
        check_number(owner, "N", self.count, low=2, high=self.max_count, integer=True)
        check_number(owner, "LO", self.low, low=0.0 if self.log else None, low_open=True)
        check_number(owner, "HI", self.high, low=self.low, low_open=True)

    @classmethod
    def parse(cls, text: str) -> Axis:
        """``"lr=1e-4:1:64:log"`` or ``"momentum=0:0.99:32"`` (``NAME=LO:HI:N[:log]``, the CLI's form)."""
        name, equals, spec = text.partition("=")
        parts = spec.split(":")
        scale = parts[3].strip() if len(parts) == 4 else "linear"
        if not equals or not name.strip() or len(parts) not in (3, 4) or scale not in ("log", "linear"):
            raise ValueError(f"{cls.owner}: invalid axis {text!r}; expected NAME=LO:HI:N[:log]")
        numbers = []
        for field_name, value in zip(("LO", "HI", "N"), parts, strict=False):
            try:
                numbers.append(float(value) if field_name != "N" else int(value))
            except ValueError:
                raise ValueError(f"{cls.owner}: invalid {field_name}={value.strip()!r} in axis {text!r}; expected a "
                                 f"{'whole ' if field_name == 'N' else ''}number") from None
        return cls(name.strip(), numbers[0], numbers[1], int(numbers[2]), scale == "log")

    def __str__(self) -> str:
        """The ``parse`` form."""
        return f"{self.name}={self.low!r}:{self.high!r}:{self.count}" + (":log" if self.log else "")

    def values(self, *, integer: bool = False) -> list[float]:
        """The axis' values, ascending; for an ``integer`` hyperparameter rounded to whole numbers, each once."""
        if self.log:
            raw = np.geomspace(self.low, self.high, self.count)
            digits = 3 - math.floor(math.log10((self.high / self.low) ** (1 / (self.count - 1)) - 1))
            inner = [float(f"{value:.{max(digits, 3)}g}") for value in raw[1:-1]]
        else:
            raw = np.linspace(self.low, self.high, self.count)
            decimals = 2 - math.floor(math.log10((self.high - self.low) / (self.count - 1)))
            inner = [round(float(value), decimals) for value in raw[1:-1]]
        values = [float(self.low), *inner, float(self.high)]
        return sorted({float(round(value)) for value in values}) if integer else values


@dataclass(frozen=True)
class LandscapeSpec:
    """A landscape to compute: ``optimizer`` (its fixed hyperparameters) on the surface ``task`` from seed ``seed``,
    ``steps`` steps a run, over the axes ``x`` and ``y``; ``noise`` the gradient noise's standard deviation,
    ``task_args`` the surface's own arguments (a quadratic's ``condition``, a formula's ``domain``) and the
    ``start``; ``device`` as a ``RunSpec``'s.

    Validated eagerly, each message naming the field and its valid range: an axis is a numeric hyperparameter of the
    optimizer or ``x0`` / ``y0`` (inside the surface's domain); the optimizer validates each range at the grid's four
    corners (its own message), and so does ``RunSpec`` the other settings.
    """

    task: str
    optimizer: OptimizerChoice
    x: Axis
    y: Axis
    steps: int = field(default=200, kw_only=True)
    seed: int = field(default=0, kw_only=True)
    noise: float = field(default=0.0, kw_only=True)
    task_args: dict[str, Any] = field(default_factory=dict, kw_only=True)
    device: str = field(default="auto", kw_only=True)

    def __post_init__(self) -> None:
        surface_task(self.task, OWNER)
        if "noise" in self.task_args:
            raise ValueError(f"{OWNER}: invalid task argument 'noise'; give it as the landscape's noise")
        check_number(OWNER, "noise", self.noise, low=0.0)
        if self.x.name == self.y.name:
            raise ValueError(f"{OWNER}: invalid y={self.y.name!r}; the two axes must differ")
        numeric = [hp.name for hp in get(self.optimizer.key).hyperparams if hp.kind != "choice"]
        (low_x, high_x), (low_y, high_y) = self.surface.domain
        for label, axis in (("x", self.x), ("y", self.y)):
            check_choice(OWNER, label, axis.name, [*numeric, *START_AXES])
            if axis.name in START_AXES:
                low, high = (low_x, high_x) if axis.name == "x0" else (low_y, high_y)
                for end in (axis.low, axis.high):
                    check_number(OWNER, axis.name, end, low=low, high=high)
        for x_end in (self.x.low, self.x.high):
            for y_end in (self.y.low, self.y.high):
                self.cell(x_end, y_end)

    @property
    def surface(self) -> Surface:
        """The surface with its arguments."""
        return surface_task(self.task, OWNER).surface(self.task_args)

    def values(self, axis: Axis) -> list[float]:
        """The values of ``axis`` (whole numbers for an integer hyperparameter)."""
        kinds = {hp.name: hp.kind for hp in get(self.optimizer.key).hyperparams}
        return axis.values(integer=kinds.get(axis.name) == "int")

    def cell(self, x_value: float, y_value: float) -> RunSpec:
        """The single run of the cell at (``x_value``, ``y_value``): what ``python -m engine run`` runs for it."""
        hyperparameters = dict(self.optimizer.hyperparameters)
        task_args = {**self.task_args, "noise": self.noise}
        start = list(self.task_args.get("start") or self.surface.start)
        for axis, value in ((self.x, x_value), (self.y, y_value)):
            if axis.name in START_AXES:
                start[START_AXES.index(axis.name)] = value
                task_args["start"] = (float(start[0]), float(start[1]))
            else:
                hyperparameters[axis.name] = value
        return RunSpec(self.task, optimizer=OptimizerChoice(self.optimizer.key, hyperparameters), seed=self.seed,
                       steps=self.steps, task_args=task_args, device=self.device)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "optimizer": {"key": self.optimizer.key,
                                                "hyperparameters": dict(self.optimizer.hyperparameters)},
                "x": str(self.x), "y": str(self.y), "steps": self.steps, "seed": self.seed, "noise": self.noise,
                "task_args": dict(self.task_args), "device": self.device}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LandscapeSpec:
        return cls(data["task"], OptimizerChoice(**data["optimizer"]), Axis.parse(data["x"]), Axis.parse(data["y"]),
                   **{name: data[name] for name in ("steps", "seed", "noise", "task_args", "device") if name in data})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LandscapeSpec:
        return cls.from_dict(json.loads(text))


Rows = list[list[Any]]
"""A map's values: one row per y value, one column per x value."""


@dataclass(frozen=True)
class Landscape:
    """A computed landscape: per cell (row i: ``y_values[i]``, column j: ``x_values[j]``) the ``final_loss`` (the
    loss at the run's last point; None where it diverged), ``diverged_at`` (the step; None where it did not) and,
    with a ``tolerance``, ``steps_to_tolerance`` (the first step k with f(x_k) < tolerance; None if none);
    ``seconds`` the computation's wall time."""

    spec: LandscapeSpec
    x_values: list[float]
    y_values: list[float]
    final_loss: Rows
    diverged_at: Rows
    seconds: float
    tolerance: float | None = None
    steps_to_tolerance: Rows | None = None

    @property
    def cells(self) -> int:
        return len(self.x_values) * len(self.y_values)

    @property
    def diverged(self) -> int:
        """How many cells diverged."""
        return sum(step is not None for row in self.diverged_at for step in row)

    def cell_spec(self, i: int, j: int) -> RunSpec:
        """The single run of cell (i, j)."""
        return self.spec.cell(self.x_values[j], self.y_values[i])

    def best(self) -> tuple[int, int] | None:
        """The (row, column) of the lowest final loss (the first of equals); None when every cell diverged."""
        finite = [(loss, i, j) for i, row in enumerate(self.final_loss) for j, loss in enumerate(row)
                  if loss is not None and math.isfinite(loss)]
        return min(finite)[1:] if finite else None

    def describe(self) -> list[str]:
        """A few lines: the grid, the time and rate (run-steps a second), how many runs finished and diverged (and
        reached the tolerance), and the best cell."""
        spec = self.spec
        lines = [f"{spec.optimizer.label} on {spec.surface.name}: {len(self.y_values)} x {len(self.x_values)} runs "
                 f"({spec.y.name} by {spec.x.name}) of {spec.steps} steps in {self.seconds:.2f} s, "
                 f"{self.cells * spec.steps / self.seconds:.3g} run-steps/s",
                 f"finished {self.cells - self.diverged:,}, diverged {self.diverged:,}"]
        if self.steps_to_tolerance is not None:
            reached = sum(step is not None for row in self.steps_to_tolerance for step in row)
            lines.append(f"below the tolerance {self.tolerance:g}: {reached:,}")
        best = self.best()
        if best is not None:
            i, j = best
            lines.append(f"best: final loss {self.final_loss[i][j]:.4g} at {spec.x.name}={self.x_values[j]!r}, "
                         f"{spec.y.name}={self.y_values[i]!r}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON: ``x_name``, ``x_values``, ``y_name``, ``y_values``, ``final_loss``, ``diverged_at``,
        ``seconds``, the ``spec``, and ``tolerance`` with ``steps_to_tolerance`` when one was given."""
        data = {"x_name": self.spec.x.name, "x_values": self.x_values, "y_name": self.spec.y.name,
                "y_values": self.y_values, "final_loss": self.final_loss, "diverged_at": self.diverged_at,
                "seconds": self.seconds, "spec": self.spec.to_dict()}
        if self.tolerance is not None:
            data |= {"tolerance": self.tolerance, "steps_to_tolerance": self.steps_to_tolerance}
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def check_tolerance(tolerance: float | None) -> float | None:
    """``tolerance`` if it is None or a number > 0; ``ValueError`` otherwise."""
    return None if tolerance is None else check_number(OWNER, "tolerance", tolerance, low=0.0, low_open=True)


class LandscapeStopped(Exception):
    """A landscape's computation was asked to stop before its last step (``compute_landscape``'s ``should_stop``):
    a map cut short is never returned as if it were whole."""


def compute_landscape(spec: LandscapeSpec, *, tolerance: float | None = None,
                      should_stop: Callable[[], bool] | None = None) -> Landscape:
    """Run every cell of ``spec`` as one batch and measure it (``Landscape``); ``tolerance`` (> 0) also counts the
    steps until the loss first falls below it. ``should_stop()``, asked before every step, ends the computation
    with ``LandscapeStopped`` (a page's session that ended: a 256 x 256 map of 2,000 steps takes seconds).

    Run r = i * columns + j is cell (i, j): the x axis' values repeat along a row, the y axis' stay for a row. An
    axis over a hyperparameter becomes that hyperparameter's [R] tensor, one over ``x0`` / ``y0`` a column of the
    starts; the other hyperparameters stay one value for all runs.
    """
    tolerance = check_tolerance(tolerance)
    started = time.perf_counter()
    task = get_task(spec.task)
    device = resolve_device(spec.device, gpu_by_default=task.gpu_by_default)
    x_values, y_values = spec.values(spec.x), spec.values(spec.y)
    columns, rows = len(x_values), len(y_values)
    runs = columns * rows
    configure_threads(work=step_work(spec.cell(x_values[0], y_values[0]), runs))
    grid = {spec.x.name: torch.tensor(x_values, dtype=torch.float64, device=device).repeat(rows),
            spec.y.name: torch.tensor(y_values, dtype=torch.float64, device=device).repeat_interleave(columns)}
    surface = spec.surface
    start = spec.task_args.get("start") or surface.start
    starts = torch.tensor(start, dtype=torch.float64, device=device).repeat(runs, 1)
    hyper: dict[str, Any] = dict(spec.optimizer.hyperparameters)
    for name, values in grid.items():
        if name in START_AXES:
            starts[:, START_AXES.index(name)] = values
        else:
            hyper[name] = values
    batch = SurfaceBatch(surface, starts, [RunsGroup(spec.optimizer.key, hyper, 0, runs)], [spec.seed] * runs,
                         noise=spec.noise)
    reached = torch.zeros(runs, dtype=torch.long, device=device)  # the step f(x_k) first fell below; 0: not yet

    def observe(step: int, loss: torch.Tensor, active: torch.Tensor) -> None:
        reached.masked_fill_((loss < tolerance) & active & (reached == 0), step)

    fate = batch.run(spec.steps, observe=None if tolerance is None else observe, should_stop=should_stop)
    if "cancelled" in fate.status:
        raise LandscapeStopped(f"{OWNER}: stopped before its {spec.steps} steps ended")
    final = surface.at(batch.point.detach()).tolist()
    seconds = time.perf_counter() - started

    def as_rows(flat: list[Any]) -> Rows:
        return [flat[i * columns:(i + 1) * columns] for i in range(rows)]

    final_loss = [None if status == "diverged" else loss for status, loss in zip(fate.status, final, strict=True)]
    steps = None if tolerance is None else as_rows([step or None for step in reached.tolist()])
    return Landscape(spec, x_values, y_values, as_rows(final_loss), as_rows(fate.diverged_at), seconds, tolerance,
                     steps)
