"""engine.figures.exports: the downloads hold exactly the numbers behind the figures: the Filter Lab's and Stability's,
and the runs' (every logged step and every epoch as CSV; the spec, the device used and the summary as JSON)."""

import csv
import io
import json
import math
import pickle

import numpy as np
import plotly.graph_objects as go
import pytest

from engine.figures.exports import (
    columns_csv,
    config_json,
    error_trajectory_csv,
    frequency_csv,
    heatmap_csv,
    summary_json,
    telemetry_csv,
    time_response_csv,
)
from engine.figures.theory import stability_map_beta_figure
from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, run_comparison
from engine.tasks import MNIST1D
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


def test_heatmap_csv_reads_a_figure_that_went_through_a_pickle() -> None:
    """``st.cache_data`` pickles a page's figures; the copy holds its arrays in Plotly's typed-array form."""
    fig = stability_map_beta_figure(0.5528, n=5)
    copy = pickle.loads(pickle.dumps(fig))
    assert isinstance(next(t for t in copy.data if t.type == "heatmap").z, dict)  # the form this test is about
    assert heatmap_csv(copy, "kappa", "beta", "rho") == heatmap_csv(fig, "kappa", "beta", "rho")


def test_error_trajectory_csv_puts_the_prediction_beside_the_run() -> None:
    rows = read(error_trajectory_csv([2.0, -1.0, 0.5], rate=0.5))
    assert [float(r["abs_error"]) for r in rows] == [2.0, 1.0, 0.5]
    assert [float(r["predicted_abs_error"]) for r in rows] == [2.0, 1.0, 0.5]


def test_config_json_names_the_page_and_writes_nan_as_null() -> None:
    data = json.loads(config_json("stability", {"beta": 0.9, "run": "playground", "odd": math.nan}))
    assert data == {"page": "stability", "config": {"beta": 0.9, "run": "playground", "odd": None}}


# --- runs (Train and the Playground) ------------------------------------------------------------------------------


def mnist_run(seed: int = 0, device: str | None = "cpu") -> RunResult:
    """A 40-epoch MNIST-1D run cut short after two epochs: two logged steps, two epoch rows."""
    (spec,) = ComparisonSpec(MNIST1D, (OptimizerChoice.parse("adam:lr=0.0047"),), epochs=40, batch_size=128,
                             seeds=(seed,)).runs()
    records = [{"step": 1.0, "epoch": 1 / 29, "loss": 2.3, "effective_lr": 0.01},
               {"step": 10.0, "epoch": 10 / 29, "loss": 2.0, "effective_lr": 0.02}]
    epochs = [{"epoch": float(e), "train_loss": 2.0 / e, "val_loss": 2.1 / e, "test_loss": 2.2 / e,
               "train_accuracy": 0.3 * e, "val_accuracy": 0.28 * e, "test_accuracy": 0.25 * e} for e in (1, 2)]
    return RunResult(spec, "cancelled", records, epochs, {"steps_done": 58.0, "final_test_accuracy": math.nan},
                     device=device)


def test_telemetry_csv_holds_every_step_and_every_epoch_row() -> None:
    runs = [mnist_run(0), mnist_run(1)]
    rows = read(telemetry_csv(runs))
    assert list(rows[0])[:4] == ["run", "optimizer", "seed", "kind"]
    assert {"val_loss", "test_loss", "test_accuracy", "train_accuracy", "effective_lr"} <= rows[0].keys()
    kinds = ["step", "step", "epoch", "epoch"]
    assert [(row["seed"], row["kind"]) for row in rows] == [(seed, kind) for seed in "01" for kind in kinds]
    epoch = rows[3]
    assert (float(epoch["epoch"]), float(epoch["val_loss"]), float(epoch["test_accuracy"])) == (2.0, 1.05, 0.5)
    assert epoch["effective_lr"] == "" and rows[0]["val_loss"] == ""
    assert {row["run"] for row in rows} == {"Adam (lr=0.0047)", "Adam (lr=0.0047) · seed 1"}
    described = read(telemetry_csv(runs, describe=True))
    assert described[0]["run"] == "Adam (lr=0.0047) · 40 epochs · seed 0"


def test_telemetry_csv_of_runs_without_epochs_has_no_kind_column() -> None:
    (spec,) = ComparisonSpec("rosenbrock", (OptimizerChoice.parse("sgd"),), steps=2).runs()
    text = telemetry_csv([RunResult(spec, "finished", [{"step": 1.0, "loss": 4.0}], [], {})])
    assert text == "run,optimizer,seed,step,loss\nSGD,sgd,0,1.0,4.0\n"


def test_summary_json_records_the_epochs_and_the_device_used_never_a_step_count_that_does_not_apply() -> None:
    data = json.loads(summary_json([mnist_run(device="cuda:0"), mnist_run(1, device=None)]))
    first, unknown = data["runs"]
    assert first["spec"]["epochs"] == 40 and "steps" not in first["spec"]
    assert first["device"] == first["spec"]["device"] == "cuda:0"
    assert first["summary"] == {"steps_done": 58.0, "final_test_accuracy": None}
    assert unknown["device"] is None and "device" not in unknown["spec"], "never 'auto'"
    (spec,) = ComparisonSpec("rosenbrock", (OptimizerChoice.parse("sgd"),), steps=7).runs()
    (surface,) = json.loads(summary_json([RunResult(spec, "finished", [], [], {}, device="cpu")]))["runs"]
    assert surface["spec"]["steps"] == 7 and "epochs" not in surface["spec"]


def test_the_runner_records_the_device_it_resolved(home_with_mnist1d: object) -> None:
    spec = ComparisonSpec(MNIST1D, (OptimizerChoice.parse("sgd"),), epochs=1, batch_size=900, log_every=1,
                          task_args={"width": 8})
    (result,) = run_comparison(spec)
    assert spec.device == "auto" and result.device == "cpu"  # no GPU on the test machine
    assert RunResult.from_dict(result.to_dict()).device == "cpu"
