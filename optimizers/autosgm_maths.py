"""AutoSGM's maths over the runs axis, in the order of spec §2: the smoothing filter (§2.1, §2.2), the moment (§2.3),
the weight decay (§2.4), and the step (§2.7), which composes them with a numerator a_t (§2.5,
``optimizers.autosgm_numerators``) and the window's value F_t (§2.6, ``optimizers.windows``)."""

from __future__ import annotations

from numbers import Real
from typing import Any, NamedTuple

import torch
from torch import Tensor

from optimizers.autosgm_kernels import add_, add_scaled, addcmul_, layer_sums, per_run_sum
from optimizers.autosgm_numerators import (
    chebyshev_huber_numerator,
    huber_norm_numerator,
    markov_huber_numerator,
    max_bound_numerator,
    smoothed_numerator,
)
from optimizers.autosgm_workspace import kept_grad, layer_views, scratch, step_buffers
from optimizers.runs import Hyper, is_zero, per_run, run_dot, run_sums

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


# --- spec §2.1, §2.2: the smoothing filter ----------------------------------------------------------------------------


def filter_gain(eta: Hyper, pole: Hyper) -> Hyper:
    """An EMA's input gain: eta, or 1 - pole where eta is 0 (spec §2.1)."""
    if isinstance(eta, Tensor) or isinstance(pole, Tensor):
        eta = torch.as_tensor(eta, dtype=torch.float64)
        return torch.where(eta == 0, 1 - torch.as_tensor(pole, dtype=torch.float64), eta)
    return eta if eta != 0 else 1 - pole


def filter_debias(debias: bool | str, beta: Hyper, gamma: Hyper, eta: Hyper, t: int) -> Hyper:
    """kappa_t, the smoothing filter's output scale at step t (spec §2.1), for input gain ``eta``:

        True:     kappa_t = ((1 - beta) / eta) / (1 - beta^t)     (the seed's; exact only for gamma = 0)
        "exact":  kappa_t = (1 - beta) / (eta sigma_t),  sigma_t = 1 - beta^(t-1) (beta - gamma) / (1 - gamma)
        False:    kappa_t = 1

    sigma_t > 0 is the step response of the unit-DC filter: "exact" is an option, not the seed's (spec §2.1).
    """
    if debias == "exact":
        return (1 - beta) / (eta * (1 - beta ** (t - 1) * (beta - gamma) / (1 - gamma)))
    return (1 - beta) / eta / (1 - beta**t) if debias else 1.0


def smoothing_filter(g: Tensor, m: Tensor, beta: Hyper, gamma: Hyper, out: Tensor) -> None:
    """The smoothing filter of spec §2.2 (the primitive of §2.1, pole beta, zero gamma, input gain eta_in):

        q_t = beta q_{t-1} + eta_in (g_t - gamma g_{t-1}),    y_t = q_t / (1 - gamma)

    ``out`` <- q_t / eta_in; ``m`` (state ``filter``) is the filter's memory. Realisation: the impulse response of
    q / eta_in is 1, (beta - gamma) beta^(j-1) (spec §4), a feed-through and an EMA of the past, so

        q_t / eta_in = g_t + k m_{t-1},    k = (beta - gamma) / (1 - beta),    m_t = beta m_{t-1} + (1 - beta) g_t

    one kernel and one lerp, and no stored g_{t-1}. eta_in and kappa_t are left to the update's scalar.
    """
    add_scaled(g, m, (beta - gamma) / (1 - beta), out=out)
    m.lerp_(g, per_run(1 - beta, m))


# --- spec §2.3: the moment (the oracle's denominator d_t) -------------------------------------------------------------


def moment_estimate(g: Tensor, moment: Tensor, step: int, out: Tensor, *, beta_a: Hyper, eta: Hyper, eps: Hyper,
                    debias: bool | str, repeat_eps: bool) -> Hyper:
    """The moment estimate and the denominator of spec §2.3: returns c = 1 / sqrt(k_t) and puts u = c d_t in ``out``.

        m_t = beta_a m_{t-1} + eta_m g_t^2    (state ``moment``; eta_m = ``filter_gain(eta, beta_a)``, eta_i shared)
        d_t = sqrt(k_t m_t + eps [repeat_eps]) + eps,    k_t = ((1 - beta_a) / eta_m) / (1 - beta_a^t)  (or 1)

    k_t is the filter primitive's debias (§2.1) when ``debias`` is on, exact for the moment's zero-free EMA (so
    "exact" is the same), and 1 otherwise. The tensor pass computes u = sqrt(m_t + eps / k_t [repeat_eps]) + c eps
    = c d_t, so that k_t stays a number.
    """
    eta_m = filter_gain(eta, beta_a)
    moment.mul_(per_run(beta_a, moment))
    addcmul_(moment, g, g, eta_m)
    correction = (1 - beta_a**step) * (eta_m / (1 - beta_a)) if debias else 1.0  # 1 / k_t
    root = correction**0.5
    if repeat_eps:
        torch.add(moment, per_run(correction * eps, moment), out=out).sqrt_()
    else:
        torch.sqrt(moment, out=out)
    out.add_(per_run(root * eps, out))
    return root


# --- spec §2.4: the weight decay --------------------------------------------------------------------------------------


def coupled_decay(g: Tensor, w: Tensor, rho: Hyper) -> None:
    """Coupled (L2) decay, wd_level 0 (spec §2.4): g_t <- g_t + rho w_t, before the moment, filter and numerators."""
    add_(g, w, rho)


def decoupled_decay(direction: Tensor, w: Tensor, u: Tensor | None, *, rho: Hyper, beta: Hyper, kappa: Hyper,
                    eta: Hyper, root: Hyper) -> None:
    """Decoupled decay, wd_level 1 (spec §2.4): v_t <- v_t + eta_u rho w_t, eta_u = (1 - beta) / (1 - gamma), with
    the pre-update w_t (AdamW(lam) is rho = lam (1 - gamma) / (1 - beta)).

    In ``autosgm``'s realisation v = kappa_t eta_in c / (1 - gamma) D with D = ``direction`` / u, so the term enters
    ``direction`` (q_t / eta_in, before it is divided by u) as (1 - beta) rho / (kappa_t eta_in c) u w; ``u`` = c d_t,
    ``root`` = c, or ``u`` None where d_t = 1 (aoptlr off).
    """
    coefficient = (1 - beta) * rho / (kappa * eta)
    if u is None:
        add_(direction, w, coefficient)
    else:
        addcmul_(direction, w, u, coefficient / root)


# --- spec §2.7: the step ----------------------------------------------------------------------------------------------


class Secant(NamedTuple):
    """What step t's secant along the path needs, by reference: ``secant_terms`` reads it when asked.

    The buffers stay as they are until the next ``autosgm`` call with the same workspace, which reuses them; a
    step whose telemetry nobody reads does not pay for it (three products over the packed tensors).
    """

    grad: Tensor  # g_t, [R, N]
    change: Tensor  # D_{t-1}, [R, N]: w_t - w_{t-1} = s D_{t-1}
    before: Tensor  # [2, R, L]: s, then <g_{t-1}, D_{t-1}> as the state held it (NaN: unknown), per layer (all equal)
    previous_grad: Tensor | None  # g_{t-1}, [R, N], when the workspace kept it (then <g_{t-1}, D_{t-1}> is read here)


def secant_terms(secant: Secant) -> tuple[Tensor, Tensor]:
    """(<g_t - g_{t-1}, w_t - w_{t-1}>, ||w_t - w_{t-1}||^2), each [R]."""
    scale, grad_dot = secant.before[:, :, 0]
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
    the ``num_lrc`` estimator (``optimizers.autosgm_numerators``).

    Realisation, for a step that is memory-bound: the filter is a feed-through and an EMA of the past,
    q_t = eta_in (g_t + k m_{t-1}), k = (beta - gamma) / (1 - beta), m_t = beta m_{t-1} + (1 - beta) g_t (state
    ``filter``; ``smoothing_filter``): one lerp, no stored gradient. With c = 1 / sqrt(k_t) a number, u = c d and
    r = 1 / u (``moment_estimate``), the change is w_{t+1} - w_t = coef D with D = (g_t + k m_{t-1}) r and
    coef = -s F_t kappa_t eta_in c / (1 - gamma) the update's scalar; a_t joins coef (a_t = mu), r (numerators 2-4,
    known before D) or D (numerator 1, which reads v). The telemetry sums u and the rate (two sums); the secant is
    left to ``secant_terms``, which reads g_t, D_{t-1} and g_{t-1} when asked. ``state["delta"]`` holds D_{t-1} on
    entry and D_t on return, in another tensor: D_t is built in the buffer of D_{t-2}, and g_t in that of g_{t-2},
    so that the last step's stay for the secant (the caller's views into the state must follow ``state["delta"]``).
    Without a workspace the state keeps <g_t, D_t> instead of g_t. Temporaries [R, N] come from ``workspace`` (kept
    by the caller between steps) when given: a fresh buffer this size would page-fault on every step. The workspace
    also keeps the layers' views of the buffers that last (a ``LayerViews``): made once, they save a view per layer
    and step (``optimizers.autosgm_workspace``).
    """
    lr, beta, gamma, eta, beta_a, beta_n, eps, weight_decay, cf, window = (
        v.to(torch.float64) if isinstance(v, Tensor) else v  # per-run scalars in double precision, like numbers
        for v in (lr, beta, gamma, eta, beta_a, beta_n, eps, weight_decay, cf, window))
    previous, scales, grad_dots = state["delta"], state["delta_scale"], state["grad_dot_delta"]
    views = layer_views(workspace, params, previous)
    count = sum(views.sizes)  # N, elements per run

    g, delta, previous_grad = step_buffers(workspace, previous)
    torch._foreach_copy_(views.layers_of(g), grads)
    decay = not is_zero(weight_decay)
    w = None
    if decay or (aoptlr and num_lrc >= 2):  # the decay and numerators 2-4 read w
        w = scratch(workspace, "w", previous)
        torch._foreach_copy_(views.layers_of(w), params)
    if decay and wd_level == 0:
        coupled_decay(g, w, weight_decay)
    before = torch.stack([scales, grad_dots], out=scratch(workspace, "before", scales, (2, *scales.shape)))
    secant = Secant(g, previous, before, previous_grad)

    eta_f = filter_gain(eta, beta)
    kappa = filter_debias(debias, beta, gamma, eta_f, step)
    smoothing_filter(g, state["filter"], beta, gamma, out=delta)  # q_t / eta_in, D = delta r once r is known
    root, d_sum, r, bounded = 1.0, float(count), None, None
    if aoptlr:
        r = scratch(workspace, "r", previous)
        root = moment_estimate(g, state["moment"], step, out=r, beta_a=beta_a, eta=eta, eps=eps, debias=debias,
                               repeat_eps=repeat_eps)  # r = u = c d_t
        d_sum = run_sums(r).mul_(per_run_sum(1 / root, r))
        if decay and wd_level == 1:
            decoupled_decay(delta, w, r, rho=weight_decay, beta=beta, kappa=kappa, eta=eta_f, root=root)
        if num_lrc in (3, 4):  # min(u, c) = c min(d, 1), the Tukey floor's input
            bounded = torch.clamp(r, max=per_run(root, r), out=scratch(workspace, "v", r))
        r.reciprocal_()  # r = 1 / u: 1 / d = c r
    elif decay and wd_level == 1:
        decoupled_decay(delta, w, None, rho=weight_decay, beta=beta, kappa=kappa, eta=eta_f, root=root)
    scale = kappa * eta_f / (1 - gamma) * root  # v = scale D, D = delta r

    sign = -1.0 if maximize else 1.0
    if not aoptlr or num_lrc == 0:  # a_t = mu: it joins the update's scalar
        a_sum = lr * count
        rate = run_sums(r).mul_(per_run_sum(window * kappa * lr * root, r)) if aoptlr else window * kappa * lr * count
        coef = -sign * window * scale * lr
    elif num_lrc >= 2:  # a_t is known before D: folded into r, so D and the rate sum carry it
        if num_lrc == 2:
            raw = max_bound_numerator(w, g, r, root, state["bound_avg"], workspace, lr=lr, beta_n=beta_n)
        elif num_lrc == 3:
            raw = markov_huber_numerator(w, g, r, root, bounded, state, workspace, lr=lr, beta_n=beta_n, eps=eps,
                                         cf=cf)
        else:
            raw = chebyshev_huber_numerator(w, g, r, root, bounded, state, workspace, lr=lr, beta_n=beta_n, eps=eps)
        layer_a = smoothed_numerator(raw, state["a_bar"], views, per_layer)
        if layer_a is None:  # element-wise a_t
            a_sum = run_sums(state["a_bar"])
            r.mul_(state["a_bar"])
        else:
            a_sum = torch.mv(layer_a, views.sizes_row)  # sum over elements of the layers' a_t
            torch._foreach_mul_(views.columns_of(r), views.columns_of(layer_a))
        rate = run_sums(r).mul_(per_run_sum(window * kappa * root, r))
        coef = -sign * window * scale
    if aoptlr:
        delta.mul_(r)  # D
    if aoptlr and num_lrc == 1:  # a_t reads v = scale D: it multiplies D, layer by layer
        layer_a = huber_norm_numerator(delta, scale, state, workspace, views.sizes, lr=lr, beta_n=beta_n, eps=eps,
                                       cf=cf)
        a_sum = torch.mv(layer_a, views.sizes_row)
        rate = run_sums(layer_a * layer_sums(views.columns_of(r))).mul_(per_run_sum(window * kappa * root, r))
        torch._foreach_mul_(views.columns_of(delta), layer_a.split_with_sizes([1] * len(views.sizes), dim=1))
        coef = -sign * window * scale
    _descend(params, views.layers_of(delta), coef, scales)
    state["delta"] = delta
    if workspace is None:  # g_t is not kept: <g_t, D_t> now, for the next secant
        grad_dots.copy_(run_dot(g, delta).view(-1, 1))
    return AutoSGMSums(a_sum, d_sum, rate, count, secant)


def _descend(params: list[Tensor], changes: list[Tensor], coef: Hyper, scales: Tensor) -> None:
    """w_{t+1} = w_t + coef D_t layer by layer (spec §2.7 step 6: coef D_t = -s F_t a_t v_t), and coef into
    ``scales`` (state ``delta_scale``), the s of w_{t+1} - w_t = s D_t that the next secant reads."""
    if isinstance(coef, Real):
        torch._foreach_add_(params, changes, alpha=coef)
        scales.fill_(coef)
    else:
        torch._foreach_addcmul_(params, changes, [per_run(coef, p) for p in params])
        scales.copy_(per_run(coef, scales))


def settle_grad_dot(state: dict[str, Tensor], workspace: dict[str, Any]) -> None:
    """<g_t, D_t> into ``state["grad_dot_delta"]`` from the gradient the workspace kept: what a saved state needs
    for the next secant (while stepping, the workspace keeps g_t instead)."""
    grad = kept_grad(workspace)
    if grad is not None:
        state["grad_dot_delta"].copy_(run_dot(grad, state["delta"]).view(-1, 1))
