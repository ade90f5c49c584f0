"""R runs of a task as one batch: which rows of the stacked tensors each optimizer steps, and each run's fate.

A batch stacks its runs along a leading runs axis (rows). Runs of one optimizer with the same choices form a
``RunsGroup``: consecutive rows that one ``optimizers.RunsOptimizer`` steps, each run with its own numeric
hyperparameters (an [R] tensor where they differ). ``group_requests`` lays a task's requests out that way;
``BatchFate`` keeps, per run, whether it is still going and why it stopped (diverged at step k for a reason, or
cancelled), so that every run of a batch ends as the same run alone would have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor

from engine.tasks.task import Outcome, RunRequest
from optimizers import get
from optimizers.runs_optimizer import RunsOptimizer

T = TypeVar("T")
HyperRow = Mapping[str, float | int | str]
"""One run's hyperparameters by registry name."""


@dataclass(frozen=True)
class RunsGroup:
    """Rows ``[start, stop)`` of a batch, stepped by the registered optimizer ``key`` with ``hyper`` (a value for all
    its runs, or an [R] float64 tensor where they differ)."""

    key: str
    hyper: Mapping[str, float | int | str | Tensor]
    start: int
    stop: int

    def build(self, stacked: Sequence[Tensor]) -> RunsOptimizer:
        """The group's runs optimizer over its rows of ``stacked`` (views: its steps write into the batch)."""
        return get(self.key).build_runs([tensor[self.start:self.stop] for tensor in stacked], self.hyper)


def stack_hyper(rows: Sequence[HyperRow]) -> dict[str, float | int | str | Tensor]:
    """Rows of one optimizer's hyperparameters as a group takes them: a value shared by every row stays a value,
    numbers that differ become an [R] float64 tensor (choices must agree: they select the maths)."""
    hyper: dict[str, float | int | str | Tensor] = {}
    for name, first in rows[0].items():
        values = [row[name] for row in rows]
        if all(value == first for value in values):
            hyper[name] = first
        elif isinstance(first, str):
            raise ValueError(f"{name}: runs stepped together must share it; got {sorted(set(values))}")
        else:
            hyper[name] = torch.tensor([float(value) for value in values], dtype=torch.float64)
    return hyper


def group_requests(requests: Sequence[RunRequest]) -> tuple[list[int], list[RunsGroup]]:
    """The batch's row order (row i holds ``requests[order[i]]``) and its groups: the runs of each optimizer (same
    key and choices) on consecutive rows, groups in the order of their first request."""
    members: dict[tuple, list[int]] = {}
    for index, request in enumerate(requests):
        choice = request.optimizer
        choices = tuple((k, v) for k, v in choice.hyperparameters.items() if isinstance(v, str))
        members.setdefault((choice.key, choices), []).append(index)
    order: list[int] = []
    groups = []
    for (key, _), indices in members.items():
        rows = [requests[index].optimizer.hyperparameters for index in indices]
        groups.append(RunsGroup(key, stack_hyper(rows), len(order), len(order) + len(indices)))
        order.extend(indices)
    return order, groups


def in_request_order(order: Sequence[int], rows: Sequence[T]) -> list[T]:
    """Per-row values of a batch laid out by ``group_requests`` back in the order of its requests."""
    by_request: list[T] = list(rows)
    for row, index in enumerate(order):
        by_request[index] = rows[row]
    return by_request


@dataclass
class BatchFate:
    """Per run of a batch: ``active`` ([R] bool: still stepping), and for a run that stopped, its status
    (``diverged`` at ``diverged_at`` for ``reason``, or ``cancelled``) and how many steps it completed."""

    active: Tensor
    status: list[str]
    diverged_at: list[int | None]
    reasons: list[str | None]
    steps_done: list[int]

    @classmethod
    def start(cls, runs: int, device: torch.device) -> BatchFate:
        return cls(torch.ones(runs, dtype=torch.bool, device=device), ["finished"] * runs, [None] * runs,
                   [None] * runs, [0] * runs)

    def end(self, run: int, status: str, *, step: int | None = None, reason: str | None = None) -> None:
        """Run ``run`` stops: ``cancelled``, or ``diverged`` at ``step`` for ``reason``."""
        self.active[run] = False
        self.status[run], self.diverged_at[run], self.reasons[run] = status, step, reason

    def outcomes(self, summaries: Sequence[dict[str, float]]) -> list[Outcome]:
        return [Outcome(status, summary, at, reason) for status, summary, at, reason
                in zip(self.status, summaries, self.diverged_at, self.reasons, strict=True)]
