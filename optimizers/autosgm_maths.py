"""AutoSGM's maths over the runs axis: the lowpass filter, the learning-rate oracle, the window and the update."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Real
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimizers.runs import Hyper, is_zero, per_run, run_dot

NUMERATORS = ("unity", "chebyshev_huber", "max_bound", "markov_huber_corr", "chebyshev_huber_corr")
"""Readable names of the numerator estimators a_t, indexed by ``num_lrc`` (the seed's meanings, spec §2.5)."""


def state_layout(aoptlr: bool, num_lrc: int, per_layer: bool) -> dict[str, bool]:
    """The state entries: name -> True if one value per element (packed [R, N]), False if one per layer ([R, L])."""
    layout = {"filter": True}  # m: EMA (pole beta) of the gradients, the smoothing filter's memory
    if aoptlr:
        layout["moment"] = True  # EMA (pole beta_a) of g^2, the denominator's moment
        if num_lrc == 1:
            layout["norm_avg"] = False  # nbar: EMA (pole beta_n) of the layer norm ||v||
            layout["dev_sq_avg"] = False  # EMA of delta^2, delta = ||v - nbar|| + eps
        elif num_lrc == 2:
            layout["bound_avg"] = True  # z: EMA of mu (w^2 + gbar^2)
        elif num_lrc in (3, 4):
            layout["omega"] = True  # omega: EMA of w^2 (times beta_n for num_lrc 3, as the reference keeps it)
            if num_lrc == 3:
                layout["abs_avg"] = True  # A: EMA of |x| + eps, x = w gbar
            else:
                layout["x_avg"] = True  # xbar: EMA of x = w gbar
                layout["dev_sq_avg"] = True  # EMA of delta^2, delta = |x - xbar| + eps
            layout["acc"] = True  # atilde: the un-normalised accumulator of mu' psi
        if num_lrc >= 2:
            layout["a_bar"] = not per_layer  # abar: the 0.1-smoother's output, the numerator a_t
    layout["delta"] = True  # D: the last change is w_t - w_{t-1} = delta_scale D (the secant's memory)
    layout["delta_scale"] = False  # that scale, shared by the layers stepped together
    # <g_t, D> over the layers stepped together, for the next secant (NaN: unknown); with a workspace, which keeps
    # g_t instead, written only when the state is saved (``settle_grad_dot``)
    layout["grad_dot_delta"] = False
    return layout


def autosgm_state(params: list[Tensor], *, aoptlr: bool = True, num_lrc: int = 0,
                  per_layer: bool = True) -> dict[str, Tensor]:
    """Zero state for ``autosgm`` over ``params`` (one tensor [R, *shape] per layer): [R, N] and [R, L] entries."""
    runs = params[0].shape[0]
    elements = sum(p.numel() // runs for p in params)
    return {name: params[0].new_zeros(runs, elements if full else len(params))
            for name, full in state_layout(aoptlr, num_lrc, per_layer).items()}


class Secant(NamedTuple):
    """What step t's secant along the path needs, by reference: ``secant_terms`` reads it when asked.

    The buffers stay as they are until the next ``autosgm`` call with the same workspace, which reuses them; a
    step whose telemetry nobody reads does not pay for it (three products over the packed tensors).
    """

    grad: Tensor  # g_t, [R, N]
    change: Tensor  # D_{t-1}, [R, N]: w_t - w_{t-1} = s D_{t-1}
    before: Tensor  # [R, 2L]: s, then <g_{t-1}, D_{t-1}> as the state held it (NaN: unknown), per layer (all equal)
    previous_grad: Tensor | None  # g_{t-1}, [R, N], when the workspace kept it (then <g_{t-1}, D_{t-1}> is read here)


def secant_terms(secant: Secant) -> tuple[Tensor, Tensor]:
    """(<g_t - g_{t-1}, w_t - w_{t-1}>, ||w_t - w_{t-1}||^2), each [R]."""
    layers = secant.before.shape[1] // 2
    scale, grad_dot = secant.before[:, 0], secant.before[:, layers]
    if secant.previous_grad is not None:
        grad_dot = run_dot(secant.previous_grad, secant.change)
    dot = scale * (run_dot(secant.grad, secant.change) - grad_dot)
    return dot, (scale * torch.linalg.vector_norm(secant.change, dim=1)).square()


class AutoSGMSums(NamedTuple):
    """One ``autosgm`` call's telemetry per run (numbers or shape [R]), summed over every element of every layer."""

    numerator: Hyper  # sum of a_t
    denominator: Hyper  # sum of d_t
    rate: Hyper  # sum of alpha_t = F_t a_t kappa_t / d_t, the rate acting on the raw filter output y_t
    count: int  # elements per run
    secant: Secant  # <g_t - g_{t-1}, w_t - w_{t-1}> and ||w_t - w_{t-1}||^2, on demand (``secant_terms``)


def autosgm(
    params: list[Tensor],
    grads: list[Tensor],
    state: dict[str, Tensor],
    step: int,
    *,
    lr: Hyper,
    beta: Hyper,
    gamma: Hyper,
    eta: Hyper = 0.0,
    beta_a: Hyper = 0.999,
    beta_n: Hyper = 0.9999,
    debias: bool | str = True,
    aoptlr: bool = True,
    num_lrc: int = 0,
    eps: Hyper = 1e-8,
    repeat_eps: bool = False,
    weight_decay: Hyper = 0.0,
    wd_level: int = 0,
    cf: Hyper = 4.0,
    per_layer: bool = True,
    maximize: bool = False,
    window: Hyper = 1.0,
    workspace: dict[str, Any] | None = None,
) -> AutoSGMSums:
    """One AutoSGM step t = ``step`` (already counted) of L layers for R runs; returns the step's telemetry.

    ``params`` and ``grads``: one tensor [R, *shape] per layer (a parameter tensor); the update lands in ``params``.
    With one run they may come without the runs axis (as ``p`` and ``p.grad``): R is the state's.
    ``state`` (``state_layout``): element-wise entries packed [R, N], the layers' elements back to back in order,
    per-layer entries [R, L]; all start at zero and are updated in place. Symbols (spec §1): mu = lr, beta = beta_i
    (pole), gamma = gamma_i (zero), eta_in = eta (0 means 1 - pole, for every EMA), rho = weight_decay,
    F_t = ``window``; hyperparameters are numbers or per-run [R] tensors. Per element (spec §2.7):

        g <- g + rho w                                            (wd_level 0: coupled)
        m <- beta_a m + eta_in g^2,   d = sqrt(k_t m + eps [repeat_eps]) + eps    (aoptlr; else d = 1)
        q_t = beta q_{t-1} + eta_in (g_t - gamma g_{t-1}),   v = kappa_t q_t / ((1 - gamma) d)
        v <- v + (1 - beta) / (1 - gamma) rho w                   (wd_level 1: decoupled)
        w <- w - s F_t a_t v                                      (s = -1 if maximize)

    kappa_t = ((1 - beta) / eta_in) / (1 - beta^t) for ``debias=True`` (the seed's; exact only for gamma = 0),
    (1 - beta) / (eta_in (1 - beta^(t-1) (beta - gamma) / (1 - gamma))) for ``"exact"`` (one over the filter's own
    step response, spec §2.1), else 1; k_t is the moment's (both rules agree for its zero-free EMA). a_t is mu or
    the ``num_lrc`` estimator (``_numerator``).

    Realisation, for a step that is memory-bound: the impulse response eta_in, eta_in (beta - gamma) beta^(j-1)
    (spec §4) splits the filter into a feed-through and an EMA of the past, q_t = eta_in (g_t + k m_{t-1}),
    k = (beta - gamma) / (1 - beta), m_t = beta m_{t-1} + (1 - beta) g_t (state ``filter``): one lerp, no stored
    gradient. With c = 1 / sqrt(k_t) a number, u = c d and r = 1 / u, the change is w_{t+1} - w_t = coef D with
    D = (g_t + k m_{t-1}) r and coef = -s F_t kappa_t eta_in c / (1 - gamma) the update's scalar; a_t joins coef
    (a_t = mu), r (numerators 2-4, known before D) or D (numerator 1, which reads v). The telemetry sums u and the
    rate (two sums); the secant is left to ``secant_terms``, which reads g_t, D_{t-1} and g_{t-1} when asked.
    ``state["delta"]`` holds D_{t-1} on entry and D_t on return, in another tensor: D_t is built in the buffer of
    D_{t-2}, and g_t in that of g_{t-2}, so that the last step's stay for the secant (the caller's views into the
    state must follow ``state["delta"]``). Without a workspace the state keeps <g_t, D_t> instead of g_t.
    Temporaries [R, N] come from ``workspace`` (kept by the caller between steps) when given: a fresh buffer this
    size would page-fault on every step. The workspace also keeps the views of its buffers per layer: made once,
    they save a view per layer and step.
    """
    lr, beta, gamma, eta, beta_a, beta_n, eps, weight_decay, cf, window = (
        v.to(torch.float64) if isinstance(v, Tensor) else v  # per-run scalars in double precision, like numbers
        for v in (lr, beta, gamma, eta, beta_a, beta_n, eps, weight_decay, cf, window))
    previous, scales, grad_dots = state["delta"], state["delta_scale"], state["grad_dot_delta"]
    runs = previous.shape[0]
    sizes = [p.numel() // runs for p in params]

    def scratch(name: str) -> Tensor:
        buffer = None if workspace is None else workspace.get(name)
        if buffer is None or buffer.shape != previous.shape or buffer.dtype != previous.dtype:
            buffer = torch.empty_like(previous)
            if workspace is not None:
                workspace[name] = buffer
        return buffer

    def cached(kind: str, buffer: Tensor, make: Callable[[Tensor], list[Tensor]]) -> list[Tensor]:
        """``make(buffer)``, views made once per buffer and kept in the workspace (a view costs microseconds); for
        the buffers that live from step to step (the workspace's and the state's)."""
        key = f"{kind} of {id(buffer)}"  # the entry holds the buffer: no other tensor can take its id
        entry = None if workspace is None else workspace.get(key)
        if entry is None or entry[0] is not buffer:
            entry = (buffer, make(buffer))
            if workspace is not None:
                workspace[key] = entry
        return entry[1]

    def columns(buffer: Tensor) -> list[Tensor]:
        """An [R, N] buffer's columns layer by layer, [R, n] each (of an [R, L] one, [R, 1] each)."""
        widths = sizes if buffer.shape[1] == previous.shape[1] else [1] * len(sizes)
        return cached("columns", buffer, lambda b: list(b.split_with_sizes(widths, dim=1)))

    def layer_views(buffer: Tensor) -> list[Tensor]:
        """An [R, N] buffer's columns layer by layer, viewed with the layers' shapes."""
        return cached("layers", buffer, lambda b: [c.view(p.shape) for c, p in zip(columns(b), params, strict=True)])

    sizes_row = cached("sizes", scales, lambda b: [b.new_tensor(sizes)])[0]  # [L]: elements per layer

    # g_t and D_t go into the buffers of g_{t-2} and D_{t-2}: g_{t-1} and D_{t-1} stay for the secant.
    g, delta = scratch("spare g"), scratch("spare delta")
    previous_grad = None if workspace is None else workspace.get("g")
    if workspace is not None:
        workspace["spare g"], workspace["g"], workspace["spare delta"] = previous_grad, g, previous
    torch._foreach_copy_(layer_views(g), grads)
    decay = not is_zero(weight_decay)
    w = None
    if decay or (aoptlr and num_lrc >= 2):
        w = scratch("w")
        torch._foreach_copy_(layer_views(w), params)
    if decay and wd_level == 0:
        _add_(g, w, weight_decay)
    secant = Secant(g, previous, torch.cat([scales, grad_dots], dim=1), previous_grad)

    eta_f = filter_gain(eta, beta)
    kappa = _filter_debias(debias, beta, gamma, eta_f, step)
    m = state["filter"]
    _lagged(g, m, (beta - gamma) / (1 - beta), out=delta)  # q_t / eta_in = g_t + k m_{t-1}, times r below
    m.lerp_(g, per_run(1 - beta, m))
    # Decoupled decay v += eta_u rho w, eta_u = (1 - beta) / (1 - gamma), enters as (1 - beta) rho / (kappa eta_in) d w.
    decoupled = (1 - beta) * weight_decay / (kappa * eta_f) if decay and wd_level == 1 else None
    count = sum(sizes)
    root, d_sum, r, floor = 1.0, float(count), None, None
    if aoptlr:
        moment, eta_m = state["moment"], filter_gain(eta, beta_a)
        moment.mul_(per_run(beta_a, moment))
        _addcmul_(moment, g, g, eta_m)
        correction = (1 - beta_a**step) * (eta_m / (1 - beta_a)) if debias else 1.0  # 1 / k_t
        root = correction**0.5
        r = scratch("r")
        if repeat_eps:
            torch.add(moment, per_run(correction * eps, moment), out=r).sqrt_()
        else:
            torch.sqrt(moment, out=r)
        r.add_(per_run(root * eps, r))  # u = c d
        d_sum = r.sum(1).mul_(_per_run_sum(1 / root, r))
        if decoupled is not None:
            _addcmul_(delta, w, r, decoupled / root)
        if num_lrc in (3, 4):  # v = min(u, c) = c min(d, 1), for T(d) = v (c^2 - v^2)^2 / c^5
            floor = (torch.clamp(r, max=per_run(root, r), out=scratch("v")), root)
        r.reciprocal_()  # 1 / d = c r
    elif decoupled is not None:
        _add_(delta, w, decoupled)
    scale = kappa * eta_f / (1 - gamma) * root  # v = scale D, D = delta r

    sign = -1.0 if maximize else 1.0
    if not aoptlr or num_lrc == 0:
        a_sum = lr * count
        rate = r.sum(1).mul_(_per_run_sum(window * kappa * lr * root, r)) if aoptlr else window * kappa * lr * count
        coef = -sign * window * scale * lr
    elif num_lrc >= 2:  # a_t is known before D: folded into r, so D and the rate sum carry it
        layer_a = _numerator(w, g, r, root, state, floor, columns, sizes_row, scratch, lr=lr, beta_n=beta_n,
                             eps=eps, cf=cf, num_lrc=num_lrc, per_layer=per_layer)
        if layer_a is None:
            a_sum = state["a_bar"].sum(1)
            r.mul_(state["a_bar"])
        else:
            a_sum = torch.mv(layer_a, sizes_row)  # sum over elements of the layers' a_t
            torch._foreach_mul_(columns(r), columns(layer_a))
        rate = r.sum(1).mul_(_per_run_sum(window * kappa * root, r))
        coef = -sign * window * scale
    if aoptlr:
        delta.mul_(r)
    if aoptlr and num_lrc == 1:
        layer_a = _huber_norm_numerator(delta, state, scale, sizes, scratch, lr=lr, beta_n=beta_n, eps=eps, cf=cf)
        a_sum = torch.mv(layer_a, sizes_row)
        rate = (layer_a * _layer_sums(columns(r))).sum(1).mul_(_per_run_sum(window * kappa * root, r))
        torch._foreach_mul_(columns(delta), layer_a.split_with_sizes([1] * len(sizes), dim=1))
        coef = -sign * window * scale
    changes = layer_views(delta)
    if isinstance(coef, Real):
        torch._foreach_add_(params, changes, alpha=coef)
        scales.fill_(coef)
    else:
        torch._foreach_addcmul_(params, changes, [per_run(coef, p) for p in params])
        scales.copy_(per_run(coef, scales))
    state["delta"] = delta
    if workspace is None:  # g_t is not kept: <g_t, D_t> now, for the next secant
        grad_dots.copy_(run_dot(g, delta).view(-1, 1))
    return AutoSGMSums(a_sum, d_sum, rate, count, secant)


def settle_grad_dot(state: dict[str, Tensor], workspace: dict[str, Any]) -> None:
    """<g_t, D_t> into ``state["grad_dot_delta"]`` from the gradient the workspace kept: what a saved state needs
    for the next secant (while stepping, the workspace keeps g_t instead)."""
    if workspace.get("g") is not None:
        state["grad_dot_delta"].copy_(run_dot(workspace["g"], state["delta"]).view(-1, 1))


def _lagged(g: Tensor, m: Tensor, lag: Hyper, out: Tensor) -> None:
    """out <- g + lag m: the filter's input plus its weighted past, q_t / eta_in."""
    if isinstance(lag, Real):
        torch.add(g, m, alpha=lag, out=out)
    else:
        torch.addcmul(g, m, per_run(lag, m), out=out)


def _huber_norm_numerator(direction, state, scale, sizes, scratch, *, lr, beta_n, eps, cf) -> Tensor:
    """a_t of num_lrc 1, Chebyshev-Huber <= 1, per layer [R, L] (spec §2.5); ``direction`` holds D, v = ``scale`` D.

    n = ||v||, nbar = EMA(n), delta = ||v - nbar|| + eps, sigma = sqrt(EMA(delta^2)) + eps, a = mu min(1, cf sigma /
    delta): layer scalars, no 0.1-smoother, so a_1 = cf sqrt(1 - beta_n) mu (spec F13). EMA(.) is the canonical
    beta_n EMA (zero start, updated before use).
    """
    v = torch.mul(direction, per_run(scale, direction), out=scratch("x"))
    norm_avg, dev_sq_avg = state["norm_avg"], state["dev_sq_avg"]
    keep = per_run(1 - beta_n, norm_avg)
    norm_avg.lerp_(_layer_norms(v, sizes), keep)
    torch._foreach_sub_(v.split_with_sizes(sizes, dim=1), norm_avg.split_with_sizes([1] * len(sizes), dim=1))
    deviation = _layer_norms(v, sizes).add_(per_run(eps, norm_avg))
    dev_sq_avg.lerp_(deviation.square(), keep)
    ratio = dev_sq_avg.sqrt().add_(per_run(eps, norm_avg)).mul_(per_run(cf, norm_avg)).div_(deviation)
    return ratio.clamp_(max=1.0).mul_(per_run(lr, ratio))


def _numerator(w, g, r, root, state, floor, columns, sizes_row, scratch, *, lr, beta_n, eps, cf, num_lrc, per_layer):
    """a_t of num_lrc 2-4 (spec §2.5) per layer, [R, L], or None when element-wise (then in ``state["a_bar"]``).

    1 / d = ``root`` ``r``; ``floor`` is (min(u, c), c) for T(d) (modes 3, 4). EMA(.) is the canonical beta_n EMA
    (zero start, updated before use), gbar = g / d, T(u) = (1 - min(u, 1)^2)^2 min(u, 1):
      2 max-bound: z = EMA(mu (w^2 + gbar^2)), a = abar(mean min(z, mu))
      3 Markov-Huber: omega = beta_n EMA(w^2), mu' = mu / (1 + omega), x = w gbar, A = EMA(|x| + eps),
        psi = x min(1, cf A / (|x| + eps)), atilde <- beta_n atilde + mu' psi
      4 Chebyshev-Huber: omega = EMA(w^2), xbar = EMA(x), delta = |x - xbar| + eps, sigma = sqrt(EMA(delta^2)) + eps,
        psi = x min(1, sigma / delta), atilde as in 3
      3, 4: a = abar(mean clip(|atilde|, T(d) mu', mu (1 + omega)))        (mu' (1 + omega)^2 = mu (1 + omega))
    The mean is over the layer (skipped unless ``per_layer``); abar <- 0.1 abar + 0.9 (.) is the 0.1-smoother.
    """
    keep = per_run(1 - beta_n, w)
    if num_lrc == 2:
        raw = state["bound_avg"].mul_(per_run(beta_n, w))  # z <- beta_n z + (1 - beta_n) mu (w^2 + gbar^2)
        _addcmul_(raw, w, w, (1 - beta_n) * lr)
        gr = torch.mul(g, r, out=scratch("x"))
        _addcmul_(raw, gr, gr, (1 - beta_n) * lr * root**2)
        raw = torch.clamp(raw, max=per_run(lr, w), out=scratch("raw"))
    else:
        omega, acc = state["omega"].mul_(per_run(beta_n, w)), state["acc"]
        # Mode 3's omega is beta_n EMA(w^2): the reference keeps beta_n times the EMA as its state (spec §2.5).
        _addcmul_(omega, w, w, (1 - beta_n) * (beta_n if num_lrc == 3 else 1.0))
        ceiling = _affine(omega, lr, lr, out=scratch("ceiling"))  # mu (1 + omega): a's clip; mu' = mu^2 / ceiling
        x = _product(w, g, root, out=scratch("x")).mul_(r)  # x = w gbar = c w g r
        magnitude, limit = scratch("magnitude"), scratch("limit")
        if num_lrc == 3:
            torch.abs(x, out=magnitude).add_(per_run(eps, x))
            torch.div(state["abs_avg"].lerp_(magnitude, keep), magnitude, out=limit)  # psi = x min(1, cf limit)
            limit.clamp_(max=per_run(1 / cf, limit))
            gain = cf
        else:
            torch.sub(x, state["x_avg"].lerp_(x, keep), out=magnitude).abs_().add_(per_run(eps, x))
            _addcmul_(state["dev_sq_avg"].mul_(per_run(beta_n, x)), magnitude, magnitude, 1 - beta_n)
            torch.sqrt(state["dev_sq_avg"], out=limit).add_(per_run(eps, x)).div_(magnitude).clamp_(max=1.0)
            gain = 1.0
        _addcdiv_(acc.mul_(per_run(beta_n, acc)), x.mul_(limit), ceiling, lr * lr * gain)  # += mu' psi
        raw = torch.abs(acc, out=scratch("raw")).clamp_(min=_tukey_floor(*floor, ceiling, lr, scratch), max=ceiling)
    a_bar = state["a_bar"]
    if not per_layer:
        # Deviation (spec §2.5): without the means the reference also skipped mode 2's clip; the clip is kept here.
        a_bar.lerp_(raw, 0.9)
        return None
    a_bar.lerp_(_layer_sums(columns(raw)).div_(sizes_row), 0.9)
    return a_bar


def filter_gain(eta: Hyper, pole: Hyper) -> Hyper:
    """An EMA's input gain: eta, or 1 - pole where eta is 0 (spec §2.1)."""
    if isinstance(eta, Tensor) or isinstance(pole, Tensor):
        eta = torch.as_tensor(eta, dtype=torch.float64)
        return torch.where(eta == 0, 1 - torch.as_tensor(pole, dtype=torch.float64), eta)
    return eta if eta != 0 else 1 - pole


def _filter_debias(debias: bool | str, beta: Hyper, gamma: Hyper, eta: Hyper, t: int) -> Hyper:
    """kappa_t, the smoothing filter's output scale at step t (1 without debias)."""
    if debias == "exact":  # one over the step response sigma_t > 0 of the filter with gain eta (spec §2.1)
        return (1 - beta) / (eta * (1 - beta ** (t - 1) * (beta - gamma) / (1 - gamma)))
    return (1 - beta) / eta / (1 - beta**t) if debias else 1.0


def _add_(x: Tensor, y: Tensor, alpha: Hyper) -> None:
    """x <- x + alpha y in place, alpha a number or per-run [R]."""
    if isinstance(alpha, Real):
        x.add_(y, alpha=alpha)
    else:
        x.addcmul_(y, per_run(alpha, y))


def _addcmul_(x: Tensor, y: Tensor, z: Tensor, alpha: Hyper) -> None:
    """x <- x + alpha y z in place, alpha a number or per-run [R]."""
    if isinstance(alpha, Real):
        x.addcmul_(y, z, value=alpha)
    else:
        x.addcmul_(y * per_run(alpha, y), z)


def _addcdiv_(x: Tensor, y: Tensor, z: Tensor, alpha: Hyper) -> None:
    """x <- x + alpha y / z in place, alpha a number or per-run [R]."""
    if isinstance(alpha, Real):
        x.addcdiv_(y, z, value=alpha)
    else:
        x.addcdiv_(y * per_run(alpha, y), z)


def _product(x: Tensor, y: Tensor, alpha: Hyper, out: Tensor) -> Tensor:
    """out <- alpha x y (alpha a number or per-run [R]); a number rides in ``addcmul`` (one pass, not two)."""
    if isinstance(alpha, Real):
        return torch.addcmul(out.new_zeros(()), x, y, value=alpha, out=out)
    return torch.mul(x, y, out=out).mul_(per_run(alpha, out))


def _tukey_floor(v: Tensor, root: Hyper, ceiling: Tensor, lr: Hyper, scratch) -> Tensor:
    """T(d) mu / (1 + omega) = T(d) mu^2 / ``ceiling`` (ceiling = mu (1 + omega)), from v = min(u, c) = c min(d, 1):
    T(d) = v (c^2 - v^2)^2 / c^5 (modes 3, 4's floor).

    mu^2 / c^5 enters square-rooted into c^2 - v^2, so the floor takes four kernels; ``v`` is overwritten.
    """
    half = (lr**2 / root**5) ** 0.5
    floor = scratch("floor")
    if isinstance(half, Real) and isinstance(root, Real):
        torch.addcmul(v.new_tensor(half * root**2), v, v, value=-half, out=floor)
    else:
        torch.mul(v, v, out=floor).neg_().add_(per_run(root, v) ** 2).mul_(per_run(half, v))
    return floor.square_().mul_(v.div_(ceiling))


def _per_run_sum(value: Hyper, like: Tensor) -> Hyper:
    """A hyperparameter as a factor of per-run sums [R] (a number, or [R] in ``like``'s dtype)."""
    return value.to(like.dtype) if isinstance(value, Tensor) else value


def _affine(x: Tensor, a: Hyper, b: Hyper, out: Tensor) -> Tensor:
    """out <- a + b x (a and b numbers or per-run [R]); numbers take one kernel."""
    if isinstance(a, Real) and isinstance(b, Real):
        return torch.add(x.new_tensor(a), x, alpha=b, out=out)
    return torch.mul(x, per_run(b, x), out=out).add_(per_run(a, x))


def _layer_sums(columns: list[Tensor]) -> Tensor:
    """Each layer's sum per run, [R, L], from the layers' columns."""
    if columns[0].shape[0] == 1:
        return torch.stack([column.sum() for column in columns]).view(1, -1)
    return torch.stack([column.sum(1) for column in columns], dim=1)


def _layer_norms(x: Tensor, sizes: list[int]) -> Tensor:
    """Each layer's L2 norm per run: [R, L] (one foreach kernel for one run)."""
    if x.shape[0] == 1:
        return torch.stack(torch._foreach_norm(x[0].split_with_sizes(sizes))).view(1, -1)
    return torch.stack([torch.linalg.vector_norm(part, dim=1) for part in x.split_with_sizes(sizes, dim=1)], dim=1)
