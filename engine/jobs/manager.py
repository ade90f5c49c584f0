"""Background comparisons: one job manager per server process runs them off the caller's thread; pages poll it.

A job is one ``ComparisonSpec``: ``submit`` returns its id (a stable URL-safe string, so a page reload re-attaches
by id), ``poll`` returns a ``JobStatus`` snapshot and never blocks, ``cancel`` stops it cooperatively (the runner
polls ``should_stop`` every step, so it takes effect well within a second); ``cancel(job_id, optimizer=i)`` stops
one optimizer alone (its runs in progress end ``cancelled`` and are kept, the others go on; stopping every optimizer
cancels the job). While runs train (a batched comparison trains all its runs at
once), ``JobStatus.partials`` holds each one's telemetry so far (the runner's ``Telemetry`` reports, a few per
second), so a page draws the curves as they grow. States
(``engine.jobs.state``): ``queued`` (waiting for a worker slot), ``running``, ``stopping`` (cancelled, ending),
``finished`` (ran to its end, even with optimizers cancelled one by one), ``cancelled``, ``failed`` (an exception in
the run, or a run that could not be saved: its one-line message is kept, the manager goes on), ``interrupted``
(read back after the server that ran it died). A job is written to disk when it is submitted and when it ends
(``engine.jobs.records``), and every run as it ends (``engine.runs.store``), so a reload, a crash or a restart loses
nothing: ``poll`` of an id this process does not know restores the job from there (``interrupted`` when its server
died before it ended), and ``resume`` runs the rest of an interrupted job (``engine.jobs.parts``) under its id.

Bounds: at most ``max_jobs`` unfinished jobs per process and ``max_per_session`` per session (``submit`` raises
``Busy`` naming the limit); at most ``max_running`` compute at once (the others wait, ``queued``); per job the latest
progress, the results so far, the partial results of the runs in progress and the last ``max_events`` progress
events. A reaper (on every call and on a daemon timer) cancels and drops the jobs that nobody has polled for
``idle_timeout`` seconds.

Threads or processes, measured on a 2-core machine with a stand-in MNIST-1D job (the seed MLP, 600 Adam steps of
batch 128): 0.84 s alone; 2.7-2.9 s in a thread beside a busy Python thread (a Streamlit script rerunning a page),
as the two share the GIL; 1.2 s in a spawn process, plus 2.1 s to start it and import torch. Two spawn processes
with torch's default thread count (every core each) took 131 s from oversubscription, 1.2 s each with one thread,
so a worker process's torch threads are its share of the server's core budget (``engine.jobs.threads``: what a step
of the comparison's runs wants, ``step_work``, shared out so that the running workers never hold more threads than
cores; ``max_running`` defaults to the usable cores, so every job computing at once has a core of its own). Hence
``mode="auto"``: MNIST-1D (seconds to minutes a job, where 2 s of start-up is small and a responsive server matters)
in a spawn process (an ``engine.jobs.worker.Worker``: a cancel reaches it through its stop event, and a worker that
ignores it is terminated after ``STOP_GRACE`` seconds), the 2-D surfaces (milliseconds a run) in threads. Workers
never call ``st.*``: the engine never imports streamlit.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from engine.jobs import records
from engine.jobs.parts import Part, rest
from engine.jobs.state import (
    ACTIVE,
    CANCELLED,
    ENDED,
    FAILED,
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    STOPPING,
    JobState,
)
from engine.jobs.status import Busy, Job, JobStatus, UnknownJob
from engine.jobs.worker import Report, Worker, WorkerFailed, describe
from engine.runs import ComparisonSpec, Progress, RunResult, Telemetry, run_comparison, store, usable_cores
from engine.runs.device import step_work
from optimizers.validation import check_choice, check_number

logger = logging.getLogger(__name__)
QUEUED_WAIT_SECONDS = 0.25  # how often a queued job looks for a free slot or its cancel: six queued jobs asking every
# 50 ms were a tenth of a loaded server's samples (py-spy, benchmarks/bench_load.py)

RunFunction = Callable[..., "list[RunResult]"]
"""``run_comparison``'s signature: ``run(spec, *, on_progress, should_stop, on_result, on_telemetry,
should_stop_optimizer)``."""


class JobManager:
    """Runs comparisons in the background; see the module docstring. Thread-safe.

    Args:
        run: the run function (default ``engine.runs.runner.run_comparison``); tests inject a fake.
        max_jobs, max_per_session: unfinished (queued or running) jobs allowed per process and per session.
        max_running: jobs computing at once (default: the usable cores).
        idle_timeout: seconds without a ``poll`` after which the reaper cancels and drops a job.
        reap_interval: seconds between the daemon reaper's passes (it also runs on every call).
        mode: ``"auto"`` (MNIST-1D with the default runner in a spawn process, the rest in threads), ``"thread"``
            or ``"process"`` (``run`` must then be a module-level function, as spawn pickles it by name).
        save: write each run to the store as it ends, and restore unknown ids from it.
        max_events: progress events kept per job.
    """

    def __init__(self, run: RunFunction | None = None, *, max_jobs: int = 8, max_per_session: int = 2,
                 max_running: int | None = None, idle_timeout: float = 900.0, reap_interval: float = 30.0,
                 mode: str = "auto", save: bool = True, max_events: int = 256) -> None:
        self._default_run = run is None
        self._run = run or run_comparison
        self.max_jobs = check_number("JobManager", "max_jobs", max_jobs, low=1, integer=True)
        self.max_per_session = check_number("JobManager", "max_per_session", max_per_session, low=1, integer=True)
        self.max_running = check_number("JobManager", "max_running", max_running or usable_cores(), low=1,
                                        integer=True)
        self.idle_timeout = check_number("JobManager", "idle_timeout", idle_timeout, low=0.0, low_open=True)
        self.reap_interval = check_number("JobManager", "reap_interval", reap_interval, low=0.0, low_open=True)
        self.mode = check_choice("JobManager", "mode", mode, ("auto", "thread", "process"))
        self.max_events = check_number("JobManager", "max_events", max_events, low=1, integer=True)
        self.save = save
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(self.max_running)
        self._closed = threading.Event()
        self._reaper: threading.Thread | None = None

    # --- the API pages call -------------------------------------------------------------------------------------

    def submit(self, spec: ComparisonSpec, *, session: str = "") -> str:
        """Start ``spec`` in the background and return the job's id; ``Busy`` past a limit."""
        self.reap()
        with self._lock:
            self._check_limits(session)
            job = Job(secrets.token_urlsafe(9), spec, session, self._in_process(spec), self.max_events)
            self._jobs[job.job_id] = job
        self._launch(job)
        return job.job_id

    def resume(self, job_id: str, *, session: str = "") -> str:
        """Run the runs of the interrupted job ``job_id`` that had not ended, under the same id (its ended runs are
        kept); return the id. ``Busy`` past a limit, ``UnknownJob`` for an unknown id, ``ValueError`` when the job
        is not interrupted."""
        self.poll(job_id)  # an interrupted job is one of an earlier process: this restores it
        with self._lock:
            old = self._jobs[job_id]
            if old.state != INTERRUPTED:
                raise ValueError(f"jobs: job {job_id!r} is {old.state}; only an interrupted job can be resumed")
            self._check_limits(session)
            job = Job(job_id, old.spec, session, self._in_process(old.spec), self.max_events,
                       results=list(old.results), parts=rest(old.spec, old.results))
            self._jobs[job_id] = job
        self._launch(job)
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        """A snapshot of job ``job_id``; polling keeps it alive. An id this process does not know is restored from
        the store when runs of it were saved; otherwise ``UnknownJob``."""
        self.reap()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.last_poll = time.monotonic()
                return self._snapshot(job)
        return self._restore(job_id)

    def cancel(self, job_id: str, *, optimizer: int | None = None) -> bool:
        """Ask job ``job_id`` to stop (``stopping``, then ``cancelled`` within a second), or with ``optimizer`` (a
        position in its ``spec.optimizers``) only that optimizer's runs (the module docstring). False if the job had
        already ended or the optimizer was already stopped."""
        self.reap()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise UnknownJob(f"jobs: no job {job_id!r} (finished long ago and dropped, or never submitted)")
            job.last_poll = time.monotonic()
            if job.state in ENDED:
                return False
            if optimizer is None:
                self._stop(job)
                return True
            check_number("cancel", "optimizer", optimizer, low=0, high=len(job.stopped) - 1, integer=True)
            if job.stopped[optimizer]:
                return False
            job.stopped[optimizer] = 1
            if all(job.stopped):  # nothing left to run: the job itself is cancelled
                self._stop(job)
            return True

    def jobs(self, session: str | None = None) -> list[JobStatus]:
        """Snapshots of every job (of ``session`` when given), oldest first; this does not keep them alive."""
        self.reap()
        with self._lock:
            return [self._snapshot(job) for job in self._jobs.values() if session is None or job.session == session]

    def reap(self) -> list[str]:
        """Cancel and drop the jobs not polled for ``idle_timeout`` seconds; return their ids."""
        deadline = time.monotonic() - self.idle_timeout
        with self._lock:
            idle = [job for job in self._jobs.values() if job.last_poll < deadline]
            for job in idle:
                self._stop(job)
                del self._jobs[job.job_id]
        for job in idle:
            logger.info("jobs: dropped job %s (not polled for %.0f s)", job.job_id, self.idle_timeout)
        return [job.job_id for job in idle]

    def shutdown(self) -> None:
        """Cancel every job and stop the reaper (tests; a server simply exits)."""
        self._closed.set()
        with self._lock:
            for job in self._jobs.values():
                self._stop(job)

    # --- workers ------------------------------------------------------------------------------------------------

    def _check_limits(self, session: str) -> None:
        """``Busy`` when a new job of ``session`` would pass a limit (the caller holds the lock); the message tells
        the jobs that compute from those that wait for a slot."""
        active = [job for job in self._jobs.values() if job.state in ACTIVE]
        if len(active) >= self.max_jobs:
            queued = sum(job.state == QUEUED for job in active)
            raise Busy(f"jobs: the server is busy: {len(active) - queued} jobs running and {queued} queued (limit "
                       f"max_jobs={self.max_jobs}); wait for one to finish or cancel one")
        mine = [job for job in active if job.session == session]
        if len(mine) >= self.max_per_session:
            raise Busy(f"jobs: this session already has {len(mine)} unfinished jobs (limit max_per_session="
                       f"{self.max_per_session}); wait for one to finish or cancel one")

    def _in_process(self, spec: ComparisonSpec) -> bool:
        return self.mode == "process" or (self.mode == "auto" and self._default_run
                                           and spec.task_info.in_worker_process)

    def _launch(self, job: Job) -> None:
        """Write the job's record (before it runs: a crash from here on finds it), then start its thread."""
        self._write_record(job, None)
        threading.Thread(target=self._work, args=(job,), name=f"optiscope-job-{job.job_id}", daemon=True).start()
        self._start_reaper()

    def _write_record(self, job: Job, state: JobState | None) -> None:
        """Record the job as submitted (``state`` None) or ended; a record that cannot be written fails the job
        (``_unsaved``): a crash would lose it."""
        if not self.save:
            return
        try:
            records.write(records.JobRecord(job.job_id, job.spec, job.submitted_at, state, job.error, job.ended_at))
        except OSError as error:
            self._unsaved(job, f"could not write the job's record ({describe(error)})")

    def _work(self, job: Job) -> None:
        """A job's thread: wait for a slot, run (here or in a process), record the outcome; never raises."""
        while not self._slots.acquire(timeout=QUEUED_WAIT_SECONDS):
            if job.stop.is_set():
                self._end(job, CANCELLED)
                return
        try:
            with self._lock:
                stopped = job.stop.is_set()
                if not stopped:
                    job.state = RUNNING
            if stopped:
                self._end(job, CANCELLED)
                return
            for part in job.parts:
                if job.stop.is_set():
                    break
                if job.process:
                    self._run_process(job, part)
                else:
                    self._run(part.spec, on_progress=lambda p: self._on_progress(job, p),
                              should_stop=job.stop.is_set, on_result=lambda r: self._on_result(job, r),
                              on_telemetry=lambda t, part=part: self._on_telemetry(job, part, t),
                              should_stop_optimizer=lambda p, part=part: job.stopped[part.optimizers[p]])
        except Exception as error:  # a failing run fails its job, never the manager
            logger.exception("jobs: job %s failed", job.job_id)
            self._end(job, FAILED, describe(error))
        else:
            incomplete = len(job.results) < len(job.runs) or any(r.status == "cancelled" for r in job.results)
            self._end(job, CANCELLED if job.stop.is_set() and incomplete else FINISHED)
        finally:
            self._slots.release()

    def _run_process(self, job: Job, part: Part) -> None:
        """Run a part of the job in a worker process; relay its progress, telemetry, results and cancels; raise its
        error here (``WorkerFailed``). A worker terminated after ignoring a cancel just ends the job."""
        worker = Worker(_comparison_main, self._run, part.spec.to_json(), job.stopped, part.optimizers,
                        work=step_work(part.spec, len(part.runs)), name=f"optiscope-job-{job.job_id}")
        worker.start()
        done = False
        try:
            while True:
                if job.stop.is_set():
                    worker.stop()  # once: asks, then terminates after the grace period
                alive = worker.alive  # before reading: a worker that ended has flushed its last reports
                report = worker.report(timeout=0.05)
                if report is None:
                    if alive:
                        continue
                    if worker.stop_requested:
                        return
                    raise WorkerFailed(f"the worker process exited with code {worker.exitcode}")
                kind, payload = report
                if kind == "progress":
                    self._on_progress(job, Progress(**payload))
                elif kind == "telemetry":
                    self._on_telemetry(job, part, Telemetry(**payload))
                elif kind == "result":
                    self._on_result(job, RunResult.from_dict(payload))
                elif kind == "error":
                    raise WorkerFailed(payload)
                else:
                    done = True
                    return
        finally:
            if done:  # every result is in: the job ends now, while the process exits (seconds on a busy machine)
                threading.Thread(target=worker.close, name=f"optiscope-close-{job.job_id}", daemon=True).start()
            else:
                worker.close()

    def _on_progress(self, job: Job, progress: Progress) -> None:
        with self._lock:
            job.progress = progress
            job.events.append(progress)

    def _on_telemetry(self, job: Job, part: Part, telemetry: Telemetry) -> None:
        """Grow the partial result of the reported run (a fresh one at its first report)."""
        run = part.runs[telemetry.run]
        with self._lock:
            partial = job.partials.get(run)
            if partial is None:
                partial = job.partials[run] = RunResult(job.runs[run], "running", [], [], {})
            partial.records.extend(telemetry.records)
            partial.epochs.extend(telemetry.epochs)

    def _on_result(self, job: Job, result: RunResult) -> None:
        with self._lock:
            job.results.append(result)
            index = next((i for i, partial in job.partials.items() if partial.spec == result.spec), None)
            job.partials.pop(index, None)
        if self.save:
            try:
                store.save(result, job_id=job.job_id, comparison=job.spec)
            except (OSError, ValueError) as error:
                self._unsaved(job, f"could not save the run of {result.spec.optimizer.label} (seed "
                                   f"{result.spec.seed}): {describe(error)}")

    def _unsaved(self, job: Job, message: str) -> None:
        """Something of ``job`` could not be written: the page shows ``message`` at once (``JobStatus.error``) and
        the job, which runs on (its runs stay on the page), ends ``failed``; the first message is kept."""
        logger.error("jobs: job %s: %s", job.job_id, message)
        with self._lock:
            job.error = job.error or message

    def _stop(self, job: Job) -> None:
        """Ask ``job`` to stop (the caller holds the lock): its thread, or the relay to its worker process, sees
        ``job.stop``."""
        job.stop.set()
        if job.state in ACTIVE:
            job.state = STOPPING

    def _end(self, job: Job, state: JobState, error: str | None = None) -> None:
        """End the job in ``state``, or ``failed`` with ``error`` or an earlier ``_unsaved`` message; on disk first, so
        that a page that sees it ended finds it so after a restart too."""
        with self._lock:
            job.error, job.ended_at = error or job.error, time.time()
        self._write_record(job, FAILED if job.error else state)
        with self._lock:
            job.state = FAILED if job.error else state
            job.partials.clear()  # runs cut short by a failure or a terminated worker never ended: no curves of them

    def _snapshot(self, job: Job) -> JobStatus:
        """The job as it stands; the partial results are copied, as the worker keeps growing the job's own."""
        partials = tuple(replace(partial, records=list(partial.records), epochs=list(partial.epochs))
                         for _, partial in sorted(job.partials.items()))
        stopped = tuple(index for index, flag in enumerate(job.stopped) if flag)
        return JobStatus(job.job_id, job.state, job.spec, job.session, job.progress, tuple(job.results),
                         tuple(job.events), job.error, len(job.runs), job.submitted_at, job.ended_at,
                         job.restored, partials, stopped)

    def _restore(self, job_id: str) -> JobStatus:
        """A job of an earlier server process, from its record and its saved runs (a job from before records, from
        its runs alone); it joins this manager's table (and its reaper)."""
        record = records.read(job_id) if self.save else None
        comparison, results = store.load_job(job_id) if self.save else (None, [])
        comparison = record.comparison if record is not None else comparison if results else None
        if comparison is None:
            raise UnknownJob(f"jobs: no job {job_id!r} (not polled for a while and dropped, or never submitted)")
        complete = len(results) == len(comparison.runs()) and all(r.status != "cancelled" for r in results)
        state = record.state if record is not None and record.state else FINISHED if complete else INTERRUPTED
        job = Job(job_id, comparison, "", False, self.max_events, state=state, results=list(results),
                   error=record.error if record is not None else None,
                   ended_at=record.ended_at if record is not None and record.ended_at else time.time(),
                   restored=True)
        with self._lock:
            return self._snapshot(self._jobs.setdefault(job_id, job))

    def _start_reaper(self) -> None:
        with self._lock:
            if self._reaper is not None:
                return
            self._reaper = threading.Thread(target=self._reap_forever, name="optiscope-job-reaper", daemon=True)
        self._reaper.start()

    def _reap_forever(self) -> None:
        while not self._closed.wait(self.reap_interval):
            self.reap()


def _comparison_main(run: RunFunction, spec_json: str, stopped: Any, optimizers: tuple[int, ...], *, report: Report,
                     should_stop: Callable[[], bool]) -> None:
    """A worker process's target: run the comparison (a part of a job), reporting progress, live telemetry and
    results; ``stopped`` (a flag per optimizer of the job, in shared memory) stops one optimizer, ``optimizers``
    maps the part's optimizers to the job's."""
    run(ComparisonSpec.from_json(spec_json), on_progress=lambda p: report("progress", asdict(p)),
        should_stop=should_stop, on_result=lambda r: report("result", r.to_dict()),
        on_telemetry=lambda t: report("telemetry", asdict(t)),
        should_stop_optimizer=lambda position: stopped[optimizers[position]])


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def get_manager() -> JobManager:
    """The job manager of this server process (created on first use)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager()
        return _MANAGER
