"""GAO, the gradient-alignment gate: each tensor's gradient is scaled by its clamped cosine with its own EMA.

Source: the GAO write-up (shared/seeds/001), as specified in shared/spec/optimizers.md §3.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.runs import Hyper, foreach_arg, foreach_scale_, run_dots, run_norms, with_runs_axis
from optimizers.validation import check_probability
from optimizers.wrapper import OptimizerWrapper

COSINE_EPS = 1e-8
"""Each norm in the cosine is clamped to at least this (``torch.nn.functional.cosine_similarity``, spec §3.1)."""


def gao_gate(grads: list[Tensor], emas: list[Tensor], *, beta: Hyper) -> Tensor:
    """Update the EMAs and gate the gradients in place for R runs (tensors [R, ...]); returns scores [T, R].

    For each tensor g with EMA m, in this order (the write-up's, spec §3.1):

        m <- beta m + (1 - beta) g                   (raw, ungated g; so the first score is exactly 1)
        s = clamp(<g, m> / (max(||g||, eps) max(||m||, eps)), 0, 1)
        g <- s g                                     (in p.grad: the caller sees the gated gradient)

    One score per tensor and run; ``beta`` is a number or a per-run [R] tensor.
    """
    torch._foreach_lerp_(emas, grads, foreach_arg(1 - beta, emas))
    norms = run_norms(grads + emas).clamp_(min=COSINE_EPS)  # [2T, R]: the gradients' norms, then the EMAs'
    scores = (run_dots(grads, emas) / (norms[: len(grads)] * norms[len(grads) :])).clamp_(0, 1)
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

    State per parameter: ``m``, the EMA of raw gradients. ``stats``: ``score_mean`` and ``score_min`` over tensors.
    """

    def __init__(self, base: Optimizer, *, beta: float = 0.99) -> None:
        check_probability(type(self).__name__, "beta", beta)
        super().__init__(base)
        self.beta = beta

    def _before_base_step(self) -> None:
        params = self.params_with_grad()
        if not params:
            return
        for p in params:
            if not self.state[p]:
                self.state[p]["m"] = torch.zeros_like(p)  # m: EMA of the raw gradients
        scores = gao_gate(
            with_runs_axis([p.grad for p in params]),
            with_runs_axis([self.state[p]["m"] for p in params]),
            beta=self.beta,
        )
        values = scores.view(-1).tolist()
        self.stats = {"score_mean": sum(values) / len(values), "score_min": min(values)}

    def _extra_state(self) -> dict[str, float]:
        return {"beta": self.beta}

    def _load_extra_state(self, extra: dict[str, float]) -> None:
        self.beta = extra["beta"]
