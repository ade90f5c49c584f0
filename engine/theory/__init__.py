"""Theory in closed form, checked by simulation: AutoSGM's filter and stability, gradient methods on a quadratic."""

from engine.theory.divergence import divergence_explanation
from engine.theory.lowpass import LowpassResponse, lowpass, unit_dc_gain
from engine.theory.quadratic_bounds import curvature_at, largest_curvature, stability_margin
from engine.theory.simulation import simulate_quadratic
from engine.theory.stability import deadbeat, fastest_kappa, kappa_max, spectral_radius

__all__ = [
    "LowpassResponse",
    "curvature_at",
    "deadbeat",
    "divergence_explanation",
    "fastest_kappa",
    "kappa_max",
    "largest_curvature",
    "lowpass",
    "simulate_quadratic",
    "spectral_radius",
    "stability_margin",
    "unit_dc_gain",
]
