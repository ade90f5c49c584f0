"""``RunsOptimizer``: R independent runs of one registered optimizer, stepped as one computation.

The engine's batched runner stacks R runs (a grid of hyperparameters, several seeds) along a leading runs axis: a
surface's points as one [R, 2] tensor, the MLP's weights as [R, in, out]. A ``RunsOptimizer`` steps them all through
its family's runs-axis maths (``optimizers.runs``), each run with its own hyperparameters, so that run r of the
batch equals the same run stepped alone by the family's ``torch.optim.Optimizer`` class (tested from the registry
table). The registry builds one for each optimizer (``OptimizerInfo.build_runs``).

Hyperparameters arrive by their registry names (``lr``, ``momentum``, ``beta1``...), already validated (by
``engine.runs.OptimizerChoice`` or the caller): a number for every run, a choice (text, the same for every run), or
a float tensor of shape [R], one value per run.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping

import torch
from torch import Tensor

from optimizers.runs import Hyper

RunsHyper = Mapping[str, float | int | str | Tensor]
"""Hyperparameters of R runs by registry name: one number or choice for all, or an [R] tensor per run."""


class RunsOptimizer(ABC):
    """Steps ``params`` (tensors [R, ...], updated in place: detached leaves or views into stacked ones).

    ``step(grads)`` takes one gradient per parameter, shaped like it (it may overwrite them, as GAO gates gradients
    in place), and runs under ``torch.no_grad``; ``stats()`` gives, per statistic of the family's class
    (``optimizer.stats``), one value per run; ``averaged()`` the averaged iterate of a method that has one (A2Grad),
    else None.
    """

    def __init__(self, params: list[Tensor], hyper: RunsHyper) -> None:
        self.params = params
        self.runs = params[0].shape[0]
        self.hyper = dict(hyper)

    def number(self, name: str) -> Hyper:
        """The hyperparameter ``name`` as the maths takes it: a float, or an [R] tensor in the parameters' dtype and
        on their device.

        A number past the parameters' dtype (lr = 1e39 on float32 weights) comes as a per-run tensor, where it is
        inf: torch's scalar kernels refuse it with an error that would end every run of the batch, while inf ends
        these runs alone, as diverged.
        """
        value = self.hyper[name]
        like = self.params[0]
        if not isinstance(value, Tensor):
            number = float(value)  # type: ignore[arg-type]
            if abs(number) <= torch.finfo(like.dtype).max:
                return number
            value = torch.full((self.runs,), number, dtype=torch.float64)
        return value.to(dtype=like.dtype, device=like.device)

    @abstractmethod
    def step(self, grads: list[Tensor]) -> None:
        """One step of every run."""

    def stats(self) -> dict[str, list[float]]:
        """The family's own statistics after the last step: one float per run each (none by default)."""
        return {}

    def group_lr(self) -> list[float]:
        """Per run, the lr the family's class shows in its first param group after the step (telemetry's ``lr``):
        the ``lr`` hyperparameter by default, NaN for a family without one."""
        lr = self.hyper.get("lr", math.nan)
        return lr.tolist() if isinstance(lr, Tensor) else [float(lr)] * self.runs

    def averaged(self) -> list[Tensor] | None:
        """The averaged iterate of each parameter ([R, ...]), for a method that outputs one; None otherwise."""
        return None
