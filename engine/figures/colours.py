"""One colour per registered optimizer, the same on every page and in every exported figure.

Colours come from Paul Tol's colour-blind-safe "muted" scheme (nine hues), extended by the dark brown of CARTO's
"Safe" scheme and black, and are assigned in ``REGISTRY`` order; a registry longer than the palette cycles through
it again. Keys the registry does not know get a neutral grey, so a figure never fails for want of a colour.
"""

from __future__ import annotations

from optimizers.registry import REGISTRY

PALETTE: tuple[str, ...] = (
    "#332288",  # indigo: SGD
    "#44AA99",  # teal: heavy ball
    "#DDCC77",  # sand: Nesterov
    "#117733",  # green: Adam
    "#882255",  # wine: AdamW
    "#661100",  # dark brown (CARTO Safe): Adam + linear warmup
    "#CC6677",  # rose: GNW-Adam
    "#88CCEE",  # cyan: A2Grad
    "#AA4499",  # purple: AGAW
    "#999933",  # olive: GAO
    "#000000",  # black: AutoSGM
)
"""Colour-blind-safe qualitative colours, in assignment order: the research optimizers, often drawn together, get
hues far apart (rose, cyan, purple, olive, black), and so do the pairs the claims compare (Adam's green against
each)."""

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
