"""A study's trial budget as Optuna's queue: one empty WAITING trial per unit of budget not yet spent.

``top_up`` enqueues until used + pending equals the budget, so a restart tops up what a dead worker lost and nothing
more; a worker runs only trials it pops from that queue, which the storage hands to exactly one worker. Every trial
counts as used once COMPLETE or PRUNED.
"""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

USED = (TrialState.COMPLETE, TrialState.PRUNED)
"""Trial states that spend budget."""
PENDING = (TrialState.RUNNING, TrialState.WAITING)
"""Trial states that hold budget until they end."""


def top_up(study: optuna.Study, trials: int) -> None:
    """Enqueue empty trials until used + pending equals the budget ``trials``."""
    counted = sum(t.state in USED + PENDING for t in study.get_trials(deepcopy=False))
    for _ in range(trials - counted):
        enqueue(study)


def enqueue(study: optuna.Study) -> None:
    """One unit of budget: an empty WAITING trial, marked so that a worker knows it came from the queue."""
    study.enqueue_trial({}, user_attrs={"queued": True})
