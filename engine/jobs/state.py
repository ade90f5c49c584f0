"""The states of a background job, one vocabulary for comparisons, sweeps and claim reproductions.

``queued`` (waiting for a worker slot; only the job manager queues), ``running``, ``stopping`` (a stop was asked:
the work ends cooperatively, or is terminated after a grace period), then one of the ended states: ``finished`` (ran
to its end), ``cancelled`` (stopped before its end) or ``failed`` (an error, kept as a one-line message).
"""

from __future__ import annotations

from typing import Literal

JobState = Literal["queued", "running", "stopping", "finished", "cancelled", "failed"]

QUEUED: JobState = "queued"
RUNNING: JobState = "running"
STOPPING: JobState = "stopping"
FINISHED: JobState = "finished"
CANCELLED: JobState = "cancelled"
FAILED: JobState = "failed"

ACTIVE: tuple[JobState, ...] = (QUEUED, RUNNING, STOPPING)
"""The job has not ended: it holds its place against the limits and can still be stopped."""
ENDED: tuple[JobState, ...] = (FINISHED, CANCELLED, FAILED)
