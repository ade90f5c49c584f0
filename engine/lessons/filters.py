"""The step kinds of AutoSGM's filter and its closed loop: ``lowpass`` (the Filter Lab's figures) and ``stability``
(the Stability page's map and a real run), each measured from the explorer's own responses and simulations.

The filter H(z) = eta (1 - gamma z^-1) / (1 - beta z^-1) (shared/spec/autosgm.md §2.1, §4): its gain at Nyquist
relative to DC is (1 - beta)(1 + gamma) / ((1 + beta)(1 - gamma)), its mean lag beta / (1 - beta) - gamma / (1 - gamma)
steps. The closed loop on a quadratic with loop gain kappa = alpha eta_bar h is stable iff 0 < kappa < kappa_max and
contracts by the spectral radius rho per step (§3.2).
"""

# ruff: noqa: RUF001  (sentences use the spec's Greek symbols)

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from engine.figures import (
    THEORY_CAPTIONS,
    error_trajectory_figure,
    frequency_figure,
    stability_map_gamma_figure,
    time_response_figure,
    zplane_figure,
)
from engine.lessons.base import (
    CONVERGES,
    DIVERGES,
    Arguments,
    Config,
    Figures,
    Kind,
    Link,
    Outcome,
    control,
    number,
    only,
    whole,
)
from engine.theory import LowpassResponse, kappa_max, lowpass, simulate_quadratic, spectral_radius
from optimizers import HyperParam

LAG_STEPS = 2000  # impulse response samples from which the measured lag is computed (beta <= 0.999 decays in them)


@lru_cache(maxsize=64)
def _response(beta: float, gamma: float, eta: float | None, steps: int = 50) -> LowpassResponse:
    """The Filter Lab's closed-form response of one filter (``engine.theory.lowpass``)."""
    return lowpass(beta, gamma, eta, n_steps=steps)


def _filter_controls(config: Config) -> list[HyperParam]:
    return [control("beta", config["beta"], 0.0, 0.999, "The filter's pole: how much of the past it remembers."),
            control("gamma", config["gamma"], -1.0, 0.999, "The filter's zero: 0 is heavy ball, β/(1+β) Nesterov.")]


class LowpassKind(Kind):
    """AutoSGM's smoothing filter, as the Filter Lab draws it. Configuration: ``beta`` (pole), ``gamma`` (zero) and
    ``eta`` (gain; omitted: the unit-DC gain (1 - beta) / (1 - gamma)). Measures: ``nyquist_ratio`` (|H(-1)| / H(1),
    how much of a gradient that flips sign every step passes, relative to a constant one) and ``lag`` (the mean lag
    of the filtered gradient, in steps)."""

    name = "lowpass"
    measures: ClassVar[dict[str, bool]] = {"nyquist_ratio": True, "lag": True}

    def check(self, data: Mapping[str, Any]) -> Config:
        only(data, ("beta", "gamma", "eta"))
        beta = number(data, "beta", 0.9, low=0.0, high=0.999)
        gamma = number(data, "gamma", 0.0, low=-1.0, high=beta, high_open=True)
        config: Config = {"beta": beta, "gamma": gamma}
        if "eta" in data:
            config["eta"] = number(data, "eta", None, low=0.0, low_open=True, high=10.0)
        return config

    def controls(self, config: Config) -> list[HyperParam]:
        return _filter_controls(config)

    def response(self, config: Config, steps: int = 50) -> LowpassResponse:
        return _response(config["beta"], config["gamma"], config.get("eta"), steps)

    def figures(self, config: Config, measure: str, arguments: Arguments, revealed: bool) -> Figures:
        response = self.response(config)
        figures = [(zplane_figure(response), THEORY_CAPTIONS["zplane"])]
        if revealed:
            figures.append((frequency_figure(response), THEORY_CAPTIONS["frequency"]) if measure == "nyquist_ratio"
                           else (time_response_figure(response), THEORY_CAPTIONS["time_response"]))
        return figures

    def outcome(self, config: Config, measure: str, arguments: Arguments) -> Outcome:
        beta, gamma = config["beta"], config["gamma"]
        if measure == "nyquist_ratio":
            response = self.response(config)
            measured = float(10 ** ((response.magnitude_db[-1] - response.magnitude_db[0]) / 20))
            theory = (1 - beta) * (1 + gamma) / ((1 + beta) * (1 - gamma))
            return Outcome(measured, f"|H(−1)| / H(1) = (1 − β)(1 + γ) / ((1 + β)(1 − γ)) = {theory:.4f}.",
                           f"The Filter Lab's frequency response: {20 * np.log10(measured):.1f} dB at ω = π "
                           f"below its DC gain, a ratio of {measured:.4f}.")
        impulse = self.response(config, LAG_STEPS).impulse
        measured = float(np.sum(np.arange(LAG_STEPS) * impulse) / np.sum(impulse))
        theory = beta / (1 - beta) - gamma / (1 - gamma)
        return Outcome(measured, f"The mean lag β/(1 − β) − γ/(1 − γ) = {theory:.3f} steps.",
                       f"The filter's impulse response, weighted by its delay: {measured:.3f} steps on average.")

    def link(self, config: Config) -> Link:
        eta = config.get("eta", (1 - config["beta"]) / (1 - config["gamma"]))
        return Link("pages/filter_lab.py", "Filter Lab", {"beta": f"{config['beta']:g}",
                                                         "gamma": f"{config['gamma']:.4g}", "eta": f"{eta:.4g}",
                                                         "debias": "true"})


class StabilityKind(Kind):
    """AutoSGM's closed loop on a quadratic, as the Stability page shows it. Configuration: ``beta``, ``gamma``,
    ``kappa`` (the loop gain alpha eta_bar h) and ``steps`` (of the simulated run). Measure: ``status``
    (``converges`` / ``diverges``: whether the real optimizer's error shrank over the run)."""

    name = "stability"
    measures: ClassVar[dict[str, bool]] = {"status": False}

    def check(self, data: Mapping[str, Any]) -> Config:
        only(data, ("beta", "gamma", "kappa", "steps"))
        return {"beta": number(data, "beta", 0.9, low=0.0, high=0.999),
                "gamma": number(data, "gamma", 0.0, low=-1.0, high=0.999),
                "kappa": number(data, "kappa", 1.0, low=0.01, high=8.0),
                "steps": whole(data, "steps", 60, 10, 300)}

    def controls(self, config: Config) -> list[HyperParam]:
        return [*_filter_controls(config),
                control("kappa", config["kappa"], 0.01, 8.0, "The loop gain κ = α η̄ h: step size × gain × curvature.")]

    def errors(self, config: Config) -> np.ndarray:
        """|e_t| of a real AutoSGM run at this configuration on the quadratic h = 1 (the Stability page's)."""
        return np.abs(np.asarray(simulate_quadratic(config["beta"], config["gamma"], kappa=config["kappa"],
                                                    steps=config["steps"]))[0])

    def figures(self, config: Config, measure: str, arguments: Arguments, revealed: bool) -> Figures:
        beta, gamma, kappa = config["beta"], config["gamma"], config["kappa"]
        if not revealed:  # the map to read, without the configuration on it
            return [(stability_map_gamma_figure(beta), THEORY_CAPTIONS["stability_map_gamma"] + " Find γ = "
                     f"{gamma:.4g}, κ = {kappa:.4g} on it, then commit to a prediction.")]
        rho = float(spectral_radius(kappa, beta, gamma))
        run = error_trajectory_figure(self.errors(config), predicted_rate=rho, labels=["AutoSGM run"])
        return [(stability_map_gamma_figure(beta, gamma=gamma, kappa=kappa), THEORY_CAPTIONS["stability_map_gamma"]),
                (run, THEORY_CAPTIONS["error_trajectory"])]

    def outcome(self, config: Config, measure: str, arguments: Arguments) -> Outcome:
        beta, gamma, kappa = config["beta"], config["gamma"], config["kappa"]
        errors = self.errors(config)
        rho, bound = float(spectral_radius(kappa, beta, gamma)), float(kappa_max(beta, gamma))
        shrank = bool(np.isfinite(errors[-1]) and errors[-1] < errors[0])
        return Outcome(CONVERGES if shrank else DIVERGES,
                       f"κ = {kappa:.4g} against κ_max(β, γ) = {bound:.4g}; the spectral radius ρ = {rho:.4f} "
                       f"{'< 1: converges' if rho < 1 else '≥ 1: diverges'}.",
                       f"The real run: after {config['steps']} steps its error is {errors[-1] / errors[0]:.3g} "
                       f"times its start.")

    def link(self, config: Config) -> Link:
        query = {"beta": f"{config['beta']:g}", "gamma": f"{config['gamma']:.4g}", "kappa": f"{config['kappa']:g}",
                 "steps": str(config["steps"])}
        return Link("pages/stability.py", "Stability", query)
