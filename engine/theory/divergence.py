"""Why a run diverged, in the lessons' terms: lr times the largest curvature against the optimizer's stable limit.

Along the steepest direction of a quadratic (curvature h, the Hessian's largest eigenvalue), gradient descent
multiplies the distance to the minimum by 1 - lr h every step, so it converges only while lr h < 2; momentum moves
the limit to 2 (1 + beta) (heavy ball) or 2 (1 + beta) / (1 + 2 beta) (Nesterov), and AutoSGM's filter to its own
kappa_max (``engine.theory.quadratic_bounds``, which holds the maths; shared/spec/autosgm.md §3.2). On any other
surface the same test with the curvature at the start explains a divergence that starts there. Past the limit, every
step overshoots further than the last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine.tasks import Surface
from engine.theory.quadratic_bounds import curvature_at, largest_curvature, stability_margin
from optimizers import REGISTRY

LIMIT_FORMULAS = {"sgd": "2", "momentum": "2(1 + β)", "nesterov": "2(1 + β)/(1 + 2β)"}
"""The stable bound on lr h of the optimizers whose bound is a formula in their momentum beta."""


def about(value: float) -> str:
    """A number as a sentence says it: two significant digits, thousands written out (``3.4``, ``4,200``)."""
    if value >= 100:
        return f"{round(value, 1 - math.floor(math.log10(value))):,.0f}"
    return f"{value:.2g}"


def divergence_explanation(surface: Surface, start: tuple[float, float], key: str,
                           hyper: Mapping[str, Any]) -> str | None:
    """Why optimizer ``key`` with ``hyper`` diverged from ``start`` on ``surface``: lr h against the optimizer's
    limit, h the largest curvature there (the whole surface's on a convex quadratic, else at the start); None where
    no closed-form limit applies (Adam and the adaptive optimizers), the curvature there is not positive, or lr h is
    inside the limit (the start's curvature does not explain the divergence)."""
    whole = largest_curvature(surface)
    h = whole if whole is not None else curvature_at(surface, start)
    if h is None or not h > 0:
        return None
    margin = stability_margin(key, hyper, h)
    if margin is None or not float(margin) >= 1:
        return None
    product = float(hyper["lr"]) * h
    limit = product / float(margin)  # margin = lr h / limit (stability_margin's definition)
    formula = LIMIT_FORMULAS.get(key)
    if formula is None:
        limit_text = about(limit)
    elif formula == about(limit):
        limit_text = formula
    else:
        limit_text = f"{formula} = {about(limit)}"
    where = "here" if whole is not None else "at the start"
    return (f"lr × the largest curvature {where} is about {about(product)}, past {REGISTRY[key].name}'s limit of "  # noqa: RUF001
            f"{limit_text}, so each step overshoots the minimum further than the last")
