"""What the pages hand out: the data behind their figures as CSV, their configuration and runs as JSON.

Pure functions from runs (``engine.runs.RunResult``), ``engine.theory`` results, simulated errors, figures and plain
values to text (no Streamlit), so a page only passes the text to a download button and the tests read the same text.
Numbers are written with ``repr`` precision; NaN and infinities as ``nan`` / ``inf`` in CSV (spreadsheets and pandas
read them) and as ``null`` in JSON (which has no such numbers). The Playground's and Train's downloads are
``telemetry_csv`` (every logged step and every epoch of each run) and ``summary_json`` (each run's spec, the device it
ran on, its status and summary).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from engine.runs import RunResult, run_labels
from engine.theory import LowpassResponse

STEP, EPOCH = "step", "epoch"
"""The ``kind`` of a row of ``telemetry_csv``: a logged step's record, or the row written at the end of an epoch."""


def telemetry_csv(results: Sequence[RunResult], keys: Sequence[str] | None = None, *, describe: bool = False) -> str:
    """Every logged step of every run as CSV and, where runs have per-epoch rows (MNIST-1D), every epoch too.

    Columns: ``run`` (its label, ``engine.runs.run_labels``; ``describe`` names each run's length and seed, as runs
    of several comparisons need), ``optimizer`` (the parse form) and ``seed``; with per-epoch rows then ``kind``
    (``step``: a logged step's record, ``epoch``: the row at the end of an epoch); then ``keys`` (default: the
    records' keys, then the epoch rows' keys, each in first-seen order), empty where a row lacks one. In a ``step``
    row ``epoch`` is the fraction of epochs done (step / steps per epoch); in an ``epoch`` row it is the epoch number
    and ``train_loss``, ``val_loss``, ``test_loss``, ``train_accuracy``, ``val_accuracy`` and ``test_accuracy`` are
    measured on the whole split after it. A run's step rows come first, then its epoch rows.
    """
    epochs = any(result.epochs for result in results)
    if keys is None:
        keys = list(dict.fromkeys(key for result in results for rows in (result.records, result.epochs)
                                  for row in rows for key in row))
    head = ["run", "optimizer", "seed", *(["kind"] if epochs else [])]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*head, *keys], lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for result, label in zip(results, run_labels(results, describe=describe), strict=True):
        run = {"run": label, "optimizer": str(result.spec.optimizer), "seed": result.spec.seed}
        for kind, rows in ((STEP, result.records), (EPOCH, result.epochs)):
            for row in rows:
                writer.writerow({**row, **run, **({"kind": kind} if epochs else {})})
    return buffer.getvalue()


def summary_json(results: Sequence[RunResult]) -> str:
    """Each run's spec, the device it ran on, its status (with where and why it diverged) and summary, as JSON.

    ``{"runs": [{"spec", "device", "status", "diverged_at", "reason", "summary"}]}``. The spec's length is the one its
    task counts in (``epochs`` for MNIST-1D, ``steps`` on a surface; the other field, which the run ignored, is left
    out) and its ``device`` is the one the run used (``cpu``, ``cuda:0``), not the ``auto`` it may have asked for;
    for a run that did not record its device (saved before devices were recorded) ``device`` is null and the spec has
    none. The summary's ``steps_done`` counts the optimizer steps actually taken.
    """
    runs = []
    for result in results:
        spec = result.spec.to_dict()
        del spec["steps" if result.spec.task_info.length == "epochs" else "epochs"]
        if result.device is None:
            del spec["device"]
        else:
            spec["device"] = result.device
        runs.append({"spec": spec, "device": result.device, "status": result.status,
                     "diverged_at": result.diverged_at, "reason": result.reason,
                     "summary": {key: _finite_or_none(value) for key, value in result.summary.items()}})
    return json.dumps({"runs": runs}, indent=2, sort_keys=True)


def _finite_or_none(value: object) -> object:
    """``value``, or None for a float NaN or infinity (JSON has neither)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


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
    grid_x, grid_y = np.meshgrid(trace_values(heatmap.x), trace_values(heatmap.y))
    return columns_csv({x: grid_x, y: grid_y, z: trace_values(heatmap.z)})


def trace_values(values: object) -> np.ndarray:
    """A trace's array as float64, whether held as numbers or in Plotly's typed-array form ``{"dtype": "f8", "bdata":
    base64, "shape": "200, 200"}``, the form a figure takes through ``to_dict`` and so through a pickle (a figure
    from ``st.cache_data`` holds its arrays so)."""
    if isinstance(values, Mapping) and "bdata" in values:
        array = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        shape = values.get("shape")
        return (array if shape is None else array.reshape([int(n) for n in str(shape).split(",")])).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


def error_trajectory_csv(errors: ArrayLike, rate: float) -> str:
    """One simulated run's distance to the minimum |e_t| per step, beside the theory's prediction |e_0| rho^t."""
    values = np.abs(np.asarray(errors, dtype=np.float64).reshape(-1))
    t = np.arange(values.size)
    with np.errstate(over="ignore", invalid="ignore"):
        predicted = values[0] * float(rate) ** t.astype(np.float64)
    return columns_csv({"t": t, "abs_error": values, "predicted_abs_error": predicted})


def config_json(page: str, values: Mapping[str, object]) -> str:
    """A page's configuration (its URL parameters, e.g. ``UrlState.values``) as JSON: ``{"page", "config"}``."""

    return json.dumps({"page": page, "config": {name: _finite_or_none(value) for name, value in values.items()}},
                      indent=2, sort_keys=True)
