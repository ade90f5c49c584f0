"""Sweeps: fair Optuna studies over search spaces from the registry, and the seed claims tuned and judged over seeds.

``studies`` and ``claims`` are the two halves, on ``storage``, ``budget`` (a study's trial queue) and ``heartbeat``
(dead workers); ``background`` runs either as a named job for the Sweeps page; ``grid`` shares a sensitivity grid's
points among workers on many machines."""

from engine.sweeps import background, claims, grid, studies
from engine.sweeps.claims import QUICK, Claim, Reproduction, get_claim, load_claims, load_result, reproduce
from engine.sweeps.search_space import (
    Choices,
    Range,
    SearchSpace,
    check_space,
    default_space,
    format_space,
    parse_space,
)
from engine.sweeps.storage import default_storage, open_storage
from engine.sweeps.studies import Mode, ModeProgress, SweepSpec, run_sweep

__all__ = [
    "QUICK",
    "Choices",
    "Claim",
    "Mode",
    "ModeProgress",
    "Range",
    "Reproduction",
    "SearchSpace",
    "SweepSpec",
    "background",
    "check_space",
    "claims",
    "default_space",
    "default_storage",
    "format_space",
    "get_claim",
    "grid",
    "load_claims",
    "load_result",
    "open_storage",
    "parse_space",
    "reproduce",
    "run_sweep",
    "studies",
]
