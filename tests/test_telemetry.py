"""The telemetry's pure functions: step measures (network and 2-D paths agree), optimizer values, epochs, domain."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from engine.tasks import telemetry
from engine.tasks.models import layer_names, mlp


def _vectors() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randn(7, generator=generator, dtype=torch.float64) for _ in range(3))  # type: ignore[return-value]


def test_step_measures_match_their_definitions() -> None:
    g, u, prev = _vectors()
    measures = telemetry.step_measures(g, u, prev, loss=torch.tensor(2.5, dtype=torch.float64))
    cos = torch.nn.functional.cosine_similarity
    assert measures["loss"] == 2.5
    assert measures["grad_norm"] == pytest.approx(g.norm().item())
    assert measures["update_norm"] == pytest.approx(u.norm().item())
    assert measures["effective_lr"] == pytest.approx(u.norm().item() / g.norm().item())
    assert measures["cos_grad_prev"] == pytest.approx(cos(g, prev, dim=0).item())
    assert measures["cos_update_neg_grad"] == pytest.approx(cos(u, -g, dim=0).item())


def test_point_measures_equal_the_tensor_path() -> None:
    g, u, prev = _vectors()
    before = torch.arange(7, dtype=torch.float64)
    points = telemetry.point_measures(g.tolist(), before.tolist(), (before + u).tolist(), prev.tolist())
    tensors = telemetry.step_measures(g, u, prev)
    assert points.keys() == tensors.keys()
    for key, value in tensors.items():
        assert points[key] == pytest.approx(value, rel=1e-12), key


def test_undefined_measures_are_nan() -> None:
    g, _, _ = _vectors()
    first = telemetry.step_measures(g)
    assert math.isnan(first["cos_grad_prev"]) and math.isnan(first["update_norm"])
    assert math.isnan(first["effective_lr"]) and math.isnan(first["cos_update_neg_grad"])
    zero = telemetry.point_measures([0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [1.0, 0.0])
    assert zero["grad_norm"] == 0.0 and zero["update_norm"] == 0.0
    assert math.isnan(zero["effective_lr"]) and math.isnan(zero["cos_grad_prev"])


def test_sgd_effective_lr_is_its_lr() -> None:
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.05)
    (p**2).sum().backward()
    before, grad = p.detach().tolist(), p.grad.tolist()
    optimizer.step()
    measures = telemetry.point_measures(grad, before, p.detach().tolist(), None)
    assert measures["effective_lr"] == pytest.approx(0.05, rel=1e-12)
    assert measures["cos_update_neg_grad"] == pytest.approx(1.0)


def test_layer_norms_cover_weight_and_bias() -> None:
    model = mlp(2, 8, generator=torch.Generator().manual_seed(0))
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    params = list(model.parameters())
    layers = telemetry.layer_slices(model, layer_names(model))
    measures = telemetry.step_measures(telemetry.flat([p.grad for p in params]), layers=layers)
    assert measures["grad_norm/hidden1"] == pytest.approx(math.sqrt(40 * 8 + 8))
    assert measures["grad_norm/output"] == pytest.approx(math.sqrt(8 * 10 + 10))
    squares = sum(measures[f"grad_norm/{name}"] ** 2 for name in ("hidden1", "hidden2", "output"))
    assert math.sqrt(squares) == pytest.approx(measures["grad_norm"])


def test_optimizer_measures_read_lr_and_stats() -> None:
    p = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.3)
    optimizer.stats = {"cosine": 0.5, "lr": torch.tensor(0.2)}  # type: ignore[attr-defined]
    assert telemetry.optimizer_measures(optimizer) == {"lr": pytest.approx(0.3), "stat/cosine": 0.5,
                                                       "stat/lr": pytest.approx(0.2)}
    del optimizer.param_groups[0]["lr"]
    assert math.isnan(telemetry.optimizer_measures(optimizer)["lr"])


def test_epoch_measures_on_a_tiny_model() -> None:
    model = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([0, 1, 1, 1])
    data = SimpleNamespace(x_train=x, y_train=y, x_val=x[:2], y_val=y[:2], x_test=x[2:], y_test=y[2:])
    model.train()
    measures = telemetry.epoch_measures(model, data)
    assert model.training
    assert list(measures) == list(telemetry.EPOCH_KEYS)
    assert measures["train_accuracy"] == 0.75 and measures["val_accuracy"] == 1.0 and measures["test_accuracy"] == 0.5
    assert measures["val_loss"] == pytest.approx(torch.nn.functional.cross_entropy(x[:2], y[:2]).item())


def test_outside_domain_is_100_half_widths_from_the_centre() -> None:
    domain = ((-2.0, 2.0), (-1.0, 3.0))  # centres 0 and 1, half-widths 2
    assert not telemetry.outside_domain((200.0, 1.0), domain)
    assert telemetry.outside_domain((200.1, 1.0), domain)
    assert telemetry.outside_domain((0.0, -199.5), domain)
    assert telemetry.outside_domain((math.nan, 0.0), domain)
    assert telemetry.outside_domain((0.0, math.inf), domain)


def test_seed_summary_names_the_seed_metric_and_the_clean_one() -> None:
    rows = [
        {"val_loss": 1.0, "test_accuracy": 0.6},
        {"val_loss": 0.5, "test_accuracy": 0.7},
        {"val_loss": 0.8, "test_accuracy": 0.9},
    ]
    summary = telemetry.seed_summary(rows)
    assert summary == {"final_test_accuracy": 0.9, "best_test_accuracy_seed_metric": 0.9,
                       "test_accuracy_at_best_val": 0.7, "final_val_loss": 0.8}
    assert all(math.isnan(value) for value in telemetry.seed_summary([]).values())


def test_network_probe_equals_step_measures() -> None:
    model = mlp(2, 16, generator=torch.Generator().manual_seed(1))
    params = list(model.parameters())
    layers = telemetry.layer_slices(model, layer_names(model))
    probe = telemetry.NetworkProbe(params, telemetry.layer_indices(model, layer_names(model)))
    optimizer = torch.optim.Adam(params, lr=0.01)
    generator = torch.Generator().manual_seed(2)
    previous = None
    for step in (1, 2, 4, 5):  # step 3 is not captured: step 4 has no previous gradient
        optimizer.zero_grad()
        loss = model(torch.randn(8, 40, generator=generator)).square().mean()
        loss.backward()
        grad, weights = telemetry.flat([p.grad for p in params]), telemetry.flat(params)
        probe.capture(step, weights=True)
        optimizer.step()
        measures = probe.measure(loss)
        expected = telemetry.step_measures(grad, telemetry.flat(params) - weights, None if step == 4 else previous,
                                            loss=loss, layers=layers)
        assert measures.keys() == expected.keys()
        for key, value in expected.items():
            assert measures[key] == pytest.approx(value, rel=1e-4, nan_ok=True), (step, key)
        assert math.isnan(measures["cos_grad_prev"]) == (step in (1, 4))
        previous = grad
