"""R runs on one 2-D surface stepped as one [R, 2] computation: the batched form of ``surface_task``'s loop.

Row r of the batch is run r: its start, its seed's gradient noise (one generator per distinct seed, drawn in the
order a run alone draws it), its optimizer's group (``engine.tasks.batch.RunsGroup``: one ``RunsOptimizer`` per
optimizer, each run with its own hyperparameters). Step k follows the run alone exactly: loss and gradient at x_k
(the gradient of the summed losses is each run's own), noise added, a non-finite loss ends the run ``diverged`` at k
before it steps, every group steps its rows, and a point that leaves the domain by ``DOMAIN_FACTOR`` half-widths
ends ``diverged`` at k after it stepped. A run that ended is frozen: its point stays where it ended (the others'
steps go on, every reduction is per run). The loop measures what a recorder asks for; without recorders (a
landscape of thousands of runs) it stays on tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from engine.tasks import telemetry
from engine.tasks.batch import BatchFate, RunsGroup
from engine.tasks.surfaces import Surface
from engine.tasks.task import Recorder, finite_best

DOMAIN_FACTOR = 100.0  # a 2-D run diverges beyond this many half-widths from the domain's centre

def left_domain(after: Sequence[float], step: int) -> str:
    """Why a run whose point ``after`` is outside the domain after step ``step`` diverged."""
    where = f"the point ({after[0]:.4g}, {after[1]:.4g})"
    if all(map(math.isfinite, after)):
        return f"{where} left the domain by a factor of {DOMAIN_FACTOR:g} at step {step}"
    return f"{where} became non-finite at step {step}"


LossObserver = Callable[[int, Tensor, Tensor], None]
"""``observe(step, loss, active)``: every step's [R] losses at x_k and which runs were still going."""


class SurfaceBatch:
    """R runs of ``surface`` from ``starts`` ([R, 2], float64) with ``groups`` covering the rows in order."""

    def __init__(self, surface: Surface, starts: Tensor, groups: Sequence[RunsGroup], seeds: Sequence[int], *,
                 noise: float = 0.0) -> None:
        self.surface, self.noise = surface, noise
        self.point = starts.detach().clone().requires_grad_(True)
        self.runs = len(starts)
        device = self.point.device
        self.groups = list(groups)
        self.optimizers = [group.build([self.point.detach()]) for group in self.groups]
        distinct = sorted(set(seeds))
        self.generators = [torch.Generator(device=device).manual_seed(seed) for seed in distinct] if noise > 0 else []
        self.seed_row = torch.tensor([distinct.index(seed) for seed in seeds], device=device)
        self.fate = BatchFate.start(self.runs, device)
        self.best = torch.full((self.runs,), math.inf, dtype=torch.float64, device=device)  # lowest logged loss
        (low_x, high_x), (low_y, high_y) = surface.domain
        self.centre = torch.tensor([(low_x + high_x) / 2, (low_y + high_y) / 2], dtype=torch.float64, device=device)
        self.half = torch.tensor([(high_x - low_x) / 2, (high_y - low_y) / 2], dtype=torch.float64, device=device)
        self.bound = DOMAIN_FACTOR * self.half  # |x - centre| beyond this, per coordinate, is outside
        self.frozen_rows = torch.empty(0, dtype=torch.long, device=device)  # the runs that ended, in order
        self.frozen_points = self.point.detach()[:0].clone()  # where each of them stays

    def run(self, steps: int, *, log_every: int = 1, recorders: Sequence[Recorder] | None = None,
            observe: LossObserver | None = None, should_stop: Callable[[], bool] | None = None) -> BatchFate:
        """Step every run up to ``steps`` times; with ``recorders`` (one per run) record telemetry every
        ``log_every`` steps and honour their ``stop``. ``should_stop()``, asked before every step, ends every run
        still going ``cancelled`` (whoever asked for them is gone: a page's session that ended)."""
        fate, point = self.fate, self.point
        done = torch.tensor(fate.steps_done, device=point.device)  # steps each run completed
        previous: list[list[float]] | None = None
        for step in range(1, steps + 1):
            if should_stop is not None and should_stop():
                for run in self._newly(torch.ones_like(fate.active)):
                    fate.end(run, "cancelled")
                break
            if recorders is not None:
                cancelled = [run for run, recorder in enumerate(recorders)
                             if fate.status[run] == "finished" and recorder.stop()]
                for run in cancelled:
                    fate.end(run, "cancelled")
                self._freeze(cancelled)
            if len(self.frozen_rows) == self.runs:
                break
            loss = self.surface.at(point)
            (grad,) = torch.autograd.grad(loss.sum(), point)
            loss = loss.detach()
            if self.generators:
                draws = torch.stack([torch.randn(2, generator=g, dtype=torch.float64, device=point.device)
                                     for g in self.generators])
                grad.add_(draws[self.seed_row], alpha=self.noise)
            if observe is not None:
                observe(step, loss, fate.active.clone())
            ended = self._newly(~torch.isfinite(loss))
            for run in ended:
                fate.end(run, "diverged", step=step, reason=f"loss became {loss[run].item()} at step {step}")
            self._freeze(ended)
            logged = step % log_every == 0
            before = point.detach().clone() if recorders is not None else None  # telemetry's x_k
            averaged = self._averaged() if logged and recorders is not None else None
            seen = grad.tolist() if recorders is not None else None  # the gradient before a step may gate it (GAO)
            for group, optimizer in zip(self.groups, self.optimizers, strict=True):
                optimizer.step([grad[group.start:group.stop]])
            if len(self.frozen_rows):
                with torch.no_grad():
                    point.index_copy_(0, self.frozen_rows, self.frozen_points)  # ended runs stay where they ended
            active = fate.active.clone()
            done += active  # the runs that took this step; read back once, at the end
            if logged:
                self.best = torch.where(active, torch.minimum(self.best, loss), self.best)
                if recorders is not None:
                    self._record(step, recorders, active, loss, before, seen, averaged, previous)
            if recorders is not None:
                previous = seen
                for run in torch.nonzero(active).flatten().tolist():
                    recorders[run].tick()
            after = point.detach()
            outside = ~((after - self.centre).abs() <= self.bound).all(1)  # beyond the bound, or not finite
            ended = self._newly(outside)
            for run in ended:
                fate.end(run, "diverged", step=step, reason=left_domain(after[run].tolist(), step))
            self._freeze(ended)
        fate.steps_done = done.tolist()
        return fate

    def summaries(self, seconds: float) -> list[dict[str, float]]:
        """Each run's summary as a run alone gives it (``final_loss`` at its final point, ``best_loss`` the lowest
        logged loss or the final one, ``steps_done``, ``final_x``, ``final_y``); ``seconds`` is the batch's."""
        with torch.no_grad():
            final_loss = self.surface.at(self.point).tolist()
        final, best = self.point.detach().tolist(), self.best.tolist()
        return [{"final_loss": loss, "best_loss": finite_best([low, loss]), "steps_done": done, "final_x": x,
                 "final_y": y, "seconds": seconds}
                for loss, low, done, (x, y) in zip(final_loss, best, self.fate.steps_done, final, strict=True)]

    def _newly(self, ended: Tensor) -> list[int]:
        """The runs still going for which ``ended`` ([R] bool) holds."""
        return torch.nonzero(ended & self.fate.active).flatten().tolist()

    def _freeze(self, runs: list[int]) -> None:
        """``runs``, which just ended, keep their current point from now on (the optimizers step every row)."""
        if runs:
            rows = torch.tensor(runs, device=self.point.device)
            self.frozen_rows = torch.cat([self.frozen_rows, rows])
            self.frozen_points = torch.cat([self.frozen_points, self.point.detach()[rows]])

    def _averaged(self) -> list[list[float]] | None:
        """Each run's averaged iterate (A2Grad's xbar) before the step, or None for runs whose method has none."""
        rows: list[list[float] | None] = [None] * self.runs
        for group, optimizer in zip(self.groups, self.optimizers, strict=True):
            averaged = optimizer.averaged()
            if averaged is not None:
                rows[group.start:group.stop] = averaged[0].tolist()
        return rows  # type: ignore[return-value]

    def _record(self, step: int, recorders: Sequence[Recorder], active: Tensor, loss: Tensor, before: Tensor,
                grads: list[list[float]], averaged: list[list[float]] | None,
                previous: list[list[float]] | None) -> None:
        """One telemetry row per run still going, with the keys of a run alone."""
        losses, befores, afters = loss.tolist(), before.tolist(), self.point.detach().tolist()
        measures = telemetry.runs_optimizer_measures(self.optimizers)  # the groups cover the rows in order
        for run in torch.nonzero(active).flatten().tolist():
            record = {"step": step, "loss": losses[run], "x": befores[run][0], "y": befores[run][1]}
            record.update(telemetry.point_measures(grads[run], befores[run], afters[run],
                                                   None if previous is None else previous[run]))
            record.update(measures[run])
            if averaged is not None and averaged[run] is not None:
                record["xbar_x"], record["xbar_y"] = averaged[run]
            recorders[run].records.append(record)
