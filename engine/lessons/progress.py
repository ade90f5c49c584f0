"""A learner's progress as the Lessons page's URL holds it: the lesson, the step (1-based) and the answers, one
option key per step or ``-`` where none was committed (``answers=b,a,-``), so a teacher can hand out a link."""

from __future__ import annotations

from engine.lessons.model import Lesson

UNANSWERED = "-"


def parse_answers(text: str, lesson: Lesson) -> list[str | None]:
    """The answers ``text`` for ``lesson``: one entry per step (missing ones unanswered); ``ValueError`` naming the
    field and what is allowed when an entry is not an option of its step or there are more entries than steps."""
    entries = [entry.strip() for entry in text.split(",")] if text.strip() else []
    if len(entries) > len(lesson.steps):
        raise ValueError(f"URL: invalid answers={text!r}; expected at most {len(lesson.steps)} entries, one per step")
    answers: list[str | None] = []
    for index, (entry, step) in enumerate(zip(entries, lesson.steps, strict=False), start=1):
        keys = [option.key for option in step.question.options]
        if entry != UNANSWERED and entry not in keys:
            raise ValueError(f"URL: invalid answers={text!r}: step {index} has no option {entry!r}; allowed values: "
                             f"{', '.join(keys)} or {UNANSWERED}")
        answers.append(None if entry == UNANSWERED else entry)
    return answers + [None] * (len(lesson.steps) - len(answers))


def format_answers(answers: list[str | None]) -> str:
    """``answers`` in the URL's form: ``b,a,-``."""
    return ",".join(answer or UNANSWERED for answer in answers)
