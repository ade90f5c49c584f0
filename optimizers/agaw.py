"""AGAW, adaptive gradient-alignment warmup: the lr rises only as fast as consecutive gradients agree.

Source: the AGAW write-up (shared/seeds/000), as specified in shared/spec/optimizers.md §2.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.runs import Hyper, run_grams, run_values
from optimizers.validation import check_number
from optimizers.wrapper import OptimizerWrapper

NORM_THRESHOLD = 1e-8
"""tau: below this gradient norm the cosine is undefined and the lr does not move (spec §2.1)."""


def agaw_warmup(
    grads: list[Tensor],
    previous: list[Tensor] | None,
    lr: list[float],
    *,
    initial_lr: Hyper,
    target_lr: Hyper,
    warmup_steps: Hyper,
    gamma: Hyper,
) -> tuple[list[float], list[float], list[Tensor]]:
    """One AGAW warmup update for R = len(lr) runs; returns (lr, cosine, g_t), the first two one float per run.

    With g_t each run's gradients concatenated and s_t = <g_t, g_{t-1}> / (||g_t|| ||g_{t-1}||):

        lr <- min(target_lr, lr + (target_lr - initial_lr) / warmup_steps * max(0, s_t)^gamma)

    only while lr < target_lr, and only where both norms exceed tau and g_{t-1} was made of tensors of g_t's shapes;
    elsewhere lr stays and the cosine is NaN. ``grads`` are [R, ...] (with one run they may come without the runs
    axis, as in ``p.grad``); ``previous`` is what this function returned on the last call (None on the first):
    copies of g_{t-1}, overwritten with this step's gradients and returned. The other hyperparameters are numbers
    or [R] tensors.
    Tensor by tensor, three BLAS products (the third, ||g_{t-1}||^2, rather than a norm kept from the last step:
    one piece of state fewer), then one copy; the per-run rule is plain Python on R floats.
    Deviations (spec §2.2): the increment uses (target_lr - initial_lr), not the write-up code's (target_lr - 1e-7);
    and the write-up compares lengths only, which also pairs gradients of different parameters when others of the
    same total length have gradients this step; here the tensors' shapes must match.
    """
    runs = len(lr)
    if previous is None or [p.shape for p in previous] != [g.shape for g in grads]:
        return lr, [math.nan] * runs, [grad.clone() for grad in grads]
    grams = run_grams(grads, previous, runs=runs)  # per tensor and run: <g_t, g_{t-1}>, ||g_t||^2, ||g_{t-1}||^2
    dot, square, previous_square = ([sum(gram[r][i] for gram in grams) for r in range(runs)] for i in range(3))
    torch._foreach_copy_(previous, grads)
    hyper = zip(lr, *(run_values(h, runs) for h in (initial_lr, target_lr, warmup_steps, gamma)), strict=True)
    lrs, cosines = [], []
    for r, (rate, initial, target, steps, power) in enumerate(hyper):
        norm, previous_norm = math.sqrt(square[r]), math.sqrt(previous_square[r])
        if min(norm, previous_norm) <= NORM_THRESHOLD:
            lrs.append(rate)
            cosines.append(math.nan)
            continue
        cosine = dot[r] / (norm * previous_norm)
        raised = min(rate + (target - initial) / steps * max(cosine, 0.0) ** power, target)  # 0.0**0 == 1 (§2.1)
        lrs.append(raised if rate < target else rate)
        cosines.append(cosine)
    return lrs, cosines, previous


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
        self._previous: list[Tensor] | None = None  # g_{t-1}: a copy of each gradient
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
            grads,
            self._previous,
            [self.lr],
            initial_lr=self.initial_lr,
            target_lr=self.target_lr,
            warmup_steps=self.warmup_steps,
            gamma=self.gamma,
        )
        self.lr = lr[0]
        self._apply_lr()
        self.stats = {"lr": self.lr, "cosine": cosine[0]}

    def _extra_state(self) -> dict[str, Any]:
        previous = self._previous
        return {
            "lr": self.lr,
            "previous": None if previous is None else [grad.clone() for grad in previous],
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
        if previous is None:
            self._previous = None
            return
        like = self.param_groups[0]["params"][0]
        self._previous = [grad.to(device=like.device, dtype=like.dtype).clone() for grad in previous]
