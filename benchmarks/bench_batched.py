"""Time R MNIST-1D runs trained as one stacked computation against the same R runs one after another, as ratios.

The seed MLP (depth 3, width 256), Adam, batch 128, R seeds (0..R-1) for R = 1, 4 and 16: sequentially, each run
through ``MNIST1DTask.run`` (the reference: the optimizer's own ``torch.optim`` class, one run at a time), against
``MNIST1DTask.run_batch`` (the MLPs stacked as [R, out, in] weights, Adam's runs-axis maths), both with the task's
full telemetry (a record every 10 steps, the per-epoch evaluation of the three splits) and the same torch thread
count. Throughput is model-steps per second: R x the steps of one run over the seconds all R took. Targets: the
batched runs never slower than the sequential ones, and at least 1.15x at R = 16 on a CPU.

The machine is shared and noisy, so the two take turns within each round (interleaved, their order alternating),
and each ratio is the median over rounds of the per-round ratios; the ratio of the process CPU times, printed beside
it, leaves out the time another process held the core.

    PYTHONPATH=. python benchmarks/bench_batched.py [--rounds 5] [--epochs 1] [--threads 1] [--runs 1 4 16]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from engine.runs import ComparisonSpec, OptimizerChoice, RunSpec
from engine.runs.device import configure_threads
from engine.tasks import MNIST1D, get_task, load_mnist1d

TARGETS = {16: 1.15}
"""The least batched / sequential ratio wanted at an R (1.0, never slower, at every other R)."""


class Recorder:
    """What the runner's progress tracker is to a task, and nothing more: rows kept, never asked to stop."""

    def __init__(self) -> None:
        self.records: list[dict[str, float]] = []
        self.epochs: list[dict[str, float]] = []

    def stop(self) -> bool:
        return False

    def tick(self) -> None:
        pass

    def end(self, outcome: object) -> None:
        pass


def sequential(runs: list[RunSpec], device: torch.device) -> None:
    task = get_task(MNIST1D)
    for spec in runs:
        assert task.run(spec, device, Recorder()).status == "finished"


def batched(runs: list[RunSpec], device: torch.device) -> None:
    outcomes = get_task(MNIST1D).run_batch(runs, device, [Recorder() for _ in runs])
    assert all(outcome.status == "finished" for outcome in outcomes)


def interleaved(first: Callable[[], None], second: Callable[[], None],
                rounds: int) -> tuple[float, float, float, float]:
    """Median seconds of ``first`` and of ``second``, and the medians of the per-round ratios first / second of the
    wall-clock times and of the process CPU times."""
    first(), second()  # warm up: imports, lazy state, allocator
    times: dict[int, list[float]] = {0: [], 1: []}
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    for index in range(rounds):
        pair = [(0, first), (1, second)]
        wall, cpu = {}, {}
        for name, function in pair if index % 2 == 0 else pair[::-1]:
            started, cpu_started = time.perf_counter(), time.process_time()
            function()
            wall[name], cpu[name] = time.perf_counter() - started, time.process_time() - cpu_started
            times[name].append(wall[name])
        ratios["wall"].append(wall[0] / wall[1])
        ratios["cpu"].append(cpu[0] / cpu[1])
    return (statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios["wall"]),
            statistics.median(ratios["cpu"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    configure_threads()  # what the engine does once; then this benchmark's own count, the same for both
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, "
          f"median of {args.rounds} interleaved rounds")
    for seed in range(max(args.runs)):
        load_mnist1d(seed)  # the dataset read before timing
    choice = OptimizerChoice("adam")
    for count in args.runs:
        spec = ComparisonSpec(MNIST1D, (choice,), seeds=tuple(range(count)), epochs=args.epochs, batch_size=128,
                              device=args.device)
        runs = spec.runs()
        model_steps = count * spec.total_steps
        sequential_s, batched_s, ratio, cpu_ratio = interleaved(lambda runs=runs: sequential(runs, device),
                                                                lambda runs=runs: batched(runs, device), args.rounds)
        target = TARGETS.get(count, 1.0)
        print(f"R={count:<3d} sequential {model_steps / sequential_s:5.0f} model-steps/s, batched "
              f"{model_steps / batched_s:5.0f} model-steps/s: {ratio:4.2f}x "
              f"(target >= {target}x: {'met' if ratio >= target else 'MISSED'}; in CPU time {cpu_ratio:4.2f}x)")


if __name__ == "__main__":
    main()
