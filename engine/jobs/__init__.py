"""Jobs: one system for background work, on one worker process, one thread decision and one state vocabulary.

Comparisons run on ``JobManager``, sweeps and claim reproductions as named jobs on ``JobRegistry``; both start
``Worker`` processes (their torch threads from ``worker_threads``, their reports, errors and stop) and share
``JobState``."""

from engine.jobs.manager import Busy, JobManager, JobStatus, UnknownJob, get_manager
from engine.jobs.registry import JobRegistry, NamedJobStatus, get_registry
from engine.jobs.state import ACTIVE, ENDED, JobState
from engine.jobs.worker import Report, Worker, WorkerFailed, worker_threads

__all__ = [
    "ACTIVE",
    "ENDED",
    "Busy",
    "JobManager",
    "JobRegistry",
    "JobState",
    "JobStatus",
    "NamedJobStatus",
    "Report",
    "UnknownJob",
    "Worker",
    "WorkerFailed",
    "get_manager",
    "get_registry",
    "worker_threads",
]
