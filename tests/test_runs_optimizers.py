"""Every registered optimizer's ``RunsOptimizer``: R runs with per-run hyperparameters, stepped as one computation,
equal R runs stepped alone by the optimizer's own class (float64, 1e-10 relative), statistics included."""

from __future__ import annotations

import math

import pytest
import torch

from optimizers import REGISTRY, HyperParam, OptimizerInfo

R = 3
SHAPES = [(4, 3), (3,), ()]
STEPS = 25
FRACTIONS = (0.15, 0.5, 0.85)  # where in its explorer range each run's value of a numeric hyperparameter lies


def _value(param: HyperParam, fraction: float) -> float | int:
    """A value ``fraction`` of the way through the parameter's explorer range (log-spaced where the range is)."""
    low, high = float(param.low), float(param.high)
    value = math.exp(math.log(low) + fraction * (math.log(high) - math.log(low))) if param.log else \
        low + fraction * (high - low)
    return round(value) if param.kind == "int" else value


def _per_run(info: OptimizerInfo) -> list[dict[str, float | int | str]]:
    """R rows of hyperparameters: every numeric one varies across the runs, choices keep their defaults."""
    rows = []
    for fraction in FRACTIONS:
        row = info.defaults()
        row.update({p.name: _value(p, fraction) for p in info.hyperparams if p.kind != "choice"})
        rows.append(row)
    return rows


def _choices(info: OptimizerInfo) -> list[dict[str, str]]:
    """Each value of each choice, the rest at the defaults."""
    return [{p.name: choice} for p in info.hyperparams if p.kind == "choice" for choice in p.choices
            if choice != p.default]


def _gradient(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """A non-quadratic landscape's gradient: g = a p + sin(3 p) + b, the same a and b for every run."""
    generator = torch.Generator().manual_seed(7)
    grads = []
    for p, shape in zip(params, SHAPES, strict=True):  # a and b broadcast over a leading runs axis
        a = torch.rand(shape, generator=generator, dtype=torch.float64) + 0.5
        b = torch.randn(shape, generator=generator, dtype=torch.float64)
        grads.append(a * p + torch.sin(3 * p) + b)
    return grads


def _stacked(rows: list[dict]) -> dict[str, object]:
    """Rows of hyperparameters as the runs optimizer takes them: numbers that differ as [R] tensors."""
    hyper: dict[str, object] = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        if isinstance(values[0], str) or len(set(values)) == 1:
            hyper[name] = values[0]
        else:
            hyper[name] = torch.tensor([float(v) for v in values], dtype=torch.float64)
    return hyper


def _assert_batched_equals_alone(info: OptimizerInfo, rows: list[dict]) -> None:
    start = torch.Generator().manual_seed(3)
    initial = [torch.randn(R, *shape, generator=start, dtype=torch.float64) for shape in SHAPES]
    batched = [tensor.clone() for tensor in initial]
    runs = info.build_runs(batched, _stacked(rows))
    alone = []
    for r, row in enumerate(rows):
        params = [tensor[r].clone().requires_grad_(True) for tensor in initial]
        alone.append((params, info.build(params, **row)))
    for step in range(1, STEPS + 1):
        runs.step(_gradient(batched))
        stats = runs.stats()
        for r, (params, optimizer) in enumerate(alone):
            for p, g in zip(params, _gradient([p.detach() for p in params]), strict=True):
                p.grad = g
            optimizer.step()
            for whole, p in zip(batched, params, strict=True):
                torch.testing.assert_close(whole[r], p.detach(), rtol=1e-10, atol=1e-12,
                                           msg=lambda m, r=r, s=step: f"{info.key} run {r} step {s}: {m}")
            own = getattr(optimizer, "stats", {})
            assert set(stats) == set(own), f"{info.key}: stats keys {sorted(stats)} != {sorted(own)}"
            for name, value in own.items():
                assert len(stats[name]) == R
                assert stats[name][r] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), (info.key, name, r)
    averaged = runs.averaged()
    for r, (params, optimizer) in enumerate(alone):
        own = getattr(optimizer, "averaged_iterate", None)
        assert (averaged is None) == (own is None), f"{info.key}: an averaged iterate on one side only"
        if own is not None:
            for whole, p in zip(averaged, params, strict=True):
                torch.testing.assert_close(whole[r], own(p), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_registered_optimizer_steps_runs_with_per_run_hyperparameters_as_alone(key: str) -> None:
    _assert_batched_equals_alone(REGISTRY[key], _per_run(REGISTRY[key]))


@pytest.mark.parametrize(("key", "choice"), [(key, choice) for key, info in REGISTRY.items()
                                             for choice in _choices(info)])
def test_every_choice_steps_runs_as_alone(key: str, choice: dict[str, str]) -> None:
    rows = [{**row, **choice} for row in _per_run(REGISTRY[key])]
    _assert_batched_equals_alone(REGISTRY[key], rows)
