"""engine.runs.stats: mean and Student-t 95% confidence interval over seeds."""

import math

import numpy as np
import pytest
from scipy import stats

from engine.runs.stats import mean_ci


def test_matches_scipy() -> None:
    values = [0.81, 0.79, 0.84, 0.8, 0.77]
    result = mean_ci(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert result.n == 5
    assert result.mean == pytest.approx(np.mean(values))
    assert result.low == pytest.approx(low)
    assert result.high == pytest.approx(high)


def test_hand_example() -> None:
    """1, 2, 3: mean 2, s = 1, half-width t_{0.975, 2} / sqrt(3) = 4.302653 / 1.732051 = 2.484138."""
    result = mean_ci([1.0, 2.0, 3.0])
    assert result.mean == 2.0
    assert result.half_width == pytest.approx(2.484138, abs=1e-6)
    assert str(result) == "2 ± 2.5"


def test_one_value_has_no_interval() -> None:
    result = mean_ci([0.5])
    assert (result.mean, result.n) == (0.5, 1)
    assert math.isnan(result.half_width)
    assert str(result) == "0.5"


def test_non_finite_values_are_left_out_and_empty_is_nan() -> None:
    assert mean_ci([1.0, float("nan"), 3.0, float("inf")]).n == 2
    empty = mean_ci([])
    assert empty.n == 0 and math.isnan(empty.mean) and str(empty) == "-"


def test_other_confidence_and_bad_confidence() -> None:
    values = [1.0, 4.0, 2.0, 8.0]
    _, high = stats.t.interval(0.9, 3, loc=np.mean(values), scale=stats.sem(values))
    assert mean_ci(values, confidence=0.9).high == pytest.approx(high)
    with pytest.raises(ValueError, match="confidence"):
        mean_ci(values, confidence=1.0)
