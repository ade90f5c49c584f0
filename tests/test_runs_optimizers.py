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
POISON_STEP = 4  # from this step on, the poisoned run's gradients hold NaN


def _value(param: HyperParam, fraction: float) -> float | int:
    """A value ``fraction`` of the way through the parameter's explorer range (log-spaced where the range is)."""
    low, high = float(param.low), float(param.high)
    value = math.exp(math.log(low) + fraction * (math.log(high) - math.log(low))) if param.log else \
        low + fraction * (high - low)
    return round(value) if param.kind == "int" else value


def _per_run(info: OptimizerInfo, fractions: tuple[float, ...] = FRACTIONS) -> list[dict[str, float | int | str]]:
    """R rows of hyperparameters: every numeric one varies across the runs, choices keep their defaults."""
    rows = []
    for fraction in fractions:
        row = info.defaults()
        row.update({p.name: _value(p, fraction) for p in info.hyperparams if p.kind != "choice"})
        rows.append(row)
    return rows


def _choices(info: OptimizerInfo) -> list[dict[str, str]]:
    """Each value of each choice, the rest at the defaults."""
    return [{p.name: choice} for p in info.hyperparams if p.kind == "choice" for choice in p.choices
            if choice != p.default]


def _choice_rows(info: OptimizerInfo, choice: dict[str, str]) -> list[dict]:
    """``_per_run``'s rows with ``choice``; AutoSGM's beta_exp window takes its base, window_order, inside (0, 1)."""
    rows = [{**row, **choice} for row in _per_run(info)]
    if choice.get("window") == "beta_exp":
        rows = [{**row, "window_order": order} for row, order in zip(rows, (0.2, 0.5, 0.9), strict=True)]
    return rows


def _gradient(params: list[torch.Tensor], shapes: list[tuple[int, ...]] = SHAPES) -> list[torch.Tensor]:
    """A non-quadratic landscape's gradient: g = a p + sin(3 p) + b, the same a and b for every run."""
    generator = torch.Generator().manual_seed(7)
    grads = []
    for p, shape in zip(params, shapes, strict=True):  # a and b broadcast over a leading runs axis
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


def _assert_batched_equals_alone(info: OptimizerInfo, rows: list[dict], poisoned: int | None = None,
                                 shapes: list[tuple[int, ...]] = SHAPES) -> None:
    """Run r of the batch (one run per row, parameters of ``shapes``) equals run r alone, for every run but
    ``poisoned``, whose first tensor's gradient in the batch is NaN from step ``POISON_STEP`` on."""
    start = torch.Generator().manual_seed(3)
    initial = [torch.randn(len(rows), *shape, generator=start, dtype=torch.float64) for shape in shapes]
    batched = [tensor.clone() for tensor in initial]
    runs = info.build_runs(batched, _stacked(rows))
    alone = []
    for r, row in enumerate(rows):
        params = [tensor[r].clone().requires_grad_(True) for tensor in initial]
        alone.append((params, info.build(params, **row)))
    for step in range(1, STEPS + 1):
        grads = _gradient(batched, shapes)
        if poisoned is not None and step >= POISON_STEP:
            grads[0][poisoned] = math.nan
        runs.step(grads)
        stats = runs.stats()
        for r, (params, optimizer) in enumerate(alone):
            if r == poisoned:
                continue
            for p, g in zip(params, _gradient([p.detach() for p in params], shapes), strict=True):
                p.grad = g
            optimizer.step()
            for whole, p in zip(batched, params, strict=True):
                torch.testing.assert_close(whole[r], p.detach(), rtol=1e-10, atol=1e-12,
                                           msg=lambda m, r=r, s=step: f"{info.key} run {r} step {s}: {m}")
            own = getattr(optimizer, "stats", {})
            assert set(stats) == set(own), f"{info.key}: stats keys {sorted(stats)} != {sorted(own)}"
            for name, value in own.items():
                assert len(stats[name]) == len(rows)
                assert stats[name][r] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), (info.key, name, r)
    averaged = runs.averaged()
    for r, (params, optimizer) in enumerate(alone):
        if r == poisoned:
            continue
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
    _assert_batched_equals_alone(REGISTRY[key], _choice_rows(REGISTRY[key], choice))


@pytest.mark.parametrize("key", list(REGISTRY))
@pytest.mark.parametrize("poisoned", [0, 1])
def test_a_run_whose_values_turn_nan_leaves_the_other_runs_as_alone(key: str, poisoned: int) -> None:
    """Every reduction is per run: a run whose gradient turns NaN (so do its state and parameters) changes nothing
    in the others, statistics and averaged iterate included."""
    _assert_batched_equals_alone(REGISTRY[key], _per_run(REGISTRY[key]), poisoned=poisoned)


@pytest.mark.parametrize("key", list(REGISTRY))
def test_a_run_whose_gradient_is_infinite_leaves_the_other_runs_as_alone(key: str) -> None:
    """The same for an infinite gradient, which turns into NaN through inf - inf or 0 * inf further down."""
    info = REGISTRY[key]
    rows = _per_run(info)
    start = torch.Generator().manual_seed(3)
    initial = [torch.randn(R, *shape, generator=start, dtype=torch.float64) for shape in SHAPES]
    clean, poisoned = [t.clone() for t in initial], [t.clone() for t in initial]
    runs_clean, runs_poisoned = info.build_runs(clean, _stacked(rows)), info.build_runs(poisoned, _stacked(rows))
    for step in range(1, STEPS + 1):
        runs_clean.step(_gradient(clean))
        grads = _gradient(poisoned)
        if step >= POISON_STEP:
            grads[1][2] = math.inf
        runs_poisoned.step(grads)
    for a, b in zip(clean, poisoned, strict=True):
        torch.testing.assert_close(a[:2], b[:2], rtol=1e-10, atol=1e-12)
    for name, values in runs_clean.stats().items():
        assert runs_poisoned.stats()[name][:2] == pytest.approx(values[:2], rel=1e-9, abs=1e-12, nan_ok=True), name


@pytest.mark.parametrize(("key", "choice"), [(key, choice) for key, info in REGISTRY.items()
                                             for choice in _choices(info)])
def test_every_choice_keeps_a_nan_run_to_itself(key: str, choice: dict[str, str]) -> None:
    _assert_batched_equals_alone(REGISTRY[key], _choice_rows(REGISTRY[key], choice), poisoned=1)


@pytest.mark.parametrize("key", list(REGISTRY))
def test_more_runs_than_elements_step_as_alone(key: str) -> None:
    """A landscape's shape, R 2-D points ([R, 2], more runs than elements per run): the reductions' short-row path."""
    rows = _per_run(REGISTRY[key], (0.15, 0.25, 0.35, 0.5, 0.6, 0.75, 0.85))
    _assert_batched_equals_alone(REGISTRY[key], rows, poisoned=3, shapes=[(2,)])
