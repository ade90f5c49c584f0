"""Runs: what to run, the runner, the results with their store on disk and statistics over seeds, and devices.

``RunSettings`` (shared by ``RunSpec``, ``ComparisonSpec`` and ``SensitivitySpec``) says what to run;
``run_comparison`` hands each run to its task."""

from engine.runs import store
from engine.runs.device import configure_threads, resolve_device, usable_cores
from engine.runs.groups import RunGroup, group_runs, run_labels, seeds_text, setting_key
from engine.runs.landscape import (
    START_AXES,
    Axis,
    Landscape,
    LandscapeSpec,
    LandscapeStopped,
    check_tolerance,
    compute_landscape,
)
from engine.runs.playground_link import (
    CONDITION_RANGE,
    MAX_OPTIMIZERS,
    NOISE_RANGE,
    ROTATION_RANGE,
    STEPS_RANGE,
    link_number,
    link_text,
    playground_comparison,
    playground_query,
)
from engine.runs.result import RunResult
from engine.runs.runner import Progress, Telemetry, run, run_comparison
from engine.runs.sensitivity import (
    Param,
    SensitivitySpec,
    common_params,
    format_sensitivity,
    run_metrics,
    sensitivity_table,
)
from engine.runs.spec import ComparisonSpec, OptimizerChoice, RunSettings, RunSpec
from engine.runs.stats import MeanCI, Welch, mean_ci, welch
from engine.runs.summary import comparison_table, format_comparison
from engine.runs.text_table import text_table

__all__ = [
    "CONDITION_RANGE",
    "MAX_OPTIMIZERS",
    "NOISE_RANGE",
    "ROTATION_RANGE",
    "START_AXES",
    "STEPS_RANGE",
    "Axis",
    "ComparisonSpec",
    "Landscape",
    "LandscapeSpec",
    "LandscapeStopped",
    "MeanCI",
    "OptimizerChoice",
    "Param",
    "Progress",
    "RunGroup",
    "RunResult",
    "RunSettings",
    "RunSpec",
    "SensitivitySpec",
    "Telemetry",
    "Welch",
    "check_tolerance",
    "common_params",
    "comparison_table",
    "compute_landscape",
    "configure_threads",
    "format_comparison",
    "format_sensitivity",
    "group_runs",
    "link_number",
    "link_text",
    "mean_ci",
    "playground_comparison",
    "playground_query",
    "resolve_device",
    "run",
    "run_comparison",
    "run_labels",
    "run_metrics",
    "seeds_text",
    "sensitivity_table",
    "setting_key",
    "store",
    "text_table",
    "usable_cores",
    "welch",
]
