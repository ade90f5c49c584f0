"""AutoSGM's numerators a_t of the learning-rate oracle mu a_t / d_t (spec §2.5), over packed [R, N] tensors.

The seed's ``num_lrc`` (``optimizers.autosgm_maths.NUMERATORS``): 0 unity (a_t = mu, no function: ``autosgm``
folds it into the update's scalar), 1 Chebyshev-Huber <= 1, 2 max-bound, 3 Markov-Huber and 4 Chebyshev-Huber
partial correlation. EMA(.) is the canonical beta_n EMA e <- beta_n e + (1 - beta_n) x (zero start, no debias,
updated before use); gbar = g / d is the raw normalised gradient. The element-wise ones (2-4) take the moment's
scale c = 1 / sqrt(k_t) as ``root`` and r = 1 / u, u = c d (``optimizers.autosgm_maths.moment_estimate``), so that
gbar = c g r.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import torch
from torch import Tensor

from optimizers.autosgm_kernels import addcdiv_, addcmul_, affine, layer_norms, layer_sums, product
from optimizers.autosgm_workspace import LayerViews, scratch
from optimizers.runs import Hyper, per_run


def huber_norm_numerator(direction: Tensor, scale: Hyper, state: dict[str, Tensor], workspace: dict[str, Any] | None,
                         sizes: list[int], *, lr: Hyper, beta_n: Hyper, eps: Hyper, cf: Hyper) -> Tensor:
    """a_t of num_lrc 1, Chebyshev-Huber <= 1, one per layer [R, L] (spec §2.5); v = ``scale`` ``direction``:

        n = ||v||,  nbar = EMA(n),  delta = ||v - nbar|| + eps,  sigma = sqrt(EMA(delta^2)) + eps,
        a = mu min(1, cf sigma / delta)

    Layer scalars (state ``norm_avg`` and ``dev_sq_avg``, [R, L]), no 0.1-smoother, so a_1 = cf sqrt(1 - beta_n) mu
    (spec F13). v is the smoothed update, with the decoupled decay in it.
    """
    v = torch.mul(direction, per_run(scale, direction), out=scratch(workspace, "x", direction))
    norm_avg, dev_sq_avg = state["norm_avg"], state["dev_sq_avg"]
    keep = per_run(1 - beta_n, norm_avg)
    norm_avg.lerp_(layer_norms(v, sizes), keep)
    torch._foreach_sub_(v.split_with_sizes(sizes, dim=1), norm_avg.split_with_sizes([1] * len(sizes), dim=1))
    deviation = layer_norms(v, sizes).add_(per_run(eps, norm_avg))
    dev_sq_avg.lerp_(deviation.square(), keep)
    ratio = dev_sq_avg.sqrt().add_(per_run(eps, norm_avg)).mul_(per_run(cf, norm_avg)).div_(deviation)
    return ratio.clamp_(max=1.0).mul_(per_run(lr, ratio))


def max_bound_numerator(w: Tensor, g: Tensor, r: Tensor, root: Hyper, bound_avg: Tensor,
                        workspace: dict[str, Any] | None, *, lr: Hyper, beta_n: Hyper) -> Tensor:
    """Element-wise raw numerator of num_lrc 2, max-bound, [R, N] (spec §2.5), before the layer mean and smoother:

        z = EMA(mu (w^2 + gbar^2))    (state ``bound_avg``),    a_raw = min(z, mu)

    A warm-up of time constant 1 / (1 - beta_n) that saturates at mu (``smoothed_numerator`` then gives a_t).
    """
    raw = bound_avg.mul_(per_run(beta_n, w))
    addcmul_(raw, w, w, (1 - beta_n) * lr)
    gr = torch.mul(g, r, out=scratch(workspace, "x", w))  # gbar^2 = c^2 (g r)^2
    addcmul_(raw, gr, gr, (1 - beta_n) * lr * root**2)
    # Deviation (spec §2.5): without the layer means (per_layer off) the reference also skipped this clip; kept here.
    return torch.clamp(raw, max=per_run(lr, w), out=scratch(workspace, "raw", w))


def markov_huber_numerator(w: Tensor, g: Tensor, r: Tensor, root: Hyper, bounded: Tensor, state: dict[str, Tensor],
                           workspace: dict[str, Any] | None, *, lr: Hyper, beta_n: Hyper, eps: Hyper,
                           cf: Hyper) -> Tensor:
    """Element-wise raw numerator of num_lrc 3, Markov-Huber partial correlation, [R, N] (spec §2.5):

        omega = beta_n EMA(w^2),  x = w gbar,  A = EMA(|x| + eps),  psi = x min(1, cf A / (|x| + eps)),
        then the accumulator and its clip (``_clipped_accumulator``)

    State ``omega``, ``abs_avg`` (A) and ``acc``. Mode 3's omega is beta_n times the EMA: the reference keeps that
    product as its state (spec §2.5). ``bounded``: min(u, c), the Tukey floor's input (overwritten).
    """
    x, ceiling = _correlation(w, g, r, root, state["omega"], workspace, lr=lr, beta_n=beta_n, omega_gain=beta_n)
    magnitude, limit = scratch(workspace, "magnitude", x), scratch(workspace, "limit", x)
    torch.abs(x, out=magnitude).add_(per_run(eps, x))
    # psi = x min(1, cf limit) = cf x min(1 / cf, limit), limit = A / (|x| + eps): cf rides in the accumulator's gain
    torch.div(state["abs_avg"].lerp_(magnitude, per_run(1 - beta_n, w)), magnitude, out=limit)
    limit.clamp_(max=per_run(1 / cf, limit))
    return _clipped_accumulator(x, limit, cf, ceiling, bounded, root, state["acc"], workspace, lr=lr, beta_n=beta_n)


def chebyshev_huber_numerator(w: Tensor, g: Tensor, r: Tensor, root: Hyper, bounded: Tensor,
                              state: dict[str, Tensor], workspace: dict[str, Any] | None, *, lr: Hyper,
                              beta_n: Hyper, eps: Hyper) -> Tensor:
    """Element-wise raw numerator of num_lrc 4, Chebyshev-Huber partial correlation, [R, N] (spec §2.5):

        omega = EMA(w^2),  x = w gbar,  xbar = EMA(x),  delta = |x - xbar| + eps,  sigma = sqrt(EMA(delta^2)) + eps,
        psi = x min(1, sigma / delta)    (multiplier 1, not cf),
        then the accumulator and its clip (``_clipped_accumulator``)

    State ``omega``, ``x_avg`` (xbar), ``dev_sq_avg`` and ``acc``. ``bounded``: min(u, c), the Tukey floor's input
    (overwritten).
    """
    x, ceiling = _correlation(w, g, r, root, state["omega"], workspace, lr=lr, beta_n=beta_n, omega_gain=1.0)
    magnitude, limit = scratch(workspace, "magnitude", x), scratch(workspace, "limit", x)
    torch.sub(x, state["x_avg"].lerp_(x, per_run(1 - beta_n, w)), out=magnitude).abs_().add_(per_run(eps, x))
    addcmul_(state["dev_sq_avg"].mul_(per_run(beta_n, x)), magnitude, magnitude, 1 - beta_n)
    torch.sqrt(state["dev_sq_avg"], out=limit).add_(per_run(eps, x)).div_(magnitude).clamp_(max=1.0)
    return _clipped_accumulator(x, limit, 1.0, ceiling, bounded, root, state["acc"], workspace, lr=lr, beta_n=beta_n)


def smoothed_numerator(raw: Tensor, a_bar: Tensor, views: LayerViews, per_layer: bool) -> Tensor | None:
    """a_t of num_lrc 2-4 from their raw numerator: abar <- 0.1 abar + 0.9 mean_layer(raw) (spec §2.5).

    The 0.1-smoother starts from 0 (a_1 = 0.9 a_raw). ``per_layer``: the mean over each layer, and a_t is returned
    per layer, [R, L] (it is state ``a_bar``); otherwise the mean is skipped, a_t stays element-wise in state
    ``a_bar`` ([R, N]) and None is returned.
    """
    if not per_layer:
        a_bar.lerp_(raw, 0.9)
        return None
    a_bar.lerp_(layer_sums(views.columns_of(raw)).div_(views.sizes_row), 0.9)
    return a_bar


def tukey_floor(v: Tensor, root: Hyper, ceiling: Tensor, lr: Hyper, out: Tensor) -> Tensor:
    """T(d) mu' = T(d) mu^2 / ``ceiling`` into ``out``, the lower clip of num_lrc 3 and 4 (spec §2.5), with
    T(d) = (1 - min(d, 1)^2)^2 min(d, 1) the Tukey biweight and ceiling = mu (1 + omega).

    From v = min(u, c) = c min(d, 1): T(d) = v (c^2 - v^2)^2 / c^5. mu^2 / c^5 enters square-rooted into c^2 - v^2,
    so the floor takes four kernels; ``v`` is overwritten.
    """
    half = (lr**2 / root**5) ** 0.5
    if isinstance(half, Real) and isinstance(root, Real):
        torch.addcmul(v.new_tensor(half * root**2), v, v, value=-half, out=out)
    else:
        torch.mul(v, v, out=out).neg_().add_(per_run(root, v) ** 2).mul_(per_run(half, v))
    return out.square_().mul_(v.div_(ceiling))


def _correlation(w: Tensor, g: Tensor, r: Tensor, root: Hyper, omega: Tensor, workspace: dict[str, Any] | None, *,
                 lr: Hyper, beta_n: Hyper, omega_gain: Hyper) -> tuple[Tensor, Tensor]:
    """What num_lrc 3 and 4 share first: omega <- beta_n omega + (1 - beta_n) ``omega_gain`` w^2, the ceiling
    mu (1 + omega) (the upper clip; mu' = mu / (1 + omega) = mu^2 / ceiling) and x = w gbar = c w g r."""
    omega.mul_(per_run(beta_n, w))
    addcmul_(omega, w, w, (1 - beta_n) * omega_gain)
    ceiling = affine(omega, lr, lr, out=scratch(workspace, "ceiling", w))
    x = product(w, g, root, out=scratch(workspace, "x", w)).mul_(r)
    return x, ceiling


def _clipped_accumulator(x: Tensor, limit: Tensor, gain: Hyper, ceiling: Tensor, bounded: Tensor, root: Hyper,
                         acc: Tensor, workspace: dict[str, Any] | None, *, lr: Hyper, beta_n: Hyper) -> Tensor:
    """What num_lrc 3 and 4 share last, with psi = ``gain`` x ``limit`` (``x`` is overwritten by x ``limit``):

        atilde <- beta_n atilde + mu' psi    (un-normalised, state ``acc``),
        a_raw = clip(|atilde|, T(d) mu', mu' (1 + omega)^2)    (mu' (1 + omega)^2 = mu (1 + omega) = ``ceiling``)
    """
    addcdiv_(acc.mul_(per_run(beta_n, acc)), x.mul_(limit), ceiling, lr * lr * gain)  # += mu' psi
    raw = torch.abs(acc, out=scratch(workspace, "raw", x))
    return raw.clamp_(min=tukey_floor(bounded, root, ceiling, lr, out=scratch(workspace, "floor", x)), max=ceiling)
