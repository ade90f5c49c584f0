"""Jobs: one system for background work, on one worker process, one thread decision and one state vocabulary.

Comparisons run on ``JobManager``, sweeps and claim reproductions as named jobs on ``JobRegistry``; both start
``Worker`` processes (their torch threads leased from the process's ``ThreadBudget``, their reports, errors and stop)
and share ``JobState``."""

from engine.jobs.manager import JobManager, get_manager
from engine.jobs.registry import JobRegistry, NamedJobStatus, get_registry
from engine.jobs.state import ACTIVE, ENDED, JobState
from engine.jobs.status import Busy, JobStatus, UnknownJob
from engine.jobs.threads import ThreadBudget, default_budget
from engine.jobs.worker import Report, Worker, WorkerFailed

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
    "ThreadBudget",
    "UnknownJob",
    "Worker",
    "WorkerFailed",
    "default_budget",
    "get_manager",
    "get_registry",
]
