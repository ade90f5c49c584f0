"""Time one step of each research optimizer on the seed MLP's parameters, as a ratio to torch's Adam(foreach).

Every optimizer steps its own copy of the MLP 40-256-256-256-10 (8 tensors, 144k parameters) with the same
gradients. The machine is shared and noisy, so the optimizers take turns within each round (interleaved), and each
ratio is the median over rounds of its time over Adam's time in the same round. Torch runs on one thread by
default: on a shared 2-core machine, multi-threaded timings of 100-microsecond kernels measure contention.
Targets (issue 2): GNW-Adam, AGAW(Adam) and GAO(Adam) at most 1.5x Adam; A2Grad at most 2x Adam and faster than
torch-optimizer's A2Grad.

    make bench    # or: PYTHONPATH=. python benchmarks/bench_optimizers.py [--rounds 15] [--steps 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from itertools import pairwise

import torch
from torch.optim import Adam, Optimizer

from optimizers import AGAW, GAO, A2Grad, GNWAdam

SEED_MLP = (40, 256, 256, 256, 10)


def seed_mlp_parameters() -> list[torch.nn.Parameter]:
    """The seed MLP's parameters with gradients from one backward pass on a random batch (same on every call)."""
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in pairwise(SEED_MLP):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    x, y = torch.randn(128, SEED_MLP[0]), torch.randint(0, SEED_MLP[-1], (128,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return list(model.parameters())


def candidates() -> dict[str, Callable[[list[torch.nn.Parameter]], Optimizer]]:
    """Name -> builder. The wrappers wrap the same Adam(foreach=True) as the reference; AGAW stays in its warmup."""
    import torch_optimizer  # Apache-2.0 reference, a test dependency (requirements-dev.txt)

    return {
        "Adam(foreach)": lambda ps: Adam(ps, lr=1e-3, foreach=True),
        "GNW-Adam": lambda ps: GNWAdam(ps, lr=1e-3),
        "AGAW(Adam)": lambda ps: AGAW(Adam(ps, foreach=True), target_lr=1e-3, warmup_steps=10**9),
        "GAO(Adam)": lambda ps: GAO(Adam(ps, lr=1e-3, foreach=True), beta=0.99),
        "A2Grad uni": lambda ps: A2Grad(ps, variant="uni"),
        "A2Grad exp coordinate": lambda ps: A2Grad(ps, variant="exp", granularity="coordinate"),
        "torch-optimizer A2GradUni": lambda ps: torch_optimizer.A2GradUni(ps),
    }


def time_steps(optimizer: Optimizer, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    optimizers = {name: build(seed_mlp_parameters()) for name, build in candidates().items()}
    for optimizer in optimizers.values():
        time_steps(optimizer, 20)  # warm up: lazy state, allocator
    ratios: dict[str, list[float]] = {name: [] for name in optimizers}
    seconds: dict[str, list[float]] = {name: [] for name in optimizers}
    for _ in range(args.rounds):
        round_times = {name: time_steps(optimizer, args.steps) for name, optimizer in optimizers.items()}
        for name, elapsed in round_times.items():
            seconds[name].append(elapsed)
            ratios[name].append(elapsed / round_times["Adam(foreach)"])
    ratio = {name: statistics.median(values) for name, values in ratios.items()}

    print(f"one step on the seed MLP {SEED_MLP}, median of {args.rounds} interleaved rounds of {args.steps} steps")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    targets = {"GNW-Adam": 1.5, "AGAW(Adam)": 1.5, "GAO(Adam)": 1.5, "A2Grad uni": 2.0, "A2Grad exp coordinate": 2.0}
    for name in optimizers:
        line = f"{name:28s} {statistics.median(seconds[name]) * 1e6:8.1f} us  ratio {ratio[name]:5.2f}x Adam"
        if name in targets:
            line += f"  (target <= {targets[name]}x: {'met' if ratio[name] <= targets[name] else 'MISSED'})"
        print(line)
    reference = ratio["torch-optimizer A2GradUni"]
    for name in ("A2Grad uni", "A2Grad exp coordinate"):
        versus = statistics.median(
            a / b for a, b in zip(ratios[name], ratios["torch-optimizer A2GradUni"], strict=True)
        )
        verdict = "faster" if versus < 1 else "NOT faster"
        print(f"{name:28s} ratio {versus:5.2f}x torch-optimizer A2GradUni ({reference:.2f}x Adam): {verdict}")


if __name__ == "__main__":
    main()
