"""The closed-loop stability of AutoSGM's learning dynamics on a scalar quadratic (shared/spec/autosgm.md §3.2-3.4).

The loop's characteristic polynomial is P(z) = z^2 - (1 + beta - kappa) z + (beta - kappa gamma), with the loop
gain kappa = alpha eta h. Every function broadcasts over numpy arrays, so a whole stability map is one call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from engine.theory.arrays import Array, checked_array, scalar_if_0d


def kappa_max(beta: ArrayLike, gamma: ArrayLike) -> Array:
    """Supremum of the stable loop gains: the closed loop is stable iff 0 < kappa < kappa_max (spec §3.2, F9).

    Jury / Schur-Cohn on P(z) = z^2 - (1 + beta - kappa) z + (beta - kappa gamma):
    P(1) = kappa (1 - gamma) > 0, P(-1) = 2 (1 + beta) - kappa (1 + gamma) > 0 and beta - 1 < kappa gamma < beta + 1.
    For 0 <= beta < 1 and gamma < 1 the first means kappa > 0, and the others bound kappa above:

        0 <= gamma < 1:       kappa_max = 2 (1 + beta) / (1 + gamma)     ((1 + beta) / gamma is never smaller)
        -1 < gamma < 0:       kappa_max = min(2 (1 + beta) / (1 + gamma), (1 - beta) / (-gamma))
        gamma <= -1:          kappa_max = (1 - beta) / (-gamma)

    Broadcasts over ``beta`` and ``gamma``; beta in [0, 1), gamma < 1.
    """
    beta = checked_array("kappa_max", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = checked_array("kappa_max", "gamma", gamma, high=1.0, high_open=True)
    beta, gamma = np.broadcast_arrays(beta, gamma)
    inf = np.full(beta.shape, np.inf)
    at_minus_one = np.divide(2 * (1 + beta), 1 + gamma, out=inf.copy(), where=gamma > -1)  # P(-1) > 0
    radius_up = np.divide(1 + beta, gamma, out=inf.copy(), where=gamma > 0)  # kappa gamma < beta + 1
    radius_down = np.divide(1 - beta, -gamma, out=inf.copy(), where=gamma < 0)  # kappa gamma > beta - 1
    return scalar_if_0d(np.minimum(np.minimum(at_minus_one, radius_up), radius_down))


def spectral_radius(kappa: ArrayLike, beta: ArrayLike, gamma: ArrayLike) -> Array:
    """max |z| over the roots of P(z) = z^2 - p z + q, p = 1 + beta - kappa, q = beta - kappa gamma (spec §3.2).

    The per-step contraction factor of the closed loop e_{t+1} = e_t - alpha y_t on a quadratic. The quadratic
    formula, written for the modulus: with discriminant D = p^2 - 4 q, real roots (D >= 0) give (|p| + sqrt(D)) / 2
    (no cancellation), a complex pair (D < 0, hence q > 0) has |z|^2 = z z* = q, so sqrt(q). Pure array operations,
    broadcasting over all three arguments (e.g. kappa [1, K] against gamma [G, 1] for a stability map).
    kappa is any finite real; beta in [0, 1); gamma < 1.
    """
    kappa = checked_array("spectral_radius", "kappa", kappa)
    beta = checked_array("spectral_radius", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = checked_array("spectral_radius", "gamma", gamma, high=1.0, high_open=True)
    p = 1 + beta - kappa
    q = beta - kappa * gamma
    discriminant = p * p - 4 * q
    real_roots = 0.5 * (np.abs(p) + np.sqrt(np.maximum(discriminant, 0.0)))
    complex_pair = np.sqrt(np.maximum(q, 0.0))
    return scalar_if_0d(np.where(discriminant >= 0, real_roots, complex_pair))


def deadbeat(beta: ArrayLike) -> tuple[Array, Array]:
    """(kappa, gamma) = (1 + beta, beta / (1 + beta)): P(z) = z^2, the error vanishes in two steps (spec §3.2, F10).

    The zero is Nesterov's; with the unit-DC gain it means alpha h = (1 + beta) / eta. Broadcasts over ``beta``.
    """
    beta = checked_array("deadbeat", "beta", beta, low=0.0, high=1.0, high_open=True)
    return scalar_if_0d(1 + beta), scalar_if_0d(beta / (1 + beta))


def fastest_kappa(beta: ArrayLike, gamma: ArrayLike) -> tuple[Array, Array]:
    """The loop gain kappa minimising the spectral radius for a given filter, and that radius (spec §3.2).

    P(z) has a double root where p^2 = 4 q, i.e. kappa^2 - 2 (1 + beta - 2 gamma) kappa + (1 - beta)^2 = 0:

        kappa_pm = (1 + beta - 2 gamma) pm 2 sqrt((beta - gamma) (1 - gamma)),   rho_min = |1 + beta - kappa| / 2.

    Between kappa_- and kappa_+ the roots are a complex pair of modulus sqrt(beta - kappa gamma), which falls with
    kappa for gamma > 0 and rises for gamma < 0, and outside that interval the radius grows away from it; hence:

        0 < gamma <= beta:   kappa_+              (the spec's "+ for gamma > 0")
        gamma <= 0:          kappa_-              (computed as (1 - beta)^2 / kappa_+, free of cancellation)
        beta < gamma < 1:    kappa = 1 + beta, rho_min = sqrt((1 + beta) gamma - beta)   (no double root: the roots
                             stay real and the radius is convex in kappa with its minimum where p = 0)

    Two cases have a whole interval of minimisers; this returns its start, the smallest and most robust kappa:
    gamma = 0 (heavy ball: rho_min = sqrt(beta) on [(1 - sqrt(beta))^2, (1 + sqrt(beta))^2]) and gamma = beta
    (pole-zero cancellation: rho_min = beta on [1 - beta, 1 + beta]). Broadcasts; beta in [0, 1), gamma < 1.
    """
    beta = checked_array("fastest_kappa", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = checked_array("fastest_kappa", "gamma", gamma, high=1.0, high_open=True)
    beta, gamma = np.broadcast_arrays(beta, gamma)
    kappa_plus = 1 + beta - 2 * gamma + 2 * np.sqrt(np.maximum((beta - gamma) * (1 - gamma), 0.0))
    kappa_minus = np.divide((1 - beta) ** 2, kappa_plus, out=np.zeros(beta.shape), where=kappa_plus > 0)
    above_pole = gamma > beta
    kappa = np.where(above_pole, 1 + beta, np.where(gamma > 0, kappa_plus, kappa_minus))
    rho = np.where(above_pole, np.sqrt(np.maximum((1 + beta) * gamma - beta, 0.0)), 0.5 * np.abs(1 + beta - kappa))
    return scalar_if_0d(kappa), scalar_if_0d(rho)
