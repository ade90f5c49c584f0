"""Named background jobs: long work (a sweep, a claim's reproduction) in worker processes, known by its kind and
name, so that a page starts, stops and finds it by name.

``start`` refuses a name that is already running (``ValueError``), runs an optional ``prepare`` check under the
registry's lock (its exception propagates and nothing starts), then starts ``processes`` workers of the same target
(``engine.jobs.worker``), side by side, each with its share of the core budget for ``work`` multiply-adds a step
(``engine.jobs.threads``; default 0: one small run at a time, 1 thread each). They are the server's
children, never a worker's: a daemonic worker process may not start processes of its own. ``stop`` asks every worker
to stop (cooperatively, terminated after ``STOP_GRACE`` seconds); ``status`` reads their reports so far into a
``NamedJobStatus``: ``running`` or ``stopping`` while any runs, then ``finished``, ``cancelled`` (stopped) or
``failed`` (the first worker's one-line error; a worker that died without a word fails the job too).

One registry per server process (``get_registry``): what a job produces lives in its own storage (the study
storage, the claims' result files), so a reload or a restart re-reads it from there; the registry only knows what
runs here and how it ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.jobs.state import ACTIVE, CANCELLED, FAILED, FINISHED, RUNNING, STOPPING, JobState
from engine.jobs.worker import Worker
from optimizers.validation import check_number


@dataclass(frozen=True)
class NamedJobStatus:
    """A snapshot of one named job: ``state`` (``engine.jobs.state``; ``error`` holds the message when ``failed``),
    ``stage``: the latest ``("stage", payload)`` report of its workers, as sent (a sweep's text, a reproduction's
    ``engine.sweeps.claims.ReproductionProgress``: this layer passes it on unread)."""

    state: JobState
    stage: object | None
    error: str | None
    started_at: float
    ended_at: float | None

    @property
    def running(self) -> bool:
        return self.state in ACTIVE


@dataclass
class _Entry:
    workers: list[Worker]
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    stage: object | None = None
    error: str | None = None
    reported_end: set[int] = field(default_factory=set)  # the workers that reported "done" or "error"

    @property
    def alive(self) -> bool:
        return any(worker.alive for worker in self.workers)

    @property
    def stop_requested(self) -> bool:
        return any(worker.stop_requested for worker in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def take_reports(self) -> None:
        for index, worker in enumerate(self.workers):
            for kind, payload in worker.reports():
                if kind == "stage":
                    self.stage = payload
                elif kind in ("done", "error"):
                    self.reported_end.add(index)
                    if kind == "error" and self.error is None:
                        self.error = payload

    def status(self) -> NamedJobStatus:
        self.take_reports()
        alive = self.alive
        if not alive and self.ended_at is None:
            self.ended_at = time.time()
            self.take_reports()  # the last reports, written just before the workers exited
            silent = [worker for index, worker in enumerate(self.workers) if index not in self.reported_end]
            if silent and self.error is None and not self.stop_requested:
                self.error = f"the worker process exited with code {silent[0].exitcode}"
        if alive:
            state = STOPPING if self.stop_requested else RUNNING
        elif self.error is not None:
            state = FAILED
        else:
            state = CANCELLED if self.stop_requested else FINISHED
        return NamedJobStatus(state, self.stage, self.error, self.started_at, self.ended_at)


class JobRegistry:
    """The named background jobs of one process, by ``(kind, name)``; see the module docstring. Thread-safe."""

    def __init__(self) -> None:
        self._jobs: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, name: str, target: Callable[..., Any], *args: Any, processes: int = 1,
              prepare: Callable[[], None] | None = None, work: float = 0.0) -> None:
        """Run ``target(*args, report=, should_stop=)`` in ``processes`` workers as job ``name`` of ``kind``, each
        leasing threads for ``work`` multiply-adds a step (``engine.runs.device.step_work``).
        ``ValueError`` for a bad ``processes`` or when the job is already running; ``prepare``'s exception when it
        raises."""
        check_number(kind, "processes", processes, low=1, high=64, integer=True)
        with self._lock:
            previous = self._jobs.get((kind, name))
            if previous is not None and previous.alive:
                raise ValueError(f"{kind}: {name!r} is already running; stop it first")
            if prepare is not None:
                prepare()
            workers = [Worker(target, *args, work=work, name=f"optiscope-{kind}-{name}-{index}")
                       for index in range(processes)]
            for worker in workers:
                worker.start()
            self._jobs.pop((kind, name), None)  # a restarted name moves to the end: the order is of starts
            self._jobs[(kind, name)] = _Entry(workers)
        for worker in previous.workers if previous is not None else []:
            worker.close()  # it had ended: only its queue is left to release

    def stop(self, kind: str, name: str) -> bool:
        """Ask job ``name`` of ``kind`` to stop; False when it is not running here."""
        with self._lock:
            entry = self._jobs.get((kind, name))
            if entry is None or not entry.alive:
                return False
            entry.stop()
            return True

    def status(self, kind: str, name: str) -> NamedJobStatus | None:
        """Job ``name`` of ``kind`` as it stands, or None when this process never started it."""
        with self._lock:
            entry = self._jobs.get((kind, name))
            return entry.status() if entry is not None else None

    def running(self, kind: str, name: str) -> bool:
        """Whether job ``name`` of ``kind`` runs here (stopping included)."""
        with self._lock:
            entry = self._jobs.get((kind, name))
            return entry is not None and entry.alive

    def running_names(self, kind: str) -> list[str]:
        """The names of the jobs of ``kind`` running here, oldest first."""
        with self._lock:
            return [name for (job_kind, name), entry in self._jobs.items() if job_kind == kind and entry.alive]


_REGISTRY = JobRegistry()


def get_registry() -> JobRegistry:
    """The named-job registry of this process."""
    return _REGISTRY
