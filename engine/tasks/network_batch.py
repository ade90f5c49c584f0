"""What R stacked network runs measure: each run's step measures and epoch measures, as a run alone measures them.

``RunsProbe`` is ``telemetry.NetworkProbe`` over a leading runs axis: the same keys per run, every inner product
reduced per run (a batched 3 x 3 Gram matrix per run), one host sync per logged step for all the runs.
``runs_epoch_measures`` is ``telemetry.epoch_measures`` for a ``StackedMLP``: loss and accuracy on each run's splits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from engine.tasks.stacked_mlp import StackedMLP
from engine.tasks.telemetry import EPOCH_KEYS, NAN, derive


class RunsProbe:
    """The step measures of R stacked runs of a network (parameters ``params``, each [R, ...]).

    Per run, rows 0 and 1 of ``rows`` ([R, 3, N]) hold the raw gradients of alternate steps (this step's and the
    previous one's), row 2 the weights before the step, then w_before - w_after = -u. Call
    ``capture(step, grads, weights=...)`` after the backward pass and before the optimizers step, on a logged step
    (``weights=True``) and on the step before one (the next step's g_{t-1}), then ``measure(losses)`` after the step.
    Run r's values equal ``NetworkProbe``'s on run r alone (up to rounding); ``layers`` are (name, parameter
    indices) pairs, giving ``grad_norm/<name>``.
    """

    def __init__(self, params: Sequence[Tensor], layers: Sequence[tuple[str, Sequence[int]]] = ()) -> None:
        self.params = list(params)
        first = self.params[0]
        sizes = [p[0].numel() for p in self.params]
        self.rows = torch.zeros(first.shape[0], 3, sum(sizes), dtype=first.dtype, device=first.device)
        offsets = [sum(sizes[:index]) for index in range(len(sizes))]
        self.segments = [(offset, offset + size) for offset, size in zip(offsets, sizes, strict=True)]
        self.views = [[self.rows[:, row, start:stop].view(p.shape)
                       for p, (start, stop) in zip(self.params, self.segments, strict=True)] for row in range(3)]
        self.layers = [(name, list(indices)) for name, indices in layers]
        self.slot = 0  # the row of the last captured gradient
        self.captured = -1  # the step whose gradient was captured last
        self.has_prev = False

    @torch.no_grad()
    def capture(self, step: int, grads: Sequence[Tensor], *, weights: bool) -> None:
        """Before the step: a copy of the raw gradients (a wrapper such as GAO rescales them in place during the
        step); with ``weights``, a copy of the weights before the step."""
        slot = step % 2
        self.has_prev = self.captured == step - 1
        torch._foreach_copy_(self.views[slot], list(grads))
        if weights:
            torch._foreach_copy_(self.views[2], self.params)
        self.slot, self.captured = slot, step

    @torch.no_grad()
    def measure(self, losses: Tensor) -> list[dict[str, float]]:
        """Per run, the measures of the step just taken (``losses``: its [R] losses), after
        ``capture(step, grads, weights=True)`` before it.

        From per run: the norm of each parameter's gradient ||g_i|| (||g||^2 = sum_i ||g_i||^2, as a run alone sums
        them) and the Gram matrix of g_t, g_{t-1} and -u, read back in one host sync.
        """
        torch._foreach_sub_(self.views[2], self.params)  # -u = w_before - w_after
        gram = torch.bmm(self.rows, self.rows.transpose(1, 2))  # [R, 3, 3]: every inner product, per run
        gradient = self.rows[:, self.slot]
        norms = torch.stack([torch.linalg.vector_norm(gradient[:, start:stop], dim=1) for start, stop in self.segments])
        values = torch.cat([norms.T, gram.reshape(len(losses), 9), losses.detach().to(gram.dtype).unsqueeze(1)], 1)
        g, p = self.slot, 1 - self.slot
        measured = []
        for row in values.tolist():  # the one host sync
            squares = [value * value for value in row[: len(self.params)]]
            entries, loss = row[len(self.params) : -1], row[-1]  # entries: the Gram matrix, row-major
            g_dot_prev, prev_sq = (entries[3 * g + p], entries[4 * p]) if self.has_prev else (NAN, NAN)
            measures = {"loss": loss, **derive(math.fsum(squares), entries[8], -entries[6 + g], g_dot_prev, prev_sq)}
            for name, indices in self.layers:
                measures[f"grad_norm/{name}"] = math.sqrt(math.fsum(squares[index] for index in indices))
            measured.append(measures)
        return measured


def runs_epoch_measures(model: StackedMLP, splits: Sequence[tuple[Tensor, Tensor]],
                        runs: Sequence[int]) -> list[dict[str, float]]:
    """For each of ``runs``, loss and accuracy on its train, validation and test rows (``splits``: (x [R, n, in],
    y [R, n]) each, in that order) with ``telemetry.EPOCH_KEYS``; one host sync in all."""
    values = torch.cat([model.evaluate(x, y, runs) for x, y in splits]).T.tolist()
    return [dict(zip(EPOCH_KEYS, row, strict=True)) for row in values]
