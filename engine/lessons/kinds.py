"""The step kinds by name: one per figure of the explorer that a lesson can show (``engine.lessons.base.Kind``)."""

from engine.lessons.base import Kind
from engine.lessons.filters import LowpassKind, StabilityKind
from engine.lessons.landscapes import LandscapeKind
from engine.lessons.surfaces import SurfaceKind
from engine.lessons.training import ClaimKind, SeedsKind

KINDS: dict[str, Kind] = {kind.name: kind for kind in (SurfaceKind(), LandscapeKind(), LowpassKind(),
                                                       StabilityKind(), SeedsKind(), ClaimKind())}
"""Every step kind, by the name a lesson file gives in ``kind``."""
