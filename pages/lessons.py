"""Lessons: predict, then see. Scripted walks through an idea (assets/lessons/), each step a figure from the explorer,
a prediction the learner commits to, and the verdict with the theory's number beside the run's."""

from typing import Any

import streamlit as st

from engine.lessons import (
    Lesson,
    Step,
    control_label,
    format_answers,
    judge,
    parse_answers,
    read_lessons,
    step_config,
    step_controls,
    step_figures,
    step_link,
)
from ui.controls import hyperparam_control
from ui.text import escape_markdown
from ui.url_state import UrlState

LINK_ICONS = {"Playground": ":material/scatter_plot:", "Landscape": ":material/grid_on:",
              "Filter Lab": ":material/filter_alt:", "Stability": ":material/radar:",
              "Train": ":material/model_training:"}


def _go(lesson: str, step: int, answers: str | None = None) -> None:
    """Move to ``step`` of ``lesson`` (a button's callback): the URL is the progress."""
    st.query_params["lesson"] = lesson
    st.query_params["step"] = str(step)
    if answers is not None:
        st.query_params["answers"] = answers


def _commit(lesson: Lesson, number: int, answers: list[str | None], key: str) -> None:
    """Commit the radio's choice as the prediction of step ``number`` (1-based)."""
    chosen = st.session_state.get(key)
    if chosen is None:
        return
    committed = list(answers)
    committed[number - 1] = chosen
    _go(lesson.key, number, format_answers(committed))


def _retry(lesson: Lesson, number: int, answers: list[str | None]) -> None:
    """Forget step ``number``'s prediction, so the learner can predict again."""
    cleared = list(answers)
    cleared[number - 1] = None
    _go(lesson.key, number, format_answers(cleared))


def _reset_controls(keys: list[str]) -> None:
    for key in keys:
        st.session_state.pop(key, None)


def lesson_cards(lessons: tuple[Lesson, ...], current: str | None) -> None:
    """One card per lesson, three a row: title, summary, steps count and a button that opens it."""
    for row in range(0, len(lessons), 3):
        for column, (index, lesson) in zip(st.columns(3), enumerate(lessons[row:row + 3], start=row + 1),
                                           strict=False):
            with column, st.container(border=True):
                st.markdown(f"**{index}. {escape_markdown(lesson.title)}**")
                st.caption(escape_markdown(lesson.summary))
                st.button(f"{'Continue' if lesson.key == current else 'Open'} · {len(lesson.steps)} steps",
                          key=f"lessons.open.{lesson.key}", icon=":material/school:", on_click=_go,
                          args=(lesson.key, 1, ""), width="stretch")


def step_view(lesson: Lesson, number: int, answers: list[str | None]) -> None:
    """Step ``number`` of ``lesson``: its figures with its controls (left), its text and question (right), then
    the verdict once a prediction is committed, and the way on."""
    step: Step = lesson.steps[number - 1]
    committed = answers[number - 1]
    prefix = f"lessons.{lesson.key}.{number}"
    st.subheader(f"Step {number} of {len(lesson.steps)}: {step.title}", anchor=False)
    picture, text = st.columns([3, 2], gap="medium")  # the figure first: on a phone it comes before the text
    with picture:
        controls = step_controls(step)
        keys = [f"{prefix}.control.{hp.name}" for hp in controls]
        values = {}
        if controls:
            for column, hp, key in zip(st.columns(len(controls)), controls, keys, strict=True):
                with column:
                    values[hp.name] = hyperparam_control(hp, key, hp.default, control_label(step, hp.name))
        try:
            config = step_config(step, values)
        except ValueError as error:  # a control the optimizer refuses: its own message, the step's own setting
            st.error(escape_markdown(str(error)), icon=":material/error:")
            config = step.config
        moved = config != step.config
        if moved:
            st.button("Back to the step's setting", key=f"{prefix}.reset", icon=":material/undo:",
                      on_click=_reset_controls, args=(keys,))
        with st.spinner("Running…"):
            figures = step_figures(step, config, revealed=committed is not None)
        for index, (figure, caption) in enumerate(figures):
            st.plotly_chart(figure, key=f"{prefix}.figure.{index}.{committed is not None}", theme=None,
                            config={"displaylogo": False})
            st.caption(escape_markdown(caption))
    with text:
        st.markdown(step.text)
        question = step.question
        options = {option.key: option.text for option in question.options}
        choice_key = f"{prefix}.choice"
        if committed is not None or choice_key not in st.session_state:
            st.session_state[choice_key] = committed  # none picked yet, or the committed one (a link's answers)
        st.radio(question.prompt, tuple(options), format_func=options.__getitem__, key=choice_key,
                 disabled=committed is not None)
        if committed is None:
            st.button("Check my prediction", type="primary", icon=":material/check:", key=f"{prefix}.check",
                      disabled=st.session_state.get(choice_key) is None, on_click=_commit,
                      args=(lesson, number, answers, choice_key))
            st.caption("The run's result and the theory's number appear once you commit.")
        else:
            verdict_view(step, committed, moved)
            st.button("Predict again", key=f"{prefix}.retry", icon=":material/replay:", on_click=_retry,
                      args=(lesson, number, answers))
    navigation(lesson, number, answers, step_link(step, config))


def verdict_view(step: Step, committed: str, moved: bool) -> None:
    """Whether the prediction held, why, and the theory's number beside the run's."""
    verdict = judge(step, committed)
    if verdict.held:
        st.success(f"**Your prediction held:** {escape_markdown(verdict.chosen.text)}", icon=":material/check_circle:")
    else:
        right = verdict.correct.text if verdict.correct else "none of the options matches what the explorer computed"
        st.error(f"**Not this time:** {escape_markdown(right)}", icon=":material/cancel:")
    st.markdown(step.question.explain)
    for label, sentence in (("Theory", verdict.outcome.theory), ("The run", verdict.outcome.run)):
        if sentence:
            st.markdown(f"**{label}:** {escape_markdown(sentence)}")
    if moved:
        st.caption("The verdict is about the step's own setting; the figure follows your controls.")


def navigation(lesson: Lesson, number: int, answers: list[str | None], link: Any) -> None:
    """Previous and Next, the page that opens this configuration, and the score at the last step."""
    back, forward, elsewhere = st.columns([1, 1, 2], vertical_alignment="center")
    back.button("Previous step", icon=":material/arrow_back:", key=f"lessons.previous.{number}", width="stretch",
                disabled=number == 1, on_click=_go, args=(lesson.key, number - 1))
    forward.button("Next step", icon=":material/arrow_forward:", key=f"lessons.next.{number}", width="stretch",
                   type="primary" if answers[number - 1] is not None else "secondary",
                   disabled=number == len(lesson.steps), on_click=_go, args=(lesson.key, number + 1))
    elsewhere.page_link(link.page, label=f"Open in the {link.title}", icon=LINK_ICONS.get(link.title),
                        query_params=link.query, help="This step's configuration, with everything that page offers.")
    if number == len(lesson.steps) and all(answer is not None for answer in answers):
        held = sum(judge(step, answer).held for step, answer in zip(lesson.steps, answers, strict=True))
        st.info(f"Lesson done: {held} of {len(answers)} predictions held. Pick another one from All lessons.",
                icon=":material/school:")


# --- inputs -------------------------------------------------------------------------------------------------------
url = UrlState("lessons")
catalogue = read_lessons()
st.title("Lessons")
st.markdown("Each lesson walks through one idea in a few steps. At every step, **predict first**: commit to an "
            "answer, then the explorer runs it and shows whether you were right, with the theory's number beside "
            "the run's.")
for error in catalogue.errors:  # a bad file: its own message, the other lessons still shown
    st.error(f"A lesson file could not be used: {escape_markdown(error)}", icon=":material/error:")
lessons = catalogue.lessons
if not lessons:
    st.info("No lesson to show: add a lesson file to assets/lessons/ (see its README).", icon=":material/school:")
    st.stop()

chosen = "lesson" in st.query_params
key = url.choice("lesson", lessons[0].key, tuple(lesson.key for lesson in lessons))
lesson = next(lesson for lesson in lessons if lesson.key == key)
number = int(url.number("step", 1, low=1, high=len(lesson.steps), integer=True))
try:
    answers = parse_answers(st.query_params.get("answers", ""), lesson)
except ValueError as error:
    url.fallback("answers", format_answers([None] * len(lesson.steps)), error)
    answers = [None] * len(lesson.steps)
for name, value in (("lesson", key), ("step", number), ("answers", format_answers(answers))):
    url.record(name, value)
if chosen or url.warnings:
    url.write()

# --- the lessons, then the one open -------------------------------------------------------------------------------
if chosen:
    with st.expander(f"All lessons ({len(lessons)})"):
        lesson_cards(lessons, key)
else:
    st.caption(f"{len(lessons)} lessons, all listed below: the first one is open.")
st.header(lesson.title, anchor=False)
st.caption(escape_markdown(lesson.summary))
step_view(lesson, number, answers)
if not chosen:  # the first screen shows the first step's figure; the list follows it
    st.divider()
    st.header("All lessons", anchor=False)
    lesson_cards(lessons, None)
