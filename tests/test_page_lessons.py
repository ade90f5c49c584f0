"""The Lessons page, run headless with AppTest: it opens on the lessons and the first one's first step, every step of
every lesson renders before and after a prediction, a prediction is judged against what the explorer computes (the
right one holds, a wrong one does not), "Open in ..." carries the step's configuration, and the progress lives in the
URL (a link to step 3 opens step 3 with its answers; a malformed value falls back with a warning)."""

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from engine.lessons import Lesson, load_lessons, model, step_link
from tests.test_lessons import GOOD_STEP, write
from tests.test_pages_theory import literal, open_page
from ui.text import escape_markdown

LESSONS = "pages/lessons.py"
ALL = load_lessons()


def check(at: AppTest, lesson: Lesson, number: int) -> str:
    """The key of step ``number``'s "Check my prediction" button."""
    return f"lessons.{lesson.key}.{number}.check"


def choice(at: AppTest, lesson: Lesson, number: int):
    """Step ``number``'s prediction radio."""
    return at.radio(key=f"lessons.{lesson.key}.{number}.choice")


def link_query(at: AppTest) -> tuple[str, dict[str, str]]:
    """The "Open in ..." link's label and its query parameters."""
    [link] = [link.proto for link in at.get("page_link")]
    return link.label, dict(parse_qsl(link.query_string))


def commit(at: AppTest, lesson: Lesson, number: int, key: str) -> AppTest:
    choice(at, lesson, number).set_value(key).run()
    return at.button(key=check(at, lesson, number)).click().run()


def test_the_page_opens_on_the_lessons_and_the_first_step_of_the_first(repo_root: Path) -> None:
    at = open_page(repo_root, LESSONS)
    assert not at.exception and not at.error and not at.warning
    assert [t.value for t in at.title] == ["Lessons"]
    cards = [button.label for button in at.button if button.key.startswith("lessons.open.")]
    assert cards == [f"Open · {len(lesson.steps)} steps" for lesson in ALL]
    assert [h.value for h in at.header] == [ALL[0].title, "All lessons"]  # the first step first, then the list
    assert at.subheader[0].value == f"Step 1 of {len(ALL[0].steps)}: {ALL[0].steps[0].title}"
    assert len(at.get("plotly_chart")) >= 1
    assert dict(at.query_params) == {}  # nothing chosen yet: the link stays bare
    at.button(key=f"lessons.open.{ALL[1].key}").click().run()
    assert at.query_params["lesson"] == ALL[1].key and at.query_params["step"] == "1"
    assert [h.value for h in at.header] == [ALL[1].title]  # the list folds away once a lesson is chosen


@pytest.mark.parametrize("lesson", ALL, ids=[lesson.key for lesson in ALL])
def test_a_learner_walks_every_step_of_each_lesson(repo_root: Path, lesson: Lesson, home_with_mnist1d: Path) -> None:
    at = open_page(repo_root, LESSONS, lesson=lesson.key)
    for number, step in enumerate(lesson.steps, start=1):
        assert not at.exception, at.exception
        assert at.subheader[0].value == f"Step {number} of {len(lesson.steps)}: {step.title}"
        # before a prediction: the figure, the question, no verdict and nothing of the outcome
        assert len(at.get("plotly_chart")) >= 1 and not at.success and not at.error
        assert choice(at, lesson, number).label == step.question.prompt
        assert not any("Theory:" in markdown.value for markdown in at.markdown)
        label, query = link_query(at)
        link = step_link(step)
        assert label == f"Open in the {link.title}" and query == link.query
        # a wrong prediction is not borne out
        wrong = next(option.key for option in step.question.options if option.key != step.question.answer)
        commit(at, lesson, number, wrong)
        assert not at.exception and at.error[0].value.startswith("**Not this time:**")
        assert at.query_params["answers"].split(",")[number - 1] == wrong
        assert any(markdown.value.startswith("**The run:**") for markdown in at.markdown)
        # predict again, the right one this time
        at.button(key=f"lessons.{lesson.key}.{number}.retry").click().run()
        assert at.query_params["answers"].split(",")[number - 1] == "-" and not at.error
        commit(at, lesson, number, step.question.answer)
        assert at.success[0].value.startswith("**Your prediction held:**")
        assert choice(at, lesson, number).disabled and choice(at, lesson, number).value == step.question.answer
        assert len(at.get("plotly_chart")) >= 1
        if number < len(lesson.steps):
            at.button(key=f"lessons.next.{number}").click().run()
    assert at.info[-1].value.startswith(f"Lesson done: {len(lesson.steps)} of {len(lesson.steps)} predictions held")


def test_a_link_to_step_3_opens_step_3_with_the_answers(repo_root: Path) -> None:
    lesson = next(lesson for lesson in ALL if lesson.key == "edge-of-stability")
    at = open_page(repo_root, LESSONS, lesson=lesson.key, step="3", answers="b,a,-")
    assert not at.exception and not at.warning
    assert at.subheader[0].value == f"Step 3 of 3: {lesson.steps[2].title}"
    assert not at.success and not choice(at, lesson, 3).disabled
    assert dict(at.query_params) == {"lesson": lesson.key, "step": "3", "answers": "b,a,-"}
    at.button(key="lessons.previous.3").click().run()
    assert at.subheader[0].value == f"Step 2 of 3: {lesson.steps[1].title}"
    assert at.success[0].value.startswith("**Your prediction held:**")  # step 2's committed answer a is right
    assert choice(at, lesson, 2).value == "a" and choice(at, lesson, 2).disabled
    assert at.query_params["answers"] == "b,a,-"


@pytest.mark.parametrize(("query", "warning", "shown"), [
    ({"lesson": "nope"}, "URL: invalid lesson='nope'", "Step 1 of 3"),
    ({"lesson": "edge-of-stability", "step": "9"}, "URL: invalid step=9", "Step 1 of 3"),
    ({"lesson": "edge-of-stability", "step": "2", "answers": "b,z"}, "step 2 has no option 'z'", "Step 2 of 3"),
])
def test_a_malformed_link_falls_back_with_a_warning(repo_root: Path, query: dict[str, str], warning: str,
                                                     shown: str) -> None:
    at = open_page(repo_root, LESSONS, **query)
    assert not at.exception
    assert any(warning in literal(w.value) for w in at.warning), [w.value for w in at.warning]
    assert at.subheader[0].value.startswith(shown) and not at.success


def test_a_bad_lesson_file_is_reported_and_the_others_shown(repo_root: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "01-good.toml", 'title = "A good lesson"\nsummary = "Fine."\n' + GOOD_STEP)
    write(tmp_path, "02-bad.toml", 'title = "Bad"\nsummary = "Broken."\n' + GOOD_STEP.replace("kappa = 1.0", ""
                                                                                             "kappa = -3.0"))
    monkeypatch.setattr(model, "LESSONS_DIR", tmp_path)
    at = open_page(repo_root, LESSONS)
    assert not at.exception
    [error] = at.error
    assert escape_markdown("02-bad.toml: steps[1].config: config: invalid kappa=-3.0") in error.value
    assert [h.value for h in at.header] == ["A good lesson", "All lessons"] and len(at.get("plotly_chart")) == 1


def test_a_moved_control_redraws_the_figure_and_the_link_carries_it(repo_root: Path) -> None:
    at = open_page(repo_root, LESSONS, lesson="edge-of-stability")
    at.select_slider(key="lessons.edge-of-stability.1.control.opt1.lr").set_value(0.15).run()
    assert not at.exception
    assert link_query(at)[1]["opt1"] == "sgd:lr=0.15"
    commit(at, ALL[1], 1, "b")  # the verdict is about the step's own lr = 0.21, whatever the controls say
    assert at.success[0].value.startswith("**Your prediction held:**")
    assert any("the figure follows your controls" in caption.value for caption in at.caption)
    at.button(key="lessons.edge-of-stability.1.reset").click().run()
    assert link_query(at)[1]["opt1"] == "sgd:lr=0.21"
