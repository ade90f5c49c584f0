"""The stable learning rates of gradient methods on a convex quadratic, in closed form (the landscape's theory).

On a surface that is a convex quadratic (its Hessian H the same everywhere, positive definite), gradient descent's
iterates obey a linear recursion whose stability depends on lr h alone, h the largest eigenvalue of H (the quadratic
surface's ``condition``, whatever its rotation). The stable learning rates (shared/spec/autosgm.md §3.2;
torch.optim's forms):

    SGD:            lr h < 2
    heavy ball:     lr h < 2 (1 + beta)                        beta = momentum
    Nesterov:       lr h < 2 (1 + beta) / (1 + 2 beta)
    AutoSGM:        kappa = lr eta_bar h < kappa_max(beta, gamma)   with a constant rate (adaptive = false),
                    eta_bar = (1 - beta) / (1 - gamma) with debias (eta_in (1 - gamma)^-1 without), h + rho with
                    coupled decay rho; the window F_t <= 1 only lowers the rate.

``stability_margin`` is the ratio of the left side to the bound (< 1: stable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from engine.tasks import Surface
from engine.theory.arrays import Array
from engine.theory.stability import kappa_max
from optimizers.autosgm_maths import filter_gain


def curvature_at(surface: Surface, point: tuple[float, float]) -> float | None:
    """The largest eigenvalue of the surface's Hessian at ``point`` (the curvature along the steepest direction
    there, in float64 by autograd); None where the Hessian is not finite."""
    hessian = _hessian(surface, point)
    return float(torch.linalg.eigvalsh(hessian)[-1]) if bool(torch.isfinite(hessian).all()) else None


def largest_curvature(surface: Surface) -> float | None:
    """h, the largest eigenvalue of the surface's Hessian, when the surface is a convex quadratic (the Hessian the
    same, to 1e-9, at the domain's centre and its four corners, and positive definite); None otherwise."""
    (low_x, high_x), (low_y, high_y) = surface.domain
    points = [((low_x + high_x) / 2, (low_y + high_y) / 2), (low_x, low_y), (low_x, high_y), (high_x, low_y),
              (high_x, high_y)]
    hessians = [_hessian(surface, point) for point in points]
    if not all(torch.allclose(hessian, hessians[0], rtol=1e-9, atol=1e-12) for hessian in hessians):
        return None
    eigenvalues = torch.linalg.eigvalsh(hessians[0])
    return float(eigenvalues[-1]) if float(eigenvalues[0]) > 0 else None


def _hessian(surface: Surface, point: tuple[float, float]) -> torch.Tensor:
    return torch.autograd.functional.hessian(surface.at, torch.tensor(point, dtype=torch.float64))


def stability_margin(key: str, hyper: Mapping[str, Any], h: float) -> Array | None:
    """The margin (module docstring) of optimizer ``key`` with ``hyper`` (numbers, or arrays that broadcast) on a
    quadratic of largest curvature ``h``: < 1 stable, > 1 unstable; None where no closed-form bound applies."""
    lr = np.asarray(hyper.get("lr", np.nan), dtype=np.float64)
    if key == "sgd":
        return lr * h / 2
    if key in ("momentum", "nesterov"):
        beta = np.asarray(hyper["momentum"], dtype=np.float64)
        bound = 2 * (1 + beta) if key == "momentum" else 2 * (1 + beta) / (1 + 2 * beta)
        return lr * h / bound
    decoupled = hyper.get("decay") == "decoupled" and np.any(np.asarray(hyper.get("weight_decay", 0.0)) != 0)
    if key != "autosgm" or hyper.get("adaptive") != "false" or decoupled:
        return None
    beta, gamma = (np.asarray(hyper[name], dtype=np.float64) for name in ("beta", "gamma"))
    gain = (1 - beta) if hyper["debias"] != "false" else np.asarray(filter_gain(hyper["eta"], beta), np.float64)
    curvature = h + (np.asarray(hyper["weight_decay"], dtype=np.float64) if hyper["decay"] == "coupled" else 0.0)
    return lr * gain / (1 - gamma) * curvature / kappa_max(beta, gamma)
