"""AutoSGM's theory in closed form (the lowpass filter, the stability of its learning dynamics) and the simulation
of its own step on quadratics that checks the theory."""

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
