"""Dead workers: each running trial records its worker (host and pid) and a heartbeat; a trial whose worker is gone
is failed and its budget queued again, so a worker killed mid-trial loses that trial only.

A trial counts as dead when its process is gone (same host) or its heartbeat is older than ``STALE_AFTER`` seconds
(any host); a running trial beats at every epoch and at least every ``BEAT_EVERY`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, Trial, TrialState

from engine.sweeps.budget import enqueue

STALE_AFTER = 300.0  # seconds without a heartbeat after which another host's running trial counts as dead
BEAT_EVERY = 30.0  # a running trial's heartbeat: at every epoch, and at least this often (seconds)


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(trial: Trial) -> None:
    """The trial's worker is alive now."""
    trial.set_user_attr("heartbeat", time.time())


def fail_stale(study: optuna.Study) -> int:
    """Mark the RUNNING trials of dead workers FAIL and enqueue a replacement for each; returns how many."""
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not is_stale(trial):
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (RuntimeError, ValueError):  # another worker got there first
            continue
        enqueue(study)
        failed += 1
    return failed


def is_stale(trial: FrozenTrial) -> bool:
    """A running trial whose worker process is gone (this host) or silent for ``STALE_AFTER`` seconds."""
    worker = trial.user_attrs.get("worker", "")
    host, _, pid = worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
        return True
    last = trial.user_attrs.get("heartbeat")
    if last is None:
        last = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
    return time.time() - last > STALE_AFTER


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    return True
