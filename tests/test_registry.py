"""The registry: the single source of hyperparameter specs, names and factories."""

from __future__ import annotations

import pytest
import torch

from optimizers import REGISTRY, get

RESEARCH = {"gnw_adam", "a2grad", "agaw", "gao", "autosgm"}
BASELINES = {"sgd", "momentum", "nesterov", "adam", "adamw", "adam_warmup"}


def test_registry_holds_the_research_optimizers_and_the_baselines() -> None:
    assert set(REGISTRY) == RESEARCH | BASELINES
    assert {key for key, info in REGISTRY.items() if info.research} == RESEARCH


@pytest.mark.parametrize("key", list(REGISTRY))
def test_specs_are_complete_and_defaults_lie_in_their_ranges(key: str) -> None:
    info = REGISTRY[key]
    assert info.name and info.description and "\n" not in info.description
    for hp in info.hyperparams:
        assert hp.help, f"{key}.{hp.name} needs a line of help"
        if hp.kind == "choice":
            assert hp.default in hp.choices
        else:
            assert hp.low is not None and hp.high is not None and hp.low <= hp.default <= hp.high
            assert not hp.log or hp.low > 0, f"{key}.{hp.name}: a log scale needs a positive lower end"


def test_unknown_optimizer_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamax'; known: sgd, momentum"):
        get("adamax")


def test_unknown_hyperparameter_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown hyperparameter 'momentum'; known: lr, beta1, beta2"):
        get("adam").build([torch.zeros(1, requires_grad=True)], momentum=0.9)


def test_text_values_are_coerced_to_each_fields_type() -> None:
    resolved = get("agaw").resolve({"target_lr": "0.0046", "warmup_steps": "107", "gamma": "1.7", "base": "sgd"})
    assert resolved == {"target_lr": 0.0046, "initial_lr": 1e-7, "warmup_steps": 107, "gamma": 1.7, "base": "sgd"}
    assert isinstance(resolved["warmup_steps"], int)


@pytest.mark.parametrize(
    ("key", "field", "value", "message"),
    [
        ("adam", "lr", "fast", r"Adam: invalid lr='fast'; expected a number in \[1e-05, 1\] \(the explorer's range\)"),
        ("agaw", "warmup_steps", "10.5", r"AGAW: invalid warmup_steps='10.5'; expected an integer in \[1, 2000\]"),
        ("adam", "lr", True, r"Adam: invalid lr=True; expected a number in \[1e-05, 1\]"),  # issue 14: not 1.0
        ("agaw", "warmup_steps", False, r"AGAW: invalid warmup_steps=False; expected an integer in \[1, 2000\]"),
        ("sgd", "lr", 10**400, r"SGD: invalid lr=1000.*; expected a number"),  # an int too large for a float
        ("a2grad", "variant", "quad", r"A2Grad: invalid variant='quad'; allowed values: 'uni', 'inc', 'exp'"),
        ("momentum", "momentum", 1.0, r"Heavy ball: invalid momentum=1.0; valid range: 0 <= momentum < 1"),
        ("gnw_adam", "beta2", 1.5, r"GNW-Adam: invalid beta2=1.5; valid range: 0 <= beta2 < 1"),
    ],
)
def test_messages_name_the_field_the_value_and_the_range(key: str, field: str, value, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get(key).build([torch.zeros(1, requires_grad=True)], **{field: value})


def test_agaw_and_gao_wrap_the_chosen_base() -> None:
    params = [torch.zeros(2, requires_grad=True)]
    assert isinstance(get("agaw").build(params, base="sgd").base, torch.optim.SGD)
    assert isinstance(get("gao").build(params, base="adam", lr=0.0085).base, torch.optim.Adam)
    assert get("gao").build(params, lr=0.0085).param_groups[0]["lr"] == 0.0085
