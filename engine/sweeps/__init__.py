"""Sweeps: fair Optuna studies over search spaces from the registry, and the seed claims tuned and judged over seeds.

``studies`` and ``claims`` are the two halves, on ``storage``, ``budget`` (a study's trial queue) and ``heartbeat``
(dead workers); ``background`` runs either as a named job for the Sweeps page; ``shipped`` keeps the claims' full
reproductions as data with their provenance; ``grid`` shares a sensitivity grid's points among workers on many
machines."""

from engine.sweeps import background, claims, grid, shipped, studies
from engine.sweeps.claims import (
    QUICK,
    SMOKE_TEST,
    Claim,
    Reproduction,
    ReproductionProgress,
    get_claim,
    load_claims,
    load_result,
    reproduce,
)
from engine.sweeps.search_space import (
    Choices,
    Range,
    SearchSpace,
    check_space,
    default_space,
    format_space,
    parse_space,
)
from engine.sweeps.shipped import Provenance, ShippedResult, shipped_result, verdict_rows
from engine.sweeps.storage import STORAGE_VARIABLE, default_storage, open_storage, redacted
from engine.sweeps.studies import Mode, ModeProgress, SweepSpec, run_sweep

__all__ = [
    "QUICK",
    "SMOKE_TEST",
    "STORAGE_VARIABLE",
    "Choices",
    "Claim",
    "Mode",
    "ModeProgress",
    "Provenance",
    "Range",
    "Reproduction",
    "ReproductionProgress",
    "SearchSpace",
    "ShippedResult",
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
    "redacted",
    "reproduce",
    "run_sweep",
    "shipped",
    "shipped_result",
    "studies",
    "verdict_rows",
]
