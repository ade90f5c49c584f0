"""The lessons as data: every shipped lesson loads and validates, every step's outcome as the explorer computes it
is the answer its file expects, a malformed file is refused with its file and field named, the figures before the
reveal give nothing away, and progress round-trips through its URL form."""

from pathlib import Path

import pytest

from engine.lessons import (
    CONVERGES,
    LESSONS_DIR,
    LessonError,
    correct_option,
    format_answers,
    get_lesson,
    judge,
    load_lesson,
    load_lessons,
    parse_answers,
    read_lessons,
    step_config,
    step_controls,
    step_figures,
    step_link,
    step_outcome,
    training,
)

LESSONS = load_lessons()
STEPS = [(lesson, number) for lesson in LESSONS for number in range(1, len(lesson.steps) + 1)]
TRAINING_KINDS = ("seeds", "claim")  # steps that train on MNIST-1D


def step_id(item: tuple) -> str:
    lesson, number = item
    return f"{lesson.key}-{number}"


@pytest.fixture
def data_home(request: pytest.FixtureRequest) -> None:
    """MNIST-1D's cache in a fresh home for the steps that train on it (the others need none)."""
    lesson, number = request.node.callspec.params["item"]
    if lesson.steps[number - 1].kind.name in TRAINING_KINDS:
        request.getfixturevalue("home_with_mnist1d")


def test_the_shipped_lessons_all_load_in_order_with_two_to_four_steps() -> None:
    catalogue = read_lessons()
    assert catalogue.errors == ()
    assert len(catalogue.lessons) >= 6
    assert [lesson.path.name for lesson in catalogue.lessons] == sorted(p.name for p in LESSONS_DIR.glob("*.toml"))
    assert [lesson.key for lesson in catalogue.lessons][:6] == [
        "momentum-is-a-lowpass-filter", "edge-of-stability", "heavy-ball-against-nesterov", "why-warmup",
        "adaptive-step-sizes", "one-seed-is-not-evidence"]
    for lesson in catalogue.lessons:
        assert 2 <= len(lesson.steps) <= 4, lesson.key
        assert lesson.title and lesson.summary and "\n" not in lesson.summary
    kinds = {step.kind.name for lesson in catalogue.lessons for step in lesson.steps}
    assert kinds == {"surface", "landscape", "lowpass", "stability", "seeds", "claim"}
    assert get_lesson("edge-of-stability").title == "The edge of stability"
    with pytest.raises(LessonError, match="unknown lesson 'nope'; known: momentum-is-a-lowpass-filter"):
        get_lesson("nope")


@pytest.mark.parametrize("item", STEPS, ids=step_id)
def test_every_step_s_computed_outcome_is_the_answer_its_file_expects(item: tuple, data_home: None) -> None:
    lesson, number = item
    step = lesson.steps[number - 1]
    outcome = step_outcome(step)
    correct = correct_option(step, outcome)
    assert correct is not None, f"{lesson.key} step {number}: no option matches the computed {outcome.value!r}"
    assert correct.key == step.question.answer, (
        f"{lesson.key} step {number}: the explorer computes {outcome.value!r} (option {correct.key}), the file "
        f"expects option {step.question.answer}")
    assert outcome.run  # the run's number beside the theory's
    assert judge(step, step.question.answer).held
    wrong = next(option.key for option in step.question.options if option.key != step.question.answer)
    assert not judge(step, wrong).held


def test_the_claim_step_falls_back_to_a_live_re_run_while_no_result_is_shipped(
        home_with_mnist1d: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "shipped_result", lambda key: None)
    step = get_lesson("one-seed-is-not-evidence").steps[2]
    outcome = step_outcome(step)
    assert "a small live re-run (2 epochs, 4 seeds" in outcome.run and "0.9 points" in outcome.theory
    assert correct_option(step, outcome).key == step.question.answer
    before, after = step_figures(step, revealed=False), step_figures(step, revealed=True)
    assert "write-up's numbers" in before[0][1]
    assert all(trace.y[0] != trace.y[0] for trace in before[0][0].data if trace.error_y.array)  # no re-run shown
    assert any(trace.error_y.array for trace in after[0][0].data)


@pytest.mark.parametrize("item", [item for item in STEPS if item[0].steps[item[1] - 1].kind.name
                                  not in TRAINING_KINDS], ids=step_id)
def test_every_step_draws_its_figures_before_and_after_the_reveal(item: tuple) -> None:
    lesson, number = item
    step = lesson.steps[number - 1]
    before, after = step_figures(step, revealed=False), step_figures(step, revealed=True)
    assert before and after and all(caption for _, caption in before + after)
    names = [trace.name for figure, _ in before for trace in figure.data]
    assert not any(name and "diverged" in name for name in names)  # the outcome is not drawn before the reveal
    assert not any(trace.legendgroup == "theory" for figure, _ in before for trace in figure.data)


def test_a_surface_step_shows_only_the_starts_before_the_reveal() -> None:
    step = get_lesson("edge-of-stability").steps[0]
    [(before, _)] = step_figures(step, revealed=False)
    [(after, _)] = step_figures(step, revealed=True)
    path = next(trace for trace in before.data if trace.name == "SGD (lr=0.21)")
    assert len(path.x) == 1 and (path.x[0], path.y[0]) == (1.5, 0.5)
    assert any(trace.name == "SGD (lr=0.21): diverged" for trace in after.data)


def test_the_landscape_step_blanks_the_map_until_the_reveal() -> None:
    step = get_lesson("edge-of-stability").steps[2]
    [(before, _)] = step_figures(step, revealed=False)
    [(after, _)] = step_figures(step, revealed=True)
    heat = next(trace for trace in before.data if trace.type == "heatmap" and trace.name == "final loss")
    assert all(value != value for row in heat.z for value in row)  # every cell NaN: blank
    assert any(trace.name == "theory: stability boundary" for trace in after.data)
    assert [trace.name for trace in before.data][-1] == "the question's run"


def test_controls_move_the_configuration_and_the_outcome() -> None:
    step = get_lesson("edge-of-stability").steps[0]
    [lr] = step_controls(step)
    assert (lr.name, lr.default, lr.log) == ("opt1.lr", 0.21, True)
    moved = step_config(step, {"opt1.lr": 0.19})
    assert moved["optimizers"] == ["sgd:lr=0.19"] and step_outcome(step, moved).value == CONVERGES
    assert step_link(step, moved).query["opt1"] == "sgd:lr=0.19"
    with pytest.raises(ValueError, match="lr"):
        step_config(step, {"opt1.lr": -1.0})


def test_every_step_opens_its_configuration_on_a_page_of_the_app(repo_root: Path) -> None:
    for lesson, number in STEPS:
        step = lesson.steps[number - 1]
        link = step_link(step)
        assert (repo_root / link.page).is_file() and link.query, (lesson.key, number)
    surface = step_link(get_lesson("heavy-ball-against-nesterov").steps[0])
    assert surface.page == "pages/playground.py"
    assert surface.query == {"surface": "quadratic", "condition": "50", "rotation": "30", "x0": "1.5", "y0": "0.5",
                             "noise": "0", "steps": "300", "n": "2", "opt1": "momentum:lr=0.02",
                             "opt2": "nesterov:lr=0.02"}
    assert step_link(get_lesson("momentum-is-a-lowpass-filter").steps[0]).query == {
        "beta": "0.9", "gamma": "0", "eta": "1", "debias": "true"}
    landscape = step_link(get_lesson("edge-of-stability").steps[2]).query
    assert (landscape["xname"], landscape["xlo"], landscape["xhi"], landscape["xn"]) == ("lr", "0.01", "1", "40")


GOOD_STEP = """
[[steps]]
title = "A step"
text = "Text."
kind = "stability"
controls = ["kappa"]
[steps.config]
beta = 0.9
gamma = 0.0
kappa = 1.0
[steps.question]
prompt = "Stable?"
measure = "status"
answer = "a"
explain = "Because."
[[steps.question.options]]
text = "Yes"
outcome = "converges"
[[steps.question.options]]
text = "No"
outcome = "diverges"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("change", "message"), [
    (lambda text: text.replace('kind = "stability"', 'kind = "movie"'),
     "bad.toml: steps[1].kind: unknown kind 'movie'; allowed values: surface, landscape"),
    (lambda text: text.replace("kappa = 1.0", "kappa = 99.0"), "bad.toml: steps[1].config: config: invalid kappa=99"),
    (lambda text: text.replace('answer = "a"', 'answer = "c"'),
     "bad.toml: steps[1].question.answer: invalid answer 'c'; allowed values: a, b"),
    (lambda text: text.replace('controls = ["kappa"]', 'controls = ["lr"]'),
     "bad.toml: steps[1].controls: unknown control 'lr'; allowed values: beta, gamma, kappa"),
    (lambda text: text.replace('measure = "status"', 'measure = "lag"'),
     "bad.toml: steps[1].question.measure: unknown measure 'lag' for kind 'stability'; allowed values: status"),
    (lambda text: text.replace('prompt = "Stable?"\n', ""), "bad.toml: steps[1].question.prompt: missing"),
    (lambda text: text.replace('title = "A step"', 'titel = "A step"'), "bad.toml: steps[1].titel: unknown field"),
    (lambda text: text.replace("[steps.config]", "[steps.config\n"), "bad.toml: not a readable TOML file"),
    (lambda text: text.replace('title = "Lesson"\n', ""), "bad.toml: title: missing"),
])
def test_a_malformed_lesson_is_refused_naming_its_file_and_field(tmp_path: Path, change, message: str) -> None:
    header = 'title = "Lesson"\nsummary = "One line."\n'
    path = write(tmp_path, "bad.toml", change(header + GOOD_STEP))
    with pytest.raises(LessonError) as error:
        load_lesson(path)
    assert str(error.value).startswith(message)


def test_a_numeric_measure_needs_ranges(tmp_path: Path) -> None:
    text = 'title = "L"\nsummary = "S"\n' + GOOD_STEP.replace('kind = "stability"', 'kind = "lowpass"').replace(
        'controls = ["kappa"]', "controls = []").replace("kappa = 1.0\n", "").replace('"status"', '"lag"')
    with pytest.raises(LessonError, match=r"steps\[1\].question.options\[1\].range: expected \[low, high\]"):
        load_lesson(write(tmp_path, "01-numbers.toml", text))


def test_a_bad_file_is_reported_and_the_others_still_load(tmp_path: Path) -> None:
    write(tmp_path, "01-good.toml", 'title = "Good"\nsummary = "Fine."\n' + GOOD_STEP)
    write(tmp_path, "02-bad.toml", 'title = "Bad"\nsummary = "Broken."\n' + GOOD_STEP.replace('"a"', '"z"', 1))
    catalogue = read_lessons(tmp_path)
    assert [lesson.key for lesson in catalogue.lessons] == ["good"]
    assert len(catalogue.errors) == 1 and catalogue.errors[0].startswith("02-bad.toml: steps[1].question.answer")
    [lesson] = catalogue.lessons
    assert step_outcome(lesson.steps[0]).value == CONVERGES  # kappa = 1 < kappa_max = 3.8 for heavy ball's filter


def test_answers_round_trip_through_the_url_form() -> None:
    lesson = get_lesson("edge-of-stability")
    assert parse_answers("b,a,-", lesson) == ["b", "a", None]
    assert parse_answers("", lesson) == [None, None, None]
    assert parse_answers("b", lesson) == ["b", None, None]
    assert format_answers(parse_answers("b,-,a", lesson)) == "b,-,a"
    with pytest.raises(ValueError, match="step 2 has no option 'z'; allowed values: a, b or -"):
        parse_answers("a,z", lesson)
    with pytest.raises(ValueError, match="at most 3 entries"):
        parse_answers("a,a,a,a", lesson)
