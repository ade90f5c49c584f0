"""Time the engine's runs against bare hand-written PyTorch loops doing the same work, as ratios.

(1) MNIST-1D: the seed MLP trained with Adam through ``engine.runs.runner.run`` with full telemetry (every measure,
per-layer gradient norms and the optimizer's stats on each logged step, the per-epoch evaluation) against a bare loop
with the same initial weights, optimizer, batches and steps, and the same per-epoch evaluation of the three splits,
logging every step and every 10 steps. Target: at most 1.15x. A logged step costs a few passes over the 144k
parameters (copies of the gradient and the weights, the update, inner products), which is memory-bound: on a 2-core
shared VM, logging every step of a 1.7 ms step costs about 0.4 ms.
(2) Six optimizers x 1,000 steps on Rosenbrock through ``run_comparison`` (a record every step) against bare loops
(zero_grad, loss, backward, step). Target: at most 1.3x.
(3) Loading MNIST-1D from the on-disk cache against generating it the first time (in a temporary OPTISCOPE_HOME);
informational.
(4) Threads: MNIST-1D Adam runs of a few sizes (the default run, a batch of 512: the work of 4 runs of batch 128
stacked, and a width-512 MLP), each timed with the thread count that ``engine.runs.device.threads_for`` chooses for
its work, with 1 thread and with every usable core; printed as the chosen count's speed over each (> 1: faster), with
the load average, as other busy processes turn extra threads from a gain into a loss (the decision assumes idle cores).

The machine is shared and noisy, so the engine and the bare loop take turns within each round (interleaved, their
order alternating), and each ratio is the median over rounds of the per-round ratios. Torch runs on one thread by
default (except in (4)): on a shared 2-core machine, multi-threaded timings of small kernels measure contention.

    PYTHONPATH=. python benchmarks/bench_engine.py [--rounds 7] [--epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import torch
from torch.nn import functional

from engine.runs import ComparisonSpec, OptimizerChoice, RunSpec, run, run_comparison
from engine.runs.device import configure_threads, step_work, threads_for, usable_cores
from engine.tasks import MNIST1D, get_task, mnist1d
from engine.tasks.mnist1d import load_mnist1d
from engine.tasks.mnist1d_task import batch_order
from engine.tasks.models import mlp
from engine.tasks.surfaces import get_surface

SEED = 0
ROSENBROCK_OPTIMIZERS = ("sgd:lr=0.001", "momentum:lr=0.0001", "nesterov:lr=0.0001", "adam:lr=0.01",
                         "gnw_adam:lr=0.01", "agaw:target_lr=0.01")
THREAD_CASES = (("one run, batch 128 (the default)", {}),
                ("batch 512 (the work of 4 stacked runs)", {"batch_size": 512}),
                ("width 512", {"task_args": {"width": 512}}))


def mnist_engine(spec: RunSpec) -> None:
    result = run(spec)
    assert result.status == "finished", result.reason


def mnist_bare(spec: RunSpec) -> None:
    """What a person writes by hand: same data split, init, Adam, batches and per-epoch evaluation, no telemetry."""
    data = load_mnist1d(spec.seed)
    model = mlp(generator=torch.Generator().manual_seed(spec.seed))
    optimizer = spec.optimizer.build(model.parameters())
    order = torch.Generator().manual_seed(2 * spec.seed + 1)
    for _ in range(spec.epochs):
        for index in batch_order(order, len(data.y_train), spec.batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = functional.cross_entropy(model(data.x_train[index]), data.y_train[index])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)):
                logits = model(x)
                functional.cross_entropy(logits, y).item()
                (logits.argmax(dim=1) == y).float().mean().item()
        model.train()


def rosenbrock_engine(spec: ComparisonSpec) -> None:
    results = run_comparison(spec)
    assert all(result.status == "finished" for result in results), [result.reason for result in results]


def rosenbrock_bare(spec: ComparisonSpec) -> None:
    surface = get_surface("rosenbrock")
    for choice in spec.optimizers:
        point = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
        optimizer = choice.build([point])
        for _ in range(spec.steps):
            optimizer.zero_grad()
            loss = surface.at(point)
            loss.backward()
            optimizer.step()


def timed_rounds(functions: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    """Each function's seconds in each of ``rounds`` rounds, after one warm-up call each (imports, lazy state,
    allocator); within a round they take turns, the order rotating from round to round."""
    for function in functions.values():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    order = list(functions.items())
    for index in range(rounds):
        for name, function in order[index % len(order):] + order[:index % len(order)]:
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """The median over rounds of the per-round ratios of seconds ``numerator`` / ``denominator``."""
    return statistics.median(a / b for a, b in zip(times[numerator], times[denominator], strict=True))


def interleaved(engine: Callable[[], None], bare: Callable[[], None], rounds: int) -> tuple[float, float, float]:
    """Median engine seconds, median bare seconds, and the median of per-round ratios engine / bare."""
    times = timed_rounds({"engine": engine, "bare": bare}, rounds)
    return statistics.median(times["engine"]), statistics.median(times["bare"]), median_ratio(times, "engine", "bare")


def with_threads(threads: int, spec: RunSpec) -> Callable[[], None]:
    """A call that trains ``spec`` through the engine on ``threads`` torch threads."""
    def train() -> None:
        torch.set_num_threads(threads)
        mnist_engine(spec)
    return train


def thread_counts(epochs: int, rounds: int) -> None:
    """(4): for each case, the chosen count's seconds against 1 thread and against every usable core."""
    cores = usable_cores()
    for title, settings in THREAD_CASES:
        spec = RunSpec(MNIST1D, OptimizerChoice("adam"), seed=SEED, epochs=epochs, device="cpu", **settings)
        work = step_work(spec)
        chosen = threads_for(work, cores)
        times = timed_rounds({str(n): with_threads(n, spec) for n in sorted({chosen, 1, cores})}, rounds)
        print(f"    {title}, {work / 1e6:.0f} M multiply-adds a step, {statistics.median(times[str(chosen)]):.2f} s: "
              f"threads: chosen={chosen} runs {median_ratio(times, '1', str(chosen)):.2f}x the speed of 1 thread, "
              f"{median_ratio(times, str(cores), str(chosen)):.2f}x the speed of all {cores} cores")


def dataset_load_times(repeats: int) -> tuple[float, float]:
    """Seconds to generate MNIST-1D the first time, and the median seconds to load it from the cache file."""
    previous = os.environ.get("OPTISCOPE_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["OPTISCOPE_HOME"] = home
        try:
            start = time.perf_counter()
            assert not load_mnist1d(SEED).from_cache
            generated = time.perf_counter() - start
            cached = []
            for _ in range(repeats):
                mnist1d._arrays.cache_clear()  # forget the in-process memo: read the file again
                start = time.perf_counter()
                assert load_mnist1d(SEED).from_cache
                cached.append(time.perf_counter() - start)
        finally:
            mnist1d._arrays.cache_clear()
            if previous is None:
                os.environ.pop("OPTISCOPE_HOME", None)
            else:
                os.environ["OPTISCOPE_HOME"] = previous
    return generated, statistics.median(cached)


def verdict(ratio: float, target: float) -> str:
    return f"(target <= {target}x: {'met' if ratio <= target else 'MISSED'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    configure_threads()  # what the engine does once; then this benchmark's own count
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.rounds} interleaved rounds")

    # (3) first, in its own home, so the other parts read the default home's cache as the app does.
    generated, cached = dataset_load_times(repeats=5)
    load_mnist1d(SEED)  # make sure the default home has the dataset before timing training

    steps = args.epochs * 29
    print(f"(1) MNIST-1D seed MLP, Adam, {args.epochs} epochs x 29 steps (batch 128) + per-epoch evaluation:")
    for log_every in (1, 10):
        spec = RunSpec(MNIST1D, OptimizerChoice("adam"), seed=SEED, epochs=args.epochs, batch_size=128,
                       log_every=log_every, device="cpu")
        engine_s, bare_s, ratio = interleaved(lambda spec=spec: mnist_engine(spec), lambda spec=spec: mnist_bare(spec),
                                              args.rounds)
        default = " (the MNIST-1D default)" if log_every == get_task(MNIST1D).default_log_every else ""
        print(f"    engine, full telemetry every {log_every:2d} steps{default} {engine_s * 1e3:7.1f} ms "
              f"({engine_s / steps * 1e3:.2f} ms/step)  bare loop {bare_s * 1e3:7.1f} ms  "
              f"ratio {ratio:5.3f}x {verdict(ratio, 1.15)}")

    comparison = ComparisonSpec("rosenbrock", tuple(OptimizerChoice.parse(t) for t in ROSENBROCK_OPTIMIZERS),
                                steps=args.steps, device="cpu")
    engine_s, bare_s, ratio = interleaved(lambda: rosenbrock_engine(comparison), lambda: rosenbrock_bare(comparison),
                                          args.rounds)
    print(f"(2) Rosenbrock, {len(comparison.optimizers)} optimizers x {comparison.steps} steps "
          f"({', '.join(ROSENBROCK_OPTIMIZERS)}):")
    print(f"    engine (a record every step) {engine_s * 1e3:8.1f} ms  bare loop {bare_s * 1e3:8.1f} ms  "
          f"ratio {ratio:5.3f}x {verdict(ratio, 1.3)}")

    print("(3) MNIST-1D dataset in a fresh OPTISCOPE_HOME:")
    print(f"    first generation {generated * 1e3:8.1f} ms  load from cache {cached * 1e3:8.1f} ms  "
          f"ratio {cached / generated:6.4f}x ({generated / cached:.0f}x faster from the cache)")

    print(f"(4) Threads: MNIST-1D Adam, {args.epochs} epochs, the count threads_for chooses against 1 and all cores "
          f"(load average {os.getloadavg()[0]:.1f} on {usable_cores()} cores before):")
    thread_counts(args.epochs, args.rounds)
    torch.set_num_threads(args.threads)


if __name__ == "__main__":
    main()
