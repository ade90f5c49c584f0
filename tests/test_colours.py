"""Every registered optimizer wears a colour that no other one could be mistaken for: far apart in CIELAB, and of
another hue unless clearly lighter or darker (the old palette's teal heavy ball and green Adam fail this)."""

import itertools
import math

import pytest

from engine.figures.colours import HIGHLIGHT, NEUTRAL, PALETTE, SERIES, optimizer_colour
from optimizers import REGISTRY

MIN_DISTANCE = 25.0  # CIE76 delta E between any two optimizers' colours
MIN_HUE_DEGREES = 40.0  # two chromatic colours closer in hue than this...
MIN_LIGHTNESS = 25.0  # ...must differ at least this much in lightness L*
CHROMATIC = 20.0  # chroma C* above which a colour has a hue (black and greys have none)


def lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB hex colour (CIE 15:2004; the sRGB matrix of IEC 61966-2-1)."""
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def distinguishable(a: str, b: str) -> bool:
    (l1, a1, b1), (l2, a2, b2) = lab(a), lab(b)
    if math.dist((l1, a1, b1), (l2, a2, b2)) < MIN_DISTANCE:
        return False
    if math.hypot(a1, b1) < CHROMATIC or math.hypot(a2, b2) < CHROMATIC:
        return True
    hue = abs(math.degrees(math.atan2(b1, a1) - math.atan2(b2, a2))) % 360
    return min(hue, 360 - hue) >= MIN_HUE_DEGREES or abs(l1 - l2) >= MIN_LIGHTNESS


PAIRS = list(itertools.combinations(REGISTRY, 2))


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_any_two_optimizers_are_distinguishable(first: str, second: str) -> None:
    assert distinguishable(optimizer_colour(first), optimizer_colour(second))


def test_every_registered_optimizer_has_its_own_colour_outside_the_other_roles() -> None:
    colours = [optimizer_colour(key) for key in REGISTRY]
    assert len(set(colours)) == len(REGISTRY) <= len(PALETTE)
    assert not set(colours) & {NEUTRAL, HIGHLIGHT, *SERIES}
    assert optimizer_colour("no such optimizer") == NEUTRAL


def test_the_criterion_rejects_the_old_near_identical_greens() -> None:
    assert not distinguishable("#44AA99", "#117733")  # the old heavy ball and Adam
    assert distinguishable("#0072B2", "#88CCEE")  # one hue, clearly lighter
