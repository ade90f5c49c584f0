"""The Task interface: everything the engine asks of what an optimizer is run on, answered by the task itself.

A task is named by a string in a ``RunSpec`` (``"rosenbrock"``, ``"expr:x**2 + y**2"``, ``"mnist1d"``);
``get_task`` turns the name into a ``Task``, which says how long a run of it is (``length``: steps or epochs, and
``total_steps``), how often it logs by default, which summary metrics a comparison table shows, which arguments it
takes (``check_args``), where it computes by default, whether a page runs it in a worker process, and how a run of
it goes (``run``): set up from the seed, stepped, measured into a ``Recorder``, ended by an ``Outcome``. Outside
``engine/tasks/`` nothing asks which task a name is: it asks the task.

``run`` takes one run with the optimizer's own ``torch.optim`` class (the reference); ``run_batch`` takes the R runs
of a comparison (one settings, several optimizers and seeds) as one stacked computation (``engine.tasks.batch``),
each run ending as it would alone: the same initial point or weights, batches and noise, the same telemetry keys.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import torch

Length = Literal["steps", "epochs"]
"""Which run setting sets a task's length: optimizer steps (a surface) or passes over a training split."""


class BuildsOptimizer(Protocol):
    """The optimizer of a run (``engine.runs.OptimizerChoice``): a registry key and its resolved hyperparameters;
    builds itself over the task's parameters."""

    @property
    def key(self) -> str: ...
    @property
    def hyperparameters(self) -> Mapping[str, Any]: ...

    def build(self, params: Any) -> torch.optim.Optimizer: ...


class RunRequest(Protocol):
    """What a task reads of one run (``engine.runs.RunSpec``)."""

    @property
    def optimizer(self) -> BuildsOptimizer: ...
    @property
    def seed(self) -> int: ...
    @property
    def steps(self) -> int: ...
    @property
    def epochs(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def log_every(self) -> int: ...
    @property
    def task_args(self) -> Mapping[str, Any]: ...


class Recorder(Protocol):
    """Where a run puts its telemetry as it goes, and asks whether to stop (the runner's progress tracker).

    ``records``: a row per logged step; ``epochs``: a row per finished epoch. ``stop()`` is asked before every step
    (True: the run ends ``cancelled``); ``tick()`` is called after every step. ``end(outcome)`` is called by a batch
    whose runs take long (MNIST-1D) when a run ends before the batch does (it diverged, or was cancelled, while the
    others go on), with its outcome then: the runner reports that run at once, so a crash later loses none of it. A
    run alone, and a batch's runs that end with it, are told by what ``run`` / ``run_batch`` return.
    """

    records: list[dict[str, float]]
    epochs: list[dict[str, float]]

    def stop(self) -> bool: ...

    def tick(self) -> None: ...

    def end(self, outcome: Outcome) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``status`` ``finished``, ``diverged`` (at step ``diverged_at``, for ``reason``) or
    ``cancelled``, and its ``summary`` (``final_loss``, ``best_loss``, ``steps_done``, ``seconds`` and the task's
    own keys)."""

    status: str
    summary: dict[str, float]
    diverged_at: int | None = None
    reason: str | None = None


class Task(ABC):
    """What an optimizer is run on. Subclasses set the class attributes and implement the three methods."""

    key: str
    """The name a ``RunSpec`` gives it."""
    title: str
    """A display name."""
    description: str
    """One line on what it is."""
    phrase: str
    """How a message names it, e.g. ``"the surface 'rosenbrock'"``."""
    length: Length
    default_log_every: int
    """Telemetry every this many steps unless a run says otherwise."""
    metrics: tuple[tuple[str, str], ...]
    """The summary keys a comparison table shows, with their headings."""
    objective: str
    """What a sweep's trials minimise on it, in words (``engine.sweeps.studies.objective``)."""
    dtype: torch.dtype
    """The floating dtype its runs compute in: a hyperparameter beyond its largest value cannot be represented."""
    gpu_by_default: bool
    """Whether device ``"auto"`` computes on a GPU when torch sees one."""
    in_worker_process: bool
    """Whether a page runs it in a worker process (seconds to minutes a run) rather than a thread (milliseconds)."""

    @abstractmethod
    def check_args(self, task_args: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming the field and its valid range unless ``task_args`` suit this task."""

    @abstractmethod
    def total_steps(self, steps: int, epochs: int, batch_size: int) -> int:
        """The optimizer steps a run with these settings takes when it runs to the end."""

    @abstractmethod
    def step_work(self, batch_size: int, task_args: Mapping[str, Any]) -> float:
        """About how many multiply-adds one optimizer step of one run takes (how many threads it can use)."""

    @abstractmethod
    def run(self, request: RunRequest, device: torch.device, recorder: Recorder) -> Outcome:
        """Set up one run from ``request.seed``, step it to the end (or a stop, or a divergence) on ``device``,
        recording telemetry into ``recorder``."""

    @abstractmethod
    def run_batch(self, requests: Sequence[RunRequest], device: torch.device,
                  recorders: Sequence[Recorder]) -> list[Outcome]:
        """Run ``requests`` (the same settings; their optimizers and seeds differ) as one stacked computation on
        ``device``, run i recording into ``recorders[i]`` and ending as ``run`` would end it alone; their outcomes in
        the requests' order."""


def finite_best(losses: Sequence[float]) -> float:
    """The lowest finite value of ``losses``; NaN when there is none."""
    finite = [value for value in losses if math.isfinite(value)]
    return min(finite) if finite else math.nan
