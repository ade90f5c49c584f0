"""Sensitivity: one hyperparameter over a range, for several optimizers, on a network trained in epochs.

A ``SensitivitySpec`` sweeps one numeric hyperparameter (a ``Param`` axis, ``NAME=LO:HI:N[:log]``, the landscape's
``Axis``) of every chosen optimizer over the same N grid values, each from the same seeds (same initial weights, split
and batches), with the optimizers' other hyperparameters fixed. ``comparison()`` turns it into one ``ComparisonSpec``
of O x N optimizer choices (optimizer-major: choice ``i * N + j`` is optimizer i at value j) over the seeds, which the
runner trains as one batch. Grid values, for k = 0 .. N-1 (rounded as ``Axis.values`` says):

    log:    v_k = LO * (HI / LO) ** (k / (N - 1))        linear:  v_k = LO + (HI - LO) * k / (N - 1)

whole numbers for an integer hyperparameter. Per run, what the curve measures (``run_metrics``), from its epoch rows:

    best validation loss  L* = min_e val_loss_e          test accuracy at the best validation epoch  acc_test[e*]

(``engine.tasks.telemetry.seed_summary``'s clean metric; a run in progress gives its values so far, so curves fill in
live). ``sensitivity_table`` gives per optimizer and value their mean and Student-t 95% interval over the seeds
(``mean_ci``); diverged runs are counted, never averaged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.runs.landscape import Axis
from engine.runs.result import RunResult
from engine.runs.spec import ComparisonSpec, OptimizerChoice, RunSettings
from engine.runs.stats import MeanCI, mean_ci
from engine.runs.text_table import text_table
from engine.tasks.task import finite_best
from engine.tasks.telemetry import seed_summary
from optimizers import get
from optimizers.registry import HyperValue

MIN_POINTS, MAX_POINTS = 2, 64
METRICS = (("best_val_loss", "best validation loss"),
           ("test_accuracy_at_best_val", "test accuracy at the best validation epoch"))
"""What a sensitivity curve shows, per run: (key, heading)."""
_OWNER = "sensitivity"


class Param(Axis):
    """The swept axis: ``engine.runs.landscape.Axis`` (``NAME=LO:HI:N[:log]``, its values and their rounding), of
    2 to ``MAX_POINTS`` values; its messages name the sensitivity's axis."""

    owner = _OWNER
    max_count = MAX_POINTS


def numeric_names(key: str) -> list[str]:
    """The numeric (float or integer) hyperparameters of optimizer ``key``, in registry order."""
    return [hp.name for hp in get(key).hyperparams if hp.kind != "choice"]


def common_params(keys: Sequence[str]) -> list[str]:
    """The numeric hyperparameters every optimizer of ``keys`` has, in the first one's registry order."""
    if not keys:
        return []
    shared = set.intersection(*(set(numeric_names(key)) for key in keys))
    return [name for name in numeric_names(keys[0]) if name in shared]


@dataclass(frozen=True)
class SensitivitySpec(RunSettings):
    """Optimizers x the ``param`` grid x ``seeds``, with shared ``RunSettings``; validated eagerly at construction
    (the field, the bad value and its valid range). ``optimizers`` keep their fixed hyperparameters, the swept one
    reset to its registry default (the grid replaces it)."""

    optimizers: tuple[OptimizerChoice, ...]
    param: Param
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.task_info.length != "epochs":
            raise ValueError(f"{_OWNER}: invalid task={self.task!r}; expected a network trained in epochs with a "
                             "validation split, such as 'mnist1d'")
        if not self.optimizers:
            raise ValueError(f"{_OWNER}: invalid optimizers=(); expected at least one optimizer")
        name = self.param.name
        for choice in self.optimizers:
            if name not in numeric_names(choice.key):
                raise ValueError(f"{_OWNER}: invalid param={name!r}; not a numeric hyperparameter of "
                                 f"{get(choice.key).name} (its numeric hyperparameters: "
                                 f"{', '.join(numeric_names(choice.key)) or 'none'})")
        bases = tuple(OptimizerChoice(c.key, {**c.hyperparameters, name: get(c.key).defaults()[name]})
                      for c in self.optimizers)
        labels = [str(base) for base in bases]
        if len(set(labels)) < len(labels):
            raise ValueError(f"{_OWNER}: invalid optimizers={labels}; each must differ in more than {name}")
        object.__setattr__(self, "optimizers", bases)
        for base in bases:  # the range's ends first, so that a bad range is named by the end outside it
            for end in (self.param.low, self.param.high):
                OptimizerChoice(base.key, {**base.hyperparameters, name: end})
        self.comparison()  # every grid choice through its optimizer's own checks; seeds checked as a comparison's

    @cached_property
    def values(self) -> tuple[float, ...]:
        """The grid values (whole numbers when the swept hyperparameter is an integer of any optimizer)."""
        integer = any(hp.name == self.param.name and hp.kind == "int"
                      for choice in self.optimizers for hp in get(choice.key).hyperparams)
        return tuple(self.param.values(integer=integer))

    def choice(self, optimizer: int, value: int) -> OptimizerChoice:
        """Optimizer ``optimizers[optimizer]`` at grid value ``values[value]``."""
        base = self.optimizers[optimizer]
        return OptimizerChoice(base.key, {**base.hyperparameters, self.param.name: self.values[value]})

    def points(self) -> list[tuple[int, int]]:
        """Every (optimizer, value) of the grid, optimizer-major (the order of ``comparison()``'s optimizers)."""
        return [(i, j) for i in range(len(self.optimizers)) for j in range(len(self.values))]

    def comparison(self, points: Sequence[tuple[int, int]] | None = None) -> ComparisonSpec:
        """The grid (or the given ``points`` of it) over the seeds as one comparison, trained as one batch."""
        chosen = self.points() if points is None else points
        return ComparisonSpec(optimizers=tuple(self.choice(i, j) for i, j in chosen), seeds=self.seeds,
                              **self.settings_dict())

    def locate(self, choice: OptimizerChoice) -> tuple[int, int] | None:
        """The (optimizer, value) of a grid choice, None for a choice off the grid."""
        return self._grid.get(str(choice))

    @cached_property
    def _grid(self) -> dict[str, tuple[int, int]]:
        return {str(self.choice(i, j)): (i, j) for i, j in self.points()}

    @classmethod
    def from_comparison(cls, spec: ComparisonSpec) -> SensitivitySpec:
        """The sensitivity grid that ``spec`` is (``comparison()`` inverted); ``ValueError`` when it is none."""
        keys = list(dict.fromkeys(choice.key for choice in spec.optimizers))
        for name in common_params(keys):
            groups: dict[str, list[HyperValue]] = {}
            for choice in spec.optimizers:
                rest = OptimizerChoice(choice.key, {**choice.hyperparameters, name: get(choice.key).defaults()[name]})
                groups.setdefault(str(rest), []).append(choice.hyperparameters[name])
            values = next(iter(groups.values()))
            if len(values) < MIN_POINTS or any(group != values for group in groups.values()):
                continue
            for log in (True, False):
                try:
                    candidate = cls(optimizers=tuple(OptimizerChoice.parse(text) for text in groups),
                                    param=Param(name, float(values[0]), float(values[-1]), len(values), log),
                                    seeds=spec.seeds, **spec.settings_dict())
                except ValueError:
                    continue
                if candidate.comparison() == spec:
                    return candidate
        raise ValueError(f"{_OWNER}: the comparison is not a grid of one hyperparameter")

    def to_dict(self) -> dict[str, Any]:
        return {**self.settings_dict(), "optimizers": [str(choice) for choice in self.optimizers],
                "param": str(self.param), "seeds": list(self.seeds)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SensitivitySpec:
        values = dict(data)
        values["optimizers"] = tuple(OptimizerChoice.parse(text) for text in values["optimizers"])
        values["param"] = Param.parse(values["param"])
        values["seeds"] = tuple(values.get("seeds", (0,)))
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SensitivitySpec:
        return cls.from_dict(json.loads(text))


def run_metrics(result: RunResult) -> dict[str, float]:
    """The run's best validation loss and its test accuracy at that epoch, from its epoch rows so far (NaN
    without any)."""
    return {"best_val_loss": finite_best([row["val_loss"] for row in result.epochs]),
            "test_accuracy_at_best_val": seed_summary(result.epochs)["test_accuracy_at_best_val"]}


def sensitivity_table(spec: SensitivitySpec, results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per (optimizer, value) of the grid, optimizer-major: ``runs`` (results of the point, running ones
    included), ``diverged`` and ``cancelled`` counts, and per ``METRICS`` key the mean, 95% CI half-width and n over
    the runs that did not diverge (a running or cancelled one with its epochs so far). Results off the grid are
    ignored."""
    by_point: dict[tuple[int, int], list[RunResult]] = {point: [] for point in spec.points()}
    for result in results:
        point = spec.locate(result.spec.optimizer)
        if point is not None:
            by_point[point].append(result)
    rows = []
    for (i, j), runs in by_point.items():
        base = spec.optimizers[i]
        counted = [run_metrics(run) for run in runs if run.status != "diverged"]
        row: dict[str, Any] = {"optimizer": str(base), "label": base.label, "key": base.key,
                               "value": spec.values[j], "runs": len(runs),
                               "diverged": sum(run.status == "diverged" for run in runs),
                               "cancelled": sum(run.status == "cancelled" for run in runs)}
        for key, _ in METRICS:
            stat = mean_ci(metrics[key] for metrics in counted)
            row[key] = {"mean": stat.mean, "ci95": stat.half_width, "n": stat.n}
        rows.append(row)
    return rows


def format_sensitivity(spec: SensitivitySpec, rows: Sequence[dict[str, Any]]) -> str:
    """The rows as one aligned text table per optimizer: value, ``mean ± half-width`` of each metric, diverged."""
    seeds = len(spec.seeds)
    parts = [f"{spec.task}: {spec.param.name} over {len(spec.values)} values, mean ± 95% CI over {seeds} "
             f"seed{'s' * (seeds != 1)} (Student t; diverged runs counted, not averaged)"]
    for base in spec.optimizers:
        body = [[f"{row['value']:g}", *(str(MeanCI(row[key]["mean"], row[key]["ci95"], row[key]["n"]))
                                        for key, _ in METRICS), f"{row['diverged']}/{row['runs']}"]
                for row in rows if row["optimizer"] == str(base)]
        parts.append(f"\n{base.label}\n" + text_table([[spec.param.name, *(title for _, title in METRICS),
                                                         "diverged"], *body]))
    return "\n".join(parts)
