"""What every step kind answers: its configuration checked, the controls a learner may move, its figures before
and after the reveal, the computed outcome of a question, and the page that opens its configuration.

A kind's ``outcome`` is computed from what the explorer itself computes (a run, a filter's response, a stability
map), never written by hand: the option whose ``outcome`` word or ``range`` matches it is the right one. Its
``theory`` and ``run`` sentences put the theory's number beside the measured one.
"""

# ruff: noqa: RUF001  (labels use the spec's Greek symbols)

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import plotly.graph_objects as go

from optimizers import HyperParam
from optimizers.validation import check_number

Config = dict[str, Any]
"""A step's configuration, checked and with every default filled in (JSON values only, so it keys a cache)."""

Arguments = Mapping[str, Any]
"""A question's measure arguments: ``optimizer`` (a 1-based slot), ``tolerance``, ``step``."""

Figures = list[tuple[go.Figure, str]]
"""A step's figures, each with the sentences that say what to look at."""

CONVERGES, DIVERGES = "converges", "diverges"
"""A run converges when it did not diverge and ended below its starting loss (the Landscape's measure)."""


CONTROL_LABELS = {"condition": "condition number (= h)", "rotation": "rotation (degrees)", "noise": "gradient noise σ",
                  "beta": "pole β", "gamma": "zero γ", "kappa": "loop gain κ"}
"""The page's label of each control that is not an optimizer's hyperparameter."""


@dataclass(frozen=True)
class Outcome:
    """What the explorer computed for a question: ``value`` (an outcome word, or a number for a ``range``), and the
    theory's number (``theory``) beside the run's (``run``), as sentences."""

    value: str | float
    theory: str
    run: str


@dataclass(frozen=True)
class Link:
    """The page that shows a step's configuration: its file in ``pages/``, its title and its URL parameters."""

    page: str
    title: str
    query: dict[str, str]


class Kind:
    """A step kind: a subclass per figure of the explorer (``engine.lessons.kinds.KINDS``)."""

    name: ClassVar[str]
    measures: ClassVar[dict[str, bool]]  # measure name -> numeric (True) or an outcome word (False)

    def check(self, data: Mapping[str, Any]) -> Config:
        """The configuration ``data`` checked, defaults filled in (``ValueError`` naming the field)."""
        raise NotImplementedError

    def controls(self, config: Config) -> list[HyperParam]:
        """The controls a step may offer, each a ``HyperParam`` (name, current value as default, range, scale)."""
        raise NotImplementedError

    def label(self, config: Config, name: str) -> str:
        """How the control ``name`` is labelled on the page."""
        return CONTROL_LABELS.get(name, name)

    def with_values(self, config: Config, values: Mapping[str, Any]) -> Config:
        """``config`` with the controls ``values`` (by control name) applied, checked again."""
        return self.check({**config, **values})

    def check_measure(self, config: Config, measure: str, arguments: Arguments) -> bool:
        """Check that ``measure`` with ``arguments`` applies to ``config``; whether it is numeric."""
        if measure not in self.measures:
            raise ValueError(f"unknown measure {measure!r} for kind {self.name!r}; allowed values: "
                             f"{', '.join(self.measures)}")
        self.check_arguments(config, measure, arguments)
        return self.measures[measure]

    def check_arguments(self, config: Config, measure: str, arguments: Arguments) -> None:
        """Refuse arguments ``measure`` does not take (a kind overrides this for the ones it takes)."""
        for name in arguments:
            raise ValueError(f"the measure {measure!r} takes no argument {name!r}")

    def figures(self, config: Config, measure: str, arguments: Arguments, revealed: bool) -> Figures:
        """The step's figures: before the reveal the set-up only (nothing that gives the outcome away)."""
        raise NotImplementedError

    def outcome(self, config: Config, measure: str, arguments: Arguments) -> Outcome:
        """The computed outcome of ``measure`` at ``config``."""
        raise NotImplementedError

    def link(self, config: Config) -> Link:
        """The page, and its URL parameters, that open ``config`` there."""
        raise NotImplementedError


def config_key(config: Config) -> str:
    """``config`` as canonical JSON: the key of the kinds' caches."""
    return json.dumps(config, sort_keys=True)


def number(data: Mapping[str, Any], name: str, default: float | None = None, **limits: Any) -> float:
    """``data[name]`` (or ``default``) as a float within ``limits`` (``check_number``'s), named ``name``."""
    value = data.get(name, default)
    if value is None:
        raise ValueError(f"missing {name}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"invalid {name}={value!r}; expected a number")
    return float(check_number("config", name, value, **limits))


def whole(data: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """``data[name]`` (or ``default``) as an integer in [low, high]."""
    return int(number(data, name, default, low=low, high=high, integer=True))


def only(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse a configuration field that the kind does not know."""
    for name in data:
        if name not in allowed:
            raise ValueError(f"unknown field {name!r}; allowed fields: {', '.join(allowed)}")


def slot(arguments: Arguments, count: int) -> int:
    """The measure's ``optimizer`` argument, a 1-based slot among ``count`` optimizers (default 1)."""
    return int(check_number("question", "optimizer", arguments.get("optimizer", 1), low=1, high=count, integer=True))


def control(name: str, value: float, low: float, high: float, help: str, *, log: bool = False,
            integer: bool = False) -> HyperParam:
    """A control as a ``HyperParam`` whose default is its current ``value``."""
    return HyperParam(name, int(value) if integer else float(value), help, low=low, high=high, log=log)


def percent(value: float) -> str:
    return f"{value:.1%}"
