"""On a 2-D surface, R runs batched ([R, 2], one RunsOptimizer per optimizer) end as R runs alone (torch.optim's own
classes): for every registered optimizer, float64, 1e-10 relative on the final point and loss; per-run divergence
and cancel inside a batch; the same telemetry keys."""

from __future__ import annotations

import math

import pytest

from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, run_comparison
from optimizers import REGISTRY

SEEDS = (0, 1, 2)


def _close(a: float, b: float) -> bool:
    """Equal to 1e-10 relative (NaN equals NaN: both runs ended on an undefined loss)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-10 * max(abs(a), abs(b))


def _assert_same(batched: list[RunResult], alone: list[RunResult]) -> None:
    assert [r.spec for r in batched] == [r.spec for r in alone]
    for one, other in zip(batched, alone, strict=True):
        where = f"{one.spec.optimizer} seed {one.spec.seed}"
        assert (one.status, one.diverged_at, one.reason) == (other.status, other.diverged_at, other.reason), where
        for key in ("final_loss", "best_loss", "final_x", "final_y", "steps_done"):
            assert _close(one.summary[key], other.summary[key]), (where, key, one.summary[key], other.summary[key])
        assert [row.keys() for row in one.records] == [row.keys() for row in other.records], where
        for mine, theirs in zip(one.records, other.records, strict=True):
            for key, value in theirs.items():
                assert _close(mine[key], value), (where, key, mine[key], value)


@pytest.mark.parametrize("key", list(REGISTRY))
def test_every_registered_optimizer_batched_equals_alone_with_noise(key: str) -> None:
    spec = ComparisonSpec("rosenbrock", (OptimizerChoice(key), OptimizerChoice("adam", {"lr": 0.02})), seeds=SEEDS,
                          steps=120, log_every=7, task_args={"noise": 0.3, "start": [-1.0, 1.5]})
    _assert_same(run_comparison(spec), run_comparison(spec, sequential=True))


def test_a_diverging_run_is_frozen_at_its_step_and_the_others_go_on() -> None:
    spec = ComparisonSpec("quadratic", (OptimizerChoice("sgd", {"lr": 0.7}), OptimizerChoice("sgd", {"lr": 0.05}),
                                        OptimizerChoice("momentum", {"lr": 0.3})), seeds=SEEDS, steps=200)
    batched = run_comparison(spec)
    assert {r.status for r in batched[0::3]} == {"diverged"} and {r.status for r in batched[1::3]} == {"finished"}
    assert all("left the domain" in r.reason or "non-finite" in r.reason for r in batched[0::3])
    _assert_same(batched, run_comparison(spec, sequential=True))


def test_a_loss_that_turns_non_finite_ends_its_run_before_it_steps() -> None:
    spec = ComparisonSpec("expr:log(x) + y**2", (OptimizerChoice("sgd", {"lr": 5.0}),
                                                  OptimizerChoice("sgd", {"lr": 0.01})),
                          steps=20, task_args={"start": [0.5, 1.0]})
    batched = run_comparison(spec)  # log(x) falls without bound as x -> 0: both leave it, one much sooner
    assert [(r.status, r.diverged_at) for r in batched] == [("diverged", 2), ("diverged", 15)]
    assert batched[0].reason == "loss became nan at step 2"
    _assert_same(batched, run_comparison(spec, sequential=True))
