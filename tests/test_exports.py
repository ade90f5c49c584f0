"""engine.figures.exports: the Filter Lab's and Stability's downloads hold exactly the numbers behind their figures."""

import csv
import io
import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from engine.figures.exports import (
    columns_csv,
    config_json,
    error_trajectory_csv,
    frequency_csv,
    heatmap_csv,
    time_response_csv,
)
from engine.figures.theory import stability_map_beta_figure
from engine.theory import lowpass


def read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_columns_csv_writes_one_row_per_index_and_refuses_ragged_columns() -> None:
    assert columns_csv({"a": [1, 2], "b": [0.5, math.nan]}) == "a,b\n1.0,0.5\n2.0,nan\n"
    with pytest.raises(ValueError, match="different lengths"):
        columns_csv({"a": [1, 2], "b": [1]})


def test_filter_downloads_equal_the_response() -> None:
    response = lowpass(0.9, 0.5528)
    rows = read(frequency_csv(response))
    assert len(rows) == response.omega.size
    np.testing.assert_array_equal([float(r["magnitude_db"]) for r in rows], response.magnitude_db)
    assert float(rows[-1]["omega_over_pi"]) == pytest.approx(1.0)
    rows = read(time_response_csv(response))
    assert list(rows[0]) == ["t", "impulse", "step", "step_seed_debiased", "step_exact_debiased"]
    np.testing.assert_array_equal([float(r["step"]) for r in rows], response.step)


def test_heatmap_csv_is_the_stability_map_in_long_form() -> None:
    fig = stability_map_beta_figure(0.5528, n=4)
    rows = read(heatmap_csv(fig, "kappa", "beta", "spectral_radius"))
    heat = next(t for t in fig.data if t.type == "heatmap")
    assert len(rows) == 16 and list(rows[0]) == ["kappa", "beta", "spectral_radius"]
    assert float(rows[1]["kappa"]) == heat.x[1] and float(rows[1]["beta"]) == heat.y[0]
    assert float(rows[1]["spectral_radius"]) == heat.z[0][1]
    with pytest.raises(ValueError, match="no heatmap"):
        heatmap_csv(go.Figure(fig.data[1]), "x", "y", "z")


def test_error_trajectory_csv_puts_the_prediction_beside_the_run() -> None:
    rows = read(error_trajectory_csv([2.0, -1.0, 0.5], rate=0.5))
    assert [float(r["abs_error"]) for r in rows] == [2.0, 1.0, 0.5]
    assert [float(r["predicted_abs_error"]) for r in rows] == [2.0, 1.0, 0.5]


def test_config_json_names_the_page_and_writes_nan_as_null() -> None:
    data = json.loads(config_json("stability", {"beta": 0.9, "run": "playground", "odd": math.nan}))
    assert data == {"page": "stability", "config": {"beta": 0.9, "run": "playground", "odd": None}}
