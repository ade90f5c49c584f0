"""AutoSGM's windows (learning-rate schedules) F_t: pure, vectorised functions of the step count (spec §2.6)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from optimizers.validation import check_number

SHAPES = ("off", "cosine", "polynomial", "beta_exp", "simple_poly", "logistic", "logistic_late")
"""Readable names of the shapes, indexed by ``rcm``."""

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # phi, the Kronecker sequence's step
_BLOCK = 256  # steps per cached block of ``window_at``


class WindowConfig(NamedTuple):
    """``rc_cfg``: which window, its length and its unit (the reference's tuple order, spec §2.6).

    rcm: shape 0-6 (``SHAPES``; 0 = no window, F = 1). inseq: 0 uniform phases, 1 Kronecker phases (sorted samples).
    x: minimum fraction, F runs from 1 down to x. n: shape parameter (order, base or steepness).
    m: 1 half (anneal only), 0 full (rise from x to 1 at mid-window, then fall). tau: length in epochs.
    spe: steps (iterations) per epoch. cfact: unit, 0 epoch, 1 iteration, 2 one epoch (restart every epoch),
    M >= 3 iteration with a staircase of M sub-shapes. e: flat-top fraction, F = 1 on the first e of the phase.
    """

    rcm: int = 1
    inseq: int = 0
    x: float = 0.0
    n: float = 2.0
    m: int = 1
    tau: int = 1
    spe: int = 1000
    cfact: int = 1
    e: float = 0.0

    @property
    def length(self) -> int:
        """L, the window's length in its own unit: tau epochs (cfact 0), spe steps (2), else tau * spe steps."""
        return self.tau if self.cfact == 0 else self.spe if self.cfact == 2 else self.tau * self.spe


def check_window(owner: str, config: WindowConfig, names: Mapping[str, str] | None = None) -> WindowConfig:
    """``config`` with every field checked (ValueError naming the field, e.g. ``names["n"]``, otherwise).

    ``names`` maps a field to the name the caller's user knows it by (the registry's readable fields).
    """
    config = WindowConfig(*config)
    name = {field: field for field in WindowConfig._fields} | dict(names or {})
    check_number(owner, name["rcm"], config.rcm, low=0, high=len(SHAPES) - 1, integer=True)
    check_number(owner, name["inseq"], config.inseq, low=0, high=1, integer=True)
    check_number(owner, name["x"], config.x, low=0.0, high=1.0)
    # rcm 3's base must lie in (0, 1); every other shape needs n > 0.
    check_number(owner, name["n"], config.n, low=0.0, high=1.0 if config.rcm == 3 else None, low_open=True,
                 high_open=True)
    check_number(owner, name["m"], config.m, low=0, high=1, integer=True)
    check_number(owner, name["tau"], config.tau, low=1, integer=True)
    check_number(owner, name["spe"], config.spe, low=1, integer=True)
    check_number(owner, name["cfact"], config.cfact, low=0, integer=True)
    check_number(owner, name["e"], config.e, low=0.0, high=1.0, high_open=True)
    if config.tau * config.spe < 2:
        raise ValueError(f"{owner}: invalid {name['tau']}={config.tau!r} with {name['spe']}={config.spe!r}; "
                         f"valid range: {name['tau']} * {name['spe']} >= 2")
    return WindowConfig(int(config.rcm), int(config.inseq), float(config.x), float(config.n), int(config.m),
                        int(config.tau), int(config.spe), int(config.cfact), float(config.e))


def window(t: ArrayLike, config: WindowConfig) -> NDArray[np.float64]:
    """F_t for steps ``t`` = 1, 2, ... (any array shape): the window of ``config`` (spec §2.6, F12).

    The clock is the local index u = (c - 1) mod L of the step (c = t) or, in epoch units (cfact 0), of the epoch
    (c = 1 + (t - 1) // spe), so windows restart every L units. Uniform phases (inseq 0): f = u / L, folded to
    |2 f - 1| in full mode (m = 0); flat top: F = 1 while f < e, else f <- (f - e) / (1 - e); then F = x + (1 - x) S(f).
    Kronecker phases (inseq 1): F_u is the u-th value of ``kronecker_window``, the same x + (1 - x) S sampled at
    {k phi}, phi = (sqrt 5 - 1) / 2, sorted. The shapes S:

        1 cosine          S = cos(pi f / 2)^n            (n = 2: cosine annealing (1 + cos pi f) / 2)
        2 polynomial      S = (1 - f)^n                  (n = 1: linear)
        3 beta_exp        S = (n^f - n) / (1 - n),       0 < n < 1
        4 simple_poly     S = (1 - f^n)^2
        5 logistic        S = (s(f) - s(1)) / (s(0) - s(1)),  s(f) = 1 / (1 + 2^(2 n (f - 1/2)))
        6 logistic_late   as 5 with s(f) = 1 / (1 + 2^(2 n (f - 7/8)))

    and the staircase S_M = (M - i + S(M f - i + 1)) / M, i = max(1, ceil(M f)), of M = cfact >= 3 sub-shapes
    (rcm 5 sums M sigmoids instead, rcm 2 ignores M). Every shape runs from S(0) = 1 to S(1) = 0, so x <= F <= 1.

    Fixes to the reference (spec §5): the epoch counter advances every ``spe`` steps, not every ``tau`` (item 1);
    in epoch units F comes from the epoch index alone, so no call in a window's last epoch can overshoot f = 1 and
    make F negative (item 2); rcm 6 is normalised by its own endpoints, so it runs from 1 to x (item 3); with
    Kronecker phases every shape takes N samples, rcm 2 included (item 8, ``kronecker_window``).
    """
    t = np.asarray(t, dtype=np.float64)
    if config.rcm == 0:
        return np.ones_like(t)
    length = config.length
    clock = (t - 1) // config.spe if config.cfact == 0 else t - 1  # fix (items 1 and 2): the epoch index, by spe
    u = np.mod(clock, length)
    if config.inseq:
        return kronecker_window(config)[u.astype(np.int64)]
    f = u / length
    if config.m == 0:
        f = np.abs(2 * f - 1)
    flat = f < config.e
    f = np.clip((f - config.e) / (1 - config.e), 0.0, 1.0)
    staircase = config.cfact if config.cfact >= 3 else 1
    return np.where(flat, 1.0, config.x + (1 - config.x) * _shape(f, config.rcm, config.n, staircase))


def window_at(t: int, config: WindowConfig) -> float:
    """F_t for one step t >= 1: ``window`` evaluated a block of steps at a time, the blocks cached (pure in t)."""
    block, offset = divmod(t - 1, _BLOCK)
    return _window_block(config, block)[offset]


class RunWindows:
    """F_t of R runs whose windows differ in numeric fields (a landscape over the window's length or minimum).

    ``config`` holds the fields every run shares; ``fields`` maps field names (x, n, tau, spe, e) to one value per
    run. The distinct configurations' windows are evaluated together by one ``window`` call (its numpy broadcasts
    over fields given as arrays), a block of steps at a time as ``window_at`` does, and read per run: the cost grows
    with the distinct configurations, not with R. Uniform phases only (inseq 0): a Kronecker window is one table per
    configuration (``kronecker_window``).
    """

    def __init__(self, config: WindowConfig, fields: Mapping[str, ArrayLike]) -> None:
        if config.inseq:
            raise ValueError("RunWindows: per-run windows need uniform phases (inseq 0)")
        names = list(fields)
        rows = np.stack([np.asarray(fields[name], dtype=np.float64).reshape(-1) for name in names], axis=1)
        distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
        self.index = inverse.reshape(-1)  # each run's row of ``distinct``
        self.config = config._replace(**{name: distinct[:, k] for k, name in enumerate(names)})  # fields [U] each
        self.block = -1  # the block of steps that ``values`` holds
        self.values = np.empty((0, len(distinct)))  # F over that block, [_BLOCK, U]

    def at(self, t: int) -> NDArray[np.float64]:
        """F_t of every run, [R], for one step t >= 1."""
        block, offset = divmod(t - 1, _BLOCK)
        if block != self.block:
            steps = np.arange(block * _BLOCK + 1, (block + 1) * _BLOCK + 1, dtype=np.float64)[:, None]
            self.block, self.values = block, np.broadcast_to(window(steps, self.config), (_BLOCK, self.values.shape[1]))
        return self.values[offset, self.index]


@lru_cache(maxsize=32)
def _window_block(config: WindowConfig, block: int) -> tuple[float, ...]:
    return tuple(window(np.arange(block * _BLOCK + 1, (block + 1) * _BLOCK + 1), config).tolist())


def _shape(f: NDArray[np.float64], rcm: int, n: float, staircase: int) -> NDArray[np.float64]:
    """S(f) on [0, 1], from 1 at f = 0 to 0 at f = 1, with a staircase of ``staircase`` sub-shapes."""
    if rcm == 2:  # polynomial: the staircase does not apply (spec §2.6)
        return (1 - f) ** n
    if rcm == 5:
        return _logistic_sum(f, n, staircase)
    if staircase == 1:
        return _single_shape(f, rcm, n)
    i = np.maximum(1.0, np.ceil(staircase * f))
    return (staircase - i + _single_shape(staircase * f - i + 1, rcm, n)) / staircase


def _single_shape(f: NDArray[np.float64], rcm: int, n: float) -> NDArray[np.float64]:
    if rcm == 1:
        return np.cos(0.5 * np.pi * f) ** n
    if rcm == 3:
        return (n**f - n) / (1 - n)
    if rcm == 4:
        return (1 - f**n) ** 2
    # rcm 6. Fix (spec §5 item 3): the reference normalises with rcm 5's endpoints s(0), s(1) of the mid-inflection
    # sigmoid, so it started at 1.0579 (n = 4) and ended near 0.311; its own endpoints make it run from 1 to 0.
    return _normalised(lambda phase: 1 / (1 + 2.0 ** (2 * n * (phase - 0.875))), f)


def _logistic_sum(f: NDArray[np.float64], n: float, staircase: int) -> NDArray[np.float64]:
    """rcm 5: sum of ``staircase`` mid-inflection sigmoids, one centred in each sub-interval, normalised to [0, 1]."""
    offsets = np.arange(staircase, dtype=np.float64).reshape((-1,) + (1,) * np.ndim(f))

    def summed(phase: NDArray[np.float64]) -> NDArray[np.float64]:
        return (1 / (1 + 2.0 ** (2 * n * (staircase * phase - offsets - 0.5)))).sum(axis=0)

    return _normalised(summed, f)


def _normalised(curve, f: NDArray[np.float64]) -> NDArray[np.float64]:
    """(curve(f) - curve(1)) / (curve(0) - curve(1)) for a decreasing ``curve``: 1 at f = 0, 0 at f = 1."""
    start, end = curve(np.zeros_like(f)), curve(np.ones_like(f))
    return (curve(f) - end) / (start - end)


@lru_cache(maxsize=8)
def kronecker_window(config: WindowConfig) -> NDArray[np.float64]:
    """F over one window of Kronecker phases (inseq 1, spec §2.6): its L values in the order they are used.

    The falling part has h values, h = L in half mode (m = 1) and h = ceil(L / 2) in full mode (m = 0): first the
    flat-top ones, as many as the phases u / h < e (u < h), the count uniform phases give in half mode; then the
    remaining N values x + (1 - x) S(f_k) at the Kronecker phases f_k = {k phi}, k = 0..N-1, phi = (sqrt 5 - 1) / 2,
    sorted from the largest down. The samples are not rescaled by the flat top: N low-discrepancy points cover
    [0, 1), as the N uniform phases (f - e) / (1 - e) do. Half mode: the window is the falling part, monotone from
    1 towards x. Full mode: the falling part's mirror image comes first, less its first value when L is odd (that
    value is then the middle one), so the window rises to 1 and falls back, symmetric: F_u = F_{L-1-u}.

    Deviation (spec §5 item 8): the seed built L samples instead of N for rcm 2 (so its full window only rose);
    every shape takes N here. Cached per configuration, read-only: one window is L floats.
    """
    length = config.length
    falling = length if config.m else length - length // 2
    ones = int(np.count_nonzero(np.arange(falling) / falling < config.e))
    phases = np.mod(np.arange(falling - ones, dtype=np.float64) * _GOLDEN, 1.0)
    staircase = config.cfact if config.cfact >= 3 else 1
    samples = np.sort(config.x + (1 - config.x) * _shape(phases, config.rcm, config.n, staircase))[::-1]
    half = np.concatenate([np.ones(ones), samples])
    values = half if config.m else np.concatenate([half[::-1][: length // 2], half])
    values.flags.writeable = False
    return values
