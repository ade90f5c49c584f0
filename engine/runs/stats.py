"""Mean and 95% confidence interval over seeds (Student t), for the CLI table, the app and the sweeps.

``scipy.stats`` is imported on first use: it takes about a second to import, which every worker process (they all
import ``engine.runs``) would otherwise pay before its first step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from optimizers.validation import check_number


@dataclass(frozen=True)
class MeanCI:
    """``mean`` of ``n`` values and the half-width of its confidence interval: ``mean ± half_width``.

    ``half_width`` is NaN for n = 1 (one seed says nothing about the spread); ``mean`` is NaN for n = 0.
    """

    mean: float
    half_width: float
    n: int
    confidence: float = 0.95

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def __str__(self) -> str:
        """``"0.8123 ± 0.0150"``; ``"0.8123"`` when the interval is undefined; ``"-"`` without values."""
        if self.n == 0:
            return "-"
        if math.isnan(self.half_width):
            return f"{self.mean:.4g}"
        return f"{self.mean:.4g} ± {self.half_width:.2g}"


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t confidence interval of ``values`` (e.g. one metric over seeds).

    half_width = t_{(1 + confidence) / 2, n - 1} * s / sqrt(n), with s the sample standard deviation (ddof 1).
    Non-finite values (a diverged run's NaN or inf loss) are left out, so ``n`` counts the finite ones; report
    divergences separately (the CLI's table has a column for them).
    """
    check_number("mean_ci", "confidence", confidence, low=0.0, high=1.0, low_open=True, high_open=True)
    finite = [float(value) for value in values if math.isfinite(float(value))]
    n = len(finite)
    if n == 0:
        return MeanCI(math.nan, math.nan, 0, confidence)
    mean = math.fsum(finite) / n
    if n == 1:
        return MeanCI(mean, math.nan, 1, confidence)
    variance = math.fsum((value - mean) ** 2 for value in finite) / (n - 1)
    return MeanCI(mean, t_quantile((1 + confidence) / 2, n - 1) * math.sqrt(variance / n), n, confidence)


@lru_cache(maxsize=256)
def t_quantile(probability: float, degrees: int) -> float:
    """Student t's quantile: a seed band draws thousands of intervals of a few sample sizes (scipy takes ~60 us)."""
    from scipy import stats

    return float(stats.t.ppf(probability, degrees))


@dataclass(frozen=True)
class Welch:
    """Welch's unequal-variance t-test of two samples: ``difference`` = mean(a) - mean(b), two-sided ``p``, and
    ``half_width`` of the difference's 95% confidence interval, t(0.975, nu) sqrt(s_a^2/n_a + s_b^2/n_b) with the
    Welch-Satterthwaite degrees of freedom nu (NaN where ``p`` is)."""

    difference: float
    statistic: float
    p: float
    half_width: float = math.nan


def welch(a: Iterable[float], b: Iterable[float]) -> Welch:
    """Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``, whose ``confidence_interval`` gives the half-width)
    on the finite values of ``a`` and ``b``.

    p is NaN when either side has fewer than two values or both have no spread (nothing to test).
    """
    left = [float(v) for v in a if math.isfinite(float(v))]
    right = [float(v) for v in b if math.isfinite(float(v))]
    if not left or not right:
        return Welch(math.nan, math.nan, math.nan)
    difference = math.fsum(left) / len(left) - math.fsum(right) / len(right)
    if len(left) < 2 or len(right) < 2 or (len(set(left)) == 1 and len(set(right)) == 1):
        return Welch(difference, math.nan, math.nan)
    from scipy import stats

    result = stats.ttest_ind(left, right, equal_var=False)
    interval = result.confidence_interval(0.95)
    return Welch(difference, float(result.statistic), float(result.pvalue),
                 float(interval.high - interval.low) / 2)
