"""Job records on disk: a comparison job is written when it is submitted and again when it ends, so that a crash or a
restart of the server loses nothing a user started.

One JSON file per job, ``$OPTISCOPE_HOME/jobs/<job id>.json``, beside the run store (``engine.runs.store``, which
keeps every run as it ends): ``{"format", "job_id", "comparison", "submitted_at", "state", "error", "ended_at"}``.
``state`` is null while the job has not ended; a record read back by another server process with a null ``state`` is
a job whose server died before it ended: ``interrupted`` (``engine.jobs.state``), never ``cancelled``. A job id comes
from a URL, so only the ids the manager makes (URL-safe tokens) name a file; any other reads as no record.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from engine.home import atomic_file, optiscope_home
from engine.jobs.state import ENDED, JobState
from engine.runs import ComparisonSpec

logger = logging.getLogger(__name__)

FORMAT = 1
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def jobs_dir() -> Path:
    """``$OPTISCOPE_HOME/jobs`` (read at every call, as the run store's folder)."""
    return optiscope_home() / "jobs"


@dataclass(frozen=True)
class JobRecord:
    """A job as its record keeps it: ``state`` is None until it ends."""

    job_id: str
    comparison: ComparisonSpec
    submitted_at: float
    state: JobState | None = None
    error: str | None = None
    ended_at: float | None = None


def write(record: JobRecord) -> None:
    """Write ``record`` atomically (a temporary file beside it, then ``os.replace``): a crash mid-write leaves the
    previous record. Raises ``OSError`` when it cannot be written (a read-only home)."""
    path = _path(record.job_id)
    if path is None:
        raise ValueError(f"jobs: invalid job_id={record.job_id!r}; expected a URL-safe token")
    text = json.dumps({"format": FORMAT, "job_id": record.job_id, "comparison": record.comparison.to_dict(),
                       "submitted_at": record.submitted_at, "state": record.state, "error": record.error,
                       "ended_at": record.ended_at}, sort_keys=True)
    with atomic_file(path) as file:
        file.write(text)


def read(job_id: str) -> JobRecord | None:
    """The record of job ``job_id``; None when there is none, or when it cannot be read (logged: the job then reads
    as its saved runs alone)."""
    path = _path(job_id)
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = data["state"]
        if data["format"] != FORMAT or data["job_id"] != job_id or (state is not None and state not in ENDED):
            raise ValueError(f"format {data['format']!r}, job {data['job_id']!r}, state {state!r}")
        return JobRecord(job_id, ComparisonSpec.from_dict(data["comparison"]), float(data["submitted_at"]), state,
                         data["error"], data["ended_at"])
    except (OSError, UnicodeDecodeError, AttributeError, KeyError, TypeError, ValueError) as error:  # JSON: ValueError
        logger.warning("jobs: skipping the unreadable job record %s (%s)", path, error)
        return None


def _path(job_id: str) -> Path | None:
    return jobs_dir() / f"{job_id}.json" if _JOB_ID.fullmatch(job_id) else None
