"""What the Filter Lab and Stability pages hand out: the data behind their figures as CSV, their configuration as JSON.

Pure functions from ``engine.theory`` results, simulated errors, figures and plain values to text (no Streamlit), so
a page only passes the text to a download button and the tests read the same text. Numbers are written with
``repr`` precision; NaN and infinities as ``nan`` / ``inf`` in CSV (spreadsheets and pandas read them) and as
``null`` in JSON (which has no such numbers). The Playground's and Train's telemetry downloads are
``engine.figures.runs.telemetry_csv`` and ``summary_json``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from engine.theory import LowpassResponse


def columns_csv(columns: Mapping[str, ArrayLike]) -> str:
    """Equal-length 1-D ``columns`` (header -> values) as CSV, one row per index."""
    arrays = {name: np.asarray(values, dtype=np.float64).reshape(-1) for name, values in columns.items()}
    lengths = {name: array.size for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"columns_csv: columns of different lengths {lengths}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(arrays)
    writer.writerows(zip(*(array.tolist() for array in arrays.values()), strict=True))
    return buffer.getvalue()


def frequency_csv(response: LowpassResponse) -> str:
    """The frequency response behind the Filter Lab's magnitude and phase plot: omega / pi (0 = DC, 1 = Nyquist),
    magnitude in dB and unwrapped phase in radians."""
    return columns_csv({"omega_over_pi": response.omega / math.pi, "magnitude_db": response.magnitude_db,
                        "phase_rad": response.phase})


def time_response_csv(response: LowpassResponse) -> str:
    """The impulse and step responses behind the Filter Lab's time plot, the step also with both debiases."""
    return columns_csv({"t": response.t, "impulse": response.impulse, "step": response.step,
                        "step_seed_debiased": response.step_seed_debiased,
                        "step_exact_debiased": response.step_exact_debiased})


def heatmap_csv(figure: go.Figure, x: str, y: str, z: str) -> str:
    """The grid of ``figure``'s heatmap (e.g. a stability map) in long form: one row (x, y, z) per cell, named ``x``,
    ``y`` and ``z`` in the header."""
    heatmap = next((trace for trace in figure.data if trace.type == "heatmap"), None)
    if heatmap is None:
        raise ValueError("heatmap_csv: the figure has no heatmap")
    xs, ys = np.asarray(heatmap.x, dtype=np.float64), np.asarray(heatmap.y, dtype=np.float64)
    grid_x, grid_y = np.meshgrid(xs, ys)
    return columns_csv({x: grid_x, y: grid_y, z: np.asarray(heatmap.z, dtype=np.float64)})


def error_trajectory_csv(errors: ArrayLike, rate: float) -> str:
    """One simulated run's distance to the minimum |e_t| per step, beside the theory's prediction |e_0| rho^t."""
    values = np.abs(np.asarray(errors, dtype=np.float64).reshape(-1))
    t = np.arange(values.size)
    with np.errstate(over="ignore", invalid="ignore"):
        predicted = values[0] * float(rate) ** t.astype(np.float64)
    return columns_csv({"t": t, "abs_error": values, "predicted_abs_error": predicted})


def config_json(page: str, values: Mapping[str, object]) -> str:
    """A page's configuration (its URL parameters, e.g. ``UrlState.values``) as JSON: ``{"page", "config"}``."""

    def clean(value: object) -> object:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    return json.dumps({"page": page, "config": {name: clean(value) for name, value in values.items()}}, indent=2,
                      sort_keys=True)
