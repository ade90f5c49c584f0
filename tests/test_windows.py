"""AutoSGM's windows F_t: spec F12's values, the three reference bugs fixed (spec §5 items 1-3), every option."""

from __future__ import annotations

import numpy as np
import pytest

from optimizers.windows import WindowConfig, check_window, window, window_at

STEPS = np.arange(1, 11)  # t = 1..10


def config(**fields) -> WindowConfig:
    """L = 10 iterations (tau = 1, spe = 10, cfact = 1), x = 0, half mode, unless overridden."""
    return WindowConfig(**{"rcm": 1, "n": 2.0, "tau": 1, "spe": 10, "cfact": 1, "x": 0.0, "m": 1, **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, [1, 0.9755, 0.9045, 0.7939, 0.6545, 0.5, 0.3455, 0.2061, 0.0955, 0.0245]),
        ({"m": 0}, [0, 0.0955, 0.3455, 0.6545, 0.9045, 1, 0.9045, 0.6545, 0.3455, 0.0955]),
        ({"e": 0.5}, [1, 1, 1, 1, 1, 1, 0.9045, 0.6545, 0.3455, 0.0955]),
        ({"rcm": 2, "n": 1.0}, [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]),
    ],
    ids=["cosine half", "cosine full", "cosine flat top", "linear"],
)
def test_f12_window_values(fields: dict, expected: list[float]) -> None:
    np.testing.assert_allclose(window(STEPS, config(**fields)), expected, atol=5e-5)


def test_f12_beta_exponential_and_logistic_start() -> None:
    np.testing.assert_allclose(window(STEPS[:3], config(rcm=3, n=0.9)), [1, 0.8952, 0.7915], atol=5e-5)
    logistic = window(STEPS, config(rcm=5, n=4.0))
    np.testing.assert_allclose(logistic[[0, 1, 2, -1]], [1, 0.9554, 0.8861, 0.0446], atol=5e-5)


def test_f12_sub_iteration_unit_restarts_every_epoch() -> None:
    values = window(np.arange(1, 13), WindowConfig(rcm=2, n=1.0, spe=4, cfact=2))
    np.testing.assert_allclose(values, [1, 0.75, 0.5, 0.25] * 3)


def test_half_window_restarts_at_one_after_its_length() -> None:
    values = window(np.arange(1, 31), config())
    np.testing.assert_allclose(values[10:20], values[:10])
    assert values[10] == 1.0


@pytest.mark.parametrize("rcm", range(1, 7))
@pytest.mark.parametrize("m", [0, 1])
def test_epoch_unit_window_is_never_negative_after_restarts(rcm: int, m: int) -> None:
    """Fix of spec §5 item 2: with cfact=0 the reference went to -0.75 (linear) in later windows' last epochs."""
    cfg = WindowConfig(rcm=rcm, n=0.5 if rcm == 3 else 2.0, m=m, tau=3, spe=7, cfact=0, x=0.0)
    values = window(np.arange(1, 5 * 3 * 7 + 1), cfg)
    assert values.min() >= 0.0 and values.max() <= 1.0


def test_epoch_counter_advances_every_spe_steps() -> None:
    """Fix of spec §5 item 1: the epoch index is (t - 1) // spe, not a counter stepped by tau (stuck at tau = 1)."""
    cfg = WindowConfig(rcm=2, n=1.0, tau=4, spe=5, cfact=0)
    values = window(np.arange(1, 41), cfg).reshape(8, 5)  # 8 epochs of 5 steps
    assert (values == values[:, :1]).all()  # constant within an epoch
    np.testing.assert_allclose(values[:, 0], [1, 0.75, 0.5, 0.25] * 2)  # one step per epoch, restart after tau


def test_late_logistic_runs_from_one_to_the_minimum() -> None:
    """Fix of spec §5 item 3: the reference's rcm 6 started at 1.0579 (n = 4) and ended near 0.311."""
    length = 1000
    values = window(np.arange(1, length + 1), WindowConfig(rcm=6, n=4.0, spe=length, x=0.1))
    assert values[0] == 1.0
    assert (np.diff(values) <= 0).all()
    assert 0.1 <= values[-1] < 0.1 + 5e-3  # the last step is f = 999/1000: a half window never reaches f = 1
    full = window(np.arange(1, length + 1), WindowConfig(rcm=6, n=4.0, spe=length, x=0.1, m=0))
    assert full[0] == pytest.approx(0.1) and full.max() == pytest.approx(1.0)


@pytest.mark.parametrize("rcm", range(1, 7))
def test_every_shape_falls_from_one_towards_the_minimum(rcm: int) -> None:
    values = window(np.arange(1, 201), WindowConfig(rcm=rcm, n=0.5 if rcm == 3 else 2.0, spe=200, x=0.05))
    assert values[0] == 1.0
    assert (np.diff(values) <= 1e-15).all()
    assert 0.05 <= values[-1] < 0.1


def test_off_is_one() -> None:
    assert (window(np.arange(1, 50), WindowConfig(rcm=0)) == 1.0).all()


@pytest.mark.parametrize(("rcm", "n"), [(1, 2.0), (3, 0.5), (4, 2.0), (5, 8.0), (6, 2.0)])
def test_staircase_drops_one_mth_per_sub_window(rcm: int, n: float) -> None:
    """cfact = M >= 3: M sub-shapes over L = tau * spe steps, each falling by 1/M (rcm 5: M overlapping sigmoids,
    whose tails blur the steps unless they are steep)."""
    steps, m = 400, 4
    cfg = WindowConfig(rcm=rcm, n=n, spe=steps, cfact=m)
    values = window(np.arange(1, steps + 1), cfg)
    assert values[0] == 1.0 and (np.diff(values) <= 1e-12).all()
    boundaries = values[[steps // m * i for i in range(1, m)]]  # f = i / M
    np.testing.assert_allclose(boundaries, [(m - i) / m for i in range(1, m)], atol=0.02)


def test_polynomial_ignores_the_staircase() -> None:
    plain = window(np.arange(1, 101), WindowConfig(rcm=2, n=1.5, spe=100))
    np.testing.assert_array_equal(window(np.arange(1, 101), WindowConfig(rcm=2, n=1.5, spe=100, cfact=5)), plain)


def test_kronecker_phases_are_a_monotone_low_discrepancy_grid() -> None:
    length = 50
    uniform = window(np.arange(1, length + 1), WindowConfig(rcm=1, spe=length))
    kronecker = window(np.arange(1, length + 1), WindowConfig(rcm=1, spe=length, inseq=1))
    assert kronecker[0] == 1.0 and (np.diff(kronecker) <= 0).all()
    assert not np.allclose(kronecker, uniform)
    phases = np.sort(np.mod(np.arange(length) * (np.sqrt(5) - 1) / 2, 1.0))
    np.testing.assert_allclose(kronecker, np.cos(np.pi * phases / 2) ** 2)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"m": 0}, [0.0516, 0.3188, 0.5437, 0.8687, 1, 1, 0.8687, 0.5437, 0.3188, 0.0516]),
        ({"m": 1, "e": 0.2}, [1, 1, 1, 0.9801, 0.8687]),
    ],
    ids=["full", "half flat top"],
)
def test_kronecker_window_matches_the_reference(fields: dict, expected: list[float]) -> None:
    """Spec §2.6's Kronecker input, the author's numbers for rc_cfg = (1, 1, 0, 2, m, 1, 10, 1, e): full mode draws
    N = L / 2 samples at {k phi}, k = 0..4 (phases 0, .618, .236, .854, .472), sorted and mirrored; half mode with
    e = 0.2 puts two flat-top ones before N = 8 samples, S(0) = 1, S({5 phi}) = .9801, S({2 phi}) = .8687, ..."""
    values = window(STEPS, config(inseq=1, **fields))
    np.testing.assert_allclose(values[: len(expected)], expected, atol=5e-5)
    np.testing.assert_array_equal(window(STEPS + 10, config(inseq=1, **fields)), values)  # restarts after L


@pytest.mark.parametrize("rcm", range(1, 7))
def test_kronecker_full_window_is_mirror_symmetric(rcm: int) -> None:
    """F_u = F_{L-1-u} (an odd L has one middle value), rising from its smallest sample to 1 and back."""
    length = 37
    values = window(np.arange(1, length + 1), WindowConfig(rcm=rcm, n=0.5 if rcm == 3 else 2.0, spe=length, m=0,
                                                           x=0.1, e=0.2, inseq=1))
    np.testing.assert_array_equal(values, values[::-1])
    middle = length // 2
    assert values[middle] == 1.0 and (np.diff(values[: middle + 1]) >= 0).all() and values[0] > 0.1


@pytest.mark.parametrize("rcm", range(1, 7))
def test_kronecker_half_window_is_monotone_with_its_flat_top_in_front(rcm: int) -> None:
    """L = 37, e = 0.2: the ones of u / L < e (u = 0..7) come first, then N = 29 samples from S(0) = 1 down; every
    window of L steps is the same."""
    length = 37
    cfg = WindowConfig(rcm=rcm, n=0.5 if rcm == 3 else 2.0, spe=length, m=1, x=0.1, e=0.2, inseq=1)
    values = window(np.arange(1, 3 * length + 1), cfg)
    first = values[:length]
    assert (first[:9] == 1.0).all() and first[9] < 1.0
    assert (np.diff(first) <= 0).all() and 0.1 <= first[-1] < 0.2
    np.testing.assert_array_equal(values.reshape(3, length), np.tile(first, (3, 1)))


def test_window_at_equals_the_vectorised_window() -> None:
    cfg = WindowConfig(rcm=5, n=3.0, tau=2, spe=300, x=0.02, m=0, e=0.1)
    steps = np.arange(1, 1500)
    np.testing.assert_allclose([window_at(int(t), cfg) for t in steps], window(steps, cfg), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rcm": 7}, r"invalid rcm=7; valid range: 0 <= rcm <= 6"),
        ({"rcm": 3, "n": 2.0}, r"invalid n=2.0; valid range: 0 < n < 1"),
        ({"x": 1.5}, r"invalid x=1.5"),
        ({"e": 1.0}, r"invalid e=1.0"),
        ({"m": 2}, r"invalid m=2"),
        ({"tau": 1, "spe": 1}, r"tau \* spe >= 2"),
        ({"spe": 2.5}, r"invalid spe=2.5; expected an integer"),
    ],
)
def test_bad_windows_are_refused_with_the_field(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_window("AutoSGM", WindowConfig(**fields))


def test_check_window_names_fields_as_the_caller_knows_them() -> None:
    with pytest.raises(ValueError, match=r"AutoSGM: invalid window_order=-1.0"):
        check_window("AutoSGM", WindowConfig(n=-1.0), {"n": "window_order"})
