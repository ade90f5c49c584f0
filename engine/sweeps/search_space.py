"""Search spaces for the sweeps, generated from the optimizer registry and editable range by range.

A space maps hyperparameter names of one registered optimizer to a ``Range`` (numbers; log-uniform when ``log``) or
``Choices``. ``default_space`` reads the registry's slider ranges, so a newly registered optimizer can be tuned at
once; ``parse_range`` reads the CLI's ``name=low:high[:log]`` edits, ``parse_space`` / ``format_space`` a whole space
as one line (a URL value). Every range is checked eagerly at both ends
by building the optimizer there, so a bad range fails before any trial with the optimizer's own message (field,
value, valid range). ``to_optuna`` gives Optuna's distributions; ``to_dict`` / ``from_dict`` a JSON form, which
the studies also use to refuse a study that exists with a different space.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from engine.runs import OptimizerChoice
from optimizers import get
from optimizers.registry import HyperParam, HyperValue

DEFAULT_TUNED = ("lr", "target_lr")
"""What a sweep tunes when not told: the learning rate (AGAW's is its target); A2Grad, which has none, its beta
and L."""


@dataclass(frozen=True)
class Range:
    """A numeric range [low, high]; integers when ``integer``; sampled log-uniformly when ``log``."""

    low: float
    high: float
    log: bool = False
    integer: bool = False


@dataclass(frozen=True)
class Choices:
    """A categorical dimension."""

    values: tuple[str, ...]


Dimension = Range | Choices
SearchSpace = dict[str, Dimension]


def default_space(key: str, names: Iterable[str] | None = None) -> SearchSpace:
    """The registry's ranges of optimizer ``key`` for ``names`` (default: its learning rate, else its numeric
    hyperparameters' first two)."""
    info = get(key)
    if names is None:
        numeric = [hp.name for hp in info.hyperparams if hp.kind != "choice" and hp.low is not None]
        names = [name for name in DEFAULT_TUNED if name in numeric] or numeric[:2]
    return check_space(key, {name: _dimension(_param(key, name)) for name in names})


def parse_range(key: str, text: str) -> tuple[str, Dimension]:
    """``"lr=1e-4:1e-1:log"``, ``"warmup_steps=10:500"`` or ``"variant=uni|inc|exp"`` for optimizer ``key``."""
    name, equals, value = (part.strip() for part in text.partition("="))
    if not equals or not name or not value:
        raise ValueError(f"{key}: invalid range {text!r}; expected name=low:high[:log] or name=a|b|c")
    hp = _param(key, name)
    if hp.kind == "choice":
        return name, Choices(tuple(part.strip() for part in value.split("|")))
    parts = value.split(":")
    log = parts[-1].strip().lower() == "log"
    if log:
        parts = parts[:-1]
    if len(parts) != 2:
        raise ValueError(f"{key}: invalid range {text!r}; expected name=low:high[:log]")
    low, high = (hp.coerce(part.strip(), key) for part in parts)
    return name, Range(float(low), float(high), log, hp.kind == "int")


def parse_space(key: str, text: str) -> SearchSpace:
    """``"lr=1e-05:1:log,variant=uni|inc"`` (``format_space``'s form, as in a URL), checked for optimizer ``key``."""
    return check_space(key, dict(parse_range(key, part) for part in text.split(",") if part.strip()))


def format_space(space: Mapping[str, Dimension]) -> str:
    """The compact text form that ``parse_space`` reads back: ``lr=1e-05:1:log,variant=uni|inc``."""
    parts = []
    for name, dimension in space.items():
        if isinstance(dimension, Choices):
            parts.append(f"{name}={'|'.join(dimension.values)}")
        else:
            parts.append(f"{name}={dimension.low:g}:{dimension.high:g}" + (":log" if dimension.log else ""))
    return ",".join(parts)


def check_space(key: str, space: Mapping[str, Dimension]) -> SearchSpace:
    """``space`` if every dimension is valid for optimizer ``key``; else ``ValueError`` naming the field."""
    if not space:
        raise ValueError(f"{key}: invalid search space {{}}; expected at least one hyperparameter to tune")
    for name, dimension in space.items():
        hp = _param(key, name)
        if isinstance(dimension, Choices):
            if hp.kind != "choice" or not dimension.values:
                raise ValueError(f"{key}: invalid {name} choices; {name} is a {hp.kind}")
            ends: tuple[HyperValue, ...] = dimension.values
        else:
            if hp.kind == "choice":
                raise ValueError(f"{key}: invalid range for {name}; valid values: {', '.join(hp.choices)}")
            if not dimension.low < dimension.high:
                raise ValueError(f"{key}: invalid {name} range {dimension.low}..{dimension.high}; expected low < high")
            if dimension.log and dimension.low <= 0:
                raise ValueError(f"{key}: invalid {name} range {dimension.low}..{dimension.high}; a log range "
                                 "needs low > 0")
            ends = (hp.coerce(dimension.low, key), hp.coerce(dimension.high, key))
        for value in ends:  # the optimizer's own eager check, at each end
            OptimizerChoice(key, {name: value})
    return dict(space)


def to_optuna(space: Mapping[str, Dimension]) -> dict[str, BaseDistribution]:
    """Optuna's distributions for ``space``."""
    distributions: dict[str, BaseDistribution] = {}
    for name, dimension in space.items():
        if isinstance(dimension, Choices):
            distributions[name] = CategoricalDistribution(dimension.values)
        elif dimension.integer:
            distributions[name] = IntDistribution(int(dimension.low), int(dimension.high), log=dimension.log)
        else:
            distributions[name] = FloatDistribution(dimension.low, dimension.high, log=dimension.log)
    return distributions


def to_dict(space: Mapping[str, Dimension]) -> dict[str, Any]:
    """JSON form: ``{"lr": {"low": ..., "high": ..., "log": true, "integer": false}, "variant": ["uni", ...]}``."""
    return {
        name: list(dimension.values) if isinstance(dimension, Choices) else {
            "low": dimension.low, "high": dimension.high, "log": dimension.log, "integer": dimension.integer}
        for name, dimension in space.items()
    }


def from_dict(data: Mapping[str, Any]) -> SearchSpace:
    """Inverse of ``to_dict``."""
    return {
        name: Choices(tuple(value)) if isinstance(value, list) else Range(
            float(value["low"]), float(value["high"]), bool(value.get("log", False)), bool(value.get("integer", False)))
        for name, value in data.items()
    }


def _param(key: str, name: str) -> HyperParam:
    info = get(key)
    for hp in info.hyperparams:
        if hp.name == name:
            return hp
    names = ", ".join(hp.name for hp in info.hyperparams)
    raise ValueError(f"{key}: unknown hyperparameter {name!r}; valid names: {names}")


def _dimension(hp: HyperParam) -> Dimension:
    if hp.kind == "choice":
        return Choices(hp.choices)
    if hp.low is None or hp.high is None:
        raise ValueError(f"{hp.name}: has no range in the registry; give one as {hp.name}=low:high")
    return Range(float(hp.low), float(hp.high), hp.log, hp.kind == "int")
