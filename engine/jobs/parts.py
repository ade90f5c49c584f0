"""A job's comparison in parts: the whole of a new job, or the runs left of an interrupted one, each part itself a
comparison that the runner takes as it is.

Resuming an interrupted job runs only the runs that had not ended (a run that ended, cancelled ones included, is
kept as saved). The runner takes a ``ComparisonSpec``, i.e. every optimizer over every seed; the runs left need not
be such a product (seed 0 ended, seed 1 only for Adam), so they are grouped into parts: the seeds missing the same
optimizers form one comparison of those optimizers. A run is fixed by its own spec (the seed gives the initial
weights, the batches and the split), so a part's runs equal the whole's. Each part maps its runs and optimizers back
to their positions in the job's comparison, where the job keeps its telemetry and its per-optimizer stops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine.runs import ComparisonSpec, RunResult


@dataclass(frozen=True)
class Part:
    """``spec``: a comparison of some of a job's runs; ``runs``: the position in the job's ``spec.runs()`` of each of
    ``spec.runs()``; ``optimizers``: the position in the job's ``spec.optimizers`` of each of ``spec.optimizers``."""

    spec: ComparisonSpec
    runs: tuple[int, ...]
    optimizers: tuple[int, ...]


def whole(spec: ComparisonSpec) -> list[Part]:
    """A new job: its comparison as one part."""
    return [Part(spec, tuple(range(len(spec.runs()))), tuple(range(len(spec.optimizers))))]


def rest(spec: ComparisonSpec, ended: Sequence[RunResult]) -> list[Part]:
    """The runs of ``spec`` without a result in ``ended``, in parts (the module docstring); [] when none is left.
    Twin runs (the same optimizer twice in ``spec``) are matched one result each."""
    runs, left = spec.runs(), list(ended)
    done = [False] * len(runs)
    for index, run in enumerate(runs):
        match = next((position for position, result in enumerate(left) if result.spec == run), None)
        if match is not None:
            done[index] = True
            del left[match]
    count = len(spec.optimizers)
    groups: dict[tuple[int, ...], list[int]] = {}  # the optimizers missing -> the seeds (positions) missing them
    for seed in range(len(spec.seeds)):
        missing = tuple(position for position in range(count) if not done[seed * count + position])
        if missing:
            groups.setdefault(missing, []).append(seed)
    return [Part(replace(spec, optimizers=tuple(spec.optimizers[p] for p in missing),
                         seeds=tuple(spec.seeds[s] for s in seeds)),
                 tuple(s * count + p for s in seeds for p in missing), missing)
            for missing, seeds in groups.items()]
