"""AutoSGM's own step on quadratics, many (beta, gamma, kappa) configurations as one batched run (runs axis)."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from optimizers.autosgm_maths import autosgm, autosgm_state


def simulate_quadratic(
    beta: ArrayLike,
    gamma: ArrayLike,
    *,
    kappa: ArrayLike | None = None,
    alpha: ArrayLike | None = None,
    h: ArrayLike = 1.0,
    steps: int = 100,
    w0: ArrayLike = 1.0,
    w_star: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Errors e_t = w_t - w* of AutoSGM at a constant rate on f = sum_i h_i / 2 (w_i - w*_i)^2, R configs at once.

    The step is the optimizer's own ``optimizers.autosgm.autosgm`` on a runs axis of R configurations, in the
    setting of the closed-loop analysis (spec §3.2): constant rate (aoptlr off: d = 1, a = mu = alpha), no window,
    no debias, the unit-DC filter eta_in = 1 - beta, so eta_bar = (1 - beta) / (1 - gamma) and the loop gain on
    curvature h is kappa = alpha eta_bar h. From zero filter state, in float64.

    Args:
        beta, gamma: the filter's pole (0 <= beta < 1) and zero (gamma < 1): numbers or 1-D arrays, broadcast with
            ``kappa`` / ``alpha`` into R configurations.
        kappa: the loop gain on the largest curvature, alpha = kappa / (eta_bar max(h)); or give ``alpha``.
        alpha: the rate itself (exactly one of kappa and alpha).
        h: curvature: a number (a scalar quadratic) or a 1-D array of n > 0 numbers (a diagonal one).
        steps: T, the number of steps.
        w0, w_star: start and minimum, numbers or arrays of n.

    Returns: e_t for t = 0..T, shape (R, T + 1) for a number ``h``, (R, T + 1, n) for an array.
    """
    if (kappa is None) == (alpha is None):
        raise ValueError("simulate_quadratic: give exactly one of kappa and alpha")
    curvature = np.asarray(h, dtype=np.float64)
    beta_r, gamma_r, gain_r = (np.ravel(a).astype(np.float64) for a in np.broadcast_arrays(
        beta, gamma, kappa if alpha is None else alpha))
    eta_bar = (1 - beta_r) / (1 - gamma_r)
    rate = gain_r / (eta_bar * curvature.max()) if alpha is None else gain_r
    runs, coordinates = beta_r.size, curvature.size

    def tensor(values: ArrayLike) -> torch.Tensor:
        return torch.as_tensor(np.broadcast_to(values, (runs, coordinates)).copy(), dtype=torch.float64)

    w, target, hessian = tensor(w0), tensor(w_star), tensor(curvature)
    state, workspace = autosgm_state([w], aoptlr=False), {}
    hyper = {"lr": torch.as_tensor(rate), "beta": torch.as_tensor(beta_r), "gamma": torch.as_tensor(gamma_r),
             "aoptlr": False, "debias": False}
    errors = np.empty((runs, steps + 1, coordinates))
    errors[:, 0] = (w - target).numpy()
    for t in range(1, steps + 1):
        grad = hessian * (w - target)
        autosgm([w], [grad], state, t, workspace=workspace, **hyper)
        errors[:, t] = (w - target).numpy()
    return errors[..., 0] if curvature.ndim == 0 else errors
