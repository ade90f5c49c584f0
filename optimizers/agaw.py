"""AGAW, adaptive gradient-alignment warmup: the lr rises only as fast as consecutive gradients agree.

Source: the AGAW write-up (shared/seeds/000), as specified in shared/spec/optimizers.md §2.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.runs import Hyper, run_dot, with_runs_axis
from optimizers.validation import check_number
from optimizers.wrapper import OptimizerWrapper

NORM_THRESHOLD = 1e-8
"""tau: below this gradient norm the cosine is undefined and the lr does not move (spec §2.1)."""


class PreviousGradient(NamedTuple):
    """g_{t-1} for R runs: a copy of each gradient tensor ([R, ...], overwritten in place by the next step's) and the
    norm of all of them together ([R], float64)."""

    grads: list[Tensor]
    norm: np.ndarray


def _alignment(grads: list[Tensor], previous: list[Tensor] | None) -> np.ndarray:
    """[2, R] float64: sum_i <grads_i[r], previous_i[r]> (0 without ``previous``) and sum_i ||grads_i[r]||^2.

    Tensor by tensor, the two dot products read each gradient while it is in cache (one run: BLAS dots of flat
    views; several: ``run_dot``'s batched product).
    """
    products = []
    for index, grad in enumerate(grads):
        if grad.shape[0] == 1:
            flat = grad.view(-1)
            products += [torch.dot(flat, previous[index].view(-1)) if previous else flat.new_zeros(()),
                         torch.dot(flat, flat)]
        else:
            products += [run_dot(grad, previous[index]) if previous else grad.new_zeros(grad.shape[0]),
                         run_dot(grad, grad)]
    return torch.stack(products).view(len(grads), 2, -1).sum(0).cpu().numpy().astype(np.float64)


def agaw_warmup(
    grads: list[Tensor],
    previous: PreviousGradient | None,
    lr: np.ndarray,
    *,
    initial_lr: Hyper,
    target_lr: Hyper,
    warmup_steps: Hyper,
    gamma: Hyper,
) -> tuple[np.ndarray, np.ndarray, PreviousGradient]:
    """One AGAW warmup update for R runs (grads shaped [R, ...]); returns (lr, cosine, this step's gradient).

    With g_t each run's gradients concatenated and s_t = <g_t, g_{t-1}> / (||g_t|| ||g_{t-1}||):

        lr <- min(target_lr, lr + (target_lr - initial_lr) / warmup_steps * max(0, s_t)^gamma)

    only while lr < target_lr, and only where both norms exceed tau and g_{t-1} was made of tensors of g_t's shapes;
    elsewhere lr stays and the cosine is NaN. ``previous`` is what this function returned on the last call (None on
    the first); its tensors are overwritten with this step's gradients and returned. ``lr`` has shape [R]; the
    other hyperparameters are numbers or [R] tensors.
    The gradients' work is two dot products per tensor and one copy (memory-bound: timed against Adam's step in
    benchmarks/bench_optimizers.py); the per-run rule is float64 numpy on [R] values, whose ops cost a quarter of
    torch's dispatch.
    Deviations (spec §2.2): the increment uses (target_lr - initial_lr), not the write-up code's (target_lr - 1e-7);
    and the write-up compares lengths only, which also pairs gradients of different parameters when others of the
    same total length have gradients this step; here the tensors' shapes must match.
    """
    if previous is None or [p.shape for p in previous.grads] != [g.shape for g in grads]:
        norm = np.sqrt(_alignment(grads, None)[1])
        return lr, np.full_like(lr, np.nan), PreviousGradient([grad.clone() for grad in grads], norm)
    products = _alignment(grads, previous.grads)
    norm = np.sqrt(products[1])
    torch._foreach_copy_(previous.grads, grads)
    current = PreviousGradient(previous.grads, norm)
    initial_lr, target_lr, warmup_steps, gamma = (np.asarray(h) for h in (initial_lr, target_lr, warmup_steps, gamma))
    defined = np.minimum(norm, previous.norm) > NORM_THRESHOLD
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 where a norm is 0: masked by ``defined``
        cosine = products[0] / (norm * previous.norm)
    increment = (target_lr - initial_lr) / warmup_steps * np.maximum(cosine, 0.0) ** gamma  # 0.0**0 == 1 (§2.1)
    raised = np.minimum(lr + increment, target_lr)
    return np.where(defined & (lr < target_lr), raised, lr), np.where(defined, cosine, np.nan), current


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
        self._previous: PreviousGradient | None = None  # g_{t-1}: each gradient (runs axis of 1) and their norm
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
            np.array([self.lr]),
            initial_lr=self.initial_lr,
            target_lr=self.target_lr,
            warmup_steps=self.warmup_steps,
            gamma=self.gamma,
        )
        self.lr = float(lr[0])
        self._apply_lr()
        self.stats = {"lr": self.lr, "cosine": float(cosine[0])}

    def _extra_state(self) -> dict[str, Any]:
        previous = self._previous
        return {
            "lr": self.lr,
            "previous": None if previous is None else {
                "grads": [grad.clone() for grad in previous.grads], "norm": previous.norm.copy()},
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
        grads = [grad.to(device=like.device, dtype=like.dtype).clone() for grad in previous["grads"]]
        self._previous = PreviousGradient(grads, previous["norm"].copy())
