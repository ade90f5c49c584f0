"""Lessons as data: one TOML file per lesson under ``assets/lessons/`` (format: ``assets/lessons/README.md``), read
with ``tomllib`` and validated eagerly, every message naming the file and the field.

A ``Lesson`` is a title, a one-line summary and ordered ``Step`` s. A step has a few sentences of Markdown, a kind
(which of the explorer's figures it draws, ``engine.lessons.kinds``), the configuration it sets, the controls the
learner may move, and a multiple-choice ``Question`` whose correct option the explorer computes (``measure``); the
file states the option its author expects (``answer``), and the test suite checks that the two agree.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.lessons.base import Config, Kind
from engine.lessons.kinds import KINDS

LESSONS_DIR = Path(__file__).resolve().parents[2] / "assets" / "lessons"
OPTION_KEYS = "abcdefgh"  # an option's key is its position: a, b, c ... (what the URL's ``answers`` holds)
_LESSON_FIELDS = {"title", "summary", "steps"}
_STEP_FIELDS = {"title", "text", "kind", "config", "controls", "question"}
_QUESTION_FIELDS = {"prompt", "measure", "options", "answer", "explain", "optimizer", "tolerance", "step"}
_OPTION_FIELDS = {"text", "outcome", "range"}


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Option:
    """One answer a learner can pick: its ``text``, and what the explorer must compute for it to be right: an
    ``outcome`` word (a categorical measure) or a half-open ``range`` [low, high) (a numeric one)."""

    key: str
    text: str
    outcome: str | None = None
    range: tuple[float, float] | None = None

    def matches(self, value: str | float) -> bool:
        """Whether the computed ``value`` is this option's."""
        if self.range is None:
            return value == self.outcome
        return isinstance(value, float) and self.range[0] <= value < self.range[1]


@dataclass(frozen=True)
class Question:
    """What the learner predicts before the reveal: ``prompt``, ``options``, the ``measure`` the explorer computes
    (with its arguments), the ``answer`` the author expects and ``explain``, the why shown after the reveal."""

    prompt: str
    measure: str
    options: tuple[Option, ...]
    answer: str
    explain: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str) -> Option:
        return next(option for option in self.options if option.key == key)


@dataclass(frozen=True)
class Step:
    """One step of a lesson: its text, the kind of figure, the configuration it sets, the names of the controls
    the learner may move, and the question."""

    title: str
    text: str
    kind: Kind
    config: Config
    controls: tuple[str, ...]
    question: Question


@dataclass(frozen=True)
class Lesson:
    """A lesson: ``key`` (its file's name without the order prefix), ``title``, ``summary`` and ``steps``."""

    key: str
    title: str
    summary: str
    steps: tuple[Step, ...]
    path: Path


@dataclass(frozen=True)
class Catalogue:
    """The lessons that loaded, in file-name order, and one message per file that did not."""

    lessons: tuple[Lesson, ...]
    errors: tuple[str, ...]


def read_lessons(directory: Path | None = None) -> Catalogue:
    """Every ``*.toml`` lesson in ``directory`` (default ``LESSONS_DIR``), in file-name order; a bad file is left
    out and reported."""
    lessons, errors = [], []
    for path in sorted((directory or LESSONS_DIR).glob("*.toml")):
        try:
            lessons.append(load_lesson(path))
        except LessonError as error:
            errors.append(str(error))
    return Catalogue(tuple(lessons), tuple(errors))


def load_lessons(directory: Path | None = None) -> tuple[Lesson, ...]:
    """The lessons that load, in order (each with ``key``, ``title``, ``summary`` and ``steps``): Home's cards."""
    return read_lessons(directory).lessons


def get_lesson(key: str, directory: Path | None = None) -> Lesson:
    """The lesson ``key``; ``LessonError`` listing the known ones otherwise."""
    lessons = {lesson.key: lesson for lesson in load_lessons(directory)}
    if key not in lessons:
        raise LessonError(f"lessons: unknown lesson {key!r}; known: {', '.join(lessons) or 'none'}")
    return lessons[key]


def lesson_key(path: Path) -> str:
    """``02-edge-of-stability.toml`` -> ``edge-of-stability`` (the numeric prefix only orders the files)."""
    stem = path.stem
    prefix, dash, rest = stem.partition("-")
    return rest if dash and prefix.isdigit() and rest else stem


def load_lesson(path: Path) -> Lesson:
    """Read and validate the lesson file ``path`` (``LessonError`` naming the file and the field)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LessonError(f"{path.name}: not a readable TOML file: {error}") from None
    where = _Where(path.name)
    where.fields(data, _LESSON_FIELDS, "")
    steps = where.table_list(data, "steps", "")
    if not 1 <= len(steps) <= 8:
        raise where.error("steps", f"expected 1 to 8 steps, got {len(steps)}")
    return Lesson(lesson_key(path), where.text(data, "title", ""), where.text(data, "summary", ""),
                  tuple(_step(where, entry, f"steps[{index}]") for index, entry in enumerate(steps, start=1)), path)


def _step(where: _Where, data: dict[str, Any], at: str) -> Step:
    where.fields(data, _STEP_FIELDS, at)
    kind_name = where.text(data, "kind", at)
    if kind_name not in KINDS:
        raise where.error(f"{at}.kind", f"unknown kind {kind_name!r}; allowed values: {', '.join(KINDS)}")
    kind = KINDS[kind_name]
    config_data = data.get("config", {})
    if not isinstance(config_data, dict):
        raise where.error(f"{at}.config", "expected a table")
    try:
        config = kind.check(config_data)
    except (ValueError, TypeError) as error:
        raise where.error(f"{at}.config", str(error)) from None
    controls = data.get("controls", [])
    if not isinstance(controls, list) or not all(isinstance(name, str) for name in controls):
        raise where.error(f"{at}.controls", "expected a list of control names")
    movable = [control.name for control in kind.controls(config)]
    for name in controls:
        if name not in movable:
            raise where.error(f"{at}.controls", f"unknown control {name!r}; allowed values: {', '.join(movable)}")
    if not isinstance(data.get("question"), dict):
        raise where.error(f"{at}.question", "expected a table")
    question = _question(where, kind, config, data["question"], f"{at}.question")
    return Step(where.text(data, "title", at), where.text(data, "text", at), kind, config, tuple(controls), question)


def _question(where: _Where, kind: Kind, config: Config, data: dict[str, Any], at: str) -> Question:
    where.fields(data, _QUESTION_FIELDS, at)
    measure = where.text(data, "measure", at)
    arguments = {name: data[name] for name in ("optimizer", "tolerance", "step") if name in data}
    try:
        numeric = kind.check_measure(config, measure, arguments)
    except (ValueError, TypeError) as error:
        raise where.error(f"{at}.measure", str(error)) from None
    entries = where.table_list(data, "options", at)
    if not 2 <= len(entries) <= len(OPTION_KEYS):
        raise where.error(f"{at}.options", f"expected 2 to {len(OPTION_KEYS)} options, got {len(entries)}")
    options = tuple(_option(where, entry, OPTION_KEYS[index], numeric, f"{at}.options[{index + 1}]")
                    for index, entry in enumerate(entries))
    answer = where.text(data, "answer", at)
    if answer not in [option.key for option in options]:
        keys = ", ".join(option.key for option in options)
        raise where.error(f"{at}.answer", f"invalid answer {answer!r}; allowed values: {keys}")
    return Question(where.text(data, "prompt", at), measure, options, answer, where.text(data, "explain", at),
                    arguments)


def _option(where: _Where, data: dict[str, Any], key: str, numeric: bool, at: str) -> Option:
    where.fields(data, _OPTION_FIELDS, at)
    text = where.text(data, "text", at)
    if not numeric:
        return Option(key, text, outcome=where.text(data, "outcome", at))
    bounds = data.get("range")
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(v, int | float) for v in bounds)
            and not any(isinstance(v, bool) for v in bounds) and bounds[0] < bounds[1]
            and not math.isnan(float(bounds[0]))):
        raise where.error(f"{at}.range", f"expected [low, high] with low < high (this measure is a number), "
                                         f"got {bounds!r}")
    return Option(key, text, range=(float(bounds[0]), float(bounds[1])))


@dataclass(frozen=True)
class _Where:
    """Messages that name the file and the field."""

    file: str

    def error(self, field_name: str, message: str) -> LessonError:
        return LessonError(f"{self.file}: {field_name}: {message}")

    def fields(self, data: dict[str, Any], allowed: set[str], at: str) -> None:
        for name in data:
            if name not in allowed:
                raise self.error(_join(at, name), f"unknown field; allowed fields: {', '.join(sorted(allowed))}")

    def text(self, data: dict[str, Any], name: str, at: str) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(_join(at, name), "expected a non-empty string" if value is not None else "missing")
        return value.strip()

    def table_list(self, data: dict[str, Any], name: str, at: str) -> list[dict[str, Any]]:
        value = data.get(name)
        if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
            raise self.error(_join(at, name), f"expected an array of tables ([[{_join(at, name)}]])"
                             if value is not None else "missing")
        return value


def _join(at: str, name: str) -> str:
    return f"{at}.{name}" if at else name
