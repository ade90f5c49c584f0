"""The formula parser: accepted formulas match torch, autograd matches finite differences, attacks are refused."""

from __future__ import annotations

import math

import pytest
import torch

from engine.tasks.expression import MAX_LENGTH, parse_formula

ACCEPTED = [  # (formula, the same function written in torch)
    ("x**2 + 10*sin(y)", lambda x, y: x**2 + 10 * torch.sin(y)),
    ("(1 - x)**2 + 100*(y - x**2)**2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("-x + +y - 3/4", lambda x, y: -x + y - 0.75),
    ("exp(-(x**2 + y**2)/2) * cos(pi*x)", lambda x, y: torch.exp(-(x**2 + y**2) / 2) * torch.cos(math.pi * x)),
    (
        "log(1 + x**2) + sqrt(1 + y**2) + abs(x - y)",
        lambda x, y: torch.log(1 + x**2) + (1 + y**2) ** 0.5 + (x - y).abs(),
    ),
    (
        "tanh(x) + sinh(y/3) + cosh(x/3) + tan(y/4)",
        lambda x, y: x.tanh() + (y / 3).sinh() + (x / 3).cosh() + (y / 4).tan(),
    ),
    (
        "asin(x/9) + arcsin(y/9) + acos(x/3) + arccos(y/3)",
        lambda x, y: (x / 9).asin() + (y / 9).asin() + (x / 3).acos() + (y / 3).acos(),
    ),
    (
        "atan(x) + arctan(y) + atan2(y, x - 5) + arctan2(y, 2)",
        lambda x, y: x.atan() + y.atan() + torch.atan2(y, x - 5) + torch.atan2(y, 2 + 0 * y),
    ),
    (
        "min(x, y) + max(x, 0.5) + pow(x, 2) + pow(2, y)",
        lambda x, y: torch.minimum(x, y) + x.clamp(min=0.5) + x**2 + 2**y,
    ),
    ("e**x - 2**-y + x**-2 + 2**3**2", lambda x, y: math.e**x - 2 ** (-y) + x ** (-2) + 512),
    ("x**y", lambda x, y: x**y),
]

REFUSED = [  # (formula, a fragment the message must contain)
    ("__import__('os').system('ls')", "__import__('os').system"),
    ("__import__('os')", "call to __import__"),
    ("().__class__.__bases__", "attribute access"),
    ("x.real", "'x.real' at column 1"),
    ("lambda: 1", "lambdas"),
    ("'a'*10", "string"),
    ("b'a'", "string"),
    ("[x for x in y]", "comprehensions"),
    ("9**9**9", "'9**9' at column 4"),
    ("2**10000", "|exponent| <= 100"),
    ("x**1e6", "'1e6' at column 4"),
    ("pow(x, -101)", "exponent -101"),
    ("1e400", "'1e400' at column 1"),
    ("1e13 + x", "|number| <= 1e+12"),
    ("a", "'a' at column 1 is not allowed (unknown name); allowed names: x, y, pi, e"),
    ("x + os", "'os' at column 5"),
    ("exec('1')", "call to exec"),
    ("open('f')", "call to open"),
    ("sin(x, y)", "sin takes 1 argument, got 2"),
    ("atan2(x)", "atan2 takes 2 arguments, got 1"),
    ("sin(x=1)", "keyword arguments"),
    ("max(*x)", "starred argument"),
    ("x if y else 1", "conditional expressions"),
    ("x < y", "comparisons"),
    ("x and y", "boolean operators"),
    ("not x", "operator"),
    ("x % 2", "allowed operators"),
    ("f'{x}'", "f-strings"),
    ("(x, y)", "tuples"),
    ("x[0]", "subscripts"),
    ("(z := 1)", "assignment expressions"),
    ("True + x", "literal"),
    ("1j * x", "literal"),
    ("1/0 + x", "constant part = inf"),
    ("x" * 600, f"length <= {MAX_LENGTH}"),
    ("(" * 100 + "x" + ")" * 100, "parentheses nested deeper than 50"),
    ("-" * 80 + "x", "nested deeper than 50"),
    ("+".join(["(" + "+".join(["x"] * 20) + ")"] * 6), "more than 200 nodes"),  # wide, only ~25 deep
    ("+".join(["x"] * 150), "nested deeper than 50"),
    ("x + * y", "invalid syntax at column 5"),
    ("sin(x", "invalid syntax"),
    ("", "empty"),
    ("x + \u03c0", "character 'π' at column 5"),
]


def points() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(7, generator=generator, dtype=torch.float64) * 2 + 0.5
    y = torch.rand(7, generator=generator, dtype=torch.float64) * 2 - 1
    return x, y


@pytest.mark.parametrize(("text", "reference"), ACCEPTED, ids=[text for text, _ in ACCEPTED])
def test_accepted_formula_matches_torch(text, reference):
    x, y = points()
    torch.testing.assert_close(parse_formula(text)(x, y), reference(x, y), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("text", [text for text, _ in ACCEPTED])
def test_autograd_matches_finite_differences(text):
    x, y = (t.clone().requires_grad_(True) for t in points())
    x = x + 0.01 * (x - 1).sign()  # keep min/max away from their kinks at x = 0.5 and x = y
    assert torch.autograd.gradcheck(parse_formula(text), (x, y))


def test_broadcasts_and_keeps_dtype():
    formula = parse_formula("x * y + 1")
    out = formula(torch.ones(3, 1, dtype=torch.float32), torch.ones(4, dtype=torch.float32))
    assert out.shape == (3, 4) and out.dtype == torch.float32


def test_constant_and_one_variable_formulas_broadcast():
    assert parse_formula("2*pi")(torch.zeros(2, 1), torch.zeros(3)).shape == (2, 3)
    formula = parse_formula("x**2")
    assert formula.uses_x and not formula.uses_y
    torch.testing.assert_close(formula(torch.tensor([3.0]), torch.zeros(2)), torch.tensor([9.0, 9.0]))


def test_power_tower_with_small_folded_exponent_is_allowed():
    torch.testing.assert_close(parse_formula("x**2**3")(torch.tensor(2.0), torch.tensor(0.0)), torch.tensor(256.0))


@pytest.mark.parametrize(("text", "fragment"), REFUSED, ids=[text[:30] for text, _ in REFUSED])
def test_refused(text, fragment):
    with pytest.raises(ValueError, match=r"^formula: ") as error:
        parse_formula(text)
    assert fragment in str(error.value)


def test_non_string_is_refused():
    with pytest.raises(ValueError, match="formula: invalid text=3"):
        parse_formula(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("literal", ["9" * 400, "-" + "9" * 400, "1" + "0" * 400 + ".5"])
def test_a_huge_number_literal_is_refused_with_a_message(literal: str) -> None:
    """Issue 14: a 400-digit integer literal raised OverflowError (int too large to convert to float) in the parser."""
    with pytest.raises(ValueError, match=r"is not allowed \(the number\); valid range: \|number\| <= 1e\+12"):
        parse_formula(f"{literal} * x")
