"""The reference problems of spec/optimizers.md §7.1 (quad, rosen, lsq) and the reference trajectories' location."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
"""Copies of the spec's reference trajectories (../shared/spec/reference), so that every clone runs the checks."""

Problem = tuple[list[Tensor], Callable[[], Tensor]]


def quad(dtype: torch.dtype = torch.float64) -> Problem:
    """f(x, y) = 0.5 (x^2 + 10 y^2) from (1, 1), one (2,) parameter."""
    point = torch.tensor([1.0, 1.0], dtype=dtype, requires_grad=True)
    return [point], lambda: 0.5 * (point[0] ** 2 + 10 * point[1] ** 2)


def rosen(dtype: torch.dtype = torch.float64, start: tuple[float, float] = (-1.5, 2.0)) -> Problem:
    """Rosenbrock (1 - x)^2 + 100 (y - x^2)^2, one (2,) parameter."""
    point = torch.tensor(start, dtype=dtype, requires_grad=True)
    return [point], lambda: (1 - point[0]) ** 2 + 100 * (point[1] - point[0] ** 2) ** 2


def lsq(dtype: torch.dtype = torch.float64) -> Problem:
    """Two-tensor least squares mean_i ||W x_i + b - y_i||^2, parameters [W, b]."""
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]], dtype=dtype)
    y = torch.tensor([[1.0, -1.0], [2.0, 0.5], [3.0, -0.5], [0.5, 1.0]], dtype=dtype)
    weight = torch.tensor([[0.5, -0.3], [0.2, 0.1]], dtype=dtype, requires_grad=True)
    bias = torch.zeros(2, dtype=dtype, requires_grad=True)
    return [weight, bias], lambda: ((x @ weight.T + bias - y) ** 2).sum(dim=1).mean()


PROBLEMS = {"quad": quad, "rosen": rosen, "lsq": lsq}


def counting_closure(optimizer: torch.optim.Optimizer, loss_fn: Callable[[], Tensor]) -> tuple[Callable, list[int]]:
    """A closure that recomputes gradients (zero, loss, backward) and returns the loss, and the list it counts in."""
    calls: list[int] = []

    def closure() -> Tensor:
        calls.append(1)
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    return closure, calls


def mlp(
    seed: int = 0, sizes: tuple[int, int, int] = (4, 8, 3), activation: type[torch.nn.Module] = torch.nn.ReLU
) -> tuple[torch.nn.Module, Tensor, Tensor]:
    """A small float64 multi-tensor model with fixed random weights and a regression batch (x, y)."""
    generator = torch.Generator().manual_seed(seed)
    fan_in, hidden, fan_out = sizes
    model = torch.nn.Sequential(torch.nn.Linear(fan_in, hidden), activation(), torch.nn.Linear(hidden, fan_out))
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=torch.float64) * 0.5)
    x = torch.randn(4 * fan_in, fan_in, generator=generator, dtype=torch.float64)
    y = torch.randn(4 * fan_in, fan_out, generator=generator, dtype=torch.float64)
    return model, x, y


def flat(params: list[Tensor]) -> list[float]:
    """The parameters flattened in order, as the reference tables report them."""
    return torch.cat([p.detach().reshape(-1) for p in params]).tolist()


@cache
def reference(name: str) -> dict:
    """A reference JSON file from ``REFERENCE_DIR``."""
    return json.loads((REFERENCE_DIR / name).read_text())


def assert_close_to_reference(actual: list[float], expected: list[float], rtol: float = 1e-12, atol: float = 1e-12):
    """|a - b| <= atol + rtol |b| elementwise (spec §7.1 tolerances)."""
    torch.testing.assert_close(
        torch.tensor(actual, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64), rtol=rtol, atol=atol
    )
