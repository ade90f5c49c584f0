"""Which runs may be pooled over seeds: runs with identical settings, each seed at most once, and their labels.

A mean and confidence interval over seeds (``engine.runs.stats.mean_ci``) is only meaningful over runs that differ in
nothing but the seed: the same task and task arguments, length (steps or epochs), batch size, logging, device and
optimizer with the same hyperparameters. ``setting_key`` is that identity: the run's spec (``RunSpec.to_dict``)
without its seed. ``group_runs`` puts runs with the same key into one group, and never pools one seed twice: the
k-th run of a (setting, seed) pair goes to the k-th group of that setting (``repeat k``), since a repeated seed is a
copy of the same run, not a new sample. Each group carries a label that tells it apart from every other group shown
with it (``describe`` adds the length and the seeds, which a list of saved runs needs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.runs.result import RunResult
from engine.runs.spec import RunSpec


def setting_key(spec: RunSpec) -> str:
    """Everything in ``spec`` but its seed, as canonical JSON: two runs may be pooled iff their keys are equal."""
    data = spec.to_dict()
    del data["seed"]
    return json.dumps(data, sort_keys=True)


@dataclass(frozen=True)
class RunGroup:
    """Runs with one setting and distinct seeds, in the order given. ``base``: the label without the seeds (the
    optimizer, what sets the group apart from the others shown with it, and ``repeat k`` for a repeated seed);
    ``label``: the legend and table name (``base`` with the seeds when described)."""

    runs: tuple[RunResult, ...]
    base: str
    label: str

    @property
    def seeds(self) -> list[int]:
        return [run.spec.seed for run in self.runs]


def seeds_text(seeds: Iterable[int]) -> str:
    """``seed 3``, ``seeds 0, 2, 5`` or ``seeds 0-9`` (three or more consecutive seeds as a range), in sorted order."""
    ordered = sorted(set(seeds))
    parts: list[str] = []
    start = 0
    for index in range(1, len(ordered) + 1):
        if index == len(ordered) or ordered[index] != ordered[index - 1] + 1:
            stretch = ordered[start:index]
            parts += [f"{stretch[0]}-{stretch[-1]}"] if len(stretch) >= 3 else [str(seed) for seed in stretch]
            start = index
    return f"seed{'s' * (len(ordered) != 1)} {', '.join(parts)}"


def _length(spec: RunSpec) -> str:
    """``10 epochs`` or ``200 steps``: the run's length in its task's unit."""
    if spec.task_info.length == "epochs":
        return f"{spec.epochs} epoch{'s' * (spec.epochs != 1)}"
    return f"{spec.steps} step{'s' * (spec.steps != 1)}"


_EXTRAS = (  # what may set a group apart beyond its optimizer and length, as a label shows it
    lambda spec: spec.task,
    lambda spec: f"batch {spec.batch_size}",
    lambda spec: ", ".join(f"{name}={value}" for name, value in sorted(spec.task_args.items())) or "default model",
    lambda spec: f"logged every {spec.log_every}",
    lambda spec: spec.device,
)


def group_runs(results: Iterable[RunResult], *, describe: bool = False) -> list[RunGroup]:
    """The runs in groups of identical settings and distinct seeds, in first-seen order (module docstring).

    Labels: the optimizer's label, then whatever differs between the groups (the length; the task, batch size, model,
    logging or device), then ``repeat k`` for the k-th copy of a seed. ``describe`` always names the length and ends
    with the seeds (``Adam (lr=0.01) · 10 epochs · seeds 0-2``), as a list of saved runs needs.
    """
    slots: dict[tuple[str, int], list[RunResult]] = {}  # (setting, repeat) -> its runs
    for result in results:
        key = setting_key(result.spec)
        repeat = 1
        while any(run.spec.seed == result.spec.seed for run in slots.get((key, repeat), ())):
            repeat += 1
        slots.setdefault((key, repeat), []).append(result)
    firsts = [runs[0].spec for runs in slots.values()]
    varying = [extra for extra in _EXTRAS if len({extra(spec) for spec in firsts}) > 1]
    name_length = describe or len({_length(spec) for spec in firsts}) > 1
    groups = []
    for (_, repeat), runs in slots.items():
        spec = runs[0].spec
        parts = [spec.optimizer.label, *([_length(spec)] if name_length else []), *(extra(spec) for extra in varying),
                 *([f"repeat {repeat}"] if repeat > 1 else [])]
        base = " · ".join(parts)
        label = f"{base} · {seeds_text(run.spec.seed for run in runs)}" if describe else base
        groups.append(RunGroup(tuple(runs), base, label))
    return groups


def run_labels(results: Sequence[RunResult], *, describe: bool = False) -> list[str]:
    """A distinct name for each run (in order): its group's ``base`` and its seed (``· seed 2``; seed 0 unnamed unless
    ``describe``), for figures that draw every seed as its own line."""
    names = {}
    for group in group_runs(results, describe=describe):
        for run in group.runs:
            seed = run.spec.seed
            names[id(run)] = f"{group.base} · seed {seed}" if describe or seed != 0 else group.base
    return [names[id(result)] for result in results]
