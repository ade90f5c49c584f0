"""GAO, the gradient-alignment gate: each tensor's gradient is scaled by its clamped cosine with its own EMA.

Source: the GAO write-up (shared/seeds/001), as specified in shared/spec/optimizers.md §3.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.baselines import base_runs
from optimizers.runs import Hyper, foreach_arg, foreach_scale_, per_run, run_dot, run_grams
from optimizers.runs_optimizer import RunsHyper, RunsOptimizer
from optimizers.validation import check_probability
from optimizers.wrapper import OptimizerWrapper

COSINE_EPS = 1e-8
"""Each norm in the cosine is clamped to at least this (``torch.nn.functional.cosine_similarity``, spec §3.1)."""


def gao_gate(grads: list[Tensor], emas: list[Tensor], *, beta: Hyper, runs: int | None = None,
             as_tensor: bool = False) -> list[list[float]] | Tensor:
    """Update the EMAs and gate the gradients in place for R runs; returns scores ``[T][R]``.

    Tensors are [R, ...], R read from the EMAs' leading axis; or, with ``runs=1``, flat [n] without it (the class
    passes flat views of p.grad and keeps its state flat: fewer views per tensor and step, each costs microseconds).

    For each tensor g with EMA m, in this order (the write-up's, spec §3.1):

        m <- beta m + (1 - beta) g                   (raw, ungated g; so the first score is exactly 1)
        s = clamp(<g, m> / (max(||g||, eps) max(||m||, eps)), 0, 1)
        g <- s g                                     (in p.grad: the caller sees the gated gradient)

    One score per tensor and run; ``beta`` is a number or a per-run [R] tensor. The scores come as Python floats,
    computed in plain Python (fastest for a few runs); with ``as_tensor``, as one [T, R] tensor computed in torch,
    with no host sync (the batched runner's, for R up to 65,536).
    """
    torch._foreach_lerp_(emas, grads, foreach_arg(1 - beta, emas))
    if as_tensor:
        grams = torch.stack([torch.stack([run_dot(g, m), run_dot(g, g), run_dot(m, m)])
                             for g, m in zip(grads, emas, strict=True)]).double()  # [T, 3, R]
        dot, gg, mm = grams.unbind(1)  # the score in float64, as the class's Python floats
        scores = (dot / (gg.sqrt().clamp(min=COSINE_EPS) * mm.sqrt().clamp(min=COSINE_EPS))).clamp(0.0, 1.0)
        torch._foreach_mul_(grads, [per_run(score, grad) for score, grad in zip(scores, grads, strict=True)])
        return scores
    grams = run_grams(grads, emas, runs=emas[0].shape[0] if runs is None else runs)
    scores = [[min(max(dot / (max(math.sqrt(gg), COSINE_EPS) * max(math.sqrt(mm), COSINE_EPS)), 0.0), 1.0)
               for dot, gg, mm in gram] for gram in grams]
    foreach_scale_(grads, scores)
    return scores


class GAO(OptimizerWrapper):
    """Gradient-alignment gate around any optimizer (the write-up wraps Adam).

    Before each base step every parameter tensor's gradient is multiplied by s = clamp(cos(g, EMA(g)), 0, 1), the
    cosine against an EMA of its own raw gradients (updated first). With Adam as the base a constant s would cancel
    out; GAO acts through the variation of s over time, reweighting gradients inside Adam's moments.

    Args:
        base: the wrapped optimizer (its lr, betas and so on are its own).
        beta: EMA decay in [0, 1); default 0.99 (the write-up's tuned value; its code's default was 0.9).

    State per parameter: ``m``, the EMA of raw gradients, flat (shape [p.numel()]).
    ``stats``: ``score_mean`` and ``score_min`` over tensors.
    """

    def __init__(self, base: Optimizer, *, beta: float = 0.99) -> None:
        check_probability(type(self).__name__, "beta", beta)
        super().__init__(base)
        self.beta = beta

    def _before_base_step(self) -> None:
        params = self.params_with_grad()
        if not params:
            return
        grads, emas = [], []
        for p in params:
            state = self.state[p]
            if not state:  # m: EMA of the raw gradients, flat
                state["m"] = p.new_zeros(p.numel())
            if not p.grad.is_contiguous():  # so that its flat view is a view, which the gate scales in place
                p.grad = p.grad.contiguous()
            grads.append(torch.flatten(p.grad))
            emas.append(state["m"])
        scores = [row[0] for row in gao_gate(grads, emas, beta=self.beta, runs=1)]
        self.stats = {"score_mean": sum(scores) / len(scores), "score_min": min(scores)}

    def _extra_state(self) -> dict[str, float]:
        return {"beta": self.beta}

    def _load_extra_state(self, extra: dict[str, float]) -> None:
        self.beta = extra["beta"]


class GAORuns(RunsOptimizer):
    """R runs of ``GAO`` around the registry's base ("adam" or "sgd" at ``lr``, ``optimizers.baselines.base_runs``),
    ``lr`` and ``beta`` numbers or [R]: ``gao_gate`` on the [R, ...] gradients, then the base step. ``stats``: the
    class's ``score_mean`` and ``score_min`` over tensors, per run."""

    def __init__(self, params: list[Tensor], hyper: RunsHyper) -> None:
        super().__init__(params, hyper)
        self.emas = [torch.zeros_like(p) for p in params]  # m: EMA of each run's raw gradients
        self.scores: Tensor | None = None  # s of the last step, [T, R]
        self.base = base_runs(str(self.hyper["base"]), params, self.number("lr"))

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        self.scores = gao_gate(grads, self.emas, beta=self.number("beta"), as_tensor=True)
        self.base.step(grads)

    def stats(self) -> dict[str, list[float]]:
        if self.scores is None:
            return {}
        return {"score_mean": self.scores.mean(0).tolist(), "score_min": self.scores.amin(0).tolist()}
