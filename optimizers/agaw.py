"""AGAW, adaptive gradient-alignment warmup: the lr rises only as fast as consecutive gradients agree.

Source: the AGAW write-up (shared/seeds/000), as specified in shared/spec/optimizers.md §2.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.runs import Hyper, run_rows, with_runs_axis
from optimizers.validation import check_number
from optimizers.wrapper import OptimizerWrapper

NORM_THRESHOLD = 1e-8
"""tau: below this gradient norm the cosine is undefined and the lr does not move (spec §2.1)."""


class PreviousGradient(NamedTuple):
    """g_{t-1} for R runs: one slot of a two-slot buffer, so that g_t is written into the other slot in place.

    ``slots`` is [2, R, n] (each run's gradients concatenated), ``latest`` the slot that holds g_{t-1} and ``norm``
    its norms ([R], float64). Alternating the slots saves a copy and an allocation per step (memory-bound work).
    """

    slots: Tensor
    latest: int
    norm: np.ndarray

    @property
    def flat(self) -> Tensor:
        """g_{t-1}: [R, n]."""
        return self.slots[self.latest]


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

    only while lr < target_lr, and only where both norms exceed tau and g_{t-1} has g_t's length; elsewhere lr
    stays and the cosine is NaN. ``previous`` is the gradient this function returned on the last call
    (None on the first); its buffer is reused, so the returned gradient replaces it. ``lr`` has shape [R]; the
    other hyperparameters are numbers or [R] tensors.
    The gradients' work is two tensor ops (a concatenation into the free slot, one batched product for both dot
    products); the per-run rule is float64 numpy on [R] values, whose ops cost a quarter of torch's dispatch (the
    whole step is timed against Adam's in benchmarks/bench_optimizers.py).
    The increment uses (target_lr - initial_lr), not the write-up code's hard-coded (target_lr - 1e-7) (spec §2.2).
    """
    rows = [run_rows(grad) for grad in grads]
    shape = (2, rows[0].shape[0], sum(row.shape[1] for row in rows))
    aligned = previous is not None and previous.slots.shape == shape
    slots = previous.slots if aligned else rows[0].new_zeros(shape)
    slot = 1 - previous.latest if aligned else 0
    flat = torch.cat(rows, dim=1, out=slots[slot])
    # One pass over both slots: [R, 2] = (<g_t, slot 0>, <g_t, slot 1>); one of them is ||g_t||^2.
    products = torch.bmm(slots.transpose(0, 1), flat.unsqueeze(2)).view(-1, 2).cpu().numpy().astype(np.float64)
    norm = np.sqrt(products[:, slot])
    current = PreviousGradient(slots, slot, norm)
    if not aligned:
        return lr, np.full_like(lr, np.nan), current
    initial_lr, target_lr, warmup_steps, gamma = (np.asarray(h) for h in (initial_lr, target_lr, warmup_steps, gamma))
    defined = np.minimum(norm, previous.norm) > NORM_THRESHOLD
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0 where a norm is 0: masked by ``defined``
        cosine = products[:, 1 - slot] / (norm * previous.norm)
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
            "previous": None if previous is None else {"flat": previous.flat.clone(), "norm": previous.norm.copy()},
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
        flat = previous["flat"].to(device=like.device, dtype=like.dtype)
        self._previous = PreviousGradient(torch.stack([flat, torch.zeros_like(flat)]), 0, previous["norm"].copy())
