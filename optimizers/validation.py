"""Eager hyperparameter checks with one message shape: the owner, the field, the bad value and the valid range.

Every optimizer validates in its constructor (never in ``step()``), so a bad value fails where it was written, and
the UI, the CLI and the Python API all show the same sentence, e.g.
``GNWAdam: invalid lr=-0.1; valid range: lr >= 0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real

from torch import Tensor


def _range_text(name: str, low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """Render a range such as ``0 <= beta < 1`` or ``lips > 0``."""
    if high is None:
        return f"{name} {'>' if low_open else '>='} {low:g}" if low is not None else name
    lower = f"{low:g} {'<' if low_open else '<='} " if low is not None else ""
    return f"{lower}{name} {'<' if high_open else '<='} {high:g}"


def check_number(
    owner: str,
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> float:
    """Return ``value`` if it is a finite real number inside the range, else raise ``ValueError``.

    NaN, infinities and booleans are always refused; ``integer=True`` also refuses non-integral values.
    """
    kind = "an integer" if integer else "a finite number"
    valid = _range_text(name, low, high, low_open, high_open)
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    try:  # an int beyond the floats (a 400-digit literal) raises OverflowError: it is no finite number either
        number = float(value) if isinstance(value, Real) and not isinstance(value, bool) else math.nan
    except OverflowError:
        number = math.nan
    if not math.isfinite(number) or (integer and number != int(number)):
        raise ValueError(f"{owner}: invalid {name}={short_repr(value)}; expected {kind} with {valid}")
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        raise ValueError(f"{owner}: invalid {name}={short_repr(value)}; valid range: {valid}")
    return int(number) if integer else number


def short_repr(value: object) -> str:
    """``repr(value)``, cut to 40 characters (a 400-digit number stays readable in a one-line message)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_probability(owner: str, name: str, value: object) -> float:
    """A decay factor such as an EMA beta: ``0 <= value < 1``."""
    return check_number(owner, name, value, low=0.0, high=1.0, high_open=True)


def check_choice(owner: str, name: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    if value not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(f"{owner}: invalid {name}={value!r}; allowed values: {allowed}")
    return str(value)


def check_dense(owner: str, grad: Tensor) -> None:
    """Refuse sparse gradients, which none of these optimizers define."""
    if grad.is_sparse:
        raise RuntimeError(f"{owner} does not support sparse gradients; use a dense embedding (sparse=False)")
