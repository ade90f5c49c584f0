"""GNW-Adam: Adam whose step size is divided by one plus the global gradient norm.

Source: the GNW-Adam write-up (shared/seeds/002), as specified in shared/spec/optimizers.md §4.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.runs import Hyper, foreach_arg, global_run_norm, is_zero, with_runs_axis
from optimizers.runs_optimizer import RunsHyper, RunsOptimizer
from optimizers.stepping import evaluate_closure, params_with_grad
from optimizers.validation import check_number, check_probability


def gnw_adam(
    params: list[Tensor],
    grads: list[Tensor],
    exp_avgs: list[Tensor],
    exp_avg_sqs: list[Tensor],
    steps: list[int],
    *,
    lr: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    eps: Hyper,
    weight_decay: Hyper,
    grad_norm: Tensor | None = None,
) -> Tensor:
    """One GNW-Adam step for R runs at once (every tensor shaped [R, ...]); returns N_t, shape [R].

    With g the gradient of each tensor, t its step count (already incremented) and N_t the norm of all raw
    gradients of a run together (before weight decay, computed before any parameter moves):

        g <- g + weight_decay * p                                  (coupled L2, as torch.optim.Adam)
        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        p <- p - lr / (1 - beta1^t) / (1 + N_t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    This is exactly ``torch.optim.Adam`` with its lr set to lr / (1 + N_t) before each step (spec §4.1).
    ``m`` and ``v`` are updated in place; hyperparameters are numbers or per-run tensors of shape [R].
    ``grad_norm`` defaults to the norm of ``grads``; pass N_t when a run's gradients span several calls (groups).
    """
    if grad_norm is None:
        grad_norm = global_run_norm(grads)
    if not is_zero(weight_decay):
        grads = torch._foreach_add(grads, torch._foreach_mul(params, foreach_arg(weight_decay, params)))
    torch._foreach_lerp_(exp_avgs, grads, foreach_arg(1 - beta1, exp_avgs))
    torch._foreach_lerp_(exp_avg_sqs, torch._foreach_mul(grads, grads), foreach_arg(1 - beta2, exp_avg_sqs))
    denom = torch._foreach_sqrt(exp_avg_sqs)
    torch._foreach_div_(denom, foreach_arg([(1 - beta2**t) ** 0.5 for t in steps], denom))
    torch._foreach_add_(denom, foreach_arg(eps, denom))
    update = torch._foreach_div(exp_avgs, denom)
    step_sizes = {t: -lr / (1 - beta1**t) / (1 + grad_norm) for t in set(steps)}  # usually one distinct t
    torch._foreach_mul_(update, foreach_arg([step_sizes[t] for t in steps], update))
    torch._foreach_add_(params, update)
    return grad_norm


class GNWAdam(Optimizer):
    """Gradient-norm-weighted Adam: Adam with step size lr / (1 + ||g_t||), ||g_t|| over all parameters.

    Args:
        params: parameters or param groups.
        lr: base learning rate (>= 0), default 1e-3; the write-up's tuned value is about 5.85e-3.
        betas: (beta1, beta2), each in [0, 1), default (0.9, 0.999).
        eps: added to the bias-corrected denominator (>= 0), default 1e-8.
        weight_decay: coupled L2 decay as in ``torch.optim.Adam`` (>= 0), default 0.

    After each step ``stats`` holds ``grad_norm`` (N_t) and ``lr_effective`` (lr / (1 + N_t), first group).
    N_t is global across param groups; lr is per group (spec §4.1).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        name = type(self).__name__
        check_number(name, "lr", lr, low=0.0)
        if len(betas) != 2:
            raise ValueError(f"{name}: invalid betas={betas!r}; expected two numbers (beta1, beta2)")
        check_probability(name, "betas[0]", betas[0])
        check_probability(name, "betas[1]", betas[1])
        check_number(name, "eps", eps, low=0.0)
        check_number(name, "weight_decay", weight_decay, low=0.0)
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})
        self.stats: dict[str, float] = {}

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = evaluate_closure(closure)
        groups = [(group, params_with_grad(type(self).__name__, group)) for group in self.param_groups]
        all_grads = [p.grad for _, params in groups for p in params]
        if not all_grads:
            return loss
        # N_t is global: measure it over every group before any parameter moves.
        grad_norm = global_run_norm(with_runs_axis(all_grads))
        for group, params in groups:
            if not params:
                continue
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = 0  # t: completed Adam steps for this tensor
                    state["exp_avg"] = torch.zeros_like(p)  # m: EMA of gradients
                    state["exp_avg_sq"] = torch.zeros_like(p)  # v: EMA of squared gradients
                state["step"] += 1
            states = [self.state[p] for p in params]
            beta1, beta2 = group["betas"]
            gnw_adam(
                with_runs_axis(params),
                with_runs_axis([p.grad for p in params]),
                with_runs_axis([s["exp_avg"] for s in states]),
                with_runs_axis([s["exp_avg_sq"] for s in states]),
                [s["step"] for s in states],
                grad_norm=grad_norm,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                eps=group["eps"],
                weight_decay=group["weight_decay"],
            )
        norm = float(grad_norm)
        self.stats = {"grad_norm": norm, "lr_effective": self.param_groups[0]["lr"] / (1 + norm)}
        return loss


class GNWAdamRuns(RunsOptimizer):
    """R runs of ``GNWAdam`` as the registry builds it (``lr``, ``beta1``, ``beta2``; eps 1e-8, no weight decay):
    ``gnw_adam`` over the [R, ...] parameters, N_t per run. ``stats``: the class's ``grad_norm`` and
    ``lr_effective``, per run."""

    def __init__(self, params: list[Tensor], hyper: RunsHyper) -> None:
        super().__init__(params, hyper)
        self.t = 0  # t: completed steps (every tensor steps every time)
        self.exp_avgs = [torch.zeros_like(p) for p in params]  # m: EMA of gradients
        self.exp_avg_sqs = [torch.zeros_like(p) for p in params]  # v: EMA of squared gradients
        self.grad_norm: Tensor | None = None  # N_t of the last step, [R]

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        self.t += 1
        self.grad_norm = gnw_adam(self.params, grads, self.exp_avgs, self.exp_avg_sqs, [self.t] * len(self.params),
                                  lr=self.number("lr"), beta1=self.number("beta1"), beta2=self.number("beta2"),
                                  eps=1e-8, weight_decay=0.0)

    def stats(self) -> dict[str, list[float]]:
        if self.grad_norm is None:
            return {}
        return {"grad_norm": self.grad_norm.tolist(),
                "lr_effective": (self.number("lr") / (1 + self.grad_norm)).tolist()}
