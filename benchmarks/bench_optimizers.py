"""Time one step of each research optimizer on the seed MLP's parameters, as a ratio to torch's Adam(foreach).

Every optimizer steps its own copy of the MLP 40-256-256-256-10 (8 tensors, 144k parameters). As in training,
each step sees a new gradient: the next of a few fixed sets (from different batches), copied into ``p.grad``
outside the timed region, so only ``step()`` is timed. (A gradient that never changes would time a degenerate
case: A2Grad's deviations would all be exactly 0, and sqrt(0) is many times slower than sqrt of a normal number
on this CPU build.) The machine is shared and noisy, so the optimizers take turns within each round
(interleaved), and each ratio is the median over rounds of its time over Adam's time in the same round. Torch
runs on one thread by default: on a shared 2-core machine, multi-threaded timings of 100-microsecond kernels
measure contention.
Targets (issue 2): GNW-Adam, AGAW(Adam) and GAO(Adam) at most 1.5x Adam; A2Grad at most 2x Adam and faster than
torch-optimizer's A2Grad.

    make bench    # or: PYTHONPATH=. python benchmarks/bench_optimizers.py [--rounds 15] [--steps 100] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import cache
from itertools import pairwise

import torch
from torch.optim import Adam, Optimizer

from optimizers import AGAW, GAO, A2Grad, GNWAdam

SEED_MLP = (40, 256, 256, 256, 10)


GRADIENT_SETS = 3


def _seed_mlp() -> torch.nn.Sequential:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for fan_in, fan_out in pairwise(SEED_MLP):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


@cache
def gradient_sets() -> tuple[tuple[torch.Tensor, ...], ...]:
    """The seed MLP's gradients on ``GRADIENT_SETS`` random batches (the same on every call)."""
    model, generator = _seed_mlp(), torch.Generator().manual_seed(1)
    sets = []
    for _ in range(GRADIENT_SETS):
        x = torch.randn(128, SEED_MLP[0], generator=generator)
        y = torch.randint(0, SEED_MLP[-1], (128,), generator=generator)
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        sets.append(tuple(p.grad.clone() for p in model.parameters()))
    return tuple(sets)


def seed_mlp_parameters() -> list[torch.nn.Parameter]:
    """A fresh copy of the seed MLP's parameters (same values on every call), gradients set to the first set."""
    params = list(_seed_mlp().parameters())
    for p, grad in zip(params, gradient_sets()[0], strict=True):
        p.grad = grad.clone()
    return params


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
    """Mean seconds per ``optimizer.step()``, each step after the next gradient set is copied in (untimed)."""
    grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
    sets = gradient_sets()
    elapsed = 0.0
    for step in range(steps):
        torch._foreach_copy_(grads, sets[step % len(sets)])
        start = time.perf_counter()
        optimizer.step()
        elapsed += time.perf_counter() - start
    return elapsed / steps


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
    # Like for like: the same variant (uni), the same tensor granularity and convention ("paper").
    versus = statistics.median(
        a / b for a, b in zip(ratios["A2Grad uni"], ratios["torch-optimizer A2GradUni"], strict=True))
    verdict = "faster" if versus < 1 else "NOT faster"
    print(f"{'A2Grad uni':28s} ratio {versus:5.2f}x torch-optimizer A2GradUni "
          f"({ratio['torch-optimizer A2GradUni']:.2f}x Adam): {verdict}")

if __name__ == "__main__":
    main()
