"""The states of a background job, one vocabulary for comparisons, sweeps and claim reproductions.

``queued`` (waiting for a worker slot; only the job manager queues), ``running``, ``stopping`` (a stop was asked:
the work ends cooperatively, or is terminated after a grace period), then one of the ended states: ``finished`` (ran
to its end), ``cancelled`` (stopped before its end), ``failed`` (an error, kept as a one-line message) or
``interrupted``: the server process that ran it ended (a crash, a restart) before the job did. Nobody asked it to stop,
so it is never shown as cancelled; its ended runs are kept and the rest can be resumed (``JobManager.resume``).
"""

from __future__ import annotations

from typing import Literal

JobState = Literal["queued", "running", "stopping", "finished", "cancelled", "failed", "interrupted"]

QUEUED: JobState = "queued"
RUNNING: JobState = "running"
STOPPING: JobState = "stopping"
FINISHED: JobState = "finished"
CANCELLED: JobState = "cancelled"
FAILED: JobState = "failed"
INTERRUPTED: JobState = "interrupted"

ACTIVE: tuple[JobState, ...] = (QUEUED, RUNNING, STOPPING)
"""The job has not ended: it holds its place against the limits and can still be stopped."""
ENDED: tuple[JobState, ...] = (FINISHED, CANCELLED, FAILED, INTERRUPTED)
