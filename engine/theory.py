"""AutoSGM theory in closed form: the smoothing filter's response and the closed-loop stability of its dynamics.

Everything follows shared/spec/autosgm.md: the first-order filter H(z) = eta (1 - gamma z^-1) / (1 - beta z^-1)
(pole beta, zero gamma, overall gain eta; §2.1, §2.2, §4) and the scalar-quadratic closed loop of §3.2, whose
characteristic polynomial is P(z) = z^2 - (1 + beta - kappa) z + (beta - kappa gamma) with kappa = alpha eta h.
numpy and scipy.signal only; the stability functions broadcast over arrays, so a whole stability map is one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import signal

from optimizers.validation import check_number, check_probability

Array = NDArray[np.float64]

_DB_FLOOR = -300.0
"""Magnitudes are floored here (in dB) so a notch, e.g. gamma = -1 at Nyquist, plots as a finite value."""


def unit_dc_gain(beta: ArrayLike, gamma: ArrayLike) -> Array:
    """The overall gain eta = (1 - beta) / (1 - gamma) that makes H(1) = 1 (spec §2.1; the reference default)."""
    beta = _checked("unit_dc_gain", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = _checked("unit_dc_gain", "gamma", gamma, high=1.0, high_open=True)
    return _scalar_if_0d((1 - beta) / (1 - gamma))


@dataclass(frozen=True, eq=False)
class LowpassResponse:
    """The smoothing filter H(z) = eta (z - gamma) / (z - beta), seen every way the Filter Lab shows it (spec §4).

    Arrays are read-only. Time-domain arrays are indexed by ``t`` = 1..n_steps: entry t - 1 is the output at step t
    of a filter started from zero state, the input starting at t = 1 (so ``impulse[k]`` is h_k, k = 0..n_steps-1).
    """

    beta: float
    """Pole, in [0, 1)."""
    gamma: float
    """Zero, < 1."""
    eta: float
    """Overall gain eta (the spec's eta-bar, = eta_i / (1 - gamma) in the reference's knobs)."""
    poles: Array
    """[beta]."""
    zeros: Array
    """[gamma]; gamma = 0 puts the zero at the origin (a pure one-pole EMA)."""
    omega: Array
    """Frequency grid, rad/sample, n_freq points from 0 to pi inclusive."""
    magnitude_db: Array
    """20 log10 |H(e^{j omega})|, floored at -300 dB."""
    phase: Array
    """arg H(e^{j omega}), unwrapped, radians."""
    t: Array
    """Steps 1..n_steps."""
    impulse: Array
    """h_0 = eta, h_k = eta (beta - gamma) beta^(k-1) for k >= 1."""
    step: Array
    """Response y_t to a unit step (the raw filter output, no debias)."""
    step_seed_debiased: Array
    """The seed's debias of ``step``: y_t (1 - beta) / (eta (1 - gamma)) / (1 - beta^t); exact only if gamma = 0."""
    step_exact_debiased: Array
    """The exact debias: y_t / sigma_t, with sigma_t the filter's own step response; 1 at every t."""
    dc_gain: float
    """H(1) = eta (1 - gamma) / (1 - beta); 1 for the unit-DC gain."""
    nyquist_gain: float
    """H(-1) = eta (1 + gamma) / (1 + beta) (may be negative when gamma < -1)."""
    noise_gain: float
    """sum_k h_k^2 = eta^2 (1 + gamma^2 - 2 beta gamma) / (1 - beta^2): the output variance per unit white input."""
    dc_group_delay: float
    """Mean lag in steps: beta / (1 - beta) - gamma / (1 - gamma)."""
    cutoff: float
    """Half-power frequency (|H|^2 = H(1)^2 / 2, -3.01 dB from DC), rad/sample; NaN if |H| never falls that far."""

    @property
    def is_lowpass(self) -> bool:
        """|H| decreases strictly on [0, pi] iff gamma < beta (spec §4; gamma = beta is all-pass)."""
        return self.gamma < self.beta


def lowpass(
    beta: float, gamma: float, eta: float | None = None, n_freq: int = 512, n_steps: int = 50
) -> LowpassResponse:
    """Pole-zero, frequency and time responses of the AutoSGM smoothing filter (spec §2.1, §2.2, §4).

    H(z) = eta (1 - gamma z^-1) / (1 - beta z^-1), i.e. q_t = beta q_{t-1} + eta (x_t - gamma x_{t-1}), y_t = q_t.

    Args:
        beta: pole, 0 <= beta < 1.
        gamma: zero, gamma < 1 (the useful range is -(1 - beta)/(1 + beta) <= gamma < beta, spec §5).
        eta: overall gain (> 0); None means the unit-DC gain (1 - beta) / (1 - gamma).
        n_freq: points of the frequency grid (>= 2), 0..pi inclusive.
        n_steps: length of the time responses (>= 1).

    Debias (spec §2.1): the seed rescales to the unit-DC gain, then divides by 1 - beta^t, which normalises the
    step response only when gamma = 0. The exact alternative divides by the filter's own step response
    sigma_t = (eta / eta_dc) (1 - beta^(t-1) (beta - gamma) / (1 - gamma)), eta_dc the unit-DC gain; sigma_t > 0
    for every t because it runs monotonically from its first value eta > 0 to its limit H(1) > 0.
    """
    owner = "lowpass"
    beta = check_probability(owner, "beta", beta)
    gamma = check_number(owner, "gamma", gamma, high=1.0, high_open=True)
    eta_dc = (1 - beta) / (1 - gamma)
    eta = eta_dc if eta is None else check_number(owner, "eta", eta, low=0.0, low_open=True)
    n_freq = check_number(owner, "n_freq", n_freq, low=2, integer=True)
    n_steps = check_number(owner, "n_steps", n_steps, low=1, integer=True)

    numerator, denominator = [eta, -eta * gamma], [1.0, -beta]
    omega, response = signal.freqz(numerator, denominator, worN=n_freq, include_nyquist=True)
    magnitude_db = np.maximum(20 * np.log10(np.maximum(np.abs(response), 1e-300)), _DB_FLOOR)

    t = np.arange(1, n_steps + 1, dtype=float)
    impulse = signal.lfilter(numerator, denominator, np.r_[1.0, np.zeros(n_steps - 1)])
    step = signal.lfilter(numerator, denominator, np.ones(n_steps))
    sigma = (eta / eta_dc) * (1 - beta ** (t - 1) * (beta - gamma) / (1 - gamma))  # 0.0 ** 0 == 1 at beta = 0

    return LowpassResponse(
        beta=beta,
        gamma=gamma,
        eta=eta,
        poles=_frozen(np.array([beta])),
        zeros=_frozen(np.array([gamma])),
        omega=_frozen(omega),
        magnitude_db=_frozen(magnitude_db),
        phase=_frozen(np.unwrap(np.angle(response))),
        t=_frozen(t),
        impulse=_frozen(impulse),
        step=_frozen(step),
        step_seed_debiased=_frozen(step * (eta_dc / eta) / (1 - beta**t)),
        step_exact_debiased=_frozen(step / sigma),
        dc_gain=eta * (1 - gamma) / (1 - beta),
        nyquist_gain=eta * (1 + gamma) / (1 + beta),
        noise_gain=eta**2 * (1 + gamma**2 - 2 * beta * gamma) / (1 - beta**2),
        dc_group_delay=beta / (1 - beta) - gamma / (1 - gamma),
        cutoff=_half_power_frequency(beta, gamma),
    )


def _half_power_frequency(beta: float, gamma: float) -> float:
    """Solve |H(e^{jw})|^2 = H(1)^2 / 2 for w (spec §4's -3 dB column).

    With x = cos w and r = (1 - gamma)^2 / (2 (1 - beta)^2), the equation (1 - 2 gamma x + gamma^2) =
    r (1 - 2 beta x + beta^2) is linear in x: x = (r (1 + beta^2) - 1 - gamma^2) / (2 (r beta - gamma)).
    """
    r = (1 - gamma) ** 2 / (2 * (1 - beta) ** 2)
    denominator = 2 * (r * beta - gamma)
    if denominator == 0:
        return float("nan")
    x = (r * (1 + beta**2) - 1 - gamma**2) / denominator
    return float(np.arccos(x)) if -1 <= x <= 1 else float("nan")


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
    beta = _checked("kappa_max", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = _checked("kappa_max", "gamma", gamma, high=1.0, high_open=True)
    beta, gamma = np.broadcast_arrays(beta, gamma)
    inf = np.full(beta.shape, np.inf)
    at_minus_one = np.divide(2 * (1 + beta), 1 + gamma, out=inf.copy(), where=gamma > -1)  # P(-1) > 0
    radius_up = np.divide(1 + beta, gamma, out=inf.copy(), where=gamma > 0)  # kappa gamma < beta + 1
    radius_down = np.divide(1 - beta, -gamma, out=inf.copy(), where=gamma < 0)  # kappa gamma > beta - 1
    return _scalar_if_0d(np.minimum(np.minimum(at_minus_one, radius_up), radius_down))


def spectral_radius(kappa: ArrayLike, beta: ArrayLike, gamma: ArrayLike) -> Array:
    """max |z| over the roots of P(z) = z^2 - p z + q, p = 1 + beta - kappa, q = beta - kappa gamma (spec §3.2).

    The per-step contraction factor of the closed loop e_{t+1} = e_t - alpha y_t on a quadratic. The quadratic
    formula, written for the modulus: with discriminant D = p^2 - 4 q, real roots (D >= 0) give (|p| + sqrt(D)) / 2
    (no cancellation), a complex pair (D < 0, hence q > 0) has |z|^2 = z z* = q, so sqrt(q). Pure array operations,
    broadcasting over all three arguments (e.g. kappa [1, K] against gamma [G, 1] for a stability map).
    kappa is any finite real; beta in [0, 1); gamma < 1.
    """
    kappa = _checked("spectral_radius", "kappa", kappa)
    beta = _checked("spectral_radius", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = _checked("spectral_radius", "gamma", gamma, high=1.0, high_open=True)
    p = 1 + beta - kappa
    q = beta - kappa * gamma
    discriminant = p * p - 4 * q
    real_roots = 0.5 * (np.abs(p) + np.sqrt(np.maximum(discriminant, 0.0)))
    complex_pair = np.sqrt(np.maximum(q, 0.0))
    return _scalar_if_0d(np.where(discriminant >= 0, real_roots, complex_pair))


def deadbeat(beta: ArrayLike) -> tuple[Array, Array]:
    """(kappa, gamma) = (1 + beta, beta / (1 + beta)): P(z) = z^2, the error vanishes in two steps (spec §3.2, F10).

    The zero is Nesterov's; with the unit-DC gain it means alpha h = (1 + beta) / eta. Broadcasts over ``beta``.
    """
    beta = _checked("deadbeat", "beta", beta, low=0.0, high=1.0, high_open=True)
    return _scalar_if_0d(1 + beta), _scalar_if_0d(beta / (1 + beta))


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
    beta = _checked("fastest_kappa", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = _checked("fastest_kappa", "gamma", gamma, high=1.0, high_open=True)
    beta, gamma = np.broadcast_arrays(beta, gamma)
    kappa_plus = 1 + beta - 2 * gamma + 2 * np.sqrt(np.maximum((beta - gamma) * (1 - gamma), 0.0))
    kappa_minus = np.divide((1 - beta) ** 2, kappa_plus, out=np.zeros(beta.shape), where=kappa_plus > 0)
    above_pole = gamma > beta
    kappa = np.where(above_pole, 1 + beta, np.where(gamma > 0, kappa_plus, kappa_minus))
    rho = np.where(above_pole, np.sqrt(np.maximum((1 + beta) * gamma - beta, 0.0)), 0.5 * np.abs(1 + beta - kappa))
    return _scalar_if_0d(kappa), _scalar_if_0d(rho)


def _checked(
    owner: str,
    name: str,
    value: ArrayLike,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Array:
    """``value`` as a float64 array if every entry is finite and in range; else ``check_number``'s ValueError.

    The message names the field, the first offending value and the valid range, as the optimizers' checks do.
    """
    try:
        raw = np.asarray(value)
        array = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: invalid {name}={value!r}; expected a finite number or an array of them") from None
    if raw.dtype == np.bool_:
        raise ValueError(f"{owner}: invalid {name}={value!r}; expected a finite number or an array of them")
    ok = np.isfinite(array)
    if low is not None:
        ok &= array > low if low_open else array >= low
    if high is not None:
        ok &= array < high if high_open else array <= high
    if not ok.all():
        bad = array.flat[int(np.argmin(ok))].item()
        if low is None and high is None:
            raise ValueError(f"{owner}: invalid {name}={bad!r}; expected finite numbers")
        check_number(owner, name, bad, low=low, high=high, low_open=low_open, high_open=high_open)
        raise ValueError(f"{owner}: invalid {name}={bad!r}")  # unreachable: check_number refuses what the mask does
    return array


def _scalar_if_0d(array: Array) -> Array:
    """A 0-d result as a numpy scalar (so scalar in, scalar out); anything else unchanged."""
    return array[()] if np.ndim(array) == 0 else array


def _frozen(array: Array) -> Array:
    """``array`` marked read-only, so a frozen ``LowpassResponse`` cannot be edited through its arrays."""
    array.flags.writeable = False
    return array
