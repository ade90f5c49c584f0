"""A worker process: one way to run background work in a spawn process, size its torch threads, relay its reports
and errors, and stop it.

``Worker(target, *args, work=...)`` runs the module-level ``target(*args, report=..., should_stop=...)`` in a fresh
spawn process (spawn pickles ``target`` by name). Its torch threads are its share of the server's cores: ``start``
leases them from a ``ThreadBudget`` (``engine.jobs.threads``; ``work``: the multiply-adds a step of the target's
computation, ``engine.runs.device.step_work``), and the lease goes back when the process ends, however it ends. The
share reaches the child through shared memory, never an environment variable: the child calls
``engine.runs.configure_threads`` with it before ``target``, and again at any poll of ``should_stop`` that finds it
changed (another worker started or ended). The child sends ``(kind, payload)`` reports through
``report`` (picklable payloads: progress, telemetry, results, stages) and ends with ``("done", None)``, or
``("error", message)`` when ``target`` raised (a one-line message, ``describe``); the parent reads them with
``Worker.report`` (waiting for the next) or ``Worker.reports`` (all so far).

Stop: ``stop`` sets the event the child polls as ``should_stop`` (it ends its work cooperatively, usually within a
second), and terminates the process if it is still alive ``STOP_GRACE`` seconds later. The child ignores Ctrl-C: the
process that started it decides when it stops (the command line's first Ctrl-C stops its workers through this event).
A child starts from a clean ``__main__`` (never the app script) and ends within ``ORPHAN_GRACE`` seconds of its
parent's death, however the parent died (``engine.jobs.spawning``).

Priority: a child runs at a scheduling priority ``WORKER_NICENESS`` lower than its server's (Unix ``nice``), set
by its main, ``engine.worker_main``, before its imports. Its workers may hold every core (``engine.jobs.threads``),
and the server's own work (every open page's script runs and polls) then had to share them as an equal: with four
sessions training on two cores a page's progress went 12 s stale and a newcomer's page took 28 s to load
(``benchmarks/bench_load.py``). At a lower priority training takes what the server leaves, and the server stays
live; on an idle server the workers still get every core.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import queue
import signal
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

import torch

from engine.jobs.spawning import exit_with_parent, spawn_context, start_clean
from engine.jobs.threads import Lease, ThreadBudget, default_budget
from engine.runs import configure_threads

logger = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds a stopped worker may take to end cooperatively before it is terminated
ORPHAN_GRACE = 2.0  # seconds a worker whose parent died may take to stop cooperatively before it exits

Report = Callable[[str, Any], None]
"""How a worker's target reports: ``report(kind, payload)``."""


class WorkerFailed(RuntimeError):
    """A worker process reported an error (its message is the child's one-line message) or died without a word."""


def describe(error: BaseException) -> str:
    """The one-line message a job keeps for ``error``: its type and the first line of its text (a worker's own
    message as it is)."""
    if isinstance(error, WorkerFailed):
        return str(error)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class Worker:
    """One spawn process running ``target(*args, report=, should_stop=)`` with its share of ``budget`` (default: the
    process's, ``default_budget``) for work of ``work`` multiply-adds a step; see the module docstring. Created
    stopped: ``start`` leases its threads and launches it. Thread-safe."""

    def __init__(self, target: Callable[..., Any], *args: Any, work: float = 0.0, budget: ThreadBudget | None = None,
                 name: str = "optiscope-worker") -> None:
        context = spawn_context()
        self._messages = context.Queue()
        self._stop = context.Event()
        self._share = context.Value("i", 1)  # the torch threads the child is to run with: the lease's share
        self._process: BaseProcess = context.Process(target=_child_main, name=name, daemon=True,
                                                     args=(target, args, self._share, self._messages, self._stop))
        self._work = work
        self._budget = budget or default_budget()
        self._lease: Lease | None = None
        self._started = False
        self._terminator: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Lease the threads and start the process; a thread gives the lease back when the process ends."""
        with self._lock:
            self._lease = self._budget.lease(self._work, on_change=self._set_share)
            try:
                start_clean(self._process)
            except BaseException:
                self._budget.release(self._lease)
                raise
            self._started = True
        threading.Thread(target=self._release_at_exit, daemon=True, name=f"{self._process.name}-lease").start()

    @property
    def alive(self) -> bool:
        return self._started and self._process.is_alive()

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def stop(self, grace: float = STOP_GRACE) -> None:
        """Ask the child to stop, and terminate it if it is alive ``grace`` seconds later; calling it again changes
        nothing."""
        self._stop.set()
        with self._lock:
            if not self._started or self._terminator is not None:
                return
            self._terminator = threading.Thread(target=self._terminate_after, args=(grace,), daemon=True,
                                                name=f"{self._process.name}-stop")
        self._terminator.start()

    def report(self, timeout: float) -> tuple[str, Any] | None:
        """The child's next report, waiting up to ``timeout`` seconds; None when there is none."""
        try:
            return self._messages.get(timeout=timeout)
        except (queue.Empty, OSError, ValueError):  # OSError, ValueError: the queue was closed
            return None

    def reports(self) -> list[tuple[str, Any]]:
        """The child's reports so far, without waiting."""
        taken = []
        while True:
            try:
                taken.append(self._messages.get_nowait())
            except (queue.Empty, OSError, ValueError):
                return taken

    def close(self) -> None:
        """Stop the process if it still runs (waiting up to ``STOP_GRACE`` seconds, then terminating it), give its
        threads back and release the queue (reports not taken are gone)."""
        if self._started:
            self._stop.set()
            self._process.join(timeout=STOP_GRACE)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=STOP_GRACE)
            self._release()
        self._messages.close()

    def _set_share(self, threads: int) -> None:
        self._share.value = threads

    def _release_at_exit(self) -> None:
        """Wait for the process to end (its sentinel: this neither reaps it nor races ``join``), then release."""
        multiprocessing.connection.wait([self._process.sentinel])
        self._release()

    def _release(self) -> None:
        if self._lease is not None:
            self._budget.release(self._lease)

    def _terminate_after(self, grace: float) -> None:
        self._process.join(timeout=grace)
        if self._process.is_alive():
            logger.warning("jobs: terminating worker %s (pid %s), which ignored a stop for %.0f s",
                           self._process.name, self._process.pid, grace)
            self._process.terminate()
            self._process.join(timeout=STOP_GRACE)


def _child_main(target: Callable[..., Any], args: tuple[Any, ...], share: Any, messages: Any, stop: Any) -> None:
    """The worker process: set its threads, run ``target`` and report how it ended."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers (``stop``), not the terminal's Ctrl-C
    orphaned = exit_with_parent(ORPHAN_GRACE)

    def report(kind: str, payload: Any) -> None:
        messages.put((kind, payload))

    def should_stop() -> bool:
        """Whether to stop; on the way, follow a changed share of the cores (a shared int read: well under 1 us)."""
        threads = share.value
        if threads != torch.get_num_threads():
            configure_threads(threads)
        return stop.is_set() or orphaned.is_set()

    try:
        configure_threads(share.value)
        target(*args, report=report, should_stop=should_stop)
    except Exception as error:  # reported to the parent as one line; the process ends normally
        report("error", describe(error))
    else:
        report("done", None)
