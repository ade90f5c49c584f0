"""R runs with per-run hyperparameters in one batched call equal R separate calls (float64, <= 1e-12)."""

from __future__ import annotations

import numpy as np
import torch

from optimizers.agaw import agaw_warmup
from optimizers.gao import gao_gate
from optimizers.gnw_adam import gnw_adam

R = 3
SHAPES = [(3, 4), (5,), ()]


def _batch(generator: torch.Generator) -> list[torch.Tensor]:
    return [torch.randn(R, *shape, generator=generator, dtype=torch.float64) for shape in SHAPES]


def _run(tensors: list[torch.Tensor], r: int) -> list[torch.Tensor]:
    """Run r's slices as a batch of one (copies: each separate run owns its tensors)."""
    return [tensor[r : r + 1].clone() for tensor in tensors]


def _assert_runs_equal(batched: list[torch.Tensor], separate: list[list[torch.Tensor]]) -> None:
    for r, tensors in enumerate(separate):
        for whole, alone in zip(batched, tensors, strict=True):
            torch.testing.assert_close(whole[r : r + 1], alone, rtol=1e-12, atol=1e-12)


def test_gnw_adam_batched_equals_separate() -> None:
    generator = torch.Generator().manual_seed(0)
    lr = torch.tensor([0.1, 0.01, 0.3], dtype=torch.float64)
    beta1 = torch.tensor([0.9, 0.5, 0.0], dtype=torch.float64)
    beta2 = torch.tensor([0.999, 0.9, 0.99], dtype=torch.float64)
    weight_decay = torch.tensor([0.0, 0.1, 0.2], dtype=torch.float64)
    params = _batch(generator)
    m, v = [torch.zeros_like(p) for p in params], [torch.zeros_like(p) for p in params]
    separate = [(_run(params, r), _run(m, r), _run(v, r)) for r in range(R)]
    for t in range(1, 12):
        grads = _batch(generator)
        hyper = {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": 1e-8, "weight_decay": weight_decay}
        norms = gnw_adam(params, grads, m, v, [t] * len(params), **hyper)
        for r, (p_r, m_r, v_r) in enumerate(separate):
            alone = {k: float(v[r]) if isinstance(v, torch.Tensor) else v for k, v in hyper.items()}
            norm = gnw_adam(p_r, _run(grads, r), m_r, v_r, [t] * len(params), **alone)
            torch.testing.assert_close(norms[r : r + 1], norm, rtol=1e-12, atol=0)
    _assert_runs_equal(params, [p_r for p_r, _, _ in separate])


def test_agaw_warmup_batched_equals_separate() -> None:
    generator = torch.Generator().manual_seed(1)
    hyper = {
        "initial_lr": torch.tensor([1e-7, 1e-3, 0.0], dtype=torch.float64),
        "target_lr": torch.tensor([0.1, 0.01, 0.05], dtype=torch.float64),
        "warmup_steps": torch.tensor([5.0, 3.0, 10.0], dtype=torch.float64),
        "gamma": torch.tensor([2.0, 0.5, 1.7], dtype=torch.float64),
    }
    lr = hyper["initial_lr"].tolist()
    lr_alone = [lr[r : r + 1] for r in range(R)]
    previous, previous_alone = None, [None] * R
    drift = _batch(generator)
    for _ in range(12):
        grads = [d + 0.5 * g for d, g in zip(drift, _batch(generator), strict=True)]  # partly aligned steps
        lr, cosine, previous = agaw_warmup(grads, previous, lr, **hyper)
        for r in range(R):
            alone = {name: float(value[r]) for name, value in hyper.items()}
            lr_alone[r], cosine_r, previous_alone[r] = agaw_warmup(
                _run(grads, r), previous_alone[r], lr_alone[r], **alone
            )
            np.testing.assert_allclose(cosine[r : r + 1], cosine_r, rtol=1e-12, atol=0, equal_nan=True)
    np.testing.assert_allclose(lr, [rate for alone in lr_alone for rate in alone], rtol=1e-12, atol=0)
    assert (np.array(lr) > hyper["initial_lr"].numpy()).all() and (np.array(lr) <= hyper["target_lr"].numpy()).all()


def test_gao_gate_batched_equals_separate() -> None:
    generator = torch.Generator().manual_seed(2)
    beta = torch.tensor([0.99, 0.9, 0.0], dtype=torch.float64)
    emas = [torch.zeros(R, *shape, dtype=torch.float64) for shape in SHAPES]
    emas_alone = [_run(emas, r) for r in range(R)]
    for _ in range(8):
        grads = _batch(generator)
        grads_alone = [_run(grads, r) for r in range(R)]
        scores = gao_gate(grads, emas, beta=beta)
        for r in range(R):
            scores_r = gao_gate(grads_alone[r], emas_alone[r], beta=float(beta[r]))
            np.testing.assert_allclose([row[r] for row in scores], [row[0] for row in scores_r], rtol=1e-12, atol=1e-12)
        _assert_runs_equal(grads, grads_alone)
    _assert_runs_equal(emas, emas_alone)


def test_gao_gate_reads_the_runs_from_the_leading_axis_even_of_scalar_parameters() -> None:
    """A 0-d parameter's R runs are a 1-d [R] tensor: still R runs, not one flat run."""
    beta = torch.tensor([0.9, 0.5, 0.0], dtype=torch.float64)
    emas = [torch.tensor([0.5, 2.0, 0.5], dtype=torch.float64), torch.zeros(R, 2, dtype=torch.float64)]
    grads = [torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64), torch.ones(R, 2, dtype=torch.float64)]
    scores = gao_gate(grads, emas, beta=beta)
    assert scores[0] == [1.0, 0.0, 1.0]  # run 1: m = 0.5 * 2 + 0.5 * (-1) = 0.5 still opposes g = -1
