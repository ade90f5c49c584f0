"""2-D loss surfaces: autograd against finite differences, the listed minima, quadratic's Hessian, bad input, grid."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from engine.tasks.surfaces import EXPR_DOMAIN, EXPR_START, SURFACES, Surface, get_surface, grid

UNDER_TEST: list[Surface] = [
    *SURFACES.values(),
    get_surface("quadratic", condition=50.0, rotation=30.0),
    get_surface("expr:x**2 + 10*sin(y) - atan2(y, x - 9)"),
]
IDS = [surface.key if surface.key != "quadratic" else surface.name for surface in UNDER_TEST]


def random_points(surface: Surface, n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    (xmin, xmax), (ymin, ymax) = surface.domain
    x = xmin + (xmax - xmin) * torch.rand(n, generator=generator, dtype=torch.float64)
    y = ymin + (ymax - ymin) * torch.rand(n, generator=generator, dtype=torch.float64)
    return x.requires_grad_(True), y.requires_grad_(True)


@pytest.mark.parametrize("surface", UNDER_TEST, ids=IDS)
def test_autograd_matches_finite_differences(surface):
    assert torch.autograd.gradcheck(surface, random_points(surface))


@pytest.mark.parametrize("surface", UNDER_TEST, ids=IDS)
def test_start_and_minima_lie_in_the_domain(surface):
    (xmin, xmax), (ymin, ymax) = surface.domain
    assert xmin < xmax and ymin < ymax
    for x, y in (surface.start, *surface.minima):
        assert xmin <= x <= xmax and ymin <= y <= ymax
    assert (surface.min_value is None) == (not surface.minima)


@pytest.mark.parametrize(
    "surface", [s for s in UNDER_TEST if s.minima], ids=[i for s, i in zip(UNDER_TEST, IDS, strict=True) if s.minima]
)
def test_minima_have_the_listed_value_and_zero_gradient(surface):
    point = torch.tensor(surface.minima, dtype=torch.float64, requires_grad=True)
    values = surface.at(point)
    (gradient,) = torch.autograd.grad(values.sum(), point)
    torch.testing.assert_close(values, torch.full_like(values, surface.min_value), rtol=0, atol=1e-8)
    torch.testing.assert_close(gradient, torch.zeros_like(gradient), rtol=0, atol=1e-8)
    # a global minimum: no lower value on the plotting grid
    assert grid(surface, 101)[2].min() >= surface.min_value - 1e-8


def test_saddle_has_no_minimum_and_is_unbounded_below():
    saddle = SURFACES["saddle"]
    assert saddle.minima == () and saddle.min_value is None
    assert saddle(torch.tensor(0.0), torch.tensor(1e3)) == -1e6


@pytest.mark.parametrize(("condition", "rotation"), [(1.0, 0.0), (10.0, 0.0), (100.0, 45.0), (7.5, -120.0)])
def test_quadratic_hessian_has_eigenvalues_one_and_condition(condition, rotation):
    surface = get_surface("quadratic", condition=condition, rotation=rotation)
    start = torch.tensor([0.3, -0.7], dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(surface.at, start)
    eigenvalues, eigenvectors = torch.linalg.eigh(hessian)
    torch.testing.assert_close(eigenvalues, torch.tensor([1.0, condition], dtype=torch.float64))
    if condition > 1:  # the flat axis (eigenvalue 1) points along the rotation angle
        flat = torch.tensor([math.cos(math.radians(rotation)), math.sin(math.radians(rotation))], dtype=torch.float64)
        assert abs(torch.dot(eigenvectors[:, 0], flat)) == pytest.approx(1.0)


def test_registry_quadratic_has_the_defaults():
    torch.testing.assert_close(
        torch.autograd.functional.hessian(SURFACES["quadratic"].at, torch.zeros(2, dtype=torch.float64)),
        torch.diag(torch.tensor([1.0, 10.0], dtype=torch.float64)),
    )


def test_gallery_starts_and_domains():
    assert SURFACES["rosenbrock"].start == (-2.0, 2.0) and SURFACES["rosenbrock"].domain == ((-2, 2), (-1, 3))
    assert SURFACES["rastrigin"].start == (-2.0, 3.5) and SURFACES["rastrigin"].domain == ((-3.6, 3.6), (-3.6, 3.6))


@pytest.mark.parametrize(
    ("spec", "kwargs", "fragment"),
    [
        ("quadratic", {"condition": 0.5}, "quadratic: invalid condition=0.5; valid range: 1 <= condition"),
        ("quadratic", {"condition": float("nan")}, "invalid condition=nan"),
        ("quadratic", {"condition": True}, "invalid condition=True"),
        ("quadratic", {"rotation": float("inf")}, "invalid rotation=inf"),
        ("quadratic", {"kappa": 3.0}, "invalid argument 'kappa' for 'quadratic'; allowed values: 'condition'"),
        ("rosenbrock", {"condition": 3.0}, "invalid argument 'condition' for 'rosenbrock'"),
        ("sphere", {}, "surface: invalid name='sphere'; allowed values: 'rosenbrock'"),
        ("expr:os.system('ls')", {}, "formula: 'os.system' at column 1"),
        ("expr:x", {"domain": ((1.0, 0.0), (0.0, 1.0))}, "invalid xmax=0.0; valid range: xmax > 1"),
        ("expr:x", {"domain": (0.0, 1.0)}, "invalid domain=(0.0, 1.0)"),
        ("expr:x", {"start": (9.0, 0.0)}, "invalid start_x=9.0"),
        ("expr:x", {"colour": "red"}, "invalid argument 'colour' for 'expr:<formula>'; allowed values: 'domain'"),
    ],
)
def test_bad_arguments_raise_naming_the_field(spec, kwargs, fragment):
    with pytest.raises(ValueError) as error:
        get_surface(spec, **kwargs)
    assert fragment in str(error.value)


def test_expression_surface():
    surface = get_surface("expr:x**2 + 10*sin(y)")
    assert surface.key == "expr:x**2 + 10*sin(y)" and surface.minima == () and surface.min_value is None
    assert surface.domain == EXPR_DOMAIN and surface.start == EXPR_START
    x, y = random_points(surface)
    torch.testing.assert_close(surface(x, y), x**2 + 10 * torch.sin(y))
    custom = get_surface("expr:x*y", domain=((0, 2), (-1, 1)), start=(1, 0))
    assert custom.domain == ((0.0, 2.0), (-1.0, 1.0)) and custom.start == (1.0, 0.0)
    assert get_surface("expr:x*y", domain=((0, 10), (0, 20))).start == pytest.approx((1.0, 18.0))


def test_at_evaluates_a_batch_of_runs():
    points = torch.tensor([[1.0, 1.0], [-2.0, 2.0], [0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(SURFACES["rosenbrock"].at(points), torch.tensor([0.0, 409.0, 1.0], dtype=torch.float64))


def test_grid_shapes_and_orientation():
    surface = get_surface("expr:x + 10*y", domain=((0, 1), (0, 2)))
    xs, ys, zs = grid(surface, n=5)
    assert xs.shape == ys.shape == (5,) and zs.shape == (5, 5) and zs.dtype == np.float64
    np.testing.assert_allclose(xs, np.linspace(0, 1, 5))
    np.testing.assert_allclose(ys, np.linspace(0, 2, 5))
    np.testing.assert_allclose(zs, xs[None, :] + 10 * ys[:, None])  # rows follow y
    assert grid(SURFACES["ackley"])[2].shape == (200, 200)
    with pytest.raises(ValueError, match="grid: invalid n=1"):
        grid(surface, n=1)


@pytest.mark.parametrize("formula", ["3", "pi*e", "sin(2) + 1"])
def test_a_constant_formula_is_refused_with_why(formula: str) -> None:
    """Issue 14: a constant formula was accepted, then every run raised ``element 0 of tensors does not require
    grad``. A flat surface moves no optimizer, so it is refused where it is typed, saying so."""
    with pytest.raises(ValueError, match=f"the formula '{re.escape(formula)}' uses neither x nor y: a constant"):
        get_surface("expr:" + formula)
    assert get_surface("expr:0*x + 3").formula == "0*x + 3", "a formula in x that happens to be flat still runs"
