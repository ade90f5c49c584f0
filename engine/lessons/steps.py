"""A step at work: its configuration with the learner's moves applied, its figures, the computed outcome and the
option it makes right, the verdict on a prediction, and the page that opens the configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.lessons.base import Config, Figures, Link, Outcome
from engine.lessons.model import Option, Step
from optimizers import HyperParam


@dataclass(frozen=True)
class Verdict:
    """A committed prediction judged: whether it ``held``, the option the explorer computed (``correct``; None when
    no option matches what it computed) and the ``outcome`` with its theory and run sentences."""

    held: bool
    chosen: Option
    correct: Option | None
    outcome: Outcome


def step_controls(step: Step, config: Config | None = None) -> list[HyperParam]:
    """The controls ``step`` offers, in its file's order, each at its value in ``config`` (default: the step's)."""
    available = {control.name: control for control in step.kind.controls(config or step.config)}
    return [available[name] for name in step.controls]


def control_label(step: Step, name: str) -> str:
    """How the page labels the step's control ``name`` (``SGD: lr``, ``pole β``)."""
    return step.kind.label(step.config, name)


def step_config(step: Step, values: Mapping[str, Any]) -> Config:
    """The step's configuration with the controls ``values`` applied (``ValueError`` naming a refused one)."""
    return step.kind.with_values(step.config, values) if values else step.config


def step_figures(step: Step, config: Config | None = None, *, revealed: bool) -> Figures:
    """The step's figures at ``config`` (default: its own): before the reveal, the set-up only."""
    question = step.question
    return step.kind.figures(config or step.config, question.measure, question.arguments, revealed)


def step_outcome(step: Step, config: Config | None = None) -> Outcome:
    """What the explorer computes for the step's question at ``config`` (default: the step's own)."""
    question = step.question
    return step.kind.outcome(config or step.config, question.measure, question.arguments)


def correct_option(step: Step, outcome: Outcome) -> Option | None:
    """The option that ``outcome`` makes right (the first that matches), or None."""
    return next((option for option in step.question.options if option.matches(outcome.value)), None)


def judge(step: Step, chosen: str) -> Verdict:
    """The verdict on the prediction ``chosen`` (an option's key), at the step's own configuration."""
    outcome = step_outcome(step)
    correct = correct_option(step, outcome)
    return Verdict(correct is not None and correct.key == chosen, step.question.option(chosen), correct, outcome)


def step_link(step: Step, config: Config | None = None) -> Link:
    """The page, and its URL parameters, that open the step's configuration (default: its own)."""
    return step.kind.link(config or step.config)
