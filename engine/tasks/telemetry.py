"""What every run measures: per-step measures, the optimizer's own values, per-epoch accuracy.

Pure functions (``derive`` holds the formulas; ``step_measures`` on flat tensors, ``point_measures`` on a 2-D point in
Python floats, ``epoch_measures``, ``optimizer_measures`` and, for stacked runs, ``runs_optimizer_measures``) and
``NetworkProbe``, the runner's allocation-free path for a network's logged steps, which gives the same values. Figures
and tests use the same functions. Keys:

- ``loss``; ``grad_norm`` ||g||; ``update_norm`` ||u|| with u = w_after - w_before (the step actually taken);
  ``effective_lr`` ||u|| / ||g||; ``cos_grad_prev`` cos(g_t, g_{t-1}); ``cos_update_neg_grad`` cos(u, -g);
  ``grad_norm/<layer>`` per linear layer of the MLP (weight and bias together).
- ``lr``: the optimizer's ``param_groups[0]["lr"]`` (NaN when it has none); ``stat/<name>``: its ``stats``.
- per epoch: ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``, ``test_loss``, ``test_accuracy``.

Undefined values (a cosine with a zero vector or no previous gradient, a ratio over a zero norm) are NaN. A logged
network step costs copies of the gradient and the weights into preallocated flat rows, the update, one 3 x 3 Gram
matrix and one host sync: about eleven memory-bound passes over the parameters, so log every few steps on big models.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from optimizers.runs_optimizer import RunsOptimizer

NAN = float("nan")

STEP_KEYS = ("grad_norm", "update_norm", "effective_lr", "cos_grad_prev", "cos_update_neg_grad")
"""The engine-measured per-step quantities every run records (besides ``loss``, ``lr`` and ``stat/*``)."""

EPOCH_KEYS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy")


def derive(g_sq: float, u_sq: float, u_dot_g: float, g_dot_prev: float, prev_sq: float) -> dict[str, float]:
    """The step measures from five inner products: <g,g>, <u,u>, <u,g>, <g,g_prev>, <g_prev,g_prev>.

    Pass NaN for the update's products when there is no update, and for the previous gradient's when there is none.
    """
    g_norm, u_norm, prev_norm = math.sqrt(g_sq), math.sqrt(u_sq), math.sqrt(prev_sq)
    return {
        "grad_norm": g_norm,
        "update_norm": u_norm,
        "effective_lr": _ratio(u_norm, g_norm),
        "cos_grad_prev": _ratio(g_dot_prev, g_norm * prev_norm),
        "cos_update_neg_grad": _ratio(-u_dot_g, u_norm * g_norm),
    }


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is 0 or not finite (or either is NaN)."""
    if not math.isfinite(denominator) or denominator == 0:
        return NAN
    return numerator / denominator


def flat(tensors: Sequence[Tensor]) -> Tensor:
    """One detached flat copy of ``tensors`` (in order), e.g. of the gradients or of the parameters."""
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def flat_views(flat_vector: Tensor, tensors: Sequence[Tensor]) -> list[Tensor]:
    """Views of ``flat_vector`` shaped like ``tensors``, in order: ``torch._foreach_copy_(views, tensors)`` then
    fills it as ``flat`` would, without allocating (the runner reuses preallocated rows every logged step)."""
    views, offset = [], 0
    for t in tensors:
        views.append(flat_vector[offset : offset + t.numel()].view_as(t))
        offset += t.numel()
    return views


def layer_indices(model: nn.Module, names: Sequence[str]) -> list[tuple[str, list[int]]]:
    """For each named submodule, the positions of its parameters in ``list(model.parameters())``."""
    positions = {id(p): index for index, p in enumerate(model.parameters())}
    return [(name, [positions[id(p)] for p in model.get_submodule(name).parameters()]) for name in names]


def layer_slices(model: nn.Module, names: Sequence[str]) -> list[tuple[str, slice]]:
    """For each named submodule, the slice of ``flat(list(model.parameters()))`` its parameters occupy.

    Assumes each submodule's parameters are consecutive in ``model.parameters()`` (true for ``nn.Sequential``).
    """
    offsets: dict[int, tuple[int, int]] = {}
    offset = 0
    for p in model.parameters():
        offsets[id(p)] = (offset, offset + p.numel())
        offset += p.numel()
    slices = []
    for name in names:
        spans = [offsets[id(p)] for p in model.get_submodule(name).parameters()]
        slices.append((name, slice(min(s for s, _ in spans), max(e for _, e in spans))))
    return slices


def step_measures(
    grad: Tensor,
    update: Tensor | None = None,
    prev_grad: Tensor | None = None,
    *,
    loss: Tensor | float | None = None,
    layers: Sequence[tuple[str, slice]] = (),
) -> dict[str, float]:
    """The step measures of a network step from flat vectors (``flat`` of grads before the step, of the update
    w_after - w_before, of the previous step's gradient), with one host sync.

    ``layers``: (name, slice of the flat vector) pairs, giving ``grad_norm/<name>``. ``loss`` (a 0-d tensor) joins
    the same sync and comes back as ``loss``.
    """
    nan = grad.new_full((), NAN)
    parts = [
        torch.dot(grad, grad),
        torch.dot(update, update) if update is not None else nan,
        torch.dot(update, grad) if update is not None else nan,
        torch.dot(grad, prev_grad) if prev_grad is not None else nan,
        torch.dot(prev_grad, prev_grad) if prev_grad is not None else nan,
        torch.as_tensor(loss, dtype=grad.dtype, device=grad.device) if loss is not None else nan,
    ]
    if layers:
        parts.extend(torch._foreach_norm([grad[part] for _, part in layers]))
    values = torch.stack([p.reshape(()).to(grad.dtype) for p in parts]).tolist()
    measures = derive(*values[:5])
    if loss is not None:
        measures = {"loss": values[5], **measures}
    for (name, _), value in zip(layers, values[6:], strict=True):
        measures[f"grad_norm/{name}"] = value
    return measures


class NetworkProbe:
    """The step measures of a network, cheaply: preallocated flat rows, each pass while its data is in cache, and
    one host sync per logged step.

    Rows 0 and 1 hold the raw gradients of alternate steps (this step's and the previous one's), row 2 the weights
    before the step, then w_before - w_after = -u. Call ``capture(step, weights=...)`` after ``backward()`` and
    before ``optimizer.step()`` on a logged step (``weights=True``) and on the step before one (the next step's
    g_{t-1}), then ``measure()`` after the step. The values equal ``step_measures`` on the same vectors (up to
    rounding); ``layers`` are (name, parameter indices) pairs, giving ``grad_norm/<name>``.
    """

    def __init__(self, params: Sequence[Tensor], layers: Sequence[tuple[str, Sequence[int]]] = ()) -> None:
        self.params = list(params)
        first = self.params[0]
        self.rows = torch.zeros(3, sum(p.numel() for p in self.params), dtype=first.dtype, device=first.device)
        self.views = [flat_views(self.rows[index], self.params) for index in range(3)]
        self.layers = [(name, list(indices)) for name, indices in layers]
        self.slot = 0  # the row of the last captured gradient
        self.captured = -1  # the step whose gradient was captured last
        self.pending: list[Tensor] = []  # this step's 0-d results, read back in one sync by ``measure``
        self.norms: list[Tensor] = []  # per-tensor norms of the last captured gradient
        self.has_prev = False

    @torch.no_grad()
    def capture(self, step: int, *, weights: bool) -> None:
        """Before the step: a copy of the raw gradient (a wrapper such as GAO rescales it in place during the step)
        and its per-tensor norms; with ``weights``, a copy of the weights before the step."""
        grads = [p.grad for p in self.params]
        slot = step % 2
        self.has_prev = self.captured == step - 1
        torch._foreach_copy_(self.views[slot], grads)
        norms = list(torch._foreach_norm(grads))
        self.pending = [*norms, *(self.norms if self.has_prev else (self.rows.new_full((), NAN) for _ in norms))]
        self.slot, self.captured, self.norms = slot, step, norms
        if weights:
            torch._foreach_copy_(self.views[2], self.params)

    @torch.no_grad()
    def measure(self, loss: Tensor | None = None) -> dict[str, float]:
        """The measures of the step just taken, after ``capture(step, weights=True)`` before it."""
        if not self.pending:
            raise RuntimeError("NetworkProbe.measure: capture(step, weights=True) must come before the step")
        torch._foreach_sub_(self.views[2], self.params)  # -u = w_before - w_after
        gram = self.rows @ self.rows.T  # every inner product of g_t, g_{t-1} and -u, in one pass over the rows
        loss_part = loss.detach().to(gram.dtype) if loss is not None else gram.new_full((), NAN)
        scalars = torch.stack([*self.pending, loss_part.reshape(())])
        self.pending = []
        values = torch.cat([scalars, gram.reshape(-1)]).tolist()  # the one host sync
        count, g, p = len(self.params), self.slot, 1 - self.slot
        squares = [value * value for value in values[:count]]
        prev_sq = math.fsum(value * value for value in values[count : 2 * count])
        loss_value, entries = values[2 * count], values[2 * count + 1 :]  # entries: gram row-major
        g_dot_prev = entries[3 * g + p] if self.has_prev else NAN
        u_sq, u_dot_g = entries[8], -entries[6 + g]
        measures = derive(math.fsum(squares), u_sq, u_dot_g, g_dot_prev, prev_sq)
        if loss is not None:
            measures = {"loss": loss_value, **measures}
        for name, indices in self.layers:
            measures[f"grad_norm/{name}"] = math.sqrt(math.fsum(squares[index] for index in indices))
        return measures


def point_measures(
    grad: Sequence[float], before: Sequence[float], after: Sequence[float], prev_grad: Sequence[float] | None
) -> dict[str, float]:
    """The step measures of a small parameter (a 2-D point) in Python floats: no tensor ops, exact in float64."""
    update = [a - b for a, b in zip(after, before, strict=True)]
    prev_sq, g_dot_prev = (NAN, NAN) if prev_grad is None else (_dot(prev_grad, prev_grad), _dot(grad, prev_grad))
    return derive(_dot(grad, grad), _dot(update, update), _dot(update, grad), g_dot_prev, prev_sq)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def optimizer_measures(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """``lr`` (the first param group's, NaN when it has none) and the optimizer's ``stats`` as ``stat/<name>``."""
    lr = optimizer.param_groups[0].get("lr") if optimizer.param_groups else None
    measures = {"lr": NAN if lr is None else float(lr)}
    stats: dict[str, Any] = getattr(optimizer, "stats", None) or {}
    for name, value in stats.items():
        measures[f"stat/{name}"] = float(value)
    return measures


def runs_optimizer_measures(optimizers: Sequence[RunsOptimizer]) -> list[dict[str, float]]:
    """``optimizer_measures`` of stacked runs: per run, ``lr`` (its ``group_lr``) and its ``stats`` as ``stat/<name>``;
    the optimizers' runs one after the other, as they lie on a batch's rows."""
    rows = []
    for optimizer in optimizers:
        stats = optimizer.stats()
        for run, lr in enumerate(optimizer.group_lr()):
            rows.append({"lr": float(lr), **{f"stat/{name}": float(values[run]) for name, values in stats.items()}})
    return rows


@torch.no_grad()
def epoch_measures(model: nn.Module, data: Any) -> dict[str, float]:
    """Loss and accuracy on the train, validation and test splits of ``data`` (an ``engine.tasks.mnist1d.MNIST1DData``).

    The model is put in eval mode for the passes and back in the mode it was in; one host sync in all.
    """
    was_training = model.training
    model.eval()
    try:
        parts = []
        for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val), (data.x_test, data.y_test)):
            logits = model(x)
            parts.append(nn.functional.cross_entropy(logits, y))
            parts.append((logits.argmax(dim=1) == y).to(logits.dtype).mean())
        values = torch.stack(parts).tolist()
    finally:
        model.train(was_training)
    return dict(zip(EPOCH_KEYS, values, strict=True))


def outside_domain(point: Sequence[float], domain: Sequence[Sequence[float]], factor: float = 100.0) -> bool:
    """True when a coordinate is not finite or lies more than ``factor`` half-widths from the domain's centre."""
    for value, (low, high) in zip(point, domain, strict=True):
        centre, half = (low + high) / 2, (high - low) / 2
        if not math.isfinite(value) or abs(value - centre) > factor * half:
            return True
    return False


def seed_summary(epochs: Sequence[dict[str, float]]) -> dict[str, float]:
    """MNIST-1D's summary of per-epoch rows: final test accuracy and validation loss, the seeds' own metric (best
    test accuracy over epochs, ``best_test_accuracy_seed_metric``: it selects on the test set) and the clean one
    (``test_accuracy_at_best_val``: test accuracy at the epoch of lowest validation loss). NaN without epochs."""
    if not epochs:
        keys = ("final_test_accuracy", "best_test_accuracy_seed_metric", "test_accuracy_at_best_val", "final_val_loss")
        return dict.fromkeys(keys, NAN)
    finite_val = [row for row in epochs if math.isfinite(row["val_loss"])]
    best_val = min(finite_val, key=lambda row: row["val_loss"]) if finite_val else None
    return {
        "final_test_accuracy": epochs[-1]["test_accuracy"],
        "best_test_accuracy_seed_metric": max(row["test_accuracy"] for row in epochs),
        "test_accuracy_at_best_val": best_val["test_accuracy"] if best_val else NAN,
        "final_val_loss": epochs[-1]["val_loss"],
    }
