"""RunSpec, ComparisonSpec and OptimizerChoice: JSON round trips, the parse form, labels, validation, runs()."""

from __future__ import annotations

import json
import math
import re

import pytest

from engine.runs import ComparisonSpec, OptimizerChoice, RunSpec
from engine.tasks import MNIST1D


def _comparison(**overrides: object) -> ComparisonSpec:
    values: dict[str, object] = {
        "task": "quadratic",
        "optimizers": (OptimizerChoice("adam", {"lr": 0.01}), OptimizerChoice.parse("agaw:target_lr=0.0046,gamma=1.7")),
        "seeds": (3, 1),
        "steps": 50,
        "task_args": {"condition": 25.0, "rotation": 30.0, "noise": 0.1, "start": [1.0, -1.0]},
    }
    return ComparisonSpec(**{**values, **overrides})  # type: ignore[arg-type]


def test_optimizer_choice_resolves_defaults_and_coerces_text() -> None:
    choice = OptimizerChoice("adam", {"lr": "0.01"})
    assert choice.hyperparameters == {"lr": 0.01, "beta1": 0.9, "beta2": 0.999}
    assert OptimizerChoice("a2grad", {"variant": "exp"}).hyperparameters["variant"] == "exp"


def test_parse_form_round_trips_through_str() -> None:
    choice = OptimizerChoice.parse("agaw:target_lr=0.0046,gamma=1.7")
    assert choice.key == "agaw"
    assert choice.hyperparameters["target_lr"] == 0.0046 and choice.hyperparameters["gamma"] == 1.7
    assert str(choice) == "agaw:target_lr=0.0046,gamma=1.7"
    assert OptimizerChoice.parse(str(choice)) == choice
    assert str(OptimizerChoice.parse("adam")) == "adam"
    assert OptimizerChoice.parse("adam: lr = 0.01 ,") == OptimizerChoice("adam", {"lr": 0.01})


def test_labels_name_the_optimizer_and_the_changed_values() -> None:
    assert OptimizerChoice("adam").label == "Adam"
    assert OptimizerChoice("adam", {"lr": 0.01}).label == "Adam (lr=0.01)"
    assert OptimizerChoice.parse("agaw:target_lr=0.0046,gamma=1.7").label == "AGAW (target_lr=0.0046, gamma=1.7)"
    assert OptimizerChoice("adam", {"lr": 0.001}).label == "Adam"  # the default is not repeated


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("adam:lr", "adam: invalid setting 'lr'; expected name=value"),
        ("adam:=1", "adam: invalid setting '=1'; expected name=value"),
        ("adam:lr=abc", "Adam: invalid lr='abc'; expected a number in [1e-05, 1] (the explorer's range)"),
        ("adam:foo=1", "Adam: unknown hyperparameter 'foo'; known: lr, beta1, beta2"),
    ],
)
def test_parse_refuses_malformed_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{_escape(message)}$"):
        OptimizerChoice.parse(text)


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        ("adam", {"lr": -0.1}, "Adam: invalid lr=-0.1; valid range: lr >= 0"),
        ("adam", {"beta1": 1.0}, "Adam: invalid beta1=1.0; valid range: 0 <= beta1 < 1"),
        ("adam", {"beta2": 1.5}, "Adam: invalid beta2=1.5; valid range: 0 <= beta2 < 1"),
        ("momentum", {"momentum": 1.0}, "Heavy ball: invalid momentum=1.0; valid range: 0 <= momentum < 1"),
        ("adam", {"lr": math.nan}, "Adam: invalid lr=nan; expected a finite number with lr >= 0"),
        ("sgd", {"lr": math.inf}, "SGD: invalid lr=inf; expected a finite number with lr >= 0"),
    ],
)
def test_bad_hyperparameters_name_the_field_and_range(key: str, values: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{_escape(message)}$"):
        OptimizerChoice(key, values)


def test_unknown_optimizer_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"^unknown optimizer 'foo'; known: sgd, momentum, .*adam, .*autosgm$"):
        OptimizerChoice("foo")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task": "foo"}, "surface: invalid name='foo'; allowed values: 'rosenbrock', "),
        ({"task_args": {"noise": -1.0}}, "quadratic: invalid noise=-1.0; valid range: noise >= 0"),
        ({"task_args": {"noise": math.nan}}, "quadratic: invalid noise=nan; expected a finite number with noise >= 0"),
        ({"task_args": {"condition": 0.5}}, "quadratic: invalid condition=0.5; valid range: 1 <= condition <= 1e+06"),
        ({"task_args": {"bogus": 1}}, "surface: invalid argument 'bogus' for 'quadratic'; allowed values: "),
        ({"task": MNIST1D, "task_args": {"noise": 0.1}}, "mnist1d: invalid task argument='noise'; allowed values: "),
        ({"seeds": (-1,)}, "comparison: invalid seed=-1; valid range: 0 <= seed <= "),
        ({"seeds": (1.5,)}, "comparison: invalid seed=1.5; expected an integer with 0 <= seed <= "),
        ({"seeds": ()}, "comparison: invalid seeds=(); expected at least one seed"),
        ({"optimizers": ()}, "comparison: invalid optimizers=(); expected at least one optimizer"),
        ({"steps": 0}, "comparison: invalid steps=0; valid range: 1 <= steps <= 1e+06"),
        ({"steps": 2.5}, "comparison: invalid steps=2.5; expected an integer with 1 <= steps <= 1e+06"),
        ({"epochs": 0}, "comparison: invalid epochs=0; valid range: 1 <= epochs <= 10000"),
        ({"batch_size": 4000}, "comparison: invalid batch_size=4000; valid range: 1 <= batch_size <= 3600"),
        ({"log_every": 0}, "comparison: invalid log_every=0; valid range: log_every >= 1"),
        ({"device": "tpu"}, "comparison: invalid device='tpu'; allowed values: 'auto', 'cpu', 'cuda[:N]'"),
        ({"device": "cudafoo"}, "comparison: invalid device='cudafoo'; allowed values: 'auto', 'cpu', 'cuda[:N]'"),
        ({"task_args": [("noise", 1)]}, "comparison: invalid task_args=[('noise', 1)]; expected a mapping"),
        ({"steps": True}, "comparison: invalid steps=True; expected an integer with 1 <= steps <= 1e+06"),
        ({"task": MNIST1D, "task_args": {}, "optimizers": (OptimizerChoice("sgd", {"lr": 1e39}),)},
         "SGD: invalid lr=1e+39 for mnist1d; valid range: |lr| <= 3.40282e+38 (the largest float32"),
    ],
)
def test_bad_comparisons_name_the_field_and_range(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{_escape(message)}"):
        _comparison(**overrides)


def test_run_spec_validates_like_a_comparison() -> None:
    with pytest.raises(ValueError, match=r"^comparison: invalid seed=-2; valid range"):
        RunSpec("rosenbrock", OptimizerChoice("sgd"), seed=-2)
    with pytest.raises(ValueError, match=r"^surface: invalid name='nowhere'"):
        RunSpec("nowhere", OptimizerChoice("sgd"))


def test_comparison_json_round_trip() -> None:
    spec = _comparison()
    text = spec.to_json()
    assert json.loads(text)["optimizers"][1]["key"] == "agaw"
    again = ComparisonSpec.from_json(text)
    assert again == spec
    assert again.to_json() == text
    assert ComparisonSpec.from_dict(spec.to_dict()) == spec


def test_run_spec_json_round_trip_for_both_kinds_of_task() -> None:
    for spec in (
        _comparison().runs()[1],
        RunSpec(MNIST1D, OptimizerChoice("gnw_adam", {"lr": 0.003}), seed=7, epochs=3, batch_size=64, log_every=5,
                task_args={"depth": 2, "width": 32}, device="cpu"),
        RunSpec("expr:x**2 + 10*sin(y)", OptimizerChoice("sgd"), task_args={"domain": [[-1, 1], [-2, 2]]}),
    ):
        assert RunSpec.from_json(spec.to_json()) == spec
        assert RunSpec.from_dict(json.loads(spec.to_json())) == spec


def test_runs_expand_seed_major_with_the_shared_fields() -> None:
    spec = _comparison()
    runs = spec.runs()
    assert [(run.seed, run.optimizer) for run in runs] == [
        (3, spec.optimizers[0]), (3, spec.optimizers[1]), (1, spec.optimizers[0]), (1, spec.optimizers[1])
    ]
    for run in runs:
        assert (run.task, run.steps, run.task_args, run.device) == (spec.task, spec.steps, spec.task_args, "auto")
    assert runs[0].with_seed(1) == runs[2]


def _escape(text: str) -> str:
    return re.escape(text)


def test_log_every_defaults_to_every_step_on_surfaces_and_every_ten_on_mnist1d() -> None:
    adam = OptimizerChoice("adam")
    assert ComparisonSpec("rosenbrock", (adam,)).log_every == 1
    assert ComparisonSpec("mnist1d", (adam,)).log_every == 10
    assert RunSpec("mnist1d", adam).log_every == 10
    assert RunSpec("mnist1d", adam, log_every=1).log_every == 1
    assert RunSpec.from_json(RunSpec("mnist1d", adam).to_json()).log_every == 10


def test_optimizer_key_may_have_spaces_around_it() -> None:
    assert OptimizerChoice.parse(" adam : lr=0.01 ") == OptimizerChoice("adam", {"lr": 0.01})


def test_a_value_beyond_float32_is_refused_on_mnist1d_only() -> None:
    """Issue 14: an lr of 1e39 passed validation on MNIST-1D (float32) and overflowed inside the run; a surface
    computes in float64, where it is a number like any other."""
    with pytest.raises(ValueError, match=r"^SGD: invalid lr=1e\+308 for mnist1d; valid range: \|lr\| <= 3.40282e\+38"):
        RunSpec(MNIST1D, OptimizerChoice("sgd", {"lr": 1e308}))
    assert RunSpec("rosenbrock", OptimizerChoice("sgd", {"lr": 1e39})).optimizer.hyperparameters["lr"] == 1e39
    assert RunSpec(MNIST1D, OptimizerChoice("sgd", {"lr": 3e38})).optimizer.hyperparameters["lr"] == 3e38


def test_a_boolean_is_not_a_number() -> None:
    """Issue 14: ``True`` was read as 1.0."""
    with pytest.raises(ValueError, match=r"^Adam: invalid lr=True; expected a number in \[1e-05, 1\]"):
        OptimizerChoice("adam", {"lr": True})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("oops", "RunSpec: invalid value 'oops'; expected an object of its fields"),
        ({"task": "rosenbrock"}, "RunSpec: missing field 'optimizer'"),
        ({"task": "rosenbrock", "optimizer": {"key": "sgd"}, "speed": 1}, "RunSpec: unknown field 'speed'; known: "),
        ({"task": "rosenbrock", "optimizer": "sgd"}, "OptimizerChoice: invalid value 'sgd'"),
        ({"task": "rosenbrock", "optimizer": {"key": "sgd", "hyperparameters": [1]}},
         "optimizer: invalid key='sgd' or hyperparameters=[1]; expected a registry key and a mapping"),
        ({"task": "rosenbrock", "optimizer": {"key": ["sgd"]}}, "optimizer: invalid key=['sgd']"),
    ],
)
def test_from_dict_refuses_what_to_dict_never_writes(data: object, message: str) -> None:
    """A run file's spec (issue 14) is checked field by field: a ValueError naming what is wrong, never an
    AttributeError or a TypeError."""
    with pytest.raises(ValueError, match=f"^{_escape(message)}"):
        RunSpec.from_dict(data)


def test_comparison_from_dict_refuses_a_list_that_is_not_one() -> None:
    with pytest.raises(ValueError, match=r"^comparison: invalid optimizers='sgd'; expected a list"):
        ComparisonSpec.from_dict({"task": "rosenbrock", "optimizers": "sgd"})
