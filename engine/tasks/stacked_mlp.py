"""R MLPs of one architecture stacked along a leading runs axis: forward, per-run losses, per-run evaluation.

Layer i of run r is ``weights[i][r]`` ([out, in], as ``nn.Linear.weight``) and ``biases[i][r]`` ([out]). For inputs x
([R, n, in], run r's rows ``x[r]``) the forward pass is one batched matrix product per layer (``StackedLinear``):

    h_0 = x,    h_{i+1} = relu(h_i W_i^T + b_i)  (hidden layers),    logits = h_L W_L^T + b_L

so each run's logits, losses and (by backward on the sum of the per-run losses) gradients are its own: nothing is
reduced across the runs axis. Row r starts as a copy of the ``nn.Sequential`` given for it (``models.mlp``), so a
run starts from exactly the weights its seed gives a run alone, and its products are the ones ``nn.Linear`` takes
(on a CPU its gradients equal a run alone's bit for bit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional


class StackedLinear(torch.autograd.Function):
    """One linear layer of R runs, y_r = x_r W_r^T + b_r (x [R, n, in], W [R, out, in], b [R, out]), by one batched
    product (``torch.baddbmm``), whose backward takes the products of ``nn.Linear``'s (``addmm``'s) backward:

        dL/dx_r = g_r W_r,    dL/dW_r = g_r^T x_r,    dL/db_r = sum_j g_r[j]    (g_r = dL/dy_r)

    Autograd's own backward of the batched product gives dL/dW_r as (x_r^T g_r)^T: the same sums taken in another
    order, which rounds differently from a run alone.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
        ctx.save_for_backward(x, weight)
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor, Tensor]:
        x, weight = ctx.saved_tensors
        grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None  # the first layer's input needs none
        return grad_x, torch.bmm(grad.transpose(1, 2), x), grad.sum(1)


class StackedMLP:
    """The runs' layers as leaf tensors on ``device``, ``params`` in ``nn.Module.parameters()`` order (each layer's
    weight, then its bias), so per-parameter indices (``telemetry.layer_indices``) carry over."""

    def __init__(self, models: Sequence[nn.Module], device: torch.device) -> None:
        layers = [[module for module in model.modules() if isinstance(module, nn.Linear)] for model in models]
        self.weights = [torch.stack([row[index].weight.detach() for row in layers]).to(device).requires_grad_()
                        for index in range(len(layers[0]))]
        self.biases = [torch.stack([row[index].bias.detach() for row in layers]).to(device).requires_grad_()
                       for index in range(len(layers[0]))]
        self.params = [tensor for pair in zip(self.weights, self.biases, strict=True) for tensor in pair]

    def __call__(self, x: Tensor) -> Tensor:
        """The logits [R, n, classes] of inputs ``x`` [R, n, in]."""
        last = len(self.weights) - 1
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = StackedLinear.apply(x, weight, bias)
            if index < last:
                x.relu_()
        return x

    def losses(self, x: Tensor, y: Tensor) -> Tensor:
        """Each run's mean cross-entropy on its rows of ``x`` [R, n, in] with labels ``y`` [R, n]: shape [R],
        L_r = (1 / n) sum_j CE(logits[r, j], y[r, j]), as ``functional.cross_entropy`` gives a run alone."""
        logits = self(x)
        runs, count, classes = logits.shape
        every = functional.cross_entropy(logits.reshape(-1, classes), y.reshape(-1), reduction="none")
        return every.view(runs, count).mean(1)

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, runs: Sequence[int]) -> Tensor:
        """The mean cross-entropy and accuracy of each of ``runs`` on its rows of ``x`` [R, n, in] and ``y`` [R, n]:
        shape [2, len(runs)].

        Run by run (``functional.linear``, as ``nn.Linear``): on a whole split, one run's activations stay in cache
        from one layer to the next, which all the runs' together do not (a run at a time is faster on a CPU).
        """
        last = len(self.weights) - 1
        values = []
        for run in runs:
            h = x[run]
            for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
                h = functional.linear(h, weight[run], bias[run])
                if index < last:
                    h.relu_()
            accuracy = (h.argmax(dim=1) == y[run]).to(h.dtype).mean()
            values.append(torch.stack([functional.cross_entropy(h, y[run]), accuracy]))
        return torch.stack(values, 1)
