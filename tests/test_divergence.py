"""Why a run diverged, in the lessons' terms: lr times the largest curvature against each optimizer's stable limit,
checked against runs that do diverge; and a start where f is undefined is refused before any run."""

# ruff: noqa: RUF001  (messages use the multiplication sign)

import pytest

from engine.runs import ComparisonSpec, OptimizerChoice, run_comparison
from engine.tasks import get_surface
from engine.theory import curvature_at, divergence_explanation
from engine.theory.divergence import about

QUADRATIC = get_surface("quadratic", condition=10.0, rotation=25.0)  # h = 10 everywhere


@pytest.mark.parametrize(("text", "product", "limit"), [
    ("sgd:lr=0.34", "3.4", "SGD's limit of 2"),
    ("momentum:lr=0.4,momentum=0.5", "4", "Heavy ball's limit of 2(1 + β) = 3"),
    ("nesterov:lr=0.15", "1.5", "Nesterov's limit of 2(1 + β)/(1 + 2β) = 1.4"),
])
def test_a_run_past_its_limit_diverges_and_the_explanation_says_why(text: str, product: str, limit: str) -> None:
    choice = OptimizerChoice.parse(text)
    [result] = run_comparison(ComparisonSpec("quadratic", (choice,), steps=300,
                                             task_args={"condition": 10.0, "rotation": 25.0}))
    assert result.status == "diverged"
    why = divergence_explanation(QUADRATIC, QUADRATIC.start, choice.key, choice.hyperparameters)
    assert why is not None and f"lr × the largest curvature here is about {product}, past {limit}" in why


def test_inside_the_limit_or_without_one_there_is_no_claim() -> None:
    assert divergence_explanation(QUADRATIC, QUADRATIC.start, "sgd", {"lr": 0.19}) is None  # 1.9 < 2
    adam = OptimizerChoice.parse("adam:lr=1")
    assert divergence_explanation(QUADRATIC, QUADRATIC.start, "adam", adam.hyperparameters) is None
    saddle = get_surface("saddle")  # curvature 2 along x at the start: lr 0.5 gives 1 < 2
    assert divergence_explanation(saddle, saddle.start, "sgd", {"lr": 0.5}) is None


def test_off_a_quadratic_the_curvature_is_the_starts() -> None:
    rosenbrock = get_surface("rosenbrock")
    h = curvature_at(rosenbrock, (-2.0, 2.0))  # Hessian [[4002, 800], [800, 200]]
    assert h == pytest.approx(2101 + (1901**2 + 800**2) ** 0.5)
    why = divergence_explanation(rosenbrock, (-2.0, 2.0), "sgd", {"lr": 0.001})
    assert why is not None and "at the start is about 4.2, past SGD's limit of 2" in why
    assert curvature_at(get_surface("expr:sqrt(x)"), (0.0, 1.0)) is None  # not finite there


@pytest.mark.parametrize(("value", "text"), [(3.4, "3.4"), (0.0213, "0.021"), (4166.2, "4,200"), (123.0, "120")])
def test_numbers_read_as_a_person_says_them(value: float, text: str) -> None:
    assert about(value) == text


@pytest.mark.parametrize(("formula", "start", "shown"), [("log(x)", (-4.0, 4.0), "f = nan"),
                                                         ("sqrt(x) + y", (0.0, 1.0), "its gradient is [inf, 1.0]")])
def test_a_start_where_f_is_undefined_is_refused_before_any_run(formula: str, start: tuple[float, float],
                                                                shown: str) -> None:
    with pytest.raises(ValueError, match=r"f is undefined at the start \(") as error:
        ComparisonSpec(f"expr:{formula}", (OptimizerChoice("sgd"),), task_args={"start": start})
    assert f"({start[0]:g}, {start[1]:g})" in str(error.value) and shown in str(error.value)
    ComparisonSpec(f"expr:{formula}", (OptimizerChoice("sgd"),), task_args={"start": (1.0, 1.0)})  # defined there
