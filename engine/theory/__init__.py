"""Theory: AutoSGM's lowpass filter and the stability of its dynamics in closed form, checked by simulation."""

from engine.theory.lowpass import LowpassResponse, lowpass, unit_dc_gain
from engine.theory.simulation import simulate_quadratic
from engine.theory.stability import deadbeat, fastest_kappa, kappa_max, spectral_radius

__all__ = [
    "LowpassResponse",
    "deadbeat",
    "fastest_kappa",
    "kappa_max",
    "lowpass",
    "simulate_quadratic",
    "spectral_radius",
    "unit_dc_gain",
]
