"""2-D loss surfaces as torch functions of (x, y): the registry the Playground and the 2-D runs draw from.

Each ``Surface`` evaluates with torch ops that broadcast over tensors ``x`` and ``y`` of any shape and dtype, so
autograd gives the gradient, and one call evaluates a whole grid or a batch of runs. ``get_surface`` resolves a
name (``"rosenbrock"``, ``"quadratic"`` with ``condition`` and ``rotation``) or a typed formula
(``"expr:x**2 + 10*sin(y)"``, parsed by ``engine.tasks.expression.parse_formula``). ``grid`` samples a surface for
contours.

Sources: the standard test functions (Rosenbrock 1960; Rastrigin 1974; Beale 1958; Himmelblau 1972; Ackley 1987),
as listed in e.g. Jamil & Yang, "A literature survey of benchmark functions for global optimization problems" (2013).
The Rosenbrock and Rastrigin domains and starts follow pytorch-optimizer's visualization gallery
(shared/spec/optimizers.md §5): Rastrigin start (-2, 3.5), range ±3.6; Rosenbrock start (-2, 2), x in [-2, 2],
y in [-1, 3].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from engine.tasks.expression import parse_formula
from optimizers.validation import check_choice, check_number

Point = tuple[float, float]
Domain = tuple[tuple[float, float], tuple[float, float]]

EXPR_PREFIX = "expr:"
EXPR_DOMAIN: Domain = ((-5.0, 5.0), (-5.0, 5.0))
"""Default domain of a typed formula."""
EXPR_START: Point = (-4.0, 4.0)
"""Default start of a typed formula: 10% in from the domain's top-left corner, here of ``EXPR_DOMAIN``."""


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: ``surface(x, y)`` is ``f(x, y)``, a tensor broadcast over ``x`` and ``y``.

    ``domain`` is ((xmin, xmax), (ymin, ymax)), the region plotted; ``minima`` lists the global minimizers (empty
    when unknown or when there is none), all with value ``min_value`` (``None`` when unknown or unbounded below);
    ``start`` is the default starting point; ``formula`` is the function in plain text.
    """

    key: str
    name: str
    description: str
    formula: str
    f: Callable[[Tensor, Tensor], Tensor]
    domain: Domain
    start: Point
    minima: tuple[Point, ...] = ()
    min_value: float | None = None

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return self.f(x, y)

    def at(self, point: Tensor) -> Tensor:
        """f at ``point[..., 0], point[..., 1]``: one (2,) parameter, or a batch [R, 2] of runs."""
        return self.f(point[..., 0], point[..., 1])


def rosenbrock(x: Tensor, y: Tensor) -> Tensor:
    """(1 - x)^2 + 100 (y - x^2)^2: a curved, narrow valley; minimum 0 at (1, 1)."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rastrigin(x: Tensor, y: Tensor, a: float = 10.0) -> Tensor:
    """2A + x^2 - A cos(2 pi x) + y^2 - A cos(2 pi y), A = 10: a bowl covered in local minima; minimum 0 at (0, 0)."""
    return 2 * a + x**2 - a * torch.cos(2 * math.pi * x) + y**2 - a * torch.cos(2 * math.pi * y)


def beale(x: Tensor, y: Tensor) -> Tensor:
    """(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2: flat plateaus, sharp ridges; 0 at (3, 0.5)."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def himmelblau(x: Tensor, y: Tensor) -> Tensor:
    """(x^2 + y - 11)^2 + (x + y^2 - 7)^2: four global minima of value 0, one local maximum near (-0.27, -0.92)."""
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def ackley(x: Tensor, y: Tensor, a: float = 20.0, b: float = 0.2, c: float = 2 * math.pi) -> Tensor:
    """-a exp(-b sqrt((x^2 + y^2) / 2)) - exp((cos cx + cos cy) / 2) + a + e; minimum 0 at (0, 0).

    The first term is a cone at the origin, which is not differentiable there; the double ``where`` makes autograd
    return the subgradient 0 at the origin instead of NaN (and the exact gradient elsewhere).
    """
    r2 = (x**2 + y**2) / 2
    positive = r2 > 0
    r = torch.where(positive, torch.sqrt(torch.where(positive, r2, torch.ones_like(r2))), torch.zeros_like(r2))
    cosines = (torch.cos(c * x) + torch.cos(c * y)) / 2
    return -a * torch.exp(-b * r) - torch.exp(cosines) + a + math.e


def saddle(x: Tensor, y: Tensor) -> Tensor:
    """x^2 - y^2: a saddle at (0, 0), stable along x, unstable along y; unbounded below, so no minimum."""
    return x**2 - y**2


def quadratic(condition: float = 10.0, rotation: float = 0.0) -> Surface:
    """An ill-conditioned quadratic 0.5 [x y] R^T diag(1, kappa) R [x y]^T; minimum 0 at (0, 0).

    ``condition`` is kappa >= 1, the ratio of the Hessian's eigenvalues (1 and kappa); ``rotation`` (degrees) is the
    angle theta of R = [[cos, sin], [-sin, cos]], so the flat axis (eigenvalue 1) points along (cos theta, sin theta)
    and the steep one (eigenvalue kappa) along (-sin theta, cos theta). Gradient descent needs lr < 2 / kappa.
    """
    kappa = check_number("quadratic", "condition", condition, low=1.0, high=1e6)
    degrees = check_number("quadratic", "rotation", rotation, low=-360.0, high=360.0)
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

    def f(x: Tensor, y: Tensor) -> Tensor:
        u, w = cos * x + sin * y, -sin * x + cos * y
        return 0.5 * (u**2 + kappa * w**2)

    return Surface(
        key="quadratic",
        name=f"Quadratic (κ = {kappa:g}, {degrees:g}°)",
        description="An elongated bowl: the condition number sets how much slower the flat axis converges.",
        formula=f"0.5 (u^2 + {kappa:g} w^2), u = x cos t + y sin t, w = -x sin t + y cos t, t = {degrees:g} deg",
        f=f,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        start=(1.5, 0.5),
        minima=((0.0, 0.0),),
        min_value=0.0,
    )


SURFACES: dict[str, Surface] = {
    surface.key: surface
    for surface in (
        Surface(
            key="rosenbrock",
            name="Rosenbrock",
            description="A curved, narrow valley: easy to find, slow to follow to the minimum at (1, 1).",
            formula="(1 - x)^2 + 100 (y - x^2)^2",
            f=rosenbrock,
            domain=((-2.0, 2.0), (-1.0, 3.0)),
            start=(-2.0, 2.0),
            minima=((1.0, 1.0),),
            min_value=0.0,
        ),
        Surface(
            key="rastrigin",
            name="Rastrigin",
            description="A bowl covered in regularly spaced local minima (A = 10); the global one is at (0, 0).",
            formula="20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)",
            f=rastrigin,
            domain=((-3.6, 3.6), (-3.6, 3.6)),
            start=(-2.0, 3.5),
            minima=((0.0, 0.0),),
            min_value=0.0,
        ),
        Surface(
            key="beale",
            name="Beale",
            description="Flat plateaus between steep ridges; the minimum at (3, 0.5) sits in a narrow valley.",
            formula="(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
            f=beale,
            domain=((-4.5, 4.5), (-4.5, 4.5)),
            start=(1.0, 1.5),
            minima=((3.0, 0.5),),
            min_value=0.0,
        ),
        Surface(
            key="himmelblau",
            name="Himmelblau",
            description="Four global minima of equal value: which one an optimizer reaches depends on its path.",
            formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
            f=himmelblau,
            domain=((-5.0, 5.0), (-5.0, 5.0)),
            start=(0.0, 0.0),
            minima=(  # the three irrational ones refined by Newton's method in float64
                (3.0, 2.0),
                (-2.805118086952745, 3.131312518250573),
                (-3.779310253377747, -3.2831859912861696),
                (3.5844283403304917, -1.8481265269644034),
            ),
            min_value=0.0,
        ),
        Surface(
            key="ackley",
            name="Ackley",
            description="A nearly flat, rippled plain around a deep funnel at (0, 0) (a = 20, b = 0.2, c = 2 pi).",
            formula="-20 exp(-0.2 sqrt((x^2 + y^2) / 2)) - exp((cos 2 pi x + cos 2 pi y) / 2) + 20 + e",
            f=ackley,
            domain=((-5.0, 5.0), (-5.0, 5.0)),
            start=(-3.2, 2.7),
            minima=((0.0, 0.0),),
            min_value=0.0,
        ),
        quadratic(),
        Surface(
            key="saddle",
            name="Saddle",
            description="x^2 - y^2: starting near the stable x axis, an optimizer must escape along y (no minimum).",
            formula="x^2 - y^2",
            f=saddle,
            domain=((-2.0, 2.0), (-2.0, 2.0)),
            start=(-1.8, 0.05),
        ),
    )
}
"""The named surfaces, by key; ``quadratic`` here has its defaults (condition 10, rotation 0)."""

_ARGUMENTS: dict[str, tuple[str, ...]] = {"quadratic": ("condition", "rotation")}


def get_surface(spec: str, **kwargs: object) -> Surface:
    """The surface named ``spec`` (a key of ``SURFACES``, or ``"expr:<formula>"``), built with ``kwargs``.

    ``quadratic`` takes ``condition`` and ``rotation``; a formula takes ``domain`` and ``start``; the other
    surfaces take no arguments. Unknown names, unknown arguments and bad values raise ``ValueError``.
    """
    is_expression = isinstance(spec, str) and spec.startswith(EXPR_PREFIX)
    if not is_expression:
        check_choice("surface", "name", spec, [*SURFACES, f"{EXPR_PREFIX}<formula>"])
    allowed = ("domain", "start") if is_expression else _ARGUMENTS.get(spec, ())
    for name in kwargs:
        if name not in allowed:
            allowed_text = ", ".join(repr(arg) for arg in allowed) or "none"
            owner = EXPR_PREFIX + "<formula>" if is_expression else spec
            raise ValueError(f"surface: invalid argument {name!r} for {owner!r}; allowed values: {allowed_text}")
    if is_expression:
        return _expression_surface(spec[len(EXPR_PREFIX) :], **kwargs)  # type: ignore[arg-type]
    if spec == "quadratic":
        return quadratic(**kwargs)  # type: ignore[arg-type]
    return SURFACES[spec]


def _expression_surface(text: str, domain: object = EXPR_DOMAIN, start: object = None) -> Surface:
    """A surface from a typed formula: minima unknown (empty); the domain given or ``EXPR_DOMAIN``; the start given
    or 10% in from the domain's top-left corner (``EXPR_START`` for the default domain).

    A constant formula (``3``, ``pi*e``) is refused rather than run: every optimizer would stand still on it, which
    teaches nothing and looks like a fault; the message says why, where the person typed it."""
    formula = parse_formula(text)
    if not (formula.uses_x or formula.uses_y):
        raise ValueError(f"surface: the formula {text.strip()!r} uses neither x nor y: a constant is flat, its "
                         "gradient is zero everywhere and no optimizer would move; write a formula in x and y, e.g. "
                         "x**2 + y**2")
    try:
        (xmin, xmax), (ymin, ymax) = domain  # type: ignore[misc]
        if start is None:
            start = (xmin + 0.1 * (xmax - xmin), ymax - 0.1 * (ymax - ymin))
        sx, sy = start  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(
            f"surface: invalid domain={domain!r} or start={start!r}; expected ((xmin, xmax), (ymin, ymax)) and (x, y)"
        ) from None
    xmin, ymin = check_number("surface", "xmin", xmin), check_number("surface", "ymin", ymin)
    xmax = check_number("surface", "xmax", xmax, low=xmin, low_open=True)
    ymax = check_number("surface", "ymax", ymax, low=ymin, low_open=True)
    sx = check_number("surface", "start_x", sx, low=xmin, high=xmax)
    sy = check_number("surface", "start_y", sy, low=ymin, high=ymax)
    return Surface(
        key=EXPR_PREFIX + text,
        name=text.strip(),
        description="A formula typed by the user.",
        formula=text.strip(),
        f=formula,
        domain=((xmin, xmax), (ymin, ymax)),
        start=(sx, sy),
    )


def grid(surface: Surface, n: int = 200) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Sample ``surface`` on an n x n grid over its domain, for contour plots.

    Returns ``xs`` (n,), ``ys`` (n,) and ``zs`` (n, n) with ``zs[i, j] = f(xs[j], ys[i])`` (rows follow y, as plotly's
    ``go.Contour(x=xs, y=ys, z=zs)`` expects), computed in float64 without autograd.
    """
    n = check_number("grid", "n", n, low=2, high=2000, integer=True)
    (xmin, xmax), (ymin, ymax) = surface.domain
    xs = torch.linspace(xmin, xmax, n, dtype=torch.float64)
    ys = torch.linspace(ymin, ymax, n, dtype=torch.float64)
    with torch.no_grad():
        zs = surface(xs.view(1, n), ys.view(n, 1))
    return xs.numpy(), ys.numpy(), zs.to(torch.float64).numpy()
