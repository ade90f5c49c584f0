"""What the job manager hands out and holds: ``JobStatus`` (a job's snapshot), ``Job`` (the job itself, with its
stop flags and its results so far), and the two errors of its calls (``Busy``, ``UnknownJob``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.jobs.parts import Part, whole
from engine.jobs.spawning import spawn_context
from engine.jobs.state import ENDED, QUEUED, RUNNING, JobState
from engine.runs import ComparisonSpec, Progress, RunResult


class Busy(RuntimeError):
    """``submit`` past a limit on concurrent jobs; the message names the limit."""


class UnknownJob(KeyError):
    """No job with this id: never submitted, dropped by the reaper, or lost in a restart before any run ended."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown job"


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job. ``progress`` is the latest report (None before the first; of the part running, for a
    resumed job); ``results`` the runs that have ended, in order; ``events`` the last progress reports; ``restored``
    is True for a job read back from disk (after a restart), whose ``state`` is the one it ended in, else
    ``interrupted`` (``finished`` if all its runs were saved). ``error``: why it failed, or while it runs, a run that
    could not be saved (the job then ends ``failed``).
    ``partials``: the runs in progress with their telemetry so far (status ``running``), in ``spec.runs()`` order;
    ``stopped_optimizers``: the positions in ``spec.optimizers`` of the optimizers cancelled one by one."""

    job_id: str
    state: JobState
    spec: ComparisonSpec
    session: str
    progress: Progress | None
    results: tuple[RunResult, ...]
    events: tuple[Progress, ...]
    error: str | None
    runs_total: int
    submitted_at: float
    ended_at: float | None
    restored: bool = False
    partials: tuple[RunResult, ...] = ()
    stopped_optimizers: tuple[int, ...] = ()

    @property
    def done(self) -> bool:
        return self.state in ENDED

    def optimizer_pending(self, position: int) -> bool:
        """Whether optimizer ``spec.optimizers[position]`` can still be cancelled: the job is queued or running
        (not stopping, not ended), the optimizer was not stopped, and some of its runs have not ended."""
        if self.state not in (QUEUED, RUNNING) or position in self.stopped_optimizers:
            return False
        choice = self.spec.optimizers[position]
        runs = len(self.spec.seeds) * self.spec.optimizers.count(choice)
        return sum(result.spec.optimizer == choice for result in self.results) < runs


@dataclass
class Job:
    """One job as the manager holds it (its snapshot is ``JobStatus``): the spec, the parts left to run, the state,
    the results and partials so far, and the flags that stop it or one of its optimizers."""

    job_id: str
    spec: ComparisonSpec
    session: str
    process: bool
    max_events: int
    state: JobState = QUEUED
    progress: Any = None
    results: list[Any] = field(default_factory=list)
    events: deque[Any] = field(init=False)
    error: str | None = None
    submitted_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    last_poll: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)  # a process job's relay passes it to its worker
    restored: bool = False
    partials: dict[int, Any] = field(default_factory=dict)  # position in ``runs`` -> its RunResult so far
    runs: list[Any] = field(init=False)  # spec.runs(), computed once
    stopped: Any = field(init=False)  # one flag per optimizer in shared memory: the runner polls it in any process
    parts: list[Part] = field(default_factory=list)  # what to run: the whole comparison, or the rest when resumed

    def __post_init__(self) -> None:
        self.events = deque(maxlen=self.max_events)
        self.runs = self.spec.runs()
        self.parts = self.parts or whole(self.spec)
        self.stopped = spawn_context().RawArray("b", len(self.spec.optimizers))
