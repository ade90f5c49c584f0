"""engine.theory's closed-loop analysis (spec §3.2) against AutoSGM's own step on quadratics (its simulation)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.theory import deadbeat, kappa_max, spectral_radius
from engine.theory.simulation import simulate_quadratic
from optimizers import stability

CONFIGS = 10_000
STEPS = 2_000


@pytest.fixture(scope="module")
def random_configs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(beta, gamma, kappa) over beta in [0, 0.99), gamma in [-2, 0.99) (every sign, also <= -1), kappa in (0, 12)."""
    rng = np.random.default_rng(20260126)
    return rng.uniform(0, 0.99, CONFIGS), rng.uniform(-2, 0.99, CONFIGS), rng.uniform(0, 12, CONFIGS)


def test_the_optimizers_kappa_max_agrees_with_the_theory(random_configs) -> None:
    """optimizers.stability.kappa_max (scalar, for the stats) and engine.theory.kappa_max (vectorised) agree."""
    beta, gamma, _ = random_configs
    scalar = np.array([stability.kappa_max(b, g) for b, g in zip(beta, gamma, strict=True)])
    np.testing.assert_allclose(scalar, kappa_max(beta, gamma), rtol=1e-14)


def test_stable_by_kappa_max_iff_the_simulated_error_decays(random_configs) -> None:
    """10,000 random configurations in one batched run of the real step: Jury's region is where the error decays.

    Configurations within 1% of |rho| = 1 decay or grow too slowly to tell apart in 2,000 steps and are left out.
    """
    beta, gamma, kappa = random_configs
    errors = simulate_quadratic(beta, gamma, kappa=kappa, steps=STEPS)
    with np.errstate(invalid="ignore", over="ignore"):
        final = np.abs(errors[:, -2:]).max(axis=1)
    decays = np.isfinite(final) & (final < 1e-3)
    grows = ~np.isfinite(final) | (final > 1.0)
    clear = np.abs(spectral_radius(kappa, beta, gamma) - 1) > 0.01
    assert clear.sum() > 0.99 * CONFIGS
    stable = kappa < kappa_max(beta, gamma)
    assert (decays[clear] == stable[clear]).all()
    assert (grows[clear] == ~stable[clear]).all()


PAIRS = [(0.0, 0.0), (0.5, 0.0), (0.5, 1 / 3), (0.9, 0.0), (0.9, 0.9 / 1.9), (0.9, 0.5528), (0.9, -0.1 / 1.9),
         (0.9, -0.5), (0.99, 0.8586), (0.5, -1.5), (0.3, 0.8), (0.7, -0.2)]


@pytest.mark.parametrize("fraction", [0.95, 1.05], ids=["inside", "outside"])
def test_simulated_growth_per_step_is_the_spectral_radius(fraction: float) -> None:
    """Just inside and outside the boundary: the error's envelope grows by rho = max |root of P| per step (to 1e-3).

    The envelope is the largest |e_t| over P steps, measured N steps apart after a transient; complex roots make
    e_t oscillate, and the window's maximum follows the envelope.
    """
    beta, gamma = np.array(PAIRS).T
    kappa = fraction * kappa_max(beta, gamma)
    transient, apart, window = 200, 1_000, 40
    errors = np.abs(simulate_quadratic(beta, gamma, kappa=kappa, steps=transient + apart + window))
    early = errors[:, transient : transient + window].max(axis=1)
    late = errors[:, transient + apart : transient + apart + window].max(axis=1)
    growth = (late / early) ** (1 / apart)
    np.testing.assert_allclose(growth, spectral_radius(kappa, beta, gamma), rtol=0, atol=1e-3)
    assert ((growth < 1) == (fraction < 1)).all()


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_deadbeat_reaches_zero_error_in_two_steps(beta: float) -> None:
    kappa, gamma = deadbeat(beta)
    errors = simulate_quadratic(beta, gamma, kappa=kappa, h=2.5, steps=6, w0=1.3, w_star=-0.4)[0]
    e0 = 1.3 + 0.4
    assert errors[1] == pytest.approx(-beta * e0, rel=1e-13, abs=1e-15)
    assert np.abs(errors[2:]).max() <= 1e-14 * e0


def test_diagonal_quadratic_is_independent_scalar_loops() -> None:
    """kappa is the loop gain on the largest curvature; coordinate i runs the scalar loop with kappa h_i / max(h)."""
    h = np.array([1.0, 4.0])
    errors = simulate_quadratic([0.9, 0.5], 0.3, kappa=1.5, h=h, steps=100, w0=[1.0, -2.0])
    assert errors.shape == (2, 101, 2)
    for coordinate, (curvature, start) in enumerate(zip(h, [1.0, -2.0], strict=True)):
        alone = simulate_quadratic([0.9, 0.5], 0.3, kappa=1.5 * curvature / h.max(), h=curvature, steps=100, w0=start)
        np.testing.assert_allclose(errors[..., coordinate], alone, rtol=1e-13, atol=1e-300)


def test_alpha_and_kappa_describe_the_same_run() -> None:
    beta, gamma, h = 0.8, 0.3, 5.0
    eta_bar = (1 - beta) / (1 - gamma)
    by_kappa = simulate_quadratic(beta, gamma, kappa=1.2, h=h, steps=50)
    by_alpha = simulate_quadratic(beta, gamma, alpha=1.2 / (eta_bar * h), h=h, steps=50)
    np.testing.assert_allclose(by_kappa, by_alpha, rtol=1e-14, atol=1e-300)
    with pytest.raises(ValueError, match="exactly one of kappa and alpha"):
        simulate_quadratic(beta, gamma, h=h)
