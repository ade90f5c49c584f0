"""AGAW, adaptive gradient-alignment warmup: the lr rises only as fast as consecutive gradients agree.

Source: the AGAW write-up (shared/seeds/000), as specified in shared/spec/optimizers.md §2.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.baselines import base_runs
from optimizers.runs import Hyper, run_dot, run_grams, run_values
from optimizers.runs_optimizer import RunsHyper, RunsOptimizer
from optimizers.validation import check_number
from optimizers.wrapper import OptimizerWrapper

NORM_THRESHOLD = 1e-8
"""tau: below this gradient norm the cosine is undefined and the lr does not move (spec §2.1)."""


def agaw_warmup(
    grads: list[Tensor],
    previous: list[Tensor] | None,
    lr: list[float] | Tensor,
    *,
    initial_lr: Hyper,
    target_lr: Hyper,
    warmup_steps: Hyper,
    gamma: Hyper,
) -> tuple[list[float] | Tensor, list[float] | Tensor, list[Tensor]]:
    """One AGAW warmup update for R = len(lr) runs; returns (lr, cosine, g_t), the first two one value per run.

    With g_t each run's gradients concatenated and s_t = <g_t, g_{t-1}> / (||g_t|| ||g_{t-1}||):

        lr <- min(target_lr, lr + (target_lr - initial_lr) / warmup_steps * max(0, s_t)^gamma)

    only while lr < target_lr, and only where both norms exceed tau and g_{t-1} was made of tensors of g_t's shapes;
    elsewhere lr stays and the cosine is NaN. ``grads`` are [R, ...] (with one run they may come without the runs
    axis, as in ``p.grad``); ``previous`` is what this function returned on the last call (None on the first):
    copies of g_{t-1}, overwritten with this step's gradients and returned. The other hyperparameters are numbers
    or [R] tensors.
    Tensor by tensor, three BLAS products (the third, ||g_{t-1}||^2, rather than a norm kept from the last step:
    one piece of state fewer), then one copy. ``lr`` as R Python floats (the class, R = 1): the per-run rule is plain
    Python on R floats, and lr and the cosine come back as floats. ``lr`` as an [R] tensor (the batched runner, R up
    to 65,536): the same rule over [R] tensors, with no host sync, and they come back as [R] tensors.
    Deviations (spec §2.2): the increment uses (target_lr - initial_lr), not the write-up code's (target_lr - 1e-7);
    and the write-up compares lengths only, which also pairs gradients of different parameters when others of the
    same total length have gradients this step; here the tensors' shapes must match.
    """
    runs = len(lr)
    if previous is None or [p.shape for p in previous] != [g.shape for g in grads]:
        cosines = torch.full_like(lr, math.nan) if isinstance(lr, Tensor) else [math.nan] * runs
        return lr, cosines, [grad.clone() for grad in grads]
    if isinstance(lr, Tensor):
        return (*_warmup_runs(grads, previous, lr, initial_lr, target_lr, warmup_steps, gamma), previous)
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


def _warmup_runs(grads: list[Tensor], previous: list[Tensor], lr: Tensor, initial: Hyper, target: Hyper,
                 steps: Hyper, power: Hyper) -> tuple[Tensor, Tensor]:
    """``agaw_warmup``'s rule over [R] tensors (lr, cosine); ``previous`` gets this step's gradients."""
    dot, square, previous_square = (sum(terms) for terms in zip(
        *((run_dot(g, p), run_dot(g, g), run_dot(p, p)) for g, p in zip(grads, previous, strict=True)), strict=True))
    torch._foreach_copy_(previous, grads)
    norm, previous_norm = square.sqrt(), previous_square.sqrt()
    defined = torch.minimum(norm, previous_norm) > NORM_THRESHOLD
    cosine = torch.where(defined, dot / (norm * previous_norm), math.nan)
    raised = torch.clamp(lr + (target - initial) / steps * cosine.clamp(min=0.0) ** power, max=target)
    return torch.where(defined & (lr < target), raised, lr), cosine


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


class AGAWRuns(RunsOptimizer):
    """R runs of ``AGAW`` around the registry's base ("adam" or "sgd", ``optimizers.baselines.base_runs``), each run
    with its own ``target_lr``, ``initial_lr``, ``warmup_steps`` and ``gamma`` (numbers or [R]).

    As the class: each step ``agaw_warmup`` raises the lr of the runs still below their target, then the base steps
    with each run's lr. ``stats``: ``lr`` (the lr the step used) and ``cosine`` (NaN where undefined or after the
    warmup), per run.
    """

    def __init__(self, params: list[Tensor], hyper: RunsHyper) -> None:
        super().__init__(params, hyper)
        initial = self.number("initial_lr")
        # eta: each run's warmup lr, [R]
        self.lr = initial.clone() if isinstance(initial, Tensor) else params[0].new_full((self.runs,), initial)
        self.cosine: Tensor | None = None  # s_t of the last step, [R]
        self.previous: list[Tensor] | None = None  # g_{t-1}: a copy of each gradient
        self.base = base_runs(str(self.hyper["base"]), params, self.lr)

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        target = self.number("target_lr")
        warming = self.lr < target  # the runs still warming up: the class computes nothing more for the others
        if bool(warming.any()):
            lr, cosine, self.previous = agaw_warmup(grads, self.previous, self.lr, initial_lr=self.number("initial_lr"),
                                                    target_lr=target, warmup_steps=self.number("warmup_steps"),
                                                    gamma=self.number("gamma"))
            self.lr, self.cosine = lr, cosine.masked_fill_(~warming, math.nan)
        else:
            self.cosine = torch.full_like(self.lr, math.nan)
        self.base.hyper["lr"] = self.lr  # set before the base step, as the class does
        self.base.step(grads)

    def stats(self) -> dict[str, list[float]]:
        if self.cosine is None:
            return {}
        return {"lr": self.lr.tolist(), "cosine": self.cosine.tolist()}

    def group_lr(self) -> list[float]:
        """The warmup lr, which the class writes into its (the base's) param groups."""
        return self.lr.tolist()
