"""One colour per registered optimizer, the same on every page and in every exported figure.

Colours are assigned in ``REGISTRY`` order from ``PALETTE``, eleven colours picked so that any two of them tell
apart at a glance (CIELAB distance at least 25, and two colours of one hue family differ clearly in lightness: see
``tests/test_colours.py``). They come from Okabe & Ito's colour-blind-safe set (blue, vermillion), Paul Tol's "muted"
and "light" schemes and CARTO's "Bold", "Prism" and "Safe", none of them in ``SERIES``; a registry longer than the
palette cycles through it again. Keys the registry does not know get a neutral grey, so a figure never fails for want
of a colour.
"""

from __future__ import annotations

from optimizers.registry import REGISTRY

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue (Okabe-Ito): SGD
    "#D55E00",  # vermillion (Okabe-Ito): heavy ball
    "#5F4690",  # violet (CARTO Prism): Nesterov
    "#117733",  # green (Tol muted): Adam
    "#008695",  # petrol (CARTO Bold): AdamW
    "#EE99AA",  # pink (Tol light): Adam + linear warmup
    "#661100",  # dark brown (CARTO Safe): GNW-Adam
    "#88CCEE",  # sky (Tol muted): A2Grad
    "#882255",  # wine (Tol muted): AGAW
    "#999933",  # olive (Tol muted): GAO
    "#000000",  # black: AutoSGM
)
"""Distinguishable qualitative colours, in assignment order: the Playground's default comparison (SGD, heavy ball,
Nesterov, Adam) gets four far-apart hues, the research optimizers, often drawn together, get brown, sky, wine,
olive and black, and every one of them stands apart from Adam's green, which the claims compare them with."""

NEUTRAL = "#888888"
"""The colour of an optimizer the registry does not know."""

HIGHLIGHT = "#EE7733"
"""The user's own configuration on a theory figure (Tol's vibrant orange, outside ``PALETTE``)."""

SERIES: tuple[str, ...] = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377")
"""Tol's "bright" scheme, for series that are not optimizers (a response, a run of one optimizer), so they never
borrow an optimizer's colour."""

_BY_KEY: dict[str, str] = {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(REGISTRY)}


def optimizer_colour(key: str) -> str:
    """The colour of the registered optimizer ``key`` (a hex string); ``NEUTRAL`` for an unknown key."""
    return _BY_KEY.get(key, NEUTRAL)


PRESET_OPTIMIZER: dict[str, str] = {
    "SGD": "sgd",
    "heavy ball": "momentum",
    "Nesterov": "nesterov",
    "Adam EMA": "adam",
    "AutoSGM default": "autosgm",
}
"""The optimizer whose filter each AutoSGM filter preset is (spec §2.2), so a preset wears that optimizer's colour."""

PRESET_COLOURS: dict[str, str] = {name: optimizer_colour(key) for name, key in PRESET_OPTIMIZER.items()}
"""Colour of each filter preset by name; a preset not listed here is drawn in ``NEUTRAL``."""


def preset_colour(name: str) -> str:
    """The colour of the filter preset ``name``: its optimizer's, or ``NEUTRAL``."""
    return PRESET_COLOURS.get(name, NEUTRAL)
