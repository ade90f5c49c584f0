"""The baselines' maths over a runs axis: ``torch.optim.SGD`` (plain, heavy ball, Nesterov) and ``Adam`` / ``AdamW``.

The baselines stay torch's own classes everywhere one run is stepped. These functions are their update rules written
over [R, ...] tensors with per-run hyperparameters, in the order of torch's single-tensor implementations
(``torch/optim/sgd.py``, ``torch/optim/adam.py``), for the batched runner: run r of a batch equals torch's class
stepping that run alone (float64, tested against ``torch.optim`` from the registry table). With a hyperparameter the
same for every run they call torch's very kernels; a per-run [R] tensor needs a broadcast product instead.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from optimizers.runs import Hyper, is_zero, per_run, run_values
from optimizers.runs_optimizer import RunsHyper, RunsOptimizer


def sgd(params: list[Tensor], grads: list[Tensor], buffers: list[Tensor | None], *, lr: Hyper, momentum: Hyper,
        nesterov: bool) -> None:
    """One ``torch.optim.SGD`` step (dampening 0, no weight decay) for R runs; ``buffers`` are filled in place.

    With b the momentum buffer (None before the first step) and mu the momentum:

        b <- g (first step), else b <- mu b + g
        d = g + mu b (Nesterov), b (heavy ball), g (mu = 0)
        p <- p - lr d
    """
    for index, (param, grad) in enumerate(zip(params, grads, strict=True)):
        if not is_zero(momentum):
            buffer = buffers[index]
            if buffer is None:
                buffer = buffers[index] = grad.detach().clone()
            elif isinstance(momentum, Tensor):
                buffer.mul_(per_run(momentum, buffer)).add_(grad)
            else:
                buffer.mul_(momentum).add_(grad)
            if not nesterov:
                grad = buffer
            elif isinstance(momentum, Tensor):
                grad = grad + buffer * per_run(momentum, buffer)
            else:
                grad = grad.add(buffer, alpha=momentum)
        if isinstance(lr, Tensor):
            param.sub_(grad * per_run(lr, param))
        else:
            param.add_(grad, alpha=-lr)


def adam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor], exp_avg_sqs: list[Tensor], step: int, *,
         lr: Hyper, beta1: Hyper, beta2: Hyper, eps: float, weight_decay: Hyper, decoupled: bool) -> None:
    """One ``torch.optim.Adam`` (``decoupled=False``) or ``AdamW`` (``decoupled=True``) step for R runs.

    With t = ``step`` (already incremented), m and v updated in place:

        p <- p (1 - lr wd)                           (AdamW)       g <- g + wd p     (Adam)
        m <- m + (1 - beta1) (g - m)                 (torch's lerp)
        v <- beta2 v + (1 - beta2) g^2
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """
    for param, grad, m, v in zip(params, grads, exp_avgs, exp_avg_sqs, strict=True):
        if not is_zero(weight_decay):
            if decoupled:
                param.mul_(1 - per_run(lr, param) * per_run(weight_decay, param))
            elif isinstance(weight_decay, Tensor):
                grad = grad + param * per_run(weight_decay, param)
            else:
                grad = grad.add(param, alpha=weight_decay)
        m.lerp_(grad, 1 - per_run(beta1, m))
        if isinstance(beta2, Tensor):
            shaped = per_run(beta2, v)
            v.mul_(shaped).add_(grad * grad * (1 - shaped))
        else:
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5 if isinstance(beta2, Tensor) else math.sqrt(1 - beta2**step)
        step_size = lr / bias_correction1
        denom = (v.sqrt() / per_run(bias_correction2_sqrt, v)).add_(eps)
        if isinstance(step_size, Tensor):
            param.sub_(m / denom * per_run(step_size, param))
        else:
            param.addcdiv_(m, denom, value=-step_size)


class SGDRuns(RunsOptimizer):
    """R runs of SGD, heavy ball (``momentum``) or Nesterov (``momentum`` and ``nesterov=True``)."""

    def __init__(self, params: list[Tensor], hyper: RunsHyper, *, nesterov: bool = False) -> None:
        super().__init__(params, hyper)
        self.nesterov = nesterov
        self.buffers: list[Tensor | None] = [None] * len(params)  # b: the momentum buffers, from the first step

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        momentum = self.number("momentum") if "momentum" in self.hyper else 0.0
        sgd(self.params, grads, self.buffers, lr=self.number("lr"), momentum=momentum, nesterov=self.nesterov)


class AdamRuns(RunsOptimizer):
    """R runs of Adam, or of AdamW with ``decoupled=True`` (``weight_decay`` its decoupled decay)."""

    def __init__(self, params: list[Tensor], hyper: RunsHyper, *, decoupled: bool = False) -> None:
        super().__init__(params, hyper)
        self.decoupled = decoupled
        self.t = 0  # t: completed steps
        self.exp_avgs = [torch.zeros_like(p) for p in params]  # m: EMA of gradients
        self.exp_avg_sqs = [torch.zeros_like(p) for p in params]  # v: EMA of squared gradients

    def lr(self) -> Hyper:
        """The lr of the coming step."""
        return self.number("lr")

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        self.t += 1
        weight_decay = self.number("weight_decay") if "weight_decay" in self.hyper else 0.0
        adam(self.params, grads, self.exp_avgs, self.exp_avg_sqs, self.t, lr=self.lr(), beta1=self.number("beta1"),
             beta2=self.number("beta2"), eps=1e-8, weight_decay=weight_decay, decoupled=self.decoupled)


class WarmupAdamRuns(AdamRuns):
    """R runs of Adam whose lr rises linearly over ``warmup_steps`` steps, as ``torch.optim.lr_scheduler.LinearLR``
    with start factor 1 / W over max(W - 1, 1) iterations (the registry's ``adam_warmup``).

    Step t (from 1) uses lr f_t, f_t = 1/W + (1 - 1/W) min(t - 1, T) / T with T = max(W - 1, 1): LinearLR's closed
    form (torch reaches the same factor recursively, which rounds differently in the last bits).
    """

    def scheduled(self, t: int) -> Hyper:
        """The lr of step t."""
        warmup = self.number("warmup_steps")
        if isinstance(warmup, Tensor):
            total = (warmup - 1).clamp(min=1)
            done = total.clamp(max=t - 1)
        else:
            total = max(warmup - 1, 1)
            done = min(t - 1, total)
        return self.number("lr") * (1 / warmup + (1 - 1 / warmup) * done / total)

    def lr(self) -> Hyper:
        return self.scheduled(self.t)

    def stats(self) -> dict[str, list[float]]:
        """``lr``: the lr the last step used (``optimizers.scheduled.Scheduled``'s statistic)."""
        return {"lr": run_values(self.scheduled(self.t), self.runs)}

    def group_lr(self) -> list[float]:
        """The lr of the coming step: the scheduler has stepped after the last one."""
        return run_values(self.scheduled(self.t + 1), self.runs)


def base_runs(name: str, params: list[Tensor], lr: Hyper) -> AdamRuns | SGDRuns:
    """The base optimizer of a wrapper's runs (AGAW, GAO) as the registry builds the class's: "adam" (torch's default
    betas 0.9, 0.999) or "sgd" (no momentum), at ``lr``; a wrapper that sets the lr each step writes ``hyper["lr"]``."""
    if name == "adam":
        return AdamRuns(params, {"lr": lr, "beta1": 0.9, "beta2": 0.999})
    return SGDRuns(params, {"lr": lr})
