"""Sweeps and claim reproductions in the background, for the Sweeps page: each in its own spawn process.

``start_sweep`` checks the sweep against its storage here (a bad storage URL, or a name that exists with another
search space, raises ``ValueError`` at once, before anything runs), then runs ``studies.run_sweep`` in a daemon spawn
process and returns. ``stop_sweep`` asks it to stop cooperatively (the trial in progress ends FAIL and is requeued;
with several workers ``run_sweep`` terminates them and ``studies.fail_stale`` requeues theirs) and terminates it
when it has not ended ``STOP_GRACE`` seconds later (its running trial is then failed and requeued on the next start).
``start_reproduction`` runs ``claims.reproduce`` the same way (its current stage is kept for the page);
``stop_reproduction`` terminates it at once, so a cut-short reproduction never overwrites the last saved result.

The registry of jobs is this server process's (module level): everything a job produced lives in the study storage
and the claims' result files, so a page reload, or a restart, re-reads it from there and nothing is lost; a job's
failure is kept here as its message (``JobState.error``), so a page shows a message, never a traceback. Workers never
call Streamlit: this module does not import it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.context import SpawnProcess
from typing import Any

from engine import claims, studies
from engine.device import usable_cores
from optimizers.validation import check_number

logger = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds a stopped job may take to end cooperatively before it is terminated
SWEEP, REPRODUCTION = "sweep", "reproduction"


@dataclass(frozen=True)
class JobState:
    """A snapshot of one background job: ``state`` is ``running``, ``stopping``, ``finished``, ``stopped`` or
    ``failed`` (``error`` then holds the message); ``stage`` is the latest stage a reproduction reported."""

    state: str
    stage: str | None
    error: str | None
    started_at: float
    ended_at: float | None

    @property
    def running(self) -> bool:
        return self.state in ("running", "stopping")


@dataclass
class _Job:
    process: SpawnProcess
    messages: Any  # the child's ("stage", text) and ("error", message) reports
    stop: Any  # a spawn-context Event the child polls as ``should_stop``
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    stage: str | None = None
    error: str | None = None
    stop_requested: bool = False

    def drain(self) -> None:
        """Take the child's reports so far."""
        while True:
            try:
                kind, text = self.messages.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return
            if kind == "stage":
                self.stage = text
            else:
                self.error = text

    def state(self) -> JobState:
        self.drain()
        alive = self.process.is_alive()
        if not alive and self.ended_at is None:
            self.ended_at = time.time()
            self.drain()  # the last reports, written just before the child exited
            if self.error is None and self.process.exitcode and not self.stop_requested:
                self.error = f"the background process exited with code {self.process.exitcode}"
        if alive:
            name = "stopping" if self.stop_requested else "running"
        elif self.error is not None:
            name = "failed"
        else:
            name = "stopped" if self.stop_requested else "finished"
        return JobState(name, self.stage, self.error, self.started_at, self.ended_at)


_JOBS: dict[tuple[str, str], _Job] = {}
_LOCK = threading.Lock()


def start_sweep(spec: studies.SweepSpec, *, workers: int = 1, storage_url: str | None = None) -> None:
    """Run sweep ``spec`` in the background with ``workers`` local processes until its budgets are spent.

    ``ValueError`` at once for a bad ``workers``, a storage that cannot be opened, a name that exists with another
    search space or setup, or a sweep of that name already running here.
    """
    check_number("sweep", "workers", workers, low=1, high=64, integer=True)
    with _LOCK:
        if _alive((SWEEP, spec.name)):
            raise ValueError(f"sweep: {spec.name!r} is already running; stop it first")
        studies.prepare(spec, studies.open_storage(storage_url))
        _JOBS[(SWEEP, spec.name)] = _launch(_sweep_main, spec.to_dict(), workers, storage_url,
                                            threads=max(1, usable_cores() // workers))


def stop_sweep(name: str) -> bool:
    """Ask sweep ``name`` to stop (see the module docstring); False when it is not running here."""
    return _stop((SWEEP, name))


def is_running(name: str) -> bool:
    """Whether sweep ``name`` runs in this server process (it may also be run by workers elsewhere)."""
    with _LOCK:
        return _alive((SWEEP, name))


def running_sweeps() -> list[str]:
    """The names of the sweeps running in this server process, oldest first."""
    with _LOCK:
        return [name for kind, name in list(_JOBS) if kind == SWEEP and _alive((kind, name))]


def sweep_state(name: str) -> JobState | None:
    """Sweep ``name``'s job as it stands, or None when this server process never started it."""
    return _state((SWEEP, name))


def start_reproduction(key: str, *, quick: bool, seeds: int) -> None:
    """Run ``claims.reproduce(key, quick=quick, seeds=seeds)`` in the background; its result is saved to
    ``claims.result_path(key, quick)``. ``ValueError`` at once for an unknown claim, a bad ``seeds`` or a
    reproduction of the same claim and budget already running."""
    claims.get_claim(key)
    check_number("reproduce", "seeds", seeds, low=2, high=1000, integer=True)
    job_key = (REPRODUCTION, _reproduction_name(key, quick))
    with _LOCK:
        if _alive(job_key):
            raise ValueError(f"reproduce: claim {key!r} ({'quick' if quick else 'full'}) is already running")
        _JOBS[job_key] = _launch(_reproduction_main, key, quick, seeds, threads=usable_cores())


def stop_reproduction(key: str, quick: bool) -> bool:
    """Stop the reproduction of claim ``key`` at once (terminated: nothing is saved, so the last saved result stays;
    its tuning trial in progress is requeued on the next start); False when it is not running here."""
    return _stop((REPRODUCTION, _reproduction_name(key, quick)), grace=0.0)


def reproduction_running(key: str, quick: bool) -> bool:
    """Whether the reproduction of claim ``key`` (quick or full) runs in this server process."""
    with _LOCK:
        return _alive((REPRODUCTION, _reproduction_name(key, quick)))


def reproduction_state(key: str, quick: bool) -> JobState | None:
    """The reproduction job of claim ``key`` as it stands, or None when this server process never started it."""
    return _state((REPRODUCTION, _reproduction_name(key, quick)))


# --- the registry ---------------------------------------------------------------------------------------------------


def _reproduction_name(key: str, quick: bool) -> str:
    return f"{key}-quick" if quick else key


def _alive(job_key: tuple[str, str]) -> bool:
    """Whether the job runs (the caller holds ``_LOCK``)."""
    job = _JOBS.get(job_key)
    return job is not None and job.process.is_alive()


def _state(job_key: tuple[str, str]) -> JobState | None:
    with _LOCK:
        job = _JOBS.get(job_key)
        return job.state() if job is not None else None


def _stop(job_key: tuple[str, str], grace: float = STOP_GRACE) -> bool:
    """Set the job's stop flag and terminate it after ``grace`` seconds if it is still running."""
    with _LOCK:
        job = _JOBS.get(job_key)
        if job is None or not job.process.is_alive():
            return False
        job.stop_requested = True
        job.stop.set()
    threading.Thread(target=_terminate_later, args=(job.process, grace), daemon=True).start()
    return True


def _terminate_later(process: SpawnProcess, grace: float) -> None:
    """Terminate ``process`` if it has not ended ``grace`` seconds after a stop."""
    process.join(timeout=grace)
    if process.is_alive():
        if grace:
            logger.warning("sweep_jobs: terminating process %s, which ignored a stop for %.0f s", process.pid, grace)
        process.terminate()
        process.join(timeout=STOP_GRACE)


def _launch(target: Any, *args: Any, threads: int) -> _Job:
    context = multiprocessing.get_context("spawn")
    messages, stop = context.Queue(), context.Event()
    process = context.Process(target=target, args=(*args, threads, messages, stop), daemon=True)
    process.start()
    return _Job(process, messages, stop)


# --- the child processes ---------------------------------------------------------------------------------------------


def _sweep_main(spec: dict[str, Any], workers: int, storage_url: str | None, threads: int, messages: Any,
                stop: Any) -> None:
    """A sweep's process: ``run_sweep`` until its budgets are spent or ``stop`` is set; an error is reported."""
    _set_threads(threads)
    try:
        studies.run_sweep(studies.SweepSpec.from_dict(spec), workers=workers, storage_url=storage_url,
                          should_stop=stop.is_set)
    except Exception as error:  # reported to the page as a message; the process ends normally
        messages.put(("error", f"{type(error).__name__}: {error}"))


def _reproduction_main(key: str, quick: bool, seeds: int, threads: int, messages: Any, stop: Any) -> None:
    """A reproduction's process: ``claims.reproduce``, reporting each stage; an error is reported. ``stop`` is
    unused: a reproduction stopped cooperatively would still save its cut-short result, so a stop terminates it."""
    del stop
    _set_threads(threads)
    try:
        claims.reproduce(key, seeds=seeds, quick=quick, on_stage=lambda text: messages.put(("stage", text)))
    except Exception as error:  # reported to the page as a message; the process ends normally
        messages.put(("error", f"{type(error).__name__}: {error}"))


def _set_threads(threads: int) -> None:
    os.environ["OPTISCOPE_THREADS"] = str(threads)
