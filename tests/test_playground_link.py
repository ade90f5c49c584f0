"""engine.runs.playground_link: a Playground link read back is the comparison the Playground ran."""

import re

import pytest

from engine.runs.playground_link import MAX_OPTIMIZERS, STEPS_RANGE, link_query, link_text, playground_comparison
from engine.runs.spec import ComparisonSpec, OptimizerChoice
from engine.tasks.surfaces import SURFACES

LINK = ("http://localhost:8501/playground?surface=beale&x0=1.5&y0=-2&noise=0.5&steps=50&n=3"
        "&opt1=adam%3Alr%3D0.05&opt2=autosgm%3Alr%3D0.01&opt3=autosgm")


def test_a_whole_link_a_query_and_a_query_with_a_question_mark_read_the_same() -> None:
    query = link_query(LINK)
    assert query["opt1"] == "adam:lr=0.05" and query["surface"] == "beale"
    assert link_query(LINK.partition("?")[2]) == query == link_query("?" + LINK.partition("?")[2])


def test_the_comparison_keeps_the_links_settings_and_the_chosen_optimizers() -> None:
    spec = playground_comparison(LINK, ("autosgm",))
    assert spec == ComparisonSpec("beale", (OptimizerChoice.parse("autosgm:lr=0.01"), OptimizerChoice.parse("autosgm")),
                                  steps=50, task_args={"noise": 0.5, "start": (1.5, -2.0)})
    assert playground_comparison(LINK).optimizers[0] == OptimizerChoice.parse("adam:lr=0.05")
    assert playground_comparison(LINK, ("gao",)) is None


def test_n_limits_the_slots_and_missing_values_take_the_engines_defaults() -> None:
    spec = playground_comparison("surface=himmelblau&n=1&opt1=sgd&opt2=autosgm")
    assert [choice.key for choice in spec.optimizers] == ["sgd"]  # opt2 is a hidden slot
    assert spec.steps == ComparisonSpec.steps and spec.task_args == {"noise": 0.0,
                                                                     "start": SURFACES["himmelblau"].start}


def test_a_formula_link_runs_the_formula() -> None:
    spec = playground_comparison(link_text({"surface": "formula", "formula": "x**2 + y**2", "n": "1",
                                            "opt1": "autosgm:lr=0.1"}))
    assert spec.task == "expr:x**2 + y**2"


@pytest.mark.parametrize(("link", "message"), [
    ("surface=nope&opt1=autosgm", "invalid name='nope'"),
    ("surface=beale&steps=many&opt1=autosgm", "invalid steps='many'"),
    ("surface=beale&n=9&opt1=autosgm", "invalid n=9"),
    ("surface=beale&opt1=autosgm:lr=-1", "lr"),
])
def test_a_bad_link_says_which_field(link: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        playground_comparison(link)


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("steps", "1000000", "10 <= steps <= 2000"), ("steps", "inf", "10 <= steps <= 2000"),
    ("steps", "9" * 400, "10 <= steps <= 2000"), ("n", "5", "1 <= n <= 4"), ("noise", "nan", "0 <= noise <= 10"),
    ("x0", "1e308", "x0 <="), ("condition", "1e6", "1 <= condition <= 1000"), ("rotation", "-inf", "rotation <= 90"),
])
def test_a_link_is_held_to_the_playgrounds_own_limits(field: str, value: str, shown: str) -> None:
    link = f"surface=quadratic&n=1&opt1=autosgm&{field}={value}"
    with pytest.raises(ValueError, match=re.escape(shown)) as refused:
        playground_comparison(link)
    assert f"Playground link: invalid {field}=" in str(refused.value)


def test_a_link_at_the_playgrounds_limits_is_accepted() -> None:
    low, high = STEPS_RANGE
    spec = playground_comparison(f"n={MAX_OPTIMIZERS}&steps={high}&" + "&".join(
        f"opt{slot}=sgd" for slot in range(1, MAX_OPTIMIZERS + 1)))
    assert spec is not None and spec.steps == high and len(spec.optimizers) == MAX_OPTIMIZERS
    assert playground_comparison(f"steps={low}&opt1=sgd").steps == low  # type: ignore[union-attr]
