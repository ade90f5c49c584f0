"""Checked float64 arrays for the theory's functions: scalar in, scalar out; read-only results."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from optimizers.validation import check_number

Array = NDArray[np.float64]


def checked_array(
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


def scalar_if_0d(array: Array) -> Array:
    """A 0-d result as a numpy scalar (so scalar in, scalar out); anything else unchanged."""
    return array[()] if np.ndim(array) == 0 else array


def frozen(array: Array) -> Array:
    """``array`` marked read-only, so a frozen ``LowpassResponse`` cannot be edited through its arrays."""
    array.flags.writeable = False
    return array
