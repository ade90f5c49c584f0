"""The stable loop-gain limit kappa_max(beta, gamma) of AutoSGM's closed loop on a quadratic (spec §3.2), one number.

A scalar twin of ``engine.theory.kappa_max`` (numpy, vectorised) kept here because ``optimizers`` must not import
``engine`` (layers point down); tests/test_theory_vs_simulation.py checks that the two agree.
"""

from __future__ import annotations

import math


def kappa_max(beta: float, gamma: float) -> float:
    """Supremum of the stable loop gains kappa = alpha eta_bar h: the loop is stable iff 0 < kappa < kappa_max.

    On f = h/2 (w - w*)^2 with constant rate alpha and filter gain eta_bar, the error obeys
    P(z) = z^2 - (1 + beta - kappa) z + (beta - kappa gamma). Jury / Schur-Cohn: P(1) = kappa (1 - gamma) > 0,
    P(-1) = 2 (1 + beta) - kappa (1 + gamma) > 0 and beta - 1 < kappa gamma < beta + 1. For 0 <= beta < 1 and
    gamma < 1 the first means kappa > 0, and the other two bound it above:

        0 <= gamma < 1:   kappa_max = 2 (1 + beta) / (1 + gamma)   ((1 + beta) / gamma is never smaller)
        -1 < gamma < 0:   kappa_max = min(2 (1 + beta) / (1 + gamma), (1 - beta) / (-gamma))
        gamma <= -1:      kappa_max = (1 - beta) / (-gamma)        (P(-1) > 0 holds for every kappa > 0)

    E.g. 3.8, 2.57857 and 2.44721 at beta = 0.9 for gamma = 0, 0.47368 (Nesterov) and 0.55279 (spec F9).
    Raises ValueError outside 0 <= beta < 1, gamma < 1.
    """
    if not (0 <= beta < 1 and gamma < 1):
        raise ValueError(f"kappa_max: needs 0 <= beta < 1 and gamma < 1, got beta={beta!r}, gamma={gamma!r}")
    bound = 2 * (1 + beta) / (1 + gamma) if gamma > -1 else math.inf  # P(-1) > 0
    if gamma < 0:
        bound = min(bound, (1 - beta) / -gamma)  # kappa gamma > beta - 1
    return bound
