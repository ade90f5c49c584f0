"""AGAW, adaptive gradient-alignment warmup: the lr rises only as fast as consecutive gradients agree.

Source: the AGAW write-up (shared/seeds/000), as specified in shared/spec/optimizers.md §2.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.runs import Hyper, flatten_runs, run_dot, with_runs_axis
from optimizers.validation import check_number
from optimizers.wrapper import OptimizerWrapper

NORM_THRESHOLD = 1e-8
"""tau: below this gradient norm the cosine is undefined and the lr does not move (spec §2.1)."""


class PreviousGradient(NamedTuple):
    """g_{t-1}: each run's gradients concatenated ([R, n]) and their norms ([R]), kept for the next cosine."""

    flat: Tensor
    norm: Tensor


def agaw_warmup(
    grads: list[Tensor],
    previous: PreviousGradient | None,
    lr: Tensor,
    *,
    initial_lr: Hyper,
    target_lr: Hyper,
    warmup_steps: Hyper,
    gamma: Hyper,
) -> tuple[Tensor, Tensor, PreviousGradient]:
    """One AGAW warmup update for R runs (grads shaped [R, ...]); returns (lr, cosine, this step's gradient).

    With g_t each run's gradients concatenated and s_t = <g_t, g_{t-1}> / (||g_t|| ||g_{t-1}||):

        lr <- min(target_lr, lr + (target_lr - initial_lr) / warmup_steps * max(0, s_t)^gamma)

    only while lr < target_lr, and only where both norms exceed tau and g_{t-1} has g_t's length; elsewhere lr
    stays and the cosine is NaN. ``previous`` is the gradient this function returned on the last call
    (None on the first); ``lr`` has shape [R]; the other hyperparameters are numbers or [R] tensors.
    The increment uses (target_lr - initial_lr), not the write-up code's hard-coded (target_lr - 1e-7) (spec §2.2).
    """
    flat = flatten_runs(grads)
    current = PreviousGradient(flat, torch.linalg.vector_norm(flat, dim=1))
    if previous is None or previous.flat.shape != flat.shape:
        return lr, torch.full_like(lr, float("nan")), current
    defined = torch.minimum(current.norm, previous.norm) > NORM_THRESHOLD
    cosine = (run_dot(flat, previous.flat) / (current.norm * previous.norm)).to(lr.dtype)
    increment = (target_lr - initial_lr) / warmup_steps * cosine.clamp(min=0) ** gamma  # 0.0**0 == 1 (spec §2.1)
    raised = torch.clamp(lr + increment, max=target_lr)
    cosine = torch.where(defined, cosine, float("nan"))
    return torch.where(defined & (lr < target_lr), raised, lr), cosine, current


class AGAW(OptimizerWrapper):
    """Adaptive gradient-alignment warmup around any optimizer (the write-up wraps Adam).

    The lr starts at ``initial_lr`` and, each step before the base step, rises by
    (target_lr - initial_lr) / warmup_steps * max(0, cos(g_t, g_{t-1}))^gamma, capped at ``target_lr``; with
    perfectly aligned gradients the target is reached at step warmup_steps + 1. Once there AGAW computes nothing
    more and the base runs alone. Negative alignment stalls the warmup; it never lowers the lr.

    Args:
        base: the wrapped optimizer; its lr is overwritten. With several param groups each keeps its ratio to the
            first group's lr: group lr = lr * ratio (spec §2.2's recommendation; one group matches the write-up).
        target_lr: lr at the end of the warmup (> 0).
        initial_lr: lr of the first step, 0 <= initial_lr < target_lr; default 1e-7.
        warmup_steps: nominal warmup length W (integer >= 1); default 100.
        gamma: alignment sensitivity (> 0); default 2.0 (the write-up's tuned value is about 1.7).

    ``stats``: ``lr`` (the lr this step used) and ``cosine`` (s_t; NaN when undefined or after the warmup).
    """

    def __init__(
        self,
        base: Optimizer,
        *,
        target_lr: float,
        initial_lr: float = 1e-7,
        warmup_steps: int = 100,
        gamma: float = 2.0,
    ) -> None:
        name = type(self).__name__
        check_number(name, "target_lr", target_lr, low=0.0, low_open=True)
        check_number(name, "initial_lr", initial_lr, low=0.0, high=target_lr, high_open=True)
        check_number(name, "warmup_steps", warmup_steps, low=1, integer=True)
        check_number(name, "gamma", gamma, low=0.0, low_open=True)
        super().__init__(base)
        self.target_lr, self.initial_lr, self.warmup_steps, self.gamma = target_lr, initial_lr, warmup_steps, gamma
        first_lr = self.param_groups[0]["lr"]
        for group in self.param_groups:
            group["agaw_ratio"] = group["lr"] / first_lr if first_lr else 1.0  # this group's lr / the first's
        self.lr = float(initial_lr)  # eta: the current warmup lr
        self._previous: PreviousGradient | None = None  # g_{t-1}, flattened with a runs axis of 1, and its norm
        self._apply_lr()

    def _apply_lr(self) -> None:
        for group in self.param_groups:
            group["lr"] = self.lr * group.get("agaw_ratio", 1.0)

    def _before_base_step(self) -> None:
        if self.lr >= self.target_lr:
            self.stats = {"lr": self.lr, "cosine": float("nan")}
            return
        grads = [p.grad for p in self.params_with_grad()]
        if not grads:
            return
        lr, cosine, self._previous = agaw_warmup(
            with_runs_axis(grads),
            self._previous,
            torch.tensor([self.lr], dtype=torch.float64),
            initial_lr=self.initial_lr,
            target_lr=self.target_lr,
            warmup_steps=self.warmup_steps,
            gamma=self.gamma,
        )
        self.lr = float(lr)
        self._apply_lr()
        self.stats = {"lr": self.lr, "cosine": float(cosine)}

    def _extra_state(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "previous": self._previous,
            "target_lr": self.target_lr,
            "initial_lr": self.initial_lr,
            "warmup_steps": self.warmup_steps,
            "gamma": self.gamma,
        }

    def _load_extra_state(self, extra: dict[str, Any]) -> None:
        self.lr = extra["lr"]
        self.target_lr, self.initial_lr = extra["target_lr"], extra["initial_lr"]
        self.warmup_steps, self.gamma = extra["warmup_steps"], extra["gamma"]
        previous = extra["previous"]
        like = self.param_groups[0]["params"][0]
        self._previous = None if previous is None else PreviousGradient(
            *(part.to(device=like.device, dtype=like.dtype).clone() for part in previous)
        )
