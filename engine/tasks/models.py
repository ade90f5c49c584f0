"""The seed MLP for MNIST-1D, initialised deterministically from a generator you pass."""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from optimizers.validation import check_number

MAX_DEPTH = 8
"""Most hidden layers an MLP may have."""
MAX_WIDTH = 1024
"""Most units a hidden layer may have: at depth ``MAX_DEPTH`` about 7 M weights a run (a width of 1e12 would ask for
160 TB)."""


def check_shape(depth: object, width: object, owner: str = "mlp") -> tuple[int, int]:
    """``depth`` and ``width`` as integers, or ``ValueError`` naming the field and its range (1..``MAX_DEPTH``,
    1..``MAX_WIDTH``)."""
    return (int(check_number(owner, "depth", depth, low=1, high=MAX_DEPTH, integer=True)),
            int(check_number(owner, "width", width, low=1, high=MAX_WIDTH, integer=True)))


def mlp(
    depth: int = 3,
    width: int = 256,
    *,
    inputs: int = 40,
    classes: int = 10,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """A ReLU MLP: ``depth`` hidden layers of ``width`` units (``check_shape``), then a linear layer to ``classes``
    logits.

    The defaults give the seed MLP, Linear(40, 256)-ReLU-Linear(256, 256)-ReLU-Linear(256, 256)-ReLU-Linear(256, 10).
    Layers are named ``hidden1..hidden<depth>``, ``relu1..relu<depth>`` and ``output``, so parameter names read
    ``hidden1.weight``; ``model[0]`` still indexes the first layer.

    Initialisation is torch's default for ``nn.Linear`` (weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) via
    kaiming_uniform_ with a = sqrt(5), bias ~ the same uniform), drawn from ``generator`` in layer order; with
    ``generator=None`` it draws from torch's global RNG, as ``nn.Linear`` does. Building the layers never consumes
    the global RNG otherwise (they are created uninitialised).
    """
    depth, width = check_shape(depth, width)
    inputs = check_number("mlp", "inputs", inputs, low=1, integer=True)
    classes = check_number("mlp", "classes", classes, low=1, integer=True)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    fan_in = inputs
    for index in range(1, depth + 1):
        layers[f"hidden{index}"] = _linear(fan_in, width, generator)
        layers[f"relu{index}"] = nn.ReLU()
        fan_in = width
    layers["output"] = _linear(fan_in, classes, generator)
    return nn.Sequential(layers)


def layer_names(model: nn.Module) -> list[str]:
    """The names of the model's ``nn.Linear`` layers in order (``hidden1, ..., output`` for :func:`mlp`).

    Per-layer telemetry reads ``model.get_submodule(name).weight.grad`` for each name.
    """
    return [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]


def _linear(inputs: int, outputs: int, generator: torch.Generator | None) -> nn.Linear:
    """``nn.Linear`` with its default initialisation drawn from ``generator`` (mirrors ``Linear.reset_parameters``)."""
    layer = nn.utils.skip_init(nn.Linear, inputs, outputs)
    with torch.no_grad():
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(inputs)
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer
