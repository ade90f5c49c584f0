"""Lessons: scripted walks through an idea, kept as data under assets/lessons/, each step checked against the explorer.

``model`` reads and validates the lesson files; a step's ``kind`` (``kinds``: ``surface``, ``landscape``,
``lowpass``, ``stability``, ``seeds``, ``claim``) draws it with the explorer's own figures and computes its question's
outcome from what the explorer computes; ``steps`` judges a prediction; ``progress`` writes it into a link."""

from engine.lessons.base import CONVERGES, DIVERGES, Link, Outcome
from engine.lessons.kinds import KINDS
from engine.lessons.model import (
    LESSONS_DIR,
    Catalogue,
    Lesson,
    LessonError,
    Option,
    Question,
    Step,
    get_lesson,
    load_lesson,
    load_lessons,
    read_lessons,
)
from engine.lessons.progress import UNANSWERED, format_answers, parse_answers
from engine.lessons.steps import (
    Verdict,
    control_label,
    correct_option,
    judge,
    step_config,
    step_controls,
    step_figures,
    step_link,
    step_outcome,
)

__all__ = [
    "CONVERGES",
    "DIVERGES",
    "KINDS",
    "LESSONS_DIR",
    "UNANSWERED",
    "Catalogue",
    "Lesson",
    "LessonError",
    "Link",
    "Option",
    "Outcome",
    "Question",
    "Step",
    "Verdict",
    "control_label",
    "correct_option",
    "format_answers",
    "get_lesson",
    "judge",
    "load_lesson",
    "load_lessons",
    "parse_answers",
    "read_lessons",
    "step_config",
    "step_controls",
    "step_figures",
    "step_link",
    "step_outcome",
]
