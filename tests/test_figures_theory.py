"""engine.figures.theory and engine.figures.colours: the Filter Lab and Stability figures carry the theory's numbers."""

# ruff: noqa: RUF001  (trace names and axis titles use the spec's Greek symbols)

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from engine.figures import theory as ft
from engine.figures.colours import HIGHLIGHT, NEUTRAL, PALETTE, PRESET_COLOURS, SERIES, optimizer_colour, preset_colour
from engine.theory import deadbeat, fastest_kappa, kappa_max, lowpass, spectral_radius, unit_dc_gain
from engine.theory.simulation import simulate_quadratic
from optimizers.registry import REGISTRY

DEFAULT_09 = 1 - math.sqrt(0.2)


def trace(fig: go.Figure, name: str) -> go.BaseTraceType:
    """The one trace called ``name`` (or whose name starts with it)."""
    found = [t for t in fig.data if t.name == name] or [t for t in fig.data if (t.name or "").startswith(name)]
    assert len(found) == 1, f"{name!r} in {[t.name for t in fig.data]}"
    return found[0]


def heatmap(fig: go.Figure) -> go.Heatmap:
    (found,) = [t for t in fig.data if isinstance(t, go.Heatmap)]
    return found


def assert_exports(fig: go.Figure, tmp_path: Path, name: str) -> None:
    """Serialises to JSON and writes a non-empty standalone HTML file; has a title and a shared template."""
    assert fig.to_json()
    path = tmp_path / f"{name}.html"
    fig.write_html(path, include_plotlyjs=False, full_html=True)
    assert path.stat().st_size > 0
    assert fig.layout.title.text
    assert fig.layout.template.layout.paper_bgcolor is not None  # the template was applied (not the empty default)
    for t in fig.data:
        assert t.type == "heatmap" or (len(t.x) > 0 and len(t.y) > 0), t.name


# --- colours --------------------------------------------------------------------------------------------------------


def test_every_registered_optimizer_has_its_own_stable_colour() -> None:
    colours = [optimizer_colour(key) for key in REGISTRY]
    assert len(set(colours)) == len(REGISTRY) <= len(PALETTE)
    assert colours == [optimizer_colour(key) for key in REGISTRY]  # stable across calls
    assert colours == list(PALETTE[: len(REGISTRY)])  # assigned in registry order
    assert NEUTRAL not in colours and HIGHLIGHT not in colours
    assert not set(SERIES) & set(PALETTE)  # non-optimizer series never borrow an optimizer's colour
    assert optimizer_colour("no-such-optimizer") == NEUTRAL


def test_presets_wear_their_optimizers_colours() -> None:
    assert preset_colour("Nesterov") == optimizer_colour("nesterov")
    assert preset_colour("AutoSGM default") == optimizer_colour("autosgm")
    assert preset_colour("unknown preset") == NEUTRAL
    assert {p.name for p in ft.FILTER_PRESETS} <= set(PRESET_COLOURS)


# --- Filter Lab -----------------------------------------------------------------------------------------------------


def test_filter_presets_follow_the_spec_table() -> None:
    presets = {p.name: p for p in ft.FILTER_PRESETS}
    assert presets["SGD"][1:] == (0.0, 0.0, 1.0)
    assert presets["Nesterov"].gamma == pytest.approx(0.9 / 1.9) and presets["Nesterov"].eta == pytest.approx(1.9)
    assert presets["Adam EMA"].eta == pytest.approx(0.1)
    assert presets["AutoSGM default"].gamma == pytest.approx(0.5528, abs=1e-4)
    assert presets["AutoSGM default"].eta == pytest.approx(float(unit_dc_gain(0.9, DEFAULT_09)))
    assert dict(ft.zero_presets(0.9))["AutoSGM default"] == pytest.approx(DEFAULT_09)


def test_zplane_places_pole_and_zero_on_an_equal_aspect_plane(tmp_path: Path) -> None:
    response = lowpass(0.9, DEFAULT_09)
    fig = ft.zplane_figure(response)
    pole, zero = trace(fig, "pole"), trace(fig, "zero")
    np.testing.assert_array_equal(pole.x, response.poles)
    np.testing.assert_array_equal(zero.x, response.zeros)
    assert list(pole.y) == [0.0] and list(zero.y) == [0.0]
    assert pole.marker.symbol.startswith("x") and zero.marker.symbol.startswith("circle")
    circle = trace(fig, "unit circle")
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), 1.0)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert_exports(fig, tmp_path, "zplane")


def test_frequency_figure_shows_the_theorys_magnitude_and_phase(tmp_path: Path) -> None:
    response = lowpass(0.9, 0.0)
    fig = ft.frequency_figure(response)
    magnitude, phase = trace(fig, "magnitude"), trace(fig, "phase")
    np.testing.assert_array_equal(magnitude.y, response.magnitude_db)
    np.testing.assert_array_equal(phase.y, response.phase)
    np.testing.assert_allclose(magnitude.x, response.omega / np.pi)
    assert magnitude.yaxis == "y" and phase.yaxis == "y2"
    assert fig.layout.xaxis.matches == "x2" or fig.layout.xaxis2.matches == "x"  # shared x
    assert "dB" in fig.layout.yaxis.title.text and "rad" in fig.layout.yaxis2.title.text
    assert "ω/π" in fig.layout.xaxis2.title.text
    cutoff = trace(fig, "-3 dB")
    assert cutoff.x[0] == pytest.approx(response.cutoff / np.pi)
    assert cutoff.y[0] == pytest.approx(-3.0103, abs=1e-3)
    assert_exports(fig, tmp_path, "frequency")


def test_time_response_figure_shows_impulse_step_and_both_debiases(tmp_path: Path) -> None:
    response = lowpass(0.9, DEFAULT_09, n_steps=20)
    fig = ft.time_response_figure(response)
    for name, values in (("impulse", response.impulse), ("step response", response.step),
                         ("step, seed", response.step_seed_debiased), ("step, exact", response.step_exact_debiased)):
        shown = trace(fig, name)
        np.testing.assert_array_equal(shown.y, values)
        np.testing.assert_array_equal(shown.x, response.t)
        assert shown.mode == "lines+markers"
    assert trace(fig, "step, seed").y[0] == pytest.approx(2.236, abs=1e-3)  # spec §4: the seed's debias overshoots
    assert fig.layout.xaxis.title.text == "step t" and fig.layout.yaxis.title.text
    assert_exports(fig, tmp_path, "time_response")


def test_design_plane_marks_region_bound_presets_and_user(tmp_path: Path) -> None:
    fig = ft.design_plane_figure(0.8, 0.3)
    region = trace(fig, "lowpass region")
    assert region.fill == "toself"
    bound = trace(fig, "admissible bound")
    np.testing.assert_allclose(bound.y, -(1 - np.asarray(bound.x)) / (1 + np.asarray(bound.x)))
    for preset in ft.FILTER_PRESETS:
        point = trace(fig, preset.name)
        assert (point.x[0], point.y[0]) == (preset.beta, preset.gamma)
        assert point.marker.color == preset_colour(preset.name)
    user = trace(fig, "your filter")
    assert (user.x[0], user.y[0]) == (0.8, 0.3) and user.marker.color == HIGHLIGHT
    assert fig.layout.xaxis.title.text == "pole β" and fig.layout.yaxis.title.text == "zero γ"
    assert_exports(fig, tmp_path, "design_plane")


# --- Stability ------------------------------------------------------------------------------------------------------


def test_beta_map_is_the_spectral_radius_with_the_jury_bound(tmp_path: Path) -> None:
    gamma = 0.3
    fig = ft.stability_map_beta_figure(gamma, alpha_h=5.0, beta=0.9, n=60)
    hm = heatmap(fig)
    kappas, betas, z = np.asarray(hm.x), np.asarray(hm.y), np.asarray(hm.z)
    assert z.shape == (60, 60) and kappas.min() > 0 and betas[-1] == pytest.approx(0.999)
    for i, j in ((0, 0), (10, 45), (59, 59), (30, 7)):
        assert z[i, j] == pytest.approx(float(spectral_radius(kappas[j], betas[i], gamma)))
    assert (hm.zmin, hm.zmax) == (0.0, 2.0)  # radius 1 sits mid-scale: the unstable colour takes over there
    assert hm.colorscale[-1][1] == ft.UNSTABLE
    boundary = trace(fig, "κ_max")
    np.testing.assert_allclose(boundary.x, kappa_max(betas, gamma))
    np.testing.assert_allclose(boundary.y, betas)
    fastest = trace(fig, "fastest κ")
    curve_x, curve_y = np.asarray(fastest.x, dtype=float), np.asarray(fastest.y, dtype=float)
    gap = np.isnan(curve_x)
    np.testing.assert_allclose(curve_x[~gap], fastest_kappa(betas, gamma)[0])
    # One break, where the formula changes at beta = gamma (the filter stops being lowpass): no bridging segment.
    (at,) = np.flatnonzero(gap)
    assert curve_y[at - 1] < gamma < curve_y[at + 1]
    user = trace(fig, "your configuration")
    assert user.x[0] == pytest.approx(5.0 * float(unit_dc_gain(0.9, gamma))) and user.y[0] == 0.9
    beta_d = gamma / (1 - gamma)
    point = trace(fig, "deadbeat")
    assert (point.x[0], point.y[0]) == pytest.approx((1 + beta_d, beta_d))
    assert float(spectral_radius(point.x[0], point.y[0], gamma)) == pytest.approx(0.0, abs=1e-6)
    assert "κ" in fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "pole β"
    assert_exports(fig, tmp_path, "stability_beta")


def test_beta_map_marks_presets_on_their_slice() -> None:
    fig = ft.stability_map_beta_figure(0.0, kappa=2.0, beta=0.5, n=20)
    heavy = trace(fig, "heavy ball")
    assert (heavy.x[0], heavy.y[0]) == pytest.approx((float(fastest_kappa(0.9, 0.0)[0]), 0.9))
    assert trace(fig, "your configuration").x[0] == 2.0
    assert not [t for t in fig.data if t.name == "Nesterov"]  # not on the gamma = 0 slice
    with pytest.raises(ValueError, match="exactly one"):
        ft.stability_map_beta_figure(0.0, beta=0.5)
    with pytest.raises(ValueError, match="needs beta"):
        ft.stability_map_beta_figure(0.0, kappa=1.0)


def test_gamma_map_is_the_spectral_radius_with_presets_and_deadbeat(tmp_path: Path) -> None:
    beta = 0.9
    fig = ft.stability_map_gamma_figure(beta, gamma=DEFAULT_09, kappa=2.0, n=50)
    hm = heatmap(fig)
    gammas, kappas, z = np.asarray(hm.x), np.asarray(hm.y), np.asarray(hm.z)
    for i, j in ((0, 0), (25, 40), (49, 49), (3, 20)):
        assert z[i, j] == pytest.approx(float(spectral_radius(kappas[i], beta, gammas[j])))
    np.testing.assert_allclose(trace(fig, "κ_max").y, kappa_max(beta, gammas))
    point = trace(fig, "deadbeat")
    assert (point.x[0], point.y[0]) == pytest.approx((beta / (1 + beta), 1 + beta))
    assert (point.x[0], point.y[0]) == pytest.approx(tuple(float(v) for v in deadbeat(beta))[::-1])
    nesterov = trace(fig, "Nesterov")
    assert nesterov.x[0] == pytest.approx(beta / (1 + beta)) and nesterov.marker.color == preset_colour("Nesterov")
    default = trace(fig, "AutoSGM default")
    assert (default.x[0], default.y[0]) == pytest.approx((DEFAULT_09, 1.5825), abs=1e-4)  # spec §3.2
    user = trace(fig, "your configuration")
    assert (user.x[0], user.y[0]) == (DEFAULT_09, 2.0)
    assert "0.9" in fig.layout.title.text and fig.layout.xaxis.title.text == "zero γ"
    assert_exports(fig, tmp_path, "stability_gamma")


def test_full_size_maps_build_fast() -> None:
    import time

    start = time.perf_counter()
    ft.stability_map_beta_figure(0.5, alpha_h=3.0, beta=0.9)
    ft.stability_map_gamma_figure(0.9, gamma=0.5, kappa=2.0)
    assert time.perf_counter() - start < 5.0  # generous: the shared machine is noisy; typically ~0.05 s


def test_error_trajectory_follows_the_predicted_rate(tmp_path: Path) -> None:
    kappa = np.array([0.95, 1.05]) * float(kappa_max(0.9, 0.9 / 1.9))
    errors = simulate_quadratic(0.9, 0.9 / 1.9, kappa=kappa, steps=80)
    rates = spectral_radius(kappa, 0.9, 0.9 / 1.9)
    fig = ft.error_trajectory_figure(errors, predicted_rate=rates, labels=["0.95 κ_max", "1.05 κ_max"])
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(trace(fig, "0.95").y, np.abs(errors[0]))
    converging, diverging = trace(fig, "predicted ρ^t, ρ = 0.854"), trace(fig, "predicted ρ^t, ρ = 1.14")
    assert "converging" in converging.name and "diverging" in diverging.name
    np.testing.assert_allclose(converging.y, np.abs(errors[0, 0]) * rates[0] ** np.arange(81))
    assert converging.line.dash == "dash"
    assert_exports(fig, tmp_path, "error_trajectory")


def test_error_trajectory_leaves_gaps_for_exact_zeros() -> None:
    errors = np.array([1.0, -0.9, 0.0, 0.0, np.inf])  # a deadbeat run reaching 0, then an overflow
    fig = ft.error_trajectory_figure(errors, predicted_rate=0.0)
    shown = np.asarray(trace(fig, "run").y, dtype=float)
    np.testing.assert_array_equal(shown, [1.0, 0.9, np.nan, np.nan, np.nan])  # a log axis cannot show 0 or inf
    assert fig.to_json()
    with pytest.raises(ValueError, match="labels"):
        ft.error_trajectory_figure(errors, labels=["a", "b"])


def test_margin_figure_reads_against_one(tmp_path: Path) -> None:
    steps, margins = np.arange(1, 51), np.linspace(0.2, 1.4, 50)
    fig = ft.margin_figure(steps, margins, optimizer="autosgm")
    line = trace(fig, "κ_t / κ_max")
    np.testing.assert_array_equal(line.y, margins)
    assert line.line.color == optimizer_colour("autosgm")
    assert any(s.y0 == 1.0 and s.y1 == 1.0 for s in fig.layout.shapes)
    assert fig.layout.yaxis.range[1] >= 1.4 and fig.layout.xaxis.title.text == "step"
    assert_exports(fig, tmp_path, "margin")
    with pytest.raises(ValueError, match="1-D"):
        ft.margin_figure(steps, margins[:-1])


def test_margin_figure_names_the_run_and_shows_negative_curvature() -> None:
    margins = np.array([np.nan, -0.3, 0.1, 0.5])
    fig = ft.margin_figure(np.arange(4), margins, label="AutoSGM (lr=0.5)")
    line = trace(fig, "AutoSGM (lr=0.5)")
    assert math.isnan(line.y[0]) and list(line.y[1:]) == [-0.3, 0.1, 0.5]
    low, high = fig.layout.yaxis.range
    assert low <= -0.3 and high >= 1.2  # the boundary at 1 stays in view
    assert "kappa_t = alpha_t eta_bar h_t" in ft.CAPTIONS["margin"]


def test_every_figure_has_a_caption() -> None:
    figures = {"zplane", "frequency", "time_response", "design_plane", "stability_map_beta", "stability_map_gamma",
               "error_trajectory", "margin"}
    assert set(ft.CAPTIONS) == figures
    for name in figures:
        assert callable(getattr(ft, f"{name}_figure"))
        assert 2 <= ft.CAPTIONS[name].count(". ") + 1 <= 4, name
