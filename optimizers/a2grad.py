"""A2Grad (adaptive and accelerated SGD; uni, inc and exp): the runs-axis maths and its torch.optim adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.optim import Optimizer

from optimizers.runs import Hyper, foreach_arg, per_run, run_norms, run_rows, run_values, with_runs_axis
from optimizers.runs_optimizer import RunsHyper, RunsOptimizer
from optimizers.stepping import evaluate_closure, params_with_grad
from optimizers.validation import check_choice, check_number

VARIANTS = ("uni", "inc", "exp")
CONVENTIONS = ("paper", "pytorch_optimizer")
GRANULARITIES = ("tensor", "coordinate")


def mixing_weight(k: int, convention: str) -> float:
    """a_k, the weight of x_k in y_k = (1 - a_k) xbar_k + a_k x_k; step k uses a_{k+1} and a_k.

    Paper: a_k = 2 / (k + 2), so a_0 = 1 and step k mixes with a_{k+1} = 2 / (k + 3).
    """
    if convention == "paper":
        return 2.0 / (k + 2)
    # Deviation (pytorch_optimizer): its 1-based counter t = k + 1 gives a_{k+1} = 2 / (k + 4) and a_k = 2 / (k + 3),
    # except that the first step still corrects with a_0 = 1.
    return 1.0 if k == 0 else 2.0 / (k + 3)


class A2GradQuantities(NamedTuple):
    """What one ``a2grad`` step computed, one entry per tensor (runs on the leading axis)."""

    gamma: list[Hyper]  # gamma_k: a number, or shape [R] when lips is per run
    h: list[Tensor]  # h_k: shape [R] (tensor granularity) or [R, *param_shape] (coordinate granularity)
    c: list[Tensor]  # c_k = 1 / (gamma_k + beta h_k): same shape as h
    a: list[float]  # a_{k+1}: the mixing weight this step used


def a2grad(
    params: list[Tensor],
    grads: list[Tensor],
    avg_grads: list[Tensor],
    x_ks: list[Tensor],
    v_ks: list[Tensor],
    v_kks: list[Tensor] | None,
    steps: list[int],
    *,
    beta: Hyper,
    lips: Hyper,
    rho: Hyper,
    variant: str,
    convention: str,
    granularity: str,
) -> A2GradQuantities:
    """One A2Grad step (Alg. 7 with the Sec. 5 heuristic) for R runs at once; every tensor is shaped [R, ...].

    With one run ``grads`` may come without the runs axis (as in ``p.grad``): they are only read.

    ``params`` is y_k (where G_k = ``grads`` was evaluated), ``x_ks`` the aggressive sequence x_k, ``avg_grads`` the
    running mean of G_0..G_k, ``v_ks`` the accumulator v_k and ``v_kks`` the EMA vtilde_k (exp only; None otherwise),
    with L = ``lips``. ``steps`` holds each tensor's k (completed steps, before this one); all state starts at zero
    except x_0 = y_0. In the paper convention, per tensor and per run:

        gamma = 2 L / (k + 1),   a_k = 2 / (k + 2)
        avg   <- avg + (G - avg) / (k + 1);   delta = G - avg;   s = delta^2
        uni:  v <- v + s;                                             h = sqrt(v)
        inc:  v <- (k / (k + 1))^2 v + s;                             h = sqrt(v)
        exp:  vt <- s (k = 0) or rho vt + (1 - rho) s;  v <- max(v, vt);  h = sqrt((k + 1) v)
        c     = 1 / (gamma + beta h)
        x     <- x - c G
        y     <- (1 - a_{k+1}) y + a_{k+1} x - (1 - a_{k+1}) a_k c G

    ``granularity="coordinate"`` is the paper's diagonal h (s elementwise, v shaped like the tensor);
    ``granularity="tensor"`` keeps one h per tensor and run (s = ||delta||^2, v shaped [R]), as both libraries do.
    ``convention="pytorch_optimizer"`` reproduces pytorch-optimizer 4.1.0 (spec §1.4): gamma = 2 L / (k + 2),
    a_{k+1} = 2 / (k + 4), a_k = 2 / (k + 3) but a_0 = 1, inc decays by ((k + 1) / (k + 2))^2, and both inc and exp
    use h = sqrt((k + 2) v). beta (>= 0), lips (> 0) and rho are numbers or per-run [R] tensors. Everything is
    updated in place; returns gamma, h, c and a_{k+1} per tensor.

    Reference: Deng, Cheng & Lan, "Optimal Adaptive and Accelerated Stochastic Gradient Descent", 2018,
    arXiv:1810.00553 (Algs. 4-7, Sec. 5); shared/spec/optimizers.md §1.
    """
    if not params:
        return A2GradQuantities(gamma=[], h=[], c=[], a=[])
    paper, exp = convention == "paper", variant == "exp"
    if exp and v_kks is None:
        raise ValueError("a2grad: variant='exp' needs v_kks (the EMA vtilde_k)")
    schedules = {k: _schedule(k, convention) for k in set(steps)}  # usually one k for every tensor
    per_tensor = _Schedule(*(list(column) for column in zip(*(schedules[k] for k in steps), strict=True)))
    # A foreach op takes one number when every tensor has the same k, else a list with one number per tensor.
    uniform = len(schedules) == 1
    shared = next(iter(schedules.values())) if uniform else per_tensor
    gammas = [2 * lips / den for den in per_tensor.den]
    # Deviation (pytorch_optimizer): its inc multiplies h by sqrt(k + 2), which the paper does not; its exp uses
    # sqrt(k + 2) where the paper has sqrt(k + 1).
    scaled = exp or (variant == "inc" and not paper)

    # Running mean of G_0..G_k: weight 1 at k = 0 makes avg = G_0 (so delta_0 = 0 and h_0 = 0).
    torch._foreach_lerp_(avg_grads, grads, shared.mean_weight)
    deltas = torch._foreach_sub(grads, avg_grads)
    # Deviation (both libraries): tensor granularity keeps one h per tensor, from s = ||delta||^2 over the tensor.
    roots = run_norms(deltas) if granularity == "tensor" else deltas  # s = roots^2
    if variant == "inc":
        torch._foreach_mul_(v_ks, shared.decay)
    if exp:
        # vtilde_0 = s_0 in the paper and (1 - rho) s_0 in pytorch_optimizer: both are 0 (delta_0 = 0), so one
        # EMA weight serves every k while vtilde starts at 0.
        torch._foreach_mul_(roots, roots)  # s, in place: deltas (or the norms) are not needed any more
        torch._foreach_lerp_(v_kks, roots, foreach_arg(1 - rho, v_kks))
        torch._foreach_maximum_(v_ks, v_kks)
    else:
        torch._foreach_addcmul_(v_ks, roots, roots)

    if granularity == "tensor":
        # The N tensors' per-run accumulators side by side, [R, N]: h and c take one op each for all tensors.
        v = torch.stack(v_ks, dim=1)
        den = shared.den if uniform else v.new_tensor(per_tensor.den)  # a number, or a row [N]
        h_all = (v * den if scaled else v).sqrt()
        c_all = (h_all * per_run(beta, h_all)).add_(2 * per_run(lips, h_all) / den).reciprocal_()
        h, c = list(h_all.unbind(1)), list(c_all.unbind(1))
        c_like = _broadcastable(c, grads)
    else:  # the same two lines, per coordinate
        h = deltas  # h goes into the deltas' memory, free by now
        for h_i, v_i, den_i in zip(h, v_ks, per_tensor.den, strict=True):
            if scaled:
                torch.mul(v_i, den_i, out=h_i)
            else:
                torch.sqrt(v_i, out=h_i)
        if scaled:
            torch._foreach_sqrt_(h)
        c = torch._foreach_mul(h, foreach_arg(beta, h))
        torch._foreach_add_(c, foreach_arg(gammas[0] if uniform else gammas, c))
        torch._foreach_reciprocal_(c)
        c_like = c
    # x_{k+1} = x_k - c G, and y_{k+1} = (1 - a_{k+1}) y + a_{k+1} x_{k+1} - (1 - a_{k+1}) a_k c G written as
    # y <- lerp(y, x_k, a_{k+1}) - (a_{k+1} + (1 - a_{k+1}) a_k) c G, reading x_k before it moves.
    torch._foreach_lerp_(params, x_ks, shared.a_next)
    torch._foreach_addcmul_(params, grads, c_like, shared.y_weight)
    torch._foreach_addcmul_(x_ks, grads, c_like, value=-1)
    return A2GradQuantities(gamma=gammas, h=h, c=c, a=per_tensor.a_next)


class _Schedule(NamedTuple):
    """The numbers of step k that depend on k alone (one tensor; or, field by field, lists over tensors)."""

    mean_weight: float  # 1 / (k + 1): the new gradient's weight in the running mean
    decay: float  # inc: v <- decay v + s, (k / (k + 1))^2
    den: float  # k + 1: gamma = 2 L / den, and exp's h = sqrt(den v)
    a_next: float  # a_{k+1}, x_{k+1}'s weight in y_{k+1}
    y_weight: float  # -(a_{k+1} + (1 - a_{k+1}) a_k): y's weight on c G


def _schedule(k: int, convention: str) -> _Schedule:
    """Step k's schedule in the given convention."""
    # Deviation (pytorch_optimizer): its counter t = k + 1 is used where the paper uses k, so gamma = 2 L / (k + 2),
    # inc's decay is ((k + 1) / (k + 2))^2 and exp's h is sqrt((k + 2) v).
    den = float(k + 1 if convention == "paper" else k + 2)
    a_next = mixing_weight(k + 1, convention)
    # y_{k+1} = (1 - a_{k+1}) y + a_{k+1} x_{k+1} - (1 - a_{k+1}) a_k c G with x_{k+1} = x_k - c G substituted.
    y_weight = -(a_next + (1 - a_next) * mixing_weight(k, convention))
    return _Schedule(1.0 / (k + 1), ((den - 1) / den) ** 2, den, a_next, y_weight)


def _broadcastable(rows: list[Tensor], like: list[Tensor]) -> list[Tensor]:
    """Per-run scalars [R] viewed as [R, 1, ..., 1] against each tensor of ``like`` ([1] already broadcasts)."""
    if rows[0].shape[0] == 1:
        return rows
    return [row.view(-1, *([1] * (tensor.dim() - 1))) for row, tensor in zip(rows, like, strict=True)]


def a2grad_averaged_iterate(
    params: list[Tensor], x_ks: list[Tensor], steps: list[int], *, convention: str
) -> list[Tensor]:
    """The paper's averaged output xbar_n after n = ``steps`` completed steps (new tensors, shaped [R, ...]).

    From y_n = (1 - a_n) xbar_n + a_n x_n: xbar_n = (y_n - a_n x_n) / (1 - a_n); xbar_0 = y_0. This equals
    xbar_{k+1} = y_k - a_k c_k G_k (spec §1.2), but needs no extra state.
    """
    weights = [mixing_weight(n, convention) if n > 0 else 0.0 for n in steps]
    xbars = torch._foreach_sub(params, torch._foreach_mul(x_ks, weights))
    torch._foreach_div_(xbars, [1 - a for a in weights])
    return list(xbars)


class _StepStats:
    """One step's statistics, kept as tensors until ``resolve`` (then cached): ``first`` holds gamma and alpha of
    the first tensor (numbers or [R]), ``h_sums`` and ``c_sums`` each tensor's h and c summed over its coordinates
    (h and c themselves in tensor granularity; [R] each), ``sizes`` how many values each sum adds up."""

    def __init__(self, quantities: A2GradQuantities, coordinate: bool) -> None:
        """The statistics of one ``a2grad`` call (``extend`` adds the tensors of further calls)."""
        self.first = {"gamma": quantities.gamma[0], "alpha": quantities.a[0]}
        if coordinate:
            self.h_sums = [run_rows(h).sum(1) for h in quantities.h]
            self.c_sums = [run_rows(c).sum(1) for c in quantities.c]
            self.sizes = [h[0].numel() for h in quantities.h]
        else:
            self.h_sums, self.c_sums, self.sizes = list(quantities.h), list(quantities.c), [1] * len(quantities.h)
        self.resolved: dict[str, list[float]] | None = None

    def extend(self, other: _StepStats) -> None:
        """Add another call's tensors (another param group) to the averages; gamma and alpha stay the first's."""
        self.h_sums += other.h_sums
        self.c_sums += other.c_sums
        self.sizes += other.sizes

    def resolve(self) -> dict[str, list[float]]:
        """gamma, alpha, and h and c averaged over tensors (each its mean over its coordinates): R floats each."""
        if self.resolved is None:
            rows = torch.stack(self.h_sums + self.c_sums).tolist()  # [2n][R]: one sync for all tensors
            n, runs = len(self.sizes), len(rows[0])
            self.resolved = {name: run_values(value, runs) for name, value in self.first.items()}
            for name, part in (("h", rows[:n]), ("c", rows[n:])):
                self.resolved[name] = [sum(row[r] / size for row, size in zip(part, self.sizes, strict=True)) / n
                                       for r in range(runs)]
        return self.resolved


def _validated(owner: str, group: dict[str, Any]) -> dict[str, Any]:
    """The group's A2Grad hyperparameters, checked (ValueError naming the field otherwise)."""
    return {
        "beta": check_number(owner, "beta", group["beta"], low=0.0),
        "lips": check_number(owner, "lips", group["lips"], low=0.0, low_open=True),
        "rho": check_number(owner, "rho", group["rho"], low=0.0, high=1.0),
        "variant": check_choice(owner, "variant", group["variant"], VARIANTS),
        "convention": check_choice(owner, "convention", group["convention"], CONVENTIONS),
        "granularity": check_choice(owner, "granularity", group["granularity"], GRANULARITIES),
    }


class A2Grad(Optimizer):
    """A2Grad: accelerated SGD whose step c_k = 1 / (2L/(k+1) + beta h_k) adapts to the gradient's drift.

    The parameters are y_k (where gradients are evaluated); the state holds x_k and the gradient statistics,
    stored with the maths' leading runs axis of 1 (so a step wraps no views around them). See
    ``a2grad`` for the update rule. There is no learning rate (no ``lr`` in the param groups): the step size comes
    from L, beta and the gradients, so LR schedulers do not apply.

    Args:
        params: parameters or param groups.
        beta: weight of the adaptive term (>= 0), default 10; beta = 0 is non-adaptive accelerated SGD.
        lips: L, the Lipschitz-constant estimate (> 0), default 10; the first step is y_0 - G_0 / (2L).
        rho: EMA factor of the exp variant, in [0, 1], default 0.5 (unused by uni and inc).
        variant: "uni" (default), "inc" or "exp" (the paper's Algs. 4, 5, 6).
        convention: "paper" (default; equals torch-optimizer 0.3.0's A2GradUni/Inc/Exp) or "pytorch_optimizer"
            (equals pytorch-optimizer 4.1.0's A2Grad, spec §1.4), except that every tensor keeps its own counter.
        granularity: "tensor" (default; one h per tensor, as both libraries) or "coordinate" (the paper's h).

    After each step ``stats`` holds ``gamma`` and ``alpha`` (a_{k+1}) of the first tensor, and ``h`` and ``c``
    averaged over tensors (each tensor's mean over its coordinates in coordinate granularity).
    ``averaged_iterate(p)`` returns the paper's output sequence xbar for plotting.

    Reference: Deng, Cheng & Lan 2018, arXiv:1810.00553; shared/spec/optimizers.md §1.
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        beta: float = 10.0,
        lips: float = 10.0,
        rho: float = 0.5,
        variant: str = "uni",
        convention: str = "paper",
        granularity: str = "tensor",
    ) -> None:
        defaults = dict(beta=beta, lips=lips, rho=rho, variant=variant, convention=convention, granularity=granularity)
        super().__init__(params, _validated(type(self).__name__, defaults))
        self._last_step: _StepStats | None = None  # what ``stats`` reads, on demand

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Validate the group's hyperparameters (its own or the defaults) before adding it."""
        param_group.update(_validated(type(self).__name__, {**self.defaults, **param_group}))
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One A2Grad step for every parameter that has a gradient; returns the closure's loss, if given."""
        loss = evaluate_closure(closure)
        groups: list[tuple[dict[str, Any], list[Tensor], list[Tensor]]] = []  # (group, params, their gradients)
        for group in self.param_groups:
            params = params_with_grad(type(self).__name__, group)
            if params:
                groups.append((group, params, [p.grad for p in params]))
        step_stats: _StepStats | None = None  # the step's statistics over every group's tensors
        for group, params, grads in groups:
            coordinate, exp = group["granularity"] == "coordinate", group["variant"] == "exp"
            states = [self.state[p] for p in params]
            for p, state in zip(params, states, strict=True):
                if not state:  # tensors kept in the maths' layout, with a leading runs axis of 1
                    state["step"] = 0  # k: completed A2Grad steps of this tensor (its own counter)
                    state["avg_grad"] = p.new_zeros((1, *p.shape))  # running mean of this tensor's gradients
                    state["x_k"] = p.detach().clone().unsqueeze(0)  # x_k: the aggressive sequence, x_0 = y_0
                    # v_k: accumulated delta^2, per coordinate, or one number summed over the tensor
                    state["v_k"] = p.new_zeros((1, *p.shape) if coordinate else (1,))
                if exp and "v_kk" not in state:
                    state["v_kk"] = torch.zeros_like(state["v_k"])  # vtilde_k: EMA of delta^2 (exp only)
            quantities = a2grad(
                with_runs_axis(params),
                grads,
                [s["avg_grad"] for s in states],
                [s["x_k"] for s in states],
                [s["v_k"] for s in states],
                [s["v_kk"] for s in states] if exp else None,
                [s["step"] for s in states],
                beta=group["beta"],
                lips=group["lips"],
                rho=group["rho"],
                variant=group["variant"],
                convention=group["convention"],
                granularity=group["granularity"],
            )
            for state in states:
                state["step"] += 1
            call = _StepStats(quantities, coordinate)
            if step_stats is None:
                step_stats = call
            else:
                step_stats.extend(call)
        if step_stats is not None:
            self._last_step = step_stats
        return loss

    @property
    def stats(self) -> dict[str, float]:
        """The last step's ``gamma``, ``alpha``, and ``h`` and ``c`` averaged over tensors (``{}`` before a step).

        Computed when read, with one host sync, so a step that nobody inspects does not pay for it.
        """
        if self._last_step is None:
            return {}
        return {name: values[0] for name, values in self._last_step.resolve().items()}

    @torch.no_grad()
    def averaged_iterate(self, p: Tensor) -> Tensor:
        """xbar for parameter ``p`` after its last completed step (a new tensor); p itself before its first step."""
        group = next((g for g in self.param_groups if any(q is p for q in g["params"])), None)
        if group is None:
            raise ValueError(f"{type(self).__name__}.averaged_iterate: p is not one of this optimizer's parameters")
        state = self.state.get(p)
        if not state or state["step"] == 0:
            return p.detach().clone()
        ys, xs = with_runs_axis([p.detach()]), [state["x_k"]]
        (xbar,) = a2grad_averaged_iterate(ys, xs, [state["step"]], convention=group["convention"])
        return xbar.squeeze(0)


class A2GradRuns(RunsOptimizer):
    """R runs of ``A2Grad`` (one param group; ``beta``, ``lips``, ``rho`` numbers or [R], the choices shared):
    ``a2grad`` over the [R, ...] parameters y_k, with the class's state. ``stats`` and ``averaged`` as the class's
    ``stats`` and ``averaged_iterate``, per run."""

    def __init__(self, params: list[Tensor], hyper: RunsHyper) -> None:
        super().__init__(params, hyper)
        self.options = {name: str(self.hyper[name]) for name in ("variant", "convention", "granularity")}
        coordinate = self.options["granularity"] == "coordinate"
        self.k = 0  # k: completed steps (every tensor steps every time)
        self.avg_grads = [torch.zeros_like(p) for p in params]  # running mean of the gradients
        self.x_ks = [p.detach().clone() for p in params]  # x_k: the aggressive sequence, x_0 = y_0
        # v_k: accumulated delta^2, per coordinate, or one number per run summed over the tensor
        self.v_ks = [torch.zeros_like(p) if coordinate else p.new_zeros(self.runs) for p in params]
        self.v_kks = [torch.zeros_like(v) for v in self.v_ks] if self.options["variant"] == "exp" else None  # vtilde_k
        self.last: _StepStats | None = None  # the last step's statistics

    @torch.no_grad()
    def step(self, grads: list[Tensor]) -> None:
        quantities = a2grad(self.params, grads, self.avg_grads, self.x_ks, self.v_ks, self.v_kks,
                            [self.k] * len(self.params), beta=self.number("beta"), lips=self.number("lips"),
                            rho=self.number("rho"), variant=self.options["variant"],
                            convention=self.options["convention"], granularity=self.options["granularity"])
        self.k += 1
        self.last = _StepStats(quantities, self.options["granularity"] == "coordinate")

    def stats(self) -> dict[str, list[float]]:
        return {} if self.last is None else self.last.resolve()

    @torch.no_grad()
    def averaged(self) -> list[Tensor]:
        if self.k == 0:
            return [p.detach().clone() for p in self.params]
        return a2grad_averaged_iterate(self.params, self.x_ks, [self.k] * len(self.params),
                                       convention=self.options["convention"])
