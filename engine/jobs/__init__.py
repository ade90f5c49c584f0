"""Jobs: one system for background work: comparisons (``JobManager``) and named long jobs, sweeps and claim
reproductions (``JobRegistry``), on one worker process (``Worker``: its torch threads, reports, errors and stop), one
thread decision (``worker_threads``) and one state vocabulary (``JobState``)."""

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
