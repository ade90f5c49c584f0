"""The seed MLP: its architecture, deterministic initialisation from a generator, and argument checks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from engine.tasks.models import layer_names, mlp


def _shapes(model: nn.Module) -> list[tuple[int, int]]:
    return [(layer.in_features, layer.out_features) for layer in model.modules() if isinstance(layer, nn.Linear)]


def test_default_architecture_is_the_seed_mlp() -> None:
    model = mlp(generator=torch.Generator().manual_seed(0))
    assert isinstance(model, nn.Sequential)
    assert [type(layer) for layer in model] == [nn.Linear, nn.ReLU] * 3 + [nn.Linear]
    assert _shapes(model) == [(40, 256), (256, 256), (256, 256), (256, 10)]
    assert layer_names(model) == ["hidden1", "hidden2", "hidden3", "output"]
    assert model(torch.zeros(5, 40)).shape == (5, 10)


def test_depth_width_inputs_and_classes() -> None:
    model = mlp(1, 8, inputs=3, classes=2, generator=torch.Generator().manual_seed(0))
    assert _shapes(model) == [(3, 8), (8, 2)]
    assert layer_names(model) == ["hidden1", "output"]
    assert _shapes(mlp(depth=5, width=16)) == [(40, 16)] + [(16, 16)] * 4 + [(16, 10)]


def test_layer_names_address_the_linear_layers() -> None:
    model = mlp(depth=2, width=4)
    for name in layer_names(model):
        assert isinstance(model.get_submodule(name), nn.Linear)
    assert [name for name, _ in model.named_parameters()] == [
        f"{layer}.{kind}" for layer in layer_names(model) for kind in ("weight", "bias")
    ]


def test_same_seed_same_weights_different_seed_different() -> None:
    first = mlp(generator=torch.Generator().manual_seed(1))
    second = mlp(generator=torch.Generator().manual_seed(1))
    third = mlp(generator=torch.Generator().manual_seed(2))
    for a, b, c in zip(first.parameters(), second.parameters(), third.parameters(), strict=True):
        assert torch.equal(a, b)
        assert not torch.equal(a, c)


def test_generator_leaves_the_global_rng_alone() -> None:
    state = torch.get_rng_state()
    mlp(generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.get_rng_state(), state)


def test_initialisation_is_torch_default_linear_init() -> None:
    torch.manual_seed(3)
    reference = nn.Linear(40, 256)
    torch.manual_seed(3)
    model = mlp(depth=1)  # generator=None draws from the global RNG, exactly as nn.Linear does
    assert torch.equal(model.hidden1.weight, reference.weight)
    assert torch.equal(model.hidden1.bias, reference.bias)
    bound = 1 / math.sqrt(256)
    assert model.output.weight.abs().max() <= bound and model.output.bias.abs().max() <= bound


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, r"mlp: invalid depth=0; valid range: 1 <= depth <= 8"),
        ({"depth": 2.5}, r"mlp: invalid depth=2.5; expected an integer with 1 <= depth <= 8"),
        ({"width": 0}, r"mlp: invalid width=0; valid range: 1 <= width <= 1024"),
        ({"width": 10**12}, r"mlp: invalid width=1000000000000; valid range: 1 <= width <= 1024"),  # not 160 TB
        ({"width": -3}, r"mlp: invalid width=-3"),
        ({"inputs": 0}, r"mlp: invalid inputs=0"),
        ({"classes": 0}, r"mlp: invalid classes=0"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mlp(**kwargs)  # type: ignore[arg-type]
