"""What to run, as data: the optimizer choice, the run settings, one run, and a fair comparison over seeds.

These frozen dataclasses are what the URL, the CLI, the exports, the job manager and the sweeps pass around.
``RunSettings`` is the one definition of what every run of a comparison shares (task, length, batch size, logging,
task arguments, device) and the one place they are validated; ``RunSpec`` (one optimizer from one seed) and
``ComparisonSpec`` (several optimizers over several seeds) extend it. Each validates eagerly at construction (the
field, the bad value and its valid range, as the optimizers do) and round-trips through JSON:
``RunSpec.from_json(spec.to_json()) == spec``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import torch

from engine.tasks import Task, get_task
from optimizers import get
from optimizers.registry import HyperValue
from optimizers.validation import check_number, short_repr


@dataclass(frozen=True)
class OptimizerChoice:
    """A registered optimizer with every hyperparameter resolved (registry defaults updated by the user's values).

    Checked at construction by the optimizer's own constructor (``_check_choice``), so an invalid value fails here,
    with the optimizer's own message.
    """

    key: str
    hyperparameters: dict[str, HyperValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not isinstance(self.hyperparameters, Mapping):
            raise ValueError(f"optimizer: invalid key={self.key!r} or hyperparameters={self.hyperparameters!r}; "
                             "expected a registry key and a mapping of names to values")
        object.__setattr__(self, "hyperparameters", get(self.key).resolve(self.hyperparameters))
        _check_choice(self.key, tuple(self.hyperparameters.items()))

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


_OWNER = "comparison"  # how the settings' messages name what was refused, for a comparison and for one run alike
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
"""The device names a spec takes; whether this machine has the CUDA device is the runner's to check
(``engine.runs.resolve_device``): a run saved on a GPU machine still reads back on another."""


@dataclass(frozen=True)
class RunSettings:
    """What every run of a comparison shares, validated once here: for each seed every optimizer starts from the
    same initial point or weights and sees the same mini-batches (the task guarantees it).

    ``steps`` counts optimizer steps on a surface; ``epochs`` passes over MNIST-1D's training split (the task's
    ``length`` says which applies); ``log_every`` defaults to the task's ``default_log_every``. ``task_args``: the
    task's own arguments (a surface's ``condition``, ``rotation``, ``domain``, ``noise``, ``start``; the MLP's
    ``depth`` and ``width``). ``device``: ``auto``, ``cpu`` or ``cuda[:N]``.
    """

    task: str
    steps: int = field(default=200, kw_only=True)
    epochs: int = field(default=20, kw_only=True)
    batch_size: int = field(default=128, kw_only=True)
    log_every: int | None = field(default=None, kw_only=True)
    task_args: dict[str, Any] = field(default_factory=dict, kw_only=True)
    device: str = field(default="auto", kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.task, str):
            raise ValueError(f"{_OWNER}: invalid task={self.task!r}; expected a task name")
        task = get_task(self.task)
        if self.log_every is None:
            object.__setattr__(self, "log_every", task.default_log_every)
        if not isinstance(self.task_args, Mapping) or not all(isinstance(name, str) for name in self.task_args):
            raise ValueError(f"{_OWNER}: invalid task_args={self.task_args!r}; expected a mapping of names to values")
        task.check_args(self.task_args)
        check_number(_OWNER, "steps", self.steps, low=1, high=1_000_000, integer=True)
        check_number(_OWNER, "epochs", self.epochs, low=1, high=10_000, integer=True)
        check_number(_OWNER, "batch_size", self.batch_size, low=1, high=3600, integer=True)
        check_number(_OWNER, "log_every", self.log_every, low=1, integer=True)
        if not isinstance(self.device, str) or not _DEVICE.fullmatch(self.device):
            raise ValueError(f"{_OWNER}: invalid device={self.device!r}; allowed values: 'auto', 'cpu', 'cuda[:N]'")

    @property
    def task_info(self) -> Task:
        """The task these settings run (``engine.tasks.get_task``): its length, metrics, and how a run of it goes."""
        return get_task(self.task)

    @property
    def total_steps(self) -> int:
        """The optimizer steps one run with these settings takes when it runs to the end."""
        return self.task_info.total_steps(self.steps, self.epochs, self.batch_size)

    def settings_dict(self) -> dict[str, Any]:
        """The shared settings alone, by field name (what a ``RunSpec`` or a ``ComparisonSpec`` is built from)."""
        return {item.name: getattr(self, item.name) for item in fields(RunSettings)}


@dataclass(frozen=True)
class ComparisonSpec(RunSettings):
    """Several optimizers on one task over several seeds, with shared ``RunSettings``."""

    optimizers: tuple[OptimizerChoice, ...]
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if not self.optimizers:
            raise ValueError(f"{_OWNER}: invalid optimizers=(); expected at least one optimizer")
        super().__post_init__()
        for choice in self.optimizers:
            _check_representable(self.task_info, choice)
        for seed in self.seeds:
            check_number(_OWNER, "seed", seed, low=0, high=2**31 - 1, integer=True)
        if not self.seeds:
            raise ValueError(f"{_OWNER}: invalid seeds=(); expected at least one seed")

    def runs(self) -> list[RunSpec]:
        """One run per (seed, optimizer), seed-major: the optimizers of a seed run side by side."""
        shared = self.settings_dict()
        return [RunSpec(optimizer=choice, seed=seed, **shared) for seed in self.seeds for choice in self.optimizers]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "optimizers": [_choice_dict(c) for c in self.optimizers], "seeds": list(self.seeds)}

    @classmethod
    def from_dict(cls, data: object) -> ComparisonSpec:
        """The spec ``to_dict`` wrote; ``ValueError`` (the field, the bad value, what is valid) for anything else."""
        values = fields_of(cls, data)
        for name in ("optimizers", "seeds"):
            if not isinstance(values.get(name, ()), list | tuple):
                raise ValueError(f"{_OWNER}: invalid {name}={short_repr(values[name])}; expected a list")
        values["optimizers"] = tuple(_choice_from(choice) for choice in values["optimizers"])
        values["seeds"] = tuple(values.get("seeds", (0,)))
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ComparisonSpec:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True)
class RunSpec(RunSettings):
    """One optimizer on one task from one seed: a single row of a ``ComparisonSpec``."""

    optimizer: OptimizerChoice
    seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_representable(self.task_info, self.optimizer)
        check_number(_OWNER, "seed", self.seed, low=0, high=2**31 - 1, integer=True)

    def with_seed(self, seed: int) -> RunSpec:
        return replace(self, seed=seed)

    def to_dict(self) -> dict[str, Any]:
        return {**self.settings_dict(), "optimizer": _choice_dict(self.optimizer), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: object) -> RunSpec:
        """The spec ``to_dict`` wrote; ``ValueError`` (the field, the bad value, what is valid) for anything else."""
        values = fields_of(cls, data)
        return cls(**{**values, "optimizer": _choice_from(values["optimizer"])})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls.from_dict(json.loads(text))


@lru_cache(maxsize=1024)
def _check_choice(key: str, hyperparameters: tuple[tuple[str, HyperValue], ...]) -> None:
    """Build optimizer ``key`` once over one scalar parameter, so its constructor's own eager checks (the field,
    the value, the valid range, cross-field rules such as AutoSGM's) judge the values; a choice already checked in
    this process is not built again."""
    get(key).build([torch.zeros(1, requires_grad=True)], **dict(hyperparameters))


def _check_representable(task: Task, choice: OptimizerChoice) -> None:
    """Refuse a numeric hyperparameter that the task's dtype cannot hold (MNIST-1D computes in float32, whose largest
    value is about 3.4e38: an lr of 1e39 would overflow inside the run, not diverge)."""
    largest = torch.finfo(task.dtype).max
    for name, value in choice.hyperparameters.items():
        if not isinstance(value, str) and abs(value) > largest:
            dtype = str(task.dtype).removeprefix("torch.")
            raise ValueError(f"{get(choice.key).name}: invalid {name}={value!r} for {task.phrase}; valid range: "
                             f"|{name}| <= {largest:.6g} (the largest {dtype}, the dtype its runs compute in)")


def fields_of(cls: type, data: object) -> dict[str, Any]:
    """``data`` (read from JSON) as keyword arguments of the dataclass ``cls``: an object holding every field without
    a default and no unknown one; ``ValueError`` naming what is wrong otherwise (the values are the class's to
    check)."""
    owner = cls.__name__
    if not isinstance(data, Mapping):
        raise ValueError(f"{owner}: invalid value {short_repr(data)}; expected an object of its fields")
    known = [item.name for item in fields(cls) if item.init]
    unknown = [name for name in data if name not in known]
    if unknown:
        raise ValueError(f"{owner}: unknown field {short_repr(unknown[0])}; known: {', '.join(known)}")
    missing = [item.name for item in fields(cls)
               if item.init and item.default is MISSING and item.default_factory is MISSING and item.name not in data]
    if missing:
        raise ValueError(f"{owner}: missing field {missing[0]!r}")
    return dict(data)


def _choice_from(data: object) -> OptimizerChoice:
    """The choice ``_choice_dict`` wrote (``{"key", "hyperparameters"}``)."""
    return OptimizerChoice(**fields_of(OptimizerChoice, data))


def _choice_dict(choice: OptimizerChoice) -> dict[str, Any]:
    return {"key": choice.key, "hyperparameters": dict(choice.hyperparameters)}
