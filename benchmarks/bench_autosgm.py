"""Time AutoSGM's step against torch's Adam(foreach), and the stability map's spectral radius against numpy.roots.

AutoSGM steps its own copy of the seed MLP 40-256-256-256-10 (8 tensors, 144k parameters) with the same gradients
as Adam(foreach=True), in its Adam-like default (num_lrc 0, cosine window on) and with the Markov-Huber numerator
(num_lrc 3). As in bench_optimizers.py (whose helpers this reuses): the optimizers take turns within each round
(interleaved), each ratio is the median over rounds of its time over Adam's in the same round, and torch runs on
one thread by default. Targets: at most 1.5x Adam (num_lrc 0) and 3x Adam (num_lrc 3). AutoSGM's telemetry (the
secant's three passes) is computed when ``stats`` is read, which a training loop that logs every k steps mostly does
not: the targets time ``step()`` alone, and a third line, for information, reads ``stats`` after every step. Then
``engine.theory.spectral_radius`` over a 400 x 400 (kappa, gamma) grid against one ``numpy.roots`` call per cell
(target: at least 100x faster); numpy.roots is timed on a random subset of the cells and scaled to the grid.

    PYTHONPATH=. python benchmarks/bench_autosgm.py [--rounds 15] [--steps 100] [--threads 1] [--root-cells 2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.optim import Adam, Optimizer

from benchmarks.bench_optimizers import SEED_MLP, seed_mlp_parameters, time_steps
from engine.theory import spectral_radius
from optimizers import AutoSGM

GRID = 400
BETA = 0.9
TARGETS = {"AutoSGM num_lrc 0": 1.5, "AutoSGM num_lrc 3": 3.0}


class ReadingStats:
    """An optimizer whose ``stats`` are read after every step (what the explorer does on a logged step)."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer, self.param_groups = optimizer, optimizer.param_groups

    def step(self) -> None:
        self.optimizer.step()
        self.optimizer.stats  # noqa: B018 -- reading it is the point: it computes the telemetry


def candidates() -> dict[str, Callable[[list[torch.nn.Parameter]], Optimizer | ReadingStats]]:
    """Name -> builder; AutoSGM's default cosine window (1000 steps, then restart) is evaluated every step."""
    return {
        "Adam(foreach)": lambda ps: Adam(ps, lr=1e-3, foreach=True),
        "AutoSGM num_lrc 0": lambda ps: AutoSGM(ps),
        "AutoSGM num_lrc 3": lambda ps: AutoSGM(ps, lr_cfg=(True, 1e-2, 3)),
        "AutoSGM num_lrc 3 + stats": lambda ps: ReadingStats(AutoSGM(ps, lr_cfg=(True, 1e-2, 3))),
    }


def bench_steps(rounds: int, steps: int) -> None:
    optimizers = {name: build(seed_mlp_parameters()) for name, build in candidates().items()}
    for optimizer in optimizers.values():
        time_steps(optimizer, 20)  # warm up: lazy state, allocator
    ratios: dict[str, list[float]] = {name: [] for name in optimizers}
    seconds: dict[str, list[float]] = {name: [] for name in optimizers}
    for _ in range(rounds):
        round_times = {name: time_steps(optimizer, steps) for name, optimizer in optimizers.items()}
        for name, elapsed in round_times.items():
            seconds[name].append(elapsed)
            ratios[name].append(elapsed / round_times["Adam(foreach)"])
    print(f"one step on the seed MLP {SEED_MLP}, median of {rounds} interleaved rounds of {steps} steps")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name in optimizers:
        ratio = statistics.median(ratios[name])
        line = f"{name:28s} {statistics.median(seconds[name]) * 1e6:8.1f} us  ratio {ratio:5.2f}x Adam"
        if name in TARGETS:
            line += f"  (target <= {TARGETS[name]}x: {'met' if ratio <= TARGETS[name] else 'MISSED'})"
        print(line)


def bench_spectral_radius(root_cells: int, repeats: int = 5) -> None:
    kappa = np.linspace(0.01, 4.0, GRID)[np.newaxis, :]
    gamma = np.linspace(-0.9, 0.95, GRID)[:, np.newaxis]
    vectorised = min(_timed(lambda: spectral_radius(kappa, BETA, gamma)) for _ in range(repeats))

    rng = np.random.default_rng(0)
    cells = rng.integers(0, GRID, size=(root_cells, 2))
    p = 1 + BETA - kappa[0, cells[:, 1]]
    q = BETA - kappa[0, cells[:, 1]] * gamma[cells[:, 0], 0]

    def by_roots() -> list[float]:
        return [float(np.abs(np.roots([1.0, -pi, qi])).max()) for pi, qi in zip(p, q, strict=True)]

    per_cell = min(_timed(by_roots) for _ in range(3)) / root_cells
    expected = spectral_radius(kappa[0, cells[:, 1]], BETA, gamma[cells[:, 0], 0])
    assert np.allclose(by_roots(), expected, rtol=1e-9, atol=1e-12), "spectral_radius disagrees with numpy.roots"
    looped = per_cell * GRID * GRID
    speedup = looped / vectorised
    print(f"spectral_radius on a {GRID} x {GRID} grid (beta = {BETA}): {vectorised * 1e3:8.2f} ms")
    print(f"numpy.roots per cell: {per_cell * 1e6:.1f} us, timed on {root_cells} random cells and scaled to "
          f"{GRID * GRID} cells: {looped:.2f} s")
    verdict = "met" if speedup >= 100 else "MISSED"
    print(f"spectral_radius speedup {speedup:,.0f}x numpy.roots  (target >= 100x: {verdict})")


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--root-cells", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench_steps(args.rounds, args.steps)
    bench_spectral_radius(args.root_cells)


if __name__ == "__main__":
    main()
