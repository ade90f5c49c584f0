"""The Filter Lab and Stability figures: AutoSGM's lowpass filter and closed-loop stability, as plotly Figures.

Pure functions from ``engine.theory`` results (or simulated errors) to ``plotly.graph_objects.Figure``: no browser,
no Streamlit, so the pages, the CLI's HTML export and the tests build exactly the same figures. ``CAPTIONS`` holds
the text a page shows beside each figure; ``FILTER_PRESETS`` the named filters (spec §2.2) the pages offer.
"""

# ruff: noqa: RUF001  (figure text uses the spec's Greek symbols: alpha, beta, gamma, kappa, rho)

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike, NDArray
from plotly.colors import sequential
from plotly.subplots import make_subplots

from engine.figures.colours import HIGHLIGHT, NEUTRAL, SERIES, optimizer_colour, preset_colour
from engine.figures.style import finish
from engine.theory import LowpassResponse, deadbeat, fastest_kappa, kappa_max, spectral_radius, unit_dc_gain

UNSTABLE = "#CC3311"  # Tol's vibrant red: radius >= 1 on the stability maps
_LINE = "#444444"  # reference lines (unit circle, kappa_max boundary)
_FASTEST = "#33BBEE"  # Tol's vibrant cyan: the fastest-kappa curve, visible on the heatmap and in the legend
_MAP_BETA_MAX = 0.999


class FilterPreset(NamedTuple):
    """A named filter H(z) = eta (1 - gamma z^-1) / (1 - beta z^-1) (spec §2.2's table)."""

    name: str
    beta: float
    gamma: float
    eta: float


_DEFAULT_ZERO_09 = 1 - math.sqrt(2 * (1 - 0.9))  # the author's default 1 - sqrt(2 (1 - beta)) = 0.5528 at 0.9

FILTER_PRESETS: tuple[FilterPreset, ...] = (
    FilterPreset("SGD", 0.0, 0.0, 1.0),
    FilterPreset("heavy ball", 0.9, 0.0, 1.0),
    FilterPreset("Nesterov", 0.9, 0.9 / 1.9, 1.9),
    FilterPreset("Adam EMA", 0.9, 0.0, 0.1),
    FilterPreset("AutoSGM default", 0.9, _DEFAULT_ZERO_09, 0.1 / (1 - _DEFAULT_ZERO_09)),
)
"""Spec §2.2 at beta = 0.9: (name, pole beta, zero gamma, overall gain eta)."""


def zero_presets(beta: float) -> tuple[tuple[str, float], ...]:
    """The named zeros for a pole ``beta``: heavy ball 0, Nesterov beta/(1+beta), the author's default
    1 - sqrt(2 (1 - beta)) and the lowest admissible zero -(1 - beta)/(1 + beta) (spec §2.2, §5)."""
    return (
        ("heavy ball", 0.0),
        ("Nesterov", beta / (1 + beta)),
        ("AutoSGM default", 1 - math.sqrt(2 * (1 - beta))),
        ("lowest admissible", -(1 - beta) / (1 + beta)),
    )


CAPTIONS: dict[str, str] = {
    "zplane": "The filter's pole (x) at beta and zero (o) at gamma on the z-plane. The pole inside the unit circle "
    "makes the filter stable; a zero left of the pole (gamma < beta) makes it a lowpass. Moving the zero towards "
    "the pole cancels the smoothing; gamma = 0 puts it at the origin, a plain exponential moving average.",
    "frequency": "How much the filter passes each frequency of the gradient sequence: 0 is the slow trend, 1 "
    "(Nyquist) the step-to-step flip-flop. The DC gain is 1 for the unit-DC filter; the deeper the magnitude at "
    "Nyquist, the more gradient noise is removed. The dotted line marks the half-power (-3 dB) frequency.",
    "time_response": "The filter's output for a single unit gradient (impulse) and for a constant one (step). A zero "
    "gamma != 0 makes the first impulse sample jump; the seed's debias 1/(1 - beta^t) is exact only for gamma = 0 "
    "and overshoots early otherwise, while the exact debias holds the step at 1 from the first step.",
    "design_plane": "Every filter as a point (pole beta, zero gamma). Below the diagonal gamma < beta the filter "
    "is a lowpass; the dashed curve is the lowest admissible zero -(1 - beta)/(1 + beta). The named presets show "
    "where heavy ball, Nesterov, Adam's EMA and AutoSGM's default sit; the star is your filter.",
    "stability_map_beta": "The closed loop's per-step contraction (spectral radius) on a quadratic, for each loop "
    "gain kappa = alpha eta_bar h and pole beta at a fixed zero gamma. Red is unstable (radius >= 1); the dark line "
    "is the analytic bound kappa_max, the cyan curve the fastest kappa for each beta. Darker is faster.",
    "stability_map_gamma": "The same spectral radius over the zero gamma and the loop gain kappa at a fixed pole "
    "beta. Red is unstable; the dark line is kappa_max(beta, gamma). The named zeros sit at their fastest kappa, "
    "and the deadbeat design (Nesterov's zero at kappa = 1 + beta) reaches radius 0: convergence in two steps.",
    "error_trajectory": "The distance to the minimum |e_t| at each step of a real AutoSGM run on a quadratic, on a "
    "log scale. The dashed line is the theory's prediction |e_0| rho^t: a straight descent when the spectral "
    "radius rho < 1, a climb when rho > 1. The run's slope should match it once the transient has passed.",
    "margin": "The live stability margin of a real AutoSGM run, kappa_t / kappa_max(beta, gamma) with the loop gain "
    "kappa_t = alpha_t eta_bar h_t (the step's rate, the filter's gain, the secant curvature along the path). "
    "Between 0 and the dashed line at 1 the linearised dynamics contract; above 1 (shaded) they grow, and below 0 "
    "the surface curves down. Normalised (Adam-like) steps drift up as gradients shrink, unless the window anneals.",
}


def _point(x: float, y: float, name: str, colour: str, symbol: str, hover: str, size: int = 13) -> go.Scatter:
    """One marked point with its own legend entry and hover text."""
    return go.Scatter(
        x=[x], y=[y], mode="markers", name=name, hovertemplate=hover + "<extra></extra>",
        marker={"color": colour, "symbol": symbol, "size": size, "line": {"color": "#000000", "width": 1}},
    )


# --- Filter Lab ---------------------------------------------------------------------------------------------------


def zplane_figure(response: LowpassResponse) -> go.Figure:
    """The pole (x) and zero (o) of H(z) with the unit circle, axes scaled equally (spec §4)."""
    theta = np.linspace(0, 2 * np.pi, 361)
    colour = optimizer_colour("autosgm")
    fig = go.Figure(go.Scatter(x=np.cos(theta), y=np.sin(theta), mode="lines", name="unit circle",
                               line={"color": _LINE, "width": 1}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=response.poles, y=np.zeros_like(response.poles), mode="markers",
                             name=f"pole β = {response.beta:.4g}", hovertemplate="pole z = %{x:.4f}<extra></extra>",
                             marker={"symbol": "x-thin", "size": 16, "line": {"color": colour, "width": 3}}))
    fig.add_trace(go.Scatter(x=response.zeros, y=np.zeros_like(response.zeros), mode="markers",
                             name=f"zero γ = {response.gamma:.4g}", hovertemplate="zero z = %{x:.4f}<extra></extra>",
                             marker={"symbol": "circle-open", "size": 15, "color": colour, "line": {"width": 2.5}}))
    low = min(-1.25, response.gamma - 0.2)
    fig.update_xaxes(title_text="Re z", range=[low, 1.25], zeroline=True)
    fig.update_yaxes(title_text="Im z", range=[-1.25, 1.25], scaleanchor="x", scaleratio=1, zeroline=True)
    shape = "lowpass" if response.is_lowpass else ("all-pass" if response.gamma == response.beta else "not lowpass")
    return finish(fig, f"Pole-zero plot of H(z) ({shape})", height=480)


def frequency_figure(response: LowpassResponse) -> go.Figure:
    """|H(e^{j omega})| in dB and its phase against omega / pi, two stacked panels sharing the x axis (spec §4)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    x = response.omega / np.pi
    colour = optimizer_colour("autosgm")
    fig.add_trace(go.Scatter(x=x, y=response.magnitude_db, mode="lines", name="magnitude", line={"color": colour},
                             hovertemplate="ω = %{x:.3f}π<br>|H| = %{y:.2f} dB<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=response.phase, mode="lines", name="phase", line={"color": SERIES[1]},
                             hovertemplate="ω = %{x:.3f}π<br>arg H = %{y:.3f} rad<extra></extra>"), row=2, col=1)
    if np.isfinite(response.cutoff):
        fig.add_vline(x=response.cutoff / np.pi, line={"dash": "dot", "color": _LINE}, row="all", col=1)
        half_power_db = 20 * np.log10(abs(response.dc_gain)) - 10 * np.log10(2)
        fig.add_trace(go.Scatter(x=[response.cutoff / np.pi], y=[half_power_db],
                                 mode="markers", name=f"-3 dB at ω = {response.cutoff:.3f} rad/sample",
                                 marker={"color": _LINE, "size": 8},
                                 hovertemplate="half power<br>ω = %{x:.3f}π<extra></extra>"), row=1, col=1)
    fig.update_yaxes(title_text="magnitude (dB)", row=1, col=1)
    fig.update_yaxes(title_text="phase (rad)", row=2, col=1)
    fig.update_xaxes(title_text="normalised frequency ω/π (1 = Nyquist, π rad/sample)", range=[0, 1], row=2, col=1)
    return finish(fig, "Frequency response of H(z)", height=560)


def time_response_figure(response: LowpassResponse) -> go.Figure:
    """Impulse and step responses, the step also with the seed's and the exact debias, against step t (spec §2.1)."""
    fig = go.Figure()
    series = (("impulse response h", response.impulse, SERIES[0], "solid"),
              ("step response (no debias)", response.step, SERIES[4], "solid"),
              ("step, seed debias 1/(1-β^t)", response.step_seed_debiased, SERIES[1], "solid"),
              ("step, exact debias", response.step_exact_debiased, SERIES[2], "dash"))
    for name, values, colour, dash in series:
        fig.add_trace(go.Scatter(x=response.t, y=values, mode="lines+markers", name=name,
                                 line={"color": colour, "dash": dash}, marker={"size": 5},
                                 hovertemplate=f"{name}<br>t = %{{x}}<br>y = %{{y:.4f}}<extra></extra>"))
    fig.add_hline(y=1.0, line={"dash": "dot", "color": _LINE})
    fig.update_xaxes(title_text="step t")
    fig.update_yaxes(title_text="filter output (per unit input)")
    return finish(fig, "Impulse and step responses")


def design_plane_figure(beta: float, gamma: float, presets: Sequence[FilterPreset] = FILTER_PRESETS) -> go.Figure:
    """The (beta, gamma) design plane: lowpass region gamma < beta, admissible bound, presets, the user's filter."""
    low = min(-1.0, gamma - 0.1)
    b = np.linspace(0.0, _MAP_BETA_MAX, 200)
    fig = go.Figure(go.Scatter(x=[0, 1, 1, 0, 0], y=[low, low, 1, 0, low], fill="toself", mode="lines",
                               fillcolor="rgba(136, 204, 238, 0.25)", line={"width": 0},
                               name="lowpass region γ < β", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="all-pass γ = β", hoverinfo="skip",
                             line={"color": _LINE, "width": 1}))
    fig.add_trace(go.Scatter(x=b, y=-(1 - b) / (1 + b), mode="lines", name="admissible bound γ = -(1-β)/(1+β)",
                             line={"color": _LINE, "dash": "dash"},
                             hovertemplate="β = %{x:.3f}<br>lowest γ = %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=b, y=b / (1 + b), mode="lines", name="Nesterov zero γ = β/(1+β) (deadbeat)",
                             line={"color": preset_colour("Nesterov"), "dash": "dot"},
                             hovertemplate="β = %{x:.3f}<br>γ = %{y:.4f}<extra></extra>"))
    symbols = ("circle", "square", "triangle-up", "diamond", "hexagon", "pentagon")
    for i, preset in enumerate(presets):
        fig.add_trace(_point(preset.beta, preset.gamma, preset.name, preset_colour(preset.name),
                             symbols[i % len(symbols)], f"{preset.name}<br>β = {preset.beta:.4g}<br>"
                             f"γ = {preset.gamma:.4f}<br>η = {preset.eta:.4g}", size=14 - i))
    fig.add_trace(_point(beta, gamma, "your filter", HIGHLIGHT, "star", "your filter<br>β = %{x:.4g}<br>"
                         "γ = %{y:.4f}", size=18))
    fig.update_xaxes(title_text="pole β", range=[0, 1])
    fig.update_yaxes(title_text="zero γ", range=[low, 1])
    return finish(fig, "Filter design plane (β, γ)", height=520)


# --- Stability ----------------------------------------------------------------------------------------------------


def _radius_colourscale() -> list[list[float | str]]:
    """Viridis on radius [0, 1), one flat ``UNSTABLE`` colour from 1 up (used with zmin = 0, zmax = 2)."""
    stops = sequential.Viridis
    scale: list[list[float | str]] = [[0.5 * i / (len(stops) - 1), c] for i, c in enumerate(stops)]
    return [*scale[:-1], [0.4999, stops[-1]], [0.5, UNSTABLE], [1.0, UNSTABLE]]


def _heatmap(x: np.ndarray, y: np.ndarray, z: np.ndarray, xname: str, yname: str) -> go.Heatmap:
    return go.Heatmap(
        x=x, y=y, z=z, zmin=0.0, zmax=2.0, colorscale=_radius_colourscale(), name="spectral radius",
        hovertemplate=f"{xname} = %{{x:.4f}}<br>{yname} = %{{y:.4f}}<br>ρ = %{{z:.4f}}<extra></extra>",
        colorbar={"title": {"text": "spectral radius ρ", "side": "right"}, "tickvals": [0, 0.25, 0.5, 0.75, 1, 1.5],
                  "ticktext": ["0", "0.25", "0.5", "0.75", "1", "unstable"]},
    )


def _user_hover(kappa: float, beta: float, gamma: float) -> str:
    rho, bound = float(spectral_radius(kappa, beta, gamma)), float(kappa_max(beta, gamma))
    return (f"your configuration<br>κ = {kappa:.4g}, β = {beta:.4g}, γ = {gamma:.4g}<br>ρ = {rho:.4f}"
            f"<br>margin κ/κ_max = {kappa / bound:.3f}")


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"stability map: invalid n={n!r}; expected an integer >= 2")
    return n


def stability_map_beta_figure(gamma: float, *, alpha_h: float | None = None, kappa: float | None = None,
                              beta: float | None = None, n: int = 200) -> go.Figure:
    """Spectral radius over the (loop gain kappa, pole beta) plane at a fixed zero gamma (spec §3.2).

    The x axis is kappa = alpha eta_bar h itself, because the stable alpha h of the unit-DC filter grows without
    bound as beta -> 1. The user's point is (``kappa``, ``beta``), or ``alpha_h`` with the unit-DC eta_bar.
    """
    n = _check_n(n)
    betas = np.linspace(0.0, _MAP_BETA_MAX, n)
    bound = kappa_max(betas, gamma)
    user = None
    if beta is None and (alpha_h is not None or kappa is not None):
        raise ValueError("stability_map_beta_figure: alpha_h or kappa needs beta for your configuration")
    if beta is not None:
        if (alpha_h is None) == (kappa is None):
            raise ValueError("stability_map_beta_figure: with beta, give exactly one of alpha_h and kappa")
        user = float(kappa if kappa is not None else alpha_h * unit_dc_gain(beta, gamma))
    beta_d = gamma / (1 - gamma)  # the pole whose Nesterov zero is gamma
    has_deadbeat = 0.0 <= beta_d <= _MAP_BETA_MAX
    top = 1.25 * max(float(bound.max()), user or 0.0, 1 + beta_d if has_deadbeat else 0.0)
    kappas = (np.arange(n) + 0.5) * top / n  # cell centres, so kappa > 0
    rho = spectral_radius(kappas[None, :], betas[:, None], gamma)
    fig = go.Figure(_heatmap(kappas, betas, rho, "κ", "β"))
    fig.add_trace(go.Scatter(x=bound, y=betas, mode="lines", name="κ_max(β, γ) (Jury bound)",
                             line={"color": _LINE, "width": 2.5},
                             hovertemplate="κ_max = %{x:.4f}<br>β = %{y:.3f}<extra></extra>"))
    fastest, along = _fastest_curve(betas, gamma, betas)
    fig.add_trace(go.Scatter(x=fastest, y=along, mode="lines", name="fastest κ",
                             line={"color": _FASTEST, "dash": "dot", "width": 2},
                             hovertemplate="fastest κ = %{x:.4f}<br>β = %{y:.3f}<extra></extra>"))
    for preset in FILTER_PRESETS:
        if abs(preset.gamma - gamma) < 5e-4:
            k, r = (float(v) for v in fastest_kappa(preset.beta, preset.gamma))
            hover = f"{preset.name} at its fastest κ<br>κ = {k:.4f}, β = {preset.beta:.4g}<br>ρ = {r:.4f}"
            fig.add_trace(_point(k, preset.beta, preset.name, preset_colour(preset.name), "circle", hover))
    if has_deadbeat:
        fig.add_trace(_point(1 + beta_d, beta_d, "deadbeat (ρ = 0)", "#FFFFFF", "diamond",
                             f"deadbeat<br>κ = 1 + β = {1 + beta_d:.4f}, β = {beta_d:.4f}"))
    if user is not None:
        fig.add_trace(_point(user, beta, "your configuration", HIGHLIGHT, "star", _user_hover(user, beta, gamma), 18))
    fig.update_xaxes(title_text="loop gain κ = α η̄ h (dimensionless; unit-DC η̄ = (1-β)/(1-γ))", range=[0, top])
    fig.update_yaxes(title_text="pole β", range=[0, 1])
    return finish(fig, f"Closed-loop stability at zero γ = {gamma:.4g}", height=540)


def stability_map_gamma_figure(beta: float, *, gamma: float | None = None, kappa: float | None = None,
                               n: int = 200) -> go.Figure:
    """Spectral radius over the (zero gamma, loop gain kappa) plane at a fixed pole beta (spec §3.2)."""
    n = _check_n(n)
    if (gamma is None) != (kappa is None):
        raise ValueError("stability_map_gamma_figure: give both gamma and kappa for your configuration, or neither")
    low = min(-1.0, gamma - 0.1) if gamma is not None else -1.0
    gammas = np.linspace(low, _MAP_BETA_MAX, n)
    bound = kappa_max(beta, gammas)
    kappa_d, gamma_d = (float(v) for v in deadbeat(beta))
    top = 1.25 * max(float(bound.max()), kappa or 0.0, kappa_d)
    kappas = (np.arange(n) + 0.5) * top / n
    rho = spectral_radius(kappas[:, None], beta, gammas[None, :])
    fig = go.Figure(_heatmap(gammas, kappas, rho, "γ", "κ"))
    fig.add_trace(go.Scatter(x=gammas, y=bound, mode="lines", name="κ_max(β, γ) (Jury bound)",
                             line={"color": _LINE, "width": 2.5},
                             hovertemplate="γ = %{x:.4f}<br>κ_max = %{y:.4f}<extra></extra>"))
    fastest, along = _fastest_curve(beta, gammas, gammas)
    fig.add_trace(go.Scatter(x=along, y=fastest, mode="lines", name="fastest κ",
                             line={"color": _FASTEST, "dash": "dot", "width": 2},
                             hovertemplate="γ = %{x:.4f}<br>fastest κ = %{y:.4f}<extra></extra>"))
    for name, zero in zero_presets(beta):
        k, r = (float(v) for v in fastest_kappa(beta, zero))
        fig.add_trace(_point(zero, k, name, preset_colour(name) if name != "lowest admissible" else NEUTRAL, "circle",
                             f"{name} at its fastest κ<br>γ = {zero:.4f}, κ = {k:.4f}<br>ρ = {r:.4f}"))
    fig.add_trace(_point(gamma_d, kappa_d, "deadbeat (ρ = 0)", "#FFFFFF", "diamond",
                         f"deadbeat<br>γ = β/(1+β) = {gamma_d:.4f}, κ = 1 + β = {kappa_d:.4f}"))
    if gamma is not None and kappa is not None:
        hover = _user_hover(kappa, beta, gamma)
        fig.add_trace(_point(gamma, kappa, "your configuration", HIGHLIGHT, "star", hover, 18))
    fig.update_xaxes(title_text="zero γ", range=[low, 1])
    fig.update_yaxes(title_text="loop gain κ = α η̄ h (dimensionless)", range=[0, top])
    return finish(fig, f"Closed-loop stability at pole β = {beta:.4g}", height=540)


def _positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: zeros and non-finite entries (exact convergence, overflow) become NaN gaps."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def error_trajectory_figure(trajectory: ArrayLike, *, predicted_rate: ArrayLike | None = None,
                            labels: Sequence[str] | None = None) -> go.Figure:
    """|e_t| per step on a log axis for one run (T + 1,) or R runs (R, T + 1), e.g. from ``simulate_quadratic``.

    ``predicted_rate``: the spectral radius rho (one number, or one per run); draws |e_0| rho^t dashed.
    """
    errors = np.atleast_2d(np.asarray(trajectory, dtype=np.float64))
    if errors.ndim != 2 or errors.shape[1] < 1:
        raise ValueError(f"error_trajectory_figure: expected shape (T + 1,) or (R, T + 1), got {errors.shape}")
    runs, steps = errors.shape
    names = list(labels) if labels is not None else ([f"run {r + 1}" for r in range(runs)] if runs > 1 else ["run"])
    if len(names) != runs:
        raise ValueError(f"error_trajectory_figure: {len(names)} labels for {runs} runs")
    rates = None if predicted_rate is None else np.broadcast_to(np.asarray(predicted_rate, dtype=np.float64), (runs,))
    t = np.arange(steps)
    fig = go.Figure()
    for r in range(runs):
        colour = SERIES[r % len(SERIES)]
        fig.add_trace(go.Scatter(x=t, y=_positive(errors[r]), mode="lines+markers", name=names[r],
                                 line={"color": colour}, marker={"size": 4},
                                 hovertemplate=f"{names[r]}<br>t = %{{x}}<br>|e| = %{{y:.4e}}<extra></extra>"))
        if rates is not None:
            rho = float(rates[r])
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                line = _positive(abs(errors[r, 0]) * rho ** t.astype(np.float64))
            trend = "converging" if rho < 1 else "diverging"
            fig.add_trace(go.Scatter(x=t, y=line, mode="lines", name=f"predicted ρ^t, ρ = {rho:.4g} ({trend})",
                                     line={"color": colour, "dash": "dash"},
                                     hovertemplate="predicted<br>t = %{x}<br>|e_0| ρ^t = %{y:.4e}<extra></extra>"))
    fig.update_xaxes(title_text="step t")
    fig.update_yaxes(title_text="|error| |w_t - w*| (log scale)", type="log", exponentformat="power")
    return finish(fig, "Distance to the minimum per step")


def margin_figure(steps: ArrayLike, margins: ArrayLike, *, optimizer: str = "autosgm",
                  label: str = "κ_t / κ_max") -> go.Figure:
    """The stability margin kappa_t / kappa_max per step of a run, read against the boundary at 1 (spec §3.2).

    ``label`` names the trace (e.g. the run); the y axis reaches below 0 when the margin does (negative curvature).
    """
    x, y = np.asarray(steps, dtype=np.float64), np.asarray(margins, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"margin_figure: steps {x.shape} and margins {y.shape} must be 1-D of one length")
    fig = go.Figure(go.Scatter(x=x, y=np.where(np.isfinite(y), y, np.nan), mode="lines", name=label,
                               line={"color": optimizer_colour(optimizer)},
                               hovertemplate="step %{x}<br>margin = %{y:.4g}<extra></extra>"))
    finite = y[np.isfinite(y)]
    upper = max(1.2, float(finite.max()) * 1.05) if finite.size else 1.2
    lower = min(0.0, float(finite.min()) * 1.05) if finite.size else 0.0
    fig.add_hrect(y0=1.0, y1=upper, fillcolor=UNSTABLE, opacity=0.08, line_width=0)
    fig.add_hline(y=1.0, line={"color": UNSTABLE, "dash": "dash"}, annotation_text="boundary κ = κ_max",
                  annotation_position="top left")
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="stability margin κ_t / κ_max", range=[lower, upper])
    fig.update_layout(showlegend=True)  # the one trace's legend entry names the run
    return finish(fig, "Stability margin")


def _fastest_curve(beta: ArrayLike, gamma: ArrayLike, along: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """``fastest_kappa`` along an axis, with a NaN point where its formula changes (gamma > beta, gamma > 0,
    gamma < 0: see ``engine.theory.fastest_kappa``), so the line breaks at the true jumps instead of bridging them."""
    beta, gamma = np.broadcast_arrays(np.asarray(beta, dtype=float), np.asarray(gamma, dtype=float))
    kappa = fastest_kappa(beta, gamma)[0]
    regime = np.where(gamma > beta, 2.0, np.sign(gamma))
    breaks = np.flatnonzero(np.diff(regime)) + 1
    return np.insert(kappa, breaks, np.nan), np.insert(np.asarray(along, dtype=float), breaks, np.nan)
