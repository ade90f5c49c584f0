"""AutoSGM's smoothing filter in closed form: H(z) = eta (1 - gamma z^-1) / (1 - beta z^-1), pole beta, zero gamma.

Its pole-zero plot, frequency, impulse and step responses, gains and debiases (shared/spec/autosgm.md §2.1, §2.2,
§4), from numpy and scipy.signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import signal

from engine.theory.arrays import Array, checked_array, frozen, scalar_if_0d
from optimizers.validation import check_number, check_probability

_DB_FLOOR = -300.0
"""Magnitudes are floored here (in dB) so a notch, e.g. gamma = -1 at Nyquist, plots as a finite value."""


def unit_dc_gain(beta: ArrayLike, gamma: ArrayLike) -> Array:
    """The overall gain eta = (1 - beta) / (1 - gamma) that makes H(1) = 1 (spec §2.1; the reference default)."""
    beta = checked_array("unit_dc_gain", "beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = checked_array("unit_dc_gain", "gamma", gamma, high=1.0, high_open=True)
    return scalar_if_0d((1 - beta) / (1 - gamma))


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
        poles=frozen(np.array([beta])),
        zeros=frozen(np.array([gamma])),
        omega=frozen(omega),
        magnitude_db=frozen(magnitude_db),
        phase=frozen(np.unwrap(np.angle(response))),
        t=frozen(t),
        impulse=frozen(impulse),
        step=frozen(step),
        step_seed_debiased=frozen(step * (eta_dc / eta) / (1 - beta**t)),
        step_exact_debiased=frozen(step / sigma),
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
