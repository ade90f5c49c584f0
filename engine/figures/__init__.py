"""Figures: pure functions from telemetry, studies and theory to Plotly figures, and the exports behind them.

One colour per optimizer (``colours``), one shared look (``style``); each page's figures come with ``*_CAPTIONS``, the
sentences shown beside them. Runs over several seeds are drawn per seed (``runs``) or as each optimizer's mean with a
95% band (``bands``)."""

from engine.figures.bands import (
    BAND_CAPTION,
    band_epoch_figure,
    band_internals_figure,
    band_layers_figure,
    band_series_figure,
    two_seed_note,
)
from engine.figures.colours import HIGHLIGHT, NEUTRAL, optimizer_colour
from engine.figures.exports import (
    config_json,
    error_trajectory_csv,
    frequency_csv,
    heatmap_csv,
    summary_json,
    telemetry_csv,
    time_response_csv,
)
from engine.figures.landscape import CAPTIONS as LANDSCAPE_CAPTIONS
from engine.figures.landscape import METRICS as LANDSCAPE_METRICS
from engine.figures.landscape import landscape_figure, landscape_theory_caption
from engine.figures.runs import CAPTIONS as RUN_CAPTIONS
from engine.figures.runs import (
    NO_INTERNALS,
    STABILITY_MARGIN,
    column,
    epoch_figure,
    internals_figure,
    layers_figure,
    run_label,
    series_figure,
)
from engine.figures.sensitivity import CAPTIONS as SENSITIVITY_CAPTIONS
from engine.figures.sensitivity import sensitivity_figure
from engine.figures.style import TEMPLATE, finish
from engine.figures.sweeps import CAPTIONS as SWEEP_CAPTIONS
from engine.figures.sweeps import (
    best_so_far_figure,
    claims_figure,
    importance_figure,
    parallel_figure,
    sweep_json,
    trials_csv,
    verdicts_figure,
)
from engine.figures.theory import CAPTIONS as THEORY_CAPTIONS
from engine.figures.theory import (
    FILTER_PRESETS,
    design_plane_figure,
    error_trajectory_figure,
    frequency_figure,
    margin_figure,
    stability_map_beta_figure,
    stability_map_gamma_figure,
    time_response_figure,
    zplane_figure,
)
from engine.figures.trajectory import trajectory_figure

__all__ = [
    "BAND_CAPTION",
    "FILTER_PRESETS",
    "HIGHLIGHT",
    "LANDSCAPE_CAPTIONS",
    "LANDSCAPE_METRICS",
    "NEUTRAL",
    "NO_INTERNALS",
    "RUN_CAPTIONS",
    "SENSITIVITY_CAPTIONS",
    "STABILITY_MARGIN",
    "SWEEP_CAPTIONS",
    "TEMPLATE",
    "THEORY_CAPTIONS",
    "band_epoch_figure",
    "band_internals_figure",
    "band_layers_figure",
    "band_series_figure",
    "best_so_far_figure",
    "claims_figure",
    "column",
    "config_json",
    "design_plane_figure",
    "epoch_figure",
    "error_trajectory_csv",
    "error_trajectory_figure",
    "finish",
    "frequency_csv",
    "frequency_figure",
    "heatmap_csv",
    "importance_figure",
    "internals_figure",
    "landscape_figure",
    "landscape_theory_caption",
    "layers_figure",
    "margin_figure",
    "optimizer_colour",
    "parallel_figure",
    "run_label",
    "sensitivity_figure",
    "series_figure",
    "stability_map_beta_figure",
    "stability_map_gamma_figure",
    "summary_json",
    "sweep_json",
    "telemetry_csv",
    "time_response_csv",
    "time_response_figure",
    "trajectory_figure",
    "trials_csv",
    "two_seed_note",
    "verdicts_figure",
    "zplane_figure",
]
