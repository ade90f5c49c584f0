"""What to run, as data: the optimizer choice, one run, and a fair comparison of several optimizers over seeds.

These frozen dataclasses are what the URL, the CLI, the exports, the job manager and the sweeps pass around. Each
validates eagerly (the field, the bad value and its valid range, as the optimizers do) and round-trips through
JSON: ``RunSpec.from_json(spec.to_json()) == spec``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from engine.surfaces import get_surface
from optimizers import get
from optimizers.registry import HyperValue
from optimizers.validation import check_choice, check_number

MNIST1D = "mnist1d"
"""The network task: the seed MLP on MNIST-1D. Every other task is a 2-D surface (``engine.surfaces``)."""


def default_log_every(task: str) -> int:
    """Telemetry every step on a surface (the Playground draws every point); every 10 steps on MNIST-1D, about
    three records an epoch at batch 128, which keeps full telemetry within a few percent of a bare training loop."""
    return 10 if task == MNIST1D else 1


@dataclass(frozen=True)
class OptimizerChoice:
    """A registered optimizer with every hyperparameter resolved (registry defaults updated by the user's values).

    Built once on a scalar at construction, so an invalid value fails here, with the optimizer's own message.
    """

    key: str
    hyperparameters: dict[str, HyperValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        info = get(self.key)
        object.__setattr__(self, "hyperparameters", info.resolve(self.hyperparameters))
        info.build([torch.zeros(1, requires_grad=True)], **self.hyperparameters)

    @classmethod
    def parse(cls, text: str) -> OptimizerChoice:
        """``"adam"`` or ``"agaw:target_lr=0.0046,gamma=1.7"`` (the CLI's and the URL's form)."""
        key, _, assignments = text.partition(":")
        key = key.strip()
        values: dict[str, str] = {}
        for assignment in filter(None, (part.strip() for part in assignments.split(","))):
            name, equals, value = assignment.partition("=")
            if not equals or not name.strip():
                raise ValueError(f"{key}: invalid setting {assignment!r}; expected name=value")
            values[name.strip()] = value.strip()
        return cls(key, values)

    def __str__(self) -> str:
        """The ``parse`` form, with only the values that differ from the registry's defaults."""
        defaults = get(self.key).defaults()
        changed = [f"{name}={value}" for name, value in self.hyperparameters.items() if defaults[name] != value]
        return self.key + (":" + ",".join(changed) if changed else "")

    @property
    def label(self) -> str:
        """A display name: the registry's name and the values that differ from its defaults."""
        text = str(self)
        changed = text.partition(":")[2]
        return get(self.key).name + (f" ({changed.replace(',', ', ')})" if changed else "")

    def build(self, params: Any) -> torch.optim.Optimizer:
        return get(self.key).build(params, **self.hyperparameters)


def _check_task(task: str, task_args: dict[str, Any]) -> None:
    """A known task; for a surface, arguments it accepts (``noise`` and ``start`` belong to the runner)."""
    if task == MNIST1D:
        for name in task_args:
            check_choice(MNIST1D, "task argument", name, ("depth", "width"))
        return
    surface_args = {name: value for name, value in task_args.items() if name not in ("noise", "start")}
    get_surface(task, **surface_args)
    check_number(task, "noise", task_args.get("noise", 0.0), low=0.0)


@dataclass(frozen=True)
class ComparisonSpec:
    """Several optimizers on one task over several seeds: for each seed every optimizer starts from the same
    initial point or weights and sees the same mini-batches (the runner guarantees it).

    ``steps`` counts optimizer steps on a surface; ``epochs`` passes over MNIST-1D's training split;
    ``log_every`` defaults to ``default_log_every(task)``.
    ``task_args``: a surface's own arguments (e.g. ``condition``, ``rotation``, ``domain``), ``noise`` (the
    standard deviation of Gaussian gradient noise) and ``start`` for surfaces; ``depth`` and ``width`` of the MLP.
    """

    task: str
    optimizers: tuple[OptimizerChoice, ...]
    seeds: tuple[int, ...] = (0,)
    steps: int = 200
    epochs: int = 20
    batch_size: int = 128
    log_every: int | None = None
    task_args: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"

    def __post_init__(self) -> None:
        owner = "comparison"
        if self.log_every is None:
            object.__setattr__(self, "log_every", default_log_every(self.task))
        if not self.optimizers:
            raise ValueError(f"{owner}: invalid optimizers=(); expected at least one optimizer")
        _check_task(self.task, self.task_args)
        for seed in self.seeds:
            check_number(owner, "seed", seed, low=0, high=2**31 - 1, integer=True)
        if not self.seeds:
            raise ValueError(f"{owner}: invalid seeds=(); expected at least one seed")
        check_number(owner, "steps", self.steps, low=1, high=1_000_000, integer=True)
        check_number(owner, "epochs", self.epochs, low=1, high=10_000, integer=True)
        check_number(owner, "batch_size", self.batch_size, low=1, high=3600, integer=True)
        check_number(owner, "log_every", self.log_every, low=1, integer=True)
        if self.device not in ("auto", "cpu") and not self.device.startswith("cuda"):
            raise ValueError(f"{owner}: invalid device={self.device!r}; allowed values: 'auto', 'cpu', 'cuda[:N]'")

    def runs(self) -> list[RunSpec]:
        """One run per (seed, optimizer), seed-major: the optimizers of a seed run side by side."""
        shared = {name: value for name, value in asdict(self).items() if name not in ("optimizers", "seeds")}
        return [RunSpec(optimizer=choice, seed=seed, **shared) for seed in self.seeds for choice in self.optimizers]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "optimizers": [_choice_dict(c) for c in self.optimizers], "seeds": list(self.seeds)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComparisonSpec:
        values = dict(data)
        values["optimizers"] = tuple(OptimizerChoice(**choice) for choice in values["optimizers"])
        values["seeds"] = tuple(values.get("seeds", (0,)))
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ComparisonSpec:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class RunSpec:
    """One optimizer on one task from one seed: a single row of a ``ComparisonSpec``."""

    task: str
    optimizer: OptimizerChoice
    seed: int = 0
    steps: int = 200
    epochs: int = 20
    batch_size: int = 128
    log_every: int | None = None
    task_args: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.log_every is None:
            object.__setattr__(self, "log_every", default_log_every(self.task))
        ComparisonSpec(**{**self._shared(), "optimizers": (self.optimizer,), "seeds": (self.seed,)})

    def _shared(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("task", "steps", "epochs", "batch_size", "log_every",
                                                       "task_args", "device")}

    def with_seed(self, seed: int) -> RunSpec:
        return replace(self, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        return {**self._shared(), "optimizer": _choice_dict(self.optimizer), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls(**{**data, "optimizer": OptimizerChoice(**data["optimizer"])})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls.from_dict(json.loads(text))


def _choice_dict(choice: OptimizerChoice) -> dict[str, Any]:
    return {"key": choice.key, "hyperparameters": dict(choice.hyperparameters)}
