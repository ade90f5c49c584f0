"""engine.theory against the closed forms, tables and test facts of shared/spec/autosgm.md (§2.1, §3.2-3.4, §4, §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from engine.theory import deadbeat, fastest_kappa, kappa_max, lowpass, spectral_radius, unit_dc_gain

NAG_09 = 0.9 / 1.9  # Nesterov's zero beta / (1 + beta) at beta = 0.9
DEFAULT_09 = 1 - math.sqrt(2 * 0.1)  # the author's default zero 1 - sqrt(2 (1 - beta)) = 0.5528 at beta = 0.9


def printed(text: str) -> object:
    """The spec's printed value, to one unit in its last digit (its tables sometimes truncate instead of rounding)."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return pytest.approx(float(text), abs=10.0**-decimals)


def _closed_loop_polynomial_roots(kappa: float, beta: float, gamma: float) -> np.ndarray:
    return np.roots([1.0, -(1 + beta - kappa), beta - kappa * gamma])


# --- F7: the unit-DC filter's gains and shape -------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("gamma", [-1.5, -0.5, 0.0, 0.3, 0.5528, 0.95])
def test_unit_dc_filter_has_unit_gain_at_dc(beta: float, gamma: float) -> None:
    response = lowpass(beta, gamma)
    assert response.eta == pytest.approx((1 - beta) / (1 - gamma))
    assert response.dc_gain == pytest.approx(1.0)
    assert response.magnitude_db[0] == pytest.approx(0.0, abs=1e-9)
    assert response.omega[0] == 0.0 and response.omega[-1] == pytest.approx(np.pi)


@pytest.mark.parametrize("gamma", [0.0, NAG_09, DEFAULT_09, -0.5, -1.0, -1.7, 0.95])
def test_nyquist_and_noise_gains_match_section_4_closed_forms(gamma: float) -> None:
    beta = 0.9
    response = lowpass(beta, gamma)
    eta = (1 - beta) / (1 - gamma)
    assert response.nyquist_gain == pytest.approx((1 - beta) * (1 + gamma) / ((1 + beta) * (1 - gamma)))
    if gamma != -1.0:  # (gamma = -1 is the notch, tested below)
        assert 20 * np.log10(abs(response.nyquist_gain)) == pytest.approx(response.magnitude_db[-1], abs=1e-6)
    long_impulse = signal.lfilter([eta, -eta * gamma], [1.0, -beta], np.r_[1.0, np.zeros(4000)])
    assert response.noise_gain == pytest.approx(np.sum(long_impulse**2), rel=1e-12)


MONOTONE_CASES = [  # (beta, gamma) on both sides of gamma = beta, gamma < 1
    (beta, beta + offset)
    for beta in (0.0, 0.3, 0.9, 0.99)
    for offset in (-1.8, -0.6, -0.05, -0.01, 0.005, 0.05, 0.3)
    if beta + offset < 1
]


@pytest.mark.parametrize(("beta", "gamma"), MONOTONE_CASES)
def test_magnitude_is_monotone_decreasing_iff_gamma_below_beta(beta: float, gamma: float) -> None:
    response = lowpass(beta, gamma)
    decreasing = bool(np.all(np.diff(response.magnitude_db) < 0))
    assert decreasing == (gamma < beta) == response.is_lowpass


def test_pole_zero_cancellation_is_all_pass_without_debias_and_inflated_by_the_seed_debias() -> None:
    beta = 0.9
    response = lowpass(beta, beta)
    assert response.eta == 1.0
    np.testing.assert_allclose(response.magnitude_db, 0.0, atol=1e-12)
    np.testing.assert_allclose(response.impulse, np.r_[1.0, np.zeros(49)], atol=1e-15)  # y_t = g_t: no smoothing
    assert response.step_seed_debiased[0] == pytest.approx(1 / (1 - beta))  # F7: y_1 = g_1 / (1 - beta)


# --- F8: debiased step responses --------------------------------------------------------------------------------


def test_seed_debias_overshoots_at_the_author_default_zero() -> None:
    response = lowpass(0.9, DEFAULT_09)
    assert response.step_seed_debiased[0] == pytest.approx(1 / (1 - DEFAULT_09))
    assert response.step_seed_debiased[:2].tolist() == [printed("2.2361"), printed("1.5855")]
    assert response.step_seed_debiased[:4].tolist() == [printed(v) for v in ("2.236", "1.586", "1.370", "1.262")]


def test_seed_debias_at_nesterov_zero_matches_section_4_table() -> None:
    expected = [printed(v) for v in ("1.900", "1.426", "1.269", "1.191")]
    assert lowpass(0.9, NAG_09).step_seed_debiased[:4].tolist() == expected


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.999])
def test_seed_debias_is_exact_for_the_pure_ema(beta: float) -> None:
    np.testing.assert_allclose(lowpass(beta, 0.0, n_steps=200).step_seed_debiased, 1.0, rtol=1e-12)


@pytest.mark.parametrize("eta", [None, 0.37, 1.0, 2.5])
@pytest.mark.parametrize("gamma", [-2.0, -0.5, 0.0, NAG_09, DEFAULT_09, 0.9, 0.97])
def test_exact_debias_gives_one_at_every_step(gamma: float, eta: float | None) -> None:
    response = lowpass(0.9, gamma, eta=eta, n_steps=300)
    np.testing.assert_allclose(response.step_exact_debiased, 1.0, rtol=1e-12)


@pytest.mark.parametrize("eta", [0.37, 1.0, 2.5])
def test_seed_debias_does_not_depend_on_the_gain(eta: float) -> None:
    unit = lowpass(0.9, DEFAULT_09)
    np.testing.assert_allclose(lowpass(0.9, DEFAULT_09, eta=eta).step_seed_debiased, unit.step_seed_debiased)


# --- §4: pole-zero and frequency-response facts at beta = 0.9 ---------------------------------------------------

SECTION_4 = [  # gamma, eta, Nyquist gain, Nyquist dB, noise gain, mean lag, -3 dB omega (as printed)
    (0.0, "0.1000", "0.05263", "-25.6", "0.05263", "9.000", "0.105"),
    (NAG_09, "0.1900", "0.14737", "-16.6", "0.07063", "8.100", "0.107"),
    (DEFAULT_09, "0.2236", "0.18275", "-14.8", "0.08173", "7.764", "0.108"),
    (-0.5, "0.0667", "0.01754", "-35.1", "0.05029", "9.333", "0.105"),
]


@pytest.mark.parametrize(("gamma", "eta", "nyquist", "nyquist_db", "noise", "lag", "cutoff"), SECTION_4)
def test_section_4_table(
    gamma: float, eta: str, nyquist: str, nyquist_db: str, noise: str, lag: str, cutoff: str
) -> None:
    response = lowpass(0.9, gamma)
    assert response.poles.tolist() == [0.9] and response.zeros.tolist() == [gamma]
    assert response.eta == printed(eta)
    assert response.nyquist_gain == printed(nyquist)
    assert response.magnitude_db[-1] == printed(nyquist_db)
    assert response.noise_gain == printed(noise)
    assert response.dc_group_delay == printed(lag)
    assert response.cutoff == printed(cutoff)


@pytest.mark.parametrize("gamma", [-0.5, 0.0, NAG_09, DEFAULT_09, 0.8])
def test_impulse_response_is_the_section_4_closed_form(gamma: float) -> None:
    beta = 0.9
    response = lowpass(beta, gamma, n_steps=60)
    eta = response.eta
    expected = np.r_[eta, eta * (beta - gamma) * beta ** np.arange(59)]
    np.testing.assert_allclose(response.impulse, expected, rtol=1e-12)


@pytest.mark.parametrize("gamma", [-0.5, 0.0, NAG_09, DEFAULT_09, 0.95])
def test_magnitude_squared_is_the_section_4_closed_form(gamma: float) -> None:
    beta = 0.9
    response = lowpass(beta, gamma)
    c = np.cos(response.omega)
    expected = response.eta**2 * (1 - 2 * gamma * c + gamma**2) / (1 - 2 * beta * c + beta**2)
    np.testing.assert_allclose(10 ** (response.magnitude_db / 10), expected, rtol=1e-10)


@pytest.mark.parametrize(("beta", "gamma"), [(0.9, 0.0), (0.9, DEFAULT_09), (0.5, -0.5), (0.99, 0.3), (0.9, 0.95)])
def test_dc_group_delay_matches_scipy_near_zero(beta: float, gamma: float) -> None:
    response = lowpass(beta, gamma)
    _, delay = signal.group_delay(([response.eta, -response.eta * gamma], [1.0, -beta]), w=[1e-6])
    assert response.dc_group_delay == pytest.approx(delay[0], rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("beta", "gamma"), [(0.9, 0.0), (0.9, DEFAULT_09), (0.5, -0.5), (0.99, 0.3)])
def test_cutoff_is_the_half_power_point(beta: float, gamma: float) -> None:
    response = lowpass(beta, gamma)
    _, at_cutoff = signal.freqz([response.eta, -response.eta * gamma], [1.0, -beta], worN=[response.cutoff])
    assert abs(at_cutoff[0]) ** 2 == pytest.approx(response.dc_gain**2 / 2, rel=1e-10)


def test_cutoff_is_nan_when_the_gain_never_falls_3_db() -> None:
    assert math.isnan(lowpass(0.9, 0.9).cutoff)  # all-pass
    assert math.isnan(lowpass(0.5, 0.8).cutoff)  # highpass-tilted


def test_gamma_minus_one_puts_a_notch_at_nyquist() -> None:
    response = lowpass(0.9, -1.0)
    assert response.nyquist_gain == 0.0
    assert response.magnitude_db[-1] < -200 and np.isfinite(response.magnitude_db).all()


def test_phase_is_unwrapped_and_zero_at_dc() -> None:
    response = lowpass(0.9, -0.5, n_freq=2048)
    assert response.phase[0] == pytest.approx(0.0, abs=1e-12)
    assert np.abs(np.diff(response.phase)).max() < 0.1


def test_response_arrays_are_read_only() -> None:
    response = lowpass(0.9, 0.5)
    with pytest.raises(ValueError, match="read-only"):
        response.step[0] = 0.0


# --- F9 and §3.3: the closed-loop stability bound ---------------------------------------------------------------

SECTION_3_3 = [  # beta, gamma, kappa_max, max alpha h with the unit-DC filter (as printed)
    (0.00, 0.0, "2.0000", "2.000"),
    (0.50, 0.0, "3.0000", "6.000"),
    (0.50, 0.5 / 1.5, "2.2500", "3.000"),
    (0.90, 0.0, "3.8000", "38.00"),
    (0.90, NAG_09, "2.5786", "13.571"),
    (0.90, DEFAULT_09, "2.4472", "10.944"),
    (0.90, -0.1 / 1.9, "1.9000", "20.00"),  # lowest admissible zero -(1 - beta) / (1 + beta)
    (0.90, -0.5, "0.2000", "3.000"),
    (0.99, 0.0, "3.9800", "398.0"),
    (0.99, 0.99 / 1.99, "2.6578", "133.56"),
    (0.99, 1 - math.sqrt(2 * 0.01), "2.1414", "30.28"),
]


@pytest.mark.parametrize(("beta", "gamma", "bound", "alpha_h"), SECTION_3_3)
def test_section_3_3_table(beta: float, gamma: float, bound: str, alpha_h: str) -> None:
    assert kappa_max(beta, gamma) == printed(bound)
    assert kappa_max(beta, gamma) / unit_dc_gain(beta, gamma) == printed(alpha_h)


def test_f9_values() -> None:
    np.testing.assert_allclose(kappa_max(0.9, [0.0, 0.47368, 0.55279]), [3.8, 2.57857, 2.44721], rtol=1e-5)


def test_kappa_max_broadcasts_over_every_sign_of_gamma() -> None:
    beta = np.array([0.0, 0.5, 0.9])
    gamma = np.array([[0.5], [-0.5], [-1.0], [-2.0]])
    expected = [
        [2 / 1.5, 3 / 1.5, 3.8 / 1.5],  # 0 <= gamma < 1: 2 (1 + beta) / (1 + gamma)
        [min(4, 2), min(6, 1), min(7.6, 0.2)],  # -1 < gamma < 0: the smaller of both bounds
        [1.0, 0.5, 0.1],  # gamma <= -1: (1 - beta) / (-gamma)
        [0.5, 0.25, 0.05],
    ]
    np.testing.assert_allclose(kappa_max(beta, gamma), expected, rtol=1e-14)


def test_kappa_max_agrees_with_the_root_test_on_random_draws() -> None:
    rng = np.random.default_rng(20240917)
    beta = rng.uniform(0.0, 0.999, 10_000)
    gamma = rng.uniform(-2.0, 0.999, 10_000)
    kappa = rng.uniform(0.0, 12.0, 10_000)
    bound = kappa_max(beta, gamma)
    keep = np.abs(kappa - bound) >= 1e-9
    stable_by_roots = spectral_radius(kappa, beta, gamma) < 1
    stable_by_jury = (kappa > 0) & (kappa < bound)
    assert keep.sum() > 9_990
    assert np.array_equal(stable_by_roots[keep], stable_by_jury[keep])
    assert 0.1 < stable_by_jury.mean() < 0.9  # both outcomes are well represented


def test_pole_only_bound_is_conservative_for_admissible_zeros_but_not_sufficient_below() -> None:
    beta = 0.9
    admissible = np.linspace(-(1 - beta) / (1 + beta), 0.99, 200)
    assert np.all(1 + beta <= kappa_max(beta, admissible) + 1e-12)  # §3.4: sufficient there
    assert kappa_max(beta, 0.0) == pytest.approx(2 * (1 + beta))  # half the true range for heavy ball
    assert kappa_max(beta, -0.5) < 1 + beta  # §3.3: not sufficient at gamma = -0.5


def test_growth_factors_just_inside_and_outside_the_bound_for_nesterov() -> None:
    bound = kappa_max(0.9, NAG_09)
    assert spectral_radius(0.95 * bound, 0.9, NAG_09) == pytest.approx(0.85438, abs=5e-6)
    assert spectral_radius(1.05 * bound, 0.9, NAG_09) == pytest.approx(1.14234, abs=5e-6)


# --- spectral radius --------------------------------------------------------------------------------------------


def test_spectral_radius_equals_the_largest_numpy_root() -> None:
    rng = np.random.default_rng(7)
    beta = rng.uniform(0.0, 0.999, 500)
    gamma = rng.uniform(-2.0, 0.999, 500)
    kappa = rng.uniform(-1.0, 12.0, 500)
    expected = [np.abs(_closed_loop_polynomial_roots(*cell)).max() for cell in zip(kappa, beta, gamma, strict=True)]
    np.testing.assert_allclose(spectral_radius(kappa, beta, gamma), expected, rtol=0, atol=1e-12)


def test_spectral_radius_is_that_of_the_state_matrix() -> None:
    kappa, beta, gamma = 1.3, 0.9, DEFAULT_09
    matrix = np.array([[beta - kappa, -kappa * (1 - gamma)], [1.0, 1.0]])  # spec §3.2's A
    assert spectral_radius(kappa, beta, gamma) == pytest.approx(np.abs(np.linalg.eigvals(matrix)).max(), rel=1e-12)


def test_spectral_radius_broadcasts_to_a_stability_map() -> None:
    kappa = np.linspace(0.01, 4.0, 7)[None, :]
    gamma = np.linspace(-1.0, 0.9, 5)[:, None]
    grid = spectral_radius(kappa, 0.9, gamma)
    assert grid.shape == (5, 7)
    assert grid[3, 2] == spectral_radius(kappa[0, 2], 0.9, gamma[3, 0])
    assert np.ndim(spectral_radius(1.0, 0.9, 0.0)) == 0


# --- deadbeat and fastest rates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_deadbeat_has_both_roots_at_the_origin(beta: float) -> None:
    kappa, gamma = deadbeat(beta)
    assert (kappa, gamma) == (pytest.approx(1 + beta), pytest.approx(beta / (1 + beta)))
    assert spectral_radius(kappa, beta, gamma) < 1e-7


def test_deadbeat_error_vanishes_after_two_steps() -> None:
    beta = 0.9
    kappa, gamma = deadbeat(beta)
    eta, h = unit_dc_gain(beta, gamma), 3.0
    alpha = kappa / (eta * h)
    error, previous, filtered, errors = 1.0, 0.0, 0.0, [1.0]  # e_0 = 1, zero filter state
    for _ in range(5):  # spec §3.2: y_t = beta y_{t-1} + eta h (e_t - gamma e_{t-1}), e_{t+1} = e_t - alpha y_t
        filtered = beta * filtered + eta * h * (error - gamma * previous)
        previous, error = error, error - alpha * filtered
        errors.append(error)
    assert errors[1] == pytest.approx(-beta * errors[0], abs=1e-15)
    np.testing.assert_allclose(errors[2:], 0.0, atol=1e-15)


def test_fastest_kappa_at_the_author_default_zero() -> None:
    kappa, rho = fastest_kappa(0.9, 0.5528)
    assert kappa == printed("1.5825")
    assert rho == printed("0.1587")
    assert spectral_radius(kappa, 0.9, 0.5528) == pytest.approx(rho, abs=1e-7)  # a double root: sqrt-precision
    fine_grid = np.linspace(1e-4, kappa_max(0.9, 0.5528), 200_001)
    assert spectral_radius(fine_grid, 0.9, 0.5528).min() >= rho - 1e-12


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.99])
@pytest.mark.parametrize("gamma", [-2.0, -1.0, -0.3, -0.01, 0.0, 0.01, 0.2, 0.5, 0.8, 0.95])
def test_no_kappa_beats_fastest_kappa(beta: float, gamma: float) -> None:
    kappa, rho = fastest_kappa(beta, gamma)
    assert spectral_radius(kappa, beta, gamma) == pytest.approx(rho, abs=1e-7)
    scan = np.linspace(-1.0, 13.0, 140_001)
    assert spectral_radius(scan, beta, gamma).min() >= rho - 1e-9


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_fastest_kappa_degenerate_cases_return_the_start_of_their_interval(beta: float) -> None:
    kappa, rho = fastest_kappa(beta, 0.0)  # heavy ball: sqrt(beta) on [(1 - sqrt b)^2, (1 + sqrt b)^2]
    assert (kappa, rho) == (pytest.approx((1 - math.sqrt(beta)) ** 2), pytest.approx(math.sqrt(beta)))
    kappa, rho = fastest_kappa(beta, beta)  # cancellation: beta on [1 - beta, 1 + beta]
    assert (kappa, rho) == (pytest.approx(1 - beta), pytest.approx(beta))


def test_fastest_kappa_is_zero_only_at_the_deadbeat_zero_and_broadcasts() -> None:
    beta = np.array([0.0, 0.5, 0.9])[:, None]
    gamma = np.linspace(-1.0, 0.95, 41)[None, :]
    kappa, rho = fastest_kappa(beta, gamma)
    assert kappa.shape == rho.shape == (3, 41)
    assert np.all(rho > 1e-3) and np.all(rho < 1)
    assert fastest_kappa(0.9, NAG_09) == (pytest.approx(1.9), pytest.approx(0.0, abs=1e-7))


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: lowpass(1.0, 0.0), "beta"),
        (lambda: lowpass(-0.1, 0.0), "beta"),
        (lambda: lowpass(0.9, 1.0), "gamma"),
        (lambda: lowpass(0.9, float("nan")), "gamma"),
        (lambda: lowpass(0.9, 0.5, eta=0.0), "eta"),
        (lambda: lowpass(0.9, 0.5, n_freq=1), "n_freq"),
        (lambda: lowpass(0.9, 0.5, n_steps=2.5), "n_steps"),
        (lambda: kappa_max([0.5, 1.2], 0.0), "beta"),
        (lambda: kappa_max(0.5, [0.2, np.inf]), "gamma"),
        (lambda: kappa_max(0.5, "x"), "gamma"),
        (lambda: kappa_max(True, 0.0), "beta"),
        (lambda: spectral_radius(np.nan, 0.5, 0.0), "kappa"),
        (lambda: spectral_radius(1.0, 0.5, 1.5), "gamma"),
        (lambda: deadbeat(1.0), "beta"),
        (lambda: fastest_kappa(0.9, 2.0), "gamma"),
        (lambda: unit_dc_gain(0.9, 1.0), "gamma"),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(call, field: str) -> None:
    with pytest.raises(ValueError, match=rf"invalid {field}="):
        call()


def test_range_error_states_the_valid_range() -> None:
    with pytest.raises(ValueError, match=r"kappa_max: invalid beta=1\.2; valid range: 0 <= beta < 1"):
        kappa_max([0.5, 1.2], 0.0)
