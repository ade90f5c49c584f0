"""Time 128 x 128 landscapes of 500 steps on Rosenbrock (heavy ball, Adam, AutoSGM) against the sequential engine.

Each landscape (``engine.runs.compute_landscape``: 16,384 runs stepped as one [R, 2] computation) is timed against
single runs of the same optimizer through ``engine.runs.run`` (one run at a time, a record every step: what the app
and the CLI did before the runs axis), cells of the same map. Both rates are run-steps per second (runs x steps /
seconds); the ratio is landscape / sequential. Targets: at least 1,000x, and the heavy-ball map under 2 s on 2 cores.

The machine is shared and noisy, so the landscape and the sequential runs take turns within each round (their order
alternating), and each number is the median over rounds.

    PYTHONPATH=. python benchmarks/bench_landscape.py [--rounds 3] [--size 128] [--steps 500] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from engine.runs import Axis, LandscapeSpec, OptimizerChoice, compute_landscape, run
from engine.runs.device import configure_threads, usable_cores

MAPS = {  # optimizer: (x axis, y axis) over a range where the map has converged, slow and diverged cells
    "momentum": ("lr=1e-6:1e-2:{n}:log", "momentum=0:0.99:{n}"),
    "adam": ("lr=1e-4:1:{n}:log", "beta1=0:0.99:{n}"),
    "autosgm": ("lr=1e-4:1:{n}:log", "beta=0:0.99:{n}"),
}
SEQUENTIAL_CELLS = ((0, 0), (1, 2), (2, 1))  # the cells (as fractions of the grid: 0, 1/2, 1) run alone


def landscape_spec(key: str, size: int, steps: int) -> LandscapeSpec:
    x, y = (axis.format(n=size) for axis in MAPS[key])
    return LandscapeSpec("rosenbrock", OptimizerChoice(key), Axis.parse(x), Axis.parse(y), steps=steps, device="cpu")


def time_landscape(spec: LandscapeSpec) -> float:
    start = time.perf_counter()
    compute_landscape(spec)
    return time.perf_counter() - start


def time_sequential(spec: LandscapeSpec) -> float:
    """Seconds per run-step of single runs through the engine, at a few cells of the map."""
    x_values, y_values = spec.values(spec.x), spec.values(spec.y)
    cells = [spec.cell(x_values[j * (len(x_values) - 1) // 2], y_values[i * (len(y_values) - 1) // 2])
             for i, j in SEQUENTIAL_CELLS]
    start = time.perf_counter()
    run_steps = sum(int(run(cell).summary["steps_done"]) for cell in cells)
    return (time.perf_counter() - start) / max(run_steps, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--threads", type=int, help="torch threads (default: the engine's choice for the work)")
    parser.add_argument("--optimizers", nargs="+", default=list(MAPS), choices=list(MAPS))
    args = parser.parse_args()
    if args.threads is not None:
        configure_threads(args.threads)
    for index, key in enumerate(args.optimizers):
        spec = landscape_spec(key, args.size, args.steps)
        time_landscape(spec), time_sequential(spec)  # warm up: imports, lazy state, allocator; the engine's threads
        if index == 0:
            print(f"torch {torch.__version__}, {torch.get_num_threads()} threads of {usable_cores()} cores, median of "
                  f"{args.rounds} interleaved rounds")
        landscape_s, per_step_s = [], []
        for index in range(args.rounds):
            pair = [(landscape_s, lambda spec=spec: time_landscape(spec)),
                    (per_step_s, lambda spec=spec: time_sequential(spec))]
            for times, measure in pair if index % 2 == 0 else pair[::-1]:
                times.append(measure())
        seconds, sequential = statistics.median(landscape_s), 1 / statistics.median(per_step_s)
        rate = args.size * args.size * args.steps / seconds
        ratio = rate / sequential
        print(f"{key}: {args.size}x{args.size}x{args.steps} in {seconds:.2f} s, {rate:.2g} run-steps/s, "
              f"{ratio:,.0f}x the sequential engine ({sequential:,.0f} run-steps/s) "
              f"(target >= 1,000x: {'met' if ratio >= 1000 else 'MISSED'}"
              + (f"; under 2 s: {'met' if seconds < 2 else 'MISSED'})" if key == "momentum" else ")"))


if __name__ == "__main__":
    main()
