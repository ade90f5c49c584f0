"""GNW-Adam, AGAW and GAO against the spec's reference trajectories, torch.optim and their closed forms."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import SGD, Adam

from optimizers import AGAW, GAO, GNWAdam, get
from tests.problems import PROBLEMS, assert_close_to_reference, counting_closure, flat, mlp, reference


def _run(optimizer: torch.optim.Optimizer, params, loss_fn, steps: int):
    trajectory, stats = [flat(params)], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn().backward()
        optimizer.step()
        trajectory.append(flat(params))
        stats.append(dict(optimizer.stats))
    return trajectory, stats


def _reference_cases(kind: str) -> list[str]:
    return [key for key in reference("wrappers_ref.json") if key.startswith(kind + "/")]


@pytest.mark.parametrize("key", _reference_cases("gnw"))
def test_gnw_adam_matches_reference(key: str) -> None:
    expected = reference("wrappers_ref.json")[key]
    params, loss_fn = PROBLEMS[key.split("/")[1]]()
    trajectory, stats = _run(GNWAdam(params, lr=0.1), params, loss_fn, len(expected["traj"]) - 1)
    for actual, wanted in zip(trajectory, expected["traj"], strict=True):
        assert_close_to_reference(actual, wanted)
    norms = [step["grad_norm"] for step in stats[: len(expected["extra"])]]
    assert_close_to_reference(norms, [float(n) for n in expected["extra"]])


@pytest.mark.parametrize("key", _reference_cases("agaw"))
def test_agaw_matches_reference(key: str) -> None:
    expected = reference("wrappers_ref.json")[key]
    params, loss_fn = PROBLEMS[key.split("/")[1]]()
    optimizer = AGAW(Adam(params, lr=0.5), target_lr=0.1, initial_lr=1e-7, warmup_steps=10, gamma=2.0)
    trajectory, stats = _run(optimizer, params, loss_fn, len(expected["traj"]) - 1)
    for actual, wanted in zip(trajectory, expected["traj"], strict=True):
        assert_close_to_reference(actual, wanted)
    lrs = [step["lr"] for step in stats[: len(expected["extra"])]]
    assert_close_to_reference(lrs, [float(lr) for lr in expected["extra"]])


@pytest.mark.parametrize("key", _reference_cases("gao"))
def test_gao_matches_reference(key: str) -> None:
    expected = reference("wrappers_ref.json")[key]
    params, loss_fn = PROBLEMS[key.split("/")[1]]()
    beta = float(key.split("beta=")[1])
    optimizer = GAO(Adam(params, lr=0.1, foreach=False), beta=beta)
    scores = []
    trajectory = [flat(params)]
    for _ in range(len(expected["traj"]) - 1):
        optimizer.zero_grad()
        loss_fn().backward()
        grads = [p.grad.clone() for p in params]
        optimizer.step()
        # The gate acts in place: p.grad now holds s * g, so s is readable per tensor.
        scores.append([float((p.grad * g).sum() / (g * g).sum()) for p, g in zip(params, grads, strict=True)])
        trajectory.append(flat(params))
    for actual, wanted in zip(trajectory, expected["traj"], strict=True):
        assert_close_to_reference(actual, wanted)
    for actual, wanted in zip(scores, expected["extra"], strict=True):
        assert_close_to_reference(actual, wanted, rtol=1e-9, atol=1e-12)


def _mlp_with_data(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    return mlp(seed, sizes=(5, 16, 3), activation=torch.nn.Tanh)


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_gnw_adam_is_adam_with_lr_over_one_plus_global_norm(weight_decay: float) -> None:
    """Spec §4.1: GNW-Adam == torch.optim.Adam whose lr is set to lr / (1 + N_t) before each step (two groups)."""
    model_a, x, y = _mlp_with_data()
    model_b, _, _ = _mlp_with_data()
    groups = lambda m: [{"params": m[0].parameters()}, {"params": m[2].parameters(), "lr": 0.03}]  # noqa: E731
    gnw = GNWAdam(groups(model_a), lr=0.1, weight_decay=weight_decay)
    adam = Adam(groups(model_b), lr=0.1, weight_decay=weight_decay, foreach=False)
    base_lrs = [group["lr"] for group in adam.param_groups]
    for _ in range(25):
        for model in (model_a, model_b):
            model.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
        norm = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model_b.parameters()))
        for group, lr in zip(adam.param_groups, base_lrs, strict=True):
            group["lr"] = lr / (1 + norm)
        gnw.step()
        adam.step()
        assert gnw.stats["grad_norm"] == pytest.approx(norm, rel=1e-12)
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


def test_gnw_adam_first_step_closed_form() -> None:
    """Spec §7.4: on quad the first move is lr / (1 + sqrt(101)) per coordinate (up to eps)."""
    params, loss_fn = PROBLEMS["quad"]()
    _run(GNWAdam(params, lr=0.1), params, loss_fn, 1)
    assert flat(params)[0] == pytest.approx(1 - 0.1 / (1 + math.sqrt(101)), rel=1e-9)


@pytest.mark.parametrize("base", ["sgd", "adam"])
def test_agaw_reaches_target_after_warmup_steps_on_aligned_gradients(base: str) -> None:
    """With a fixed gradient direction the lr climbs by (target - initial) / W per step from any initial lr."""
    params, loss_fn = PROBLEMS["quad"]()
    inner = SGD(params, lr=1.0) if base == "sgd" else Adam(params, lr=1.0)
    optimizer = AGAW(inner, target_lr=1e-3, initial_lr=5e-4, warmup_steps=10, gamma=1.5)
    _, stats = _run(optimizer, params, loss_fn, 12)
    lrs = [step["lr"] for step in stats]
    expected = [5e-4 + 5e-5 * min(k, 10) for k in range(12)]
    assert lrs == pytest.approx(expected, rel=1e-6)
    assert inner.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_agaw_negative_alignment_stalls_and_keeps_group_ratios() -> None:
    point = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    other = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    inner = SGD([{"params": [point]}, {"params": [other], "lr": 0.5}], lr=1.0)
    optimizer = AGAW(inner, target_lr=0.1, initial_lr=0.0, warmup_steps=4, gamma=1.0)
    directions = [(1.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, 1.0)]
    lrs = []
    for direction in directions:
        point.grad = torch.tensor(direction, dtype=torch.float64)
        other.grad = torch.tensor(direction, dtype=torch.float64)
        optimizer.step()
        lrs.append(optimizer.stats["lr"])
        assert inner.param_groups[1]["lr"] == pytest.approx(0.5 * inner.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.0, 0.025, 0.025, 0.025, 0.05])


def test_agaw_evaluates_closure_before_measuring_alignment() -> None:
    params, loss_fn = PROBLEMS["quad"]()
    optimizer = AGAW(Adam(params), target_lr=0.1, initial_lr=1e-7, warmup_steps=10)
    closure, calls = counting_closure(optimizer, loss_fn)
    optimizer.step(closure)
    optimizer.step(closure)
    assert len(calls) == 2
    assert optimizer.stats["lr"] == pytest.approx(1e-7 + (0.1 - 1e-7) / 10)


@pytest.mark.parametrize("base", ["sgd", "adam"])
def test_gao_gates_gradient_in_place(base: str) -> None:
    """After three aligned steps the slow EMA is 0.0297 g; a reversed gradient leaves it at +0.0194 g: score 0."""
    point = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    inner = SGD([point], lr=0.1) if base == "sgd" else Adam([point], lr=0.1)
    optimizer = GAO(inner, beta=0.99)
    for _ in range(3):
        point.grad = torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64)
        optimizer.step()
        assert optimizer.stats == pytest.approx({"score_mean": 1.0, "score_min": 1.0}, rel=1e-15)
    point.grad = torch.tensor([-1.0, -2.0, -2.0], dtype=torch.float64)
    before = point.detach().clone()
    optimizer.step()
    assert optimizer.stats["score_min"] == 0.0
    assert torch.equal(point.grad, torch.zeros(3, dtype=torch.float64))
    if base == "sgd":
        assert torch.equal(point.detach(), before)  # plain SGD with a zero gradient does not move


def test_gao_gates_a_non_contiguous_gradient_too() -> None:
    """A transposed gradient (not contiguous) is gated as a contiguous one: p.grad holds s g afterwards."""
    weights = [torch.zeros(3, 2, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    optimizers = [GAO(SGD([w], lr=0.1), beta=0.5) for w in weights]
    generator = torch.Generator().manual_seed(0)
    for _ in range(4):
        grad = torch.randn(2, 3, generator=generator, dtype=torch.float64)
        weights[0].grad, weights[1].grad = grad.t(), grad.t().contiguous()
        assert not weights[0].grad.is_contiguous()
        for optimizer in optimizers:
            optimizer.step()
        torch.testing.assert_close(weights[0].grad, weights[1].grad, rtol=0, atol=0)
        assert optimizers[0].stats == optimizers[1].stats
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)
    assert optimizers[0].stats["score_min"] < 1.0


def test_gao_around_sgd_is_sgd_with_scaled_gradient() -> None:
    model_a, x, y = _mlp_with_data(1)
    model_b, _, _ = _mlp_with_data(1)
    gao = GAO(SGD(model_a.parameters(), lr=0.05), beta=0.5)
    sgd = SGD(model_b.parameters(), lr=0.05)
    emas = [torch.zeros_like(p) for p in model_b.parameters()]
    for _ in range(15):
        for model in (model_a, model_b):
            model.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
        with torch.no_grad():
            for p, m in zip(model_b.parameters(), emas, strict=True):
                m.mul_(0.5).add_(p.grad, alpha=0.5)
                cosine = torch.nn.functional.cosine_similarity(p.grad.flatten(), m.flatten(), dim=0, eps=1e-8)
                p.grad.mul_(cosine.clamp(0, 1))
        gao.step()
        sgd.step()
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


def test_linear_warmup_baseline_follows_torch_linear_lr() -> None:
    point = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    optimizer = get("adam_warmup").build([point], lr=0.01, warmup_steps=4)
    lrs = []
    for _ in range(6):
        point.grad = torch.ones(2, dtype=torch.float64)
        optimizer.step()
        lrs.append(optimizer.stats["lr"])
    assert lrs == pytest.approx([0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01])
