"""``Scheduled``: a base optimizer and its ``torch.optim.lr_scheduler`` stepped as one optimizer.

Baselines with a schedule (Adam + linear warmup) stay torch's own classes; this wrapper only makes the pair one
``torch.optim.Optimizer`` so that every consumer (engine, CLI, sweeps) steps, saves and restores it the same way.
"""

from __future__ import annotations

from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from optimizers.wrapper import OptimizerWrapper


class Scheduled(OptimizerWrapper):
    """Steps ``base`` and then ``scheduler``; ``stats["lr"]`` is the first group's lr used by the step."""

    def __init__(self, base: Optimizer, scheduler: LRScheduler) -> None:
        if scheduler.optimizer is not base:
            raise ValueError("Scheduled: scheduler must be attached to the base optimizer it is given with")
        super().__init__(base)
        self.scheduler = scheduler

    def _before_base_step(self) -> None:
        self.stats = {"lr": float(self.param_groups[0]["lr"])}

    def _after_base_step(self) -> None:
        self.scheduler.step()

    def _extra_state(self) -> dict[str, Any]:
        return {"scheduler": self.scheduler.state_dict()}

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        self.scheduler.load_state_dict(extra["scheduler"])
