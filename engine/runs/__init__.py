"""Runs: what to run, the runner, the results with their store on disk and statistics over seeds, and devices.

``RunSettings`` (shared by ``RunSpec`` and ``ComparisonSpec``) says what to run; ``run_comparison`` hands each run to
its task."""

from engine.runs import store
from engine.runs.device import configure_threads, resolve_device, usable_cores
from engine.runs.playground_link import link_text, playground_comparison
from engine.runs.result import RunResult
from engine.runs.runner import Progress, Telemetry, run, run_comparison
from engine.runs.spec import ComparisonSpec, OptimizerChoice, RunSettings, RunSpec
from engine.runs.stats import MeanCI, Welch, mean_ci, welch
from engine.runs.summary import comparison_table, format_comparison
from engine.runs.text_table import text_table

__all__ = [
    "ComparisonSpec",
    "MeanCI",
    "OptimizerChoice",
    "Progress",
    "RunResult",
    "RunSettings",
    "RunSpec",
    "Telemetry",
    "Welch",
    "comparison_table",
    "configure_threads",
    "format_comparison",
    "link_text",
    "mean_ci",
    "playground_comparison",
    "resolve_device",
    "run",
    "run_comparison",
    "store",
    "text_table",
    "usable_cores",
    "welch",
]
