"""Generic tests every registered optimizer passes: one table (the registry) drives them all."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim.lr_scheduler import StepLR

from optimizers import REGISTRY
from tests.problems import counting_closure, quad, rosen
from tests.problems import mlp as _mlp

KEYS = list(REGISTRY)

# Settings under which each optimizer should solve the convergence problems within the step budget.
CONVERGING = {
    "sgd": {"lr": 0.05},
    "momentum": {"lr": 0.01},
    "nesterov": {"lr": 0.01},
    "adam": {"lr": 0.05},
    "adamw": {"lr": 0.05, "weight_decay": 0.0},
    "adam_warmup": {"lr": 0.05, "warmup_steps": 20},
    "gnw_adam": {"lr": 0.2},
    "a2grad": {"beta": 1.0, "lips": 10.0},
    "agaw": {"target_lr": 0.05, "warmup_steps": 20},
    "gao": {"lr": 0.05, "beta": 0.9},
    "autosgm": {"lr": 0.05},
}
ROSENBROCK_CONVERGING = {
    "sgd": {"lr": 1e-3},
    "momentum": {"lr": 2e-4},
    "nesterov": {"lr": 2e-4},
    "adam": {"lr": 0.02},
    "adamw": {"lr": 0.02, "weight_decay": 0.0},
    "adam_warmup": {"lr": 0.02, "warmup_steps": 50},
    "gnw_adam": {"lr": 0.2},
    "a2grad": {"beta": 1.0, "lips": 200.0},
    "agaw": {"target_lr": 0.02, "warmup_steps": 50},
    "gao": {"lr": 0.02, "beta": 0.5},
    "autosgm": {"lr": 0.02},
}


def _train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x, y, steps: int, start: int = 0) -> None:
    for step in range(start, start + steps):
        optimizer.zero_grad()
        scale = 1.0 + 0.1 * math.sin(step)  # vary the gradient so alignment-driven rules do something
        (scale * torch.nn.functional.mse_loss(model(x), y)).backward()
        optimizer.step()


def _descend(key: str, problem, settings: dict, steps: int) -> float:
    params, loss_fn = problem()
    optimizer = REGISTRY[key].build(params, **settings)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()
    return float(loss_fn().detach())


@pytest.mark.parametrize("key", KEYS)
def test_builds_with_defaults_and_reports_float_stats(key: str) -> None:
    model, x, y = _mlp()
    optimizer = REGISTRY[key].build(model.parameters())
    assert isinstance(optimizer, torch.optim.Optimizer)
    _train(model, optimizer, x, y, 3)
    stats = getattr(optimizer, "stats", {})
    assert all(isinstance(value, float) for value in stats.values())
    if REGISTRY[key].research:
        assert stats, f"{key} is a research optimizer and must expose its internals in .stats"


@pytest.mark.parametrize("key", KEYS)
def test_state_dict_round_trip_is_bit_exact(key: str) -> None:
    """10 steps, save, load into a fresh instance, 10 more == 20 uninterrupted steps, bit for bit."""
    model, x, y = _mlp()
    optimizer = REGISTRY[key].build(model.parameters(), **CONVERGING[key])
    _train(model, optimizer, x, y, 20)

    resumed, _, _ = _mlp()
    first = REGISTRY[key].build(resumed.parameters(), **CONVERGING[key])
    _train(resumed, first, x, y, 10)
    saved = first.state_dict()
    second = REGISTRY[key].build(resumed.parameters(), **CONVERGING[key])
    second.load_state_dict(saved)
    _train(resumed, second, x, y, 10, start=10)
    for p, q in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.parametrize("key", KEYS)
def test_converges_on_quadratic(key: str) -> None:
    assert _descend(key, quad, CONVERGING[key], 400) < 1e-3 * 5.5


@pytest.mark.parametrize("key", KEYS)
def test_converges_on_rosenbrock(key: str) -> None:
    start_loss = float(rosen()[1]().detach())
    assert _descend(key, lambda: rosen(start=(-1.0, 1.5)), ROSENBROCK_CONVERGING[key], 3000) < 0.05 < start_loss


@pytest.mark.parametrize("key", KEYS)
def test_zero_gradient_does_not_move_parameters(key: str) -> None:
    point = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    optimizer = REGISTRY[key].build([point], **CONVERGING[key])
    for _ in range(3):
        point.grad = torch.zeros(2, dtype=torch.float64)
        optimizer.step()
    # A2Grad's y <- (1 - a) y + a x with x = y may round by one ulp; nothing else may move at all.
    torch.testing.assert_close(point.detach(), torch.tensor([0.3, -0.7], dtype=torch.float64), rtol=2e-16, atol=0)


@pytest.mark.parametrize("key", KEYS)
def test_parameters_without_gradient_are_left_alone(key: str) -> None:
    model, x, y = _mlp()
    frozen = model[0].weight
    frozen.requires_grad_(False)
    before = frozen.detach().clone()
    optimizer = REGISTRY[key].build(model.parameters(), **CONVERGING[key])
    _train(model, optimizer, x, y, 3)
    assert torch.equal(frozen, before)
    assert frozen not in optimizer.state or not optimizer.state[frozen]


@pytest.mark.parametrize("key", KEYS)
def test_closure_is_evaluated_once_and_its_loss_returned(key: str) -> None:
    params, loss_fn = quad()
    optimizer = REGISTRY[key].build(params, **CONVERGING[key])
    closure, calls = counting_closure(optimizer, loss_fn)
    loss = optimizer.step(closure)
    assert len(calls) == 1
    assert float(loss.detach()) == pytest.approx(5.5)
    assert not torch.equal(params[0].detach(), torch.tensor([1.0, 1.0], dtype=torch.float64))


@pytest.mark.parametrize("key", [key for key in KEYS if "lr" in REGISTRY[key].defaults() and key != "adam_warmup"])
def test_works_under_an_lr_scheduler(key: str) -> None:
    model, x, y = _mlp()
    optimizer = REGISTRY[key].build(model.parameters(), lr=0.01)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    for _ in range(4):
        _train(model, optimizer, x, y, 1)
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0025)


@pytest.mark.parametrize("key", [key for key in KEYS if REGISTRY[key].research])
def test_sparse_gradients_are_refused(key: str) -> None:
    embedding = torch.nn.Embedding(5, 3, sparse=True)
    optimizer = REGISTRY[key].build(embedding.parameters())
    embedding(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        optimizer.step()


BAD_VALUES = [float("nan"), float("inf"), -1.0]


@pytest.mark.parametrize(
    ("key", "name"),
    [(key, hp.name) for key in KEYS for hp in REGISTRY[key].hyperparams if hp.kind != "choice"],
)
@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_numbers_are_refused_with_the_field_name(key: str, name: str, value: float) -> None:
    with pytest.raises(ValueError, match=name):
        REGISTRY[key].build([torch.zeros(2, requires_grad=True)], **{name: value})


@pytest.mark.parametrize(
    ("key", "name"),
    [(key, hp.name) for key in KEYS for hp in REGISTRY[key].hyperparams if hp.kind == "choice"],
)
def test_unknown_choices_are_refused_with_the_allowed_values(key: str, name: str) -> None:
    hp = next(hp for hp in REGISTRY[key].hyperparams if hp.name == name)
    with pytest.raises(ValueError, match=rf"{name}.*{hp.choices[0]}"):
        REGISTRY[key].build([torch.zeros(2, requires_grad=True)], **{name: "bogus"})
