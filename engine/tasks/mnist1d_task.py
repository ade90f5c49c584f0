"""MNIST-1D as a task: the seed MLP trained for ``epochs`` passes over the training split, telemetry every few steps.

Fairness: for a seed every optimizer starts from the same weights (``mlp(generator=Generator().manual_seed(seed))``),
sees the same split (``load_mnist1d(seed)``) and the same mini-batches (a generator seeded with ``2 * seed + 1``
draws each epoch's permutation, ``batch_order``). A record is logged at the first step (so a live view draws at
once) and then every ``log_every`` steps (``logged_step``; the network's step measures through
``telemetry.NetworkProbe``), and a row at the end of every epoch (loss and accuracy on the three splits). The run
diverges at the first step whose loss is not finite; the unlogged steps' losses are checked in one host sync at the
next logged step and at the end of the epoch.

``run_batch`` trains R runs as one computation (``MNIST1DBatch``): the MLPs stacked as [R, out, in] weights
(``stacked_mlp``), each run with its seed's initial weights, split and mini-batches, each optimizer stepping its rows
through its runs-axis maths; a run that diverges or is cancelled is frozen and ends as it would alone, at the same
step, with the same telemetry keys at the same steps (``network_batch``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional

from engine.tasks import telemetry
from engine.tasks.batch import BatchFate, RunsGroup, group_requests, in_request_order
from engine.tasks.mnist1d import TRAIN_SIZE, VALIDATION_SIZE, load_mnist1d
from engine.tasks.models import check_shape, layer_names, mlp
from engine.tasks.network_batch import RunsProbe, runs_epoch_measures
from engine.tasks.stacked_mlp import StackedMLP
from engine.tasks.task import Outcome, Recorder, RunRequest, Task, finite_best
from optimizers.validation import check_choice

MNIST1D = "mnist1d"
"""The network task's name."""
ARGS = ("depth", "width")
"""Its arguments: the MLP's hidden layers and their width (``engine.tasks.models.mlp``)."""


def steps_per_epoch(batch_size: int) -> int:
    """Optimizer steps in one pass over MNIST-1D's training split (the last batch may be smaller)."""
    return math.ceil((TRAIN_SIZE - VALIDATION_SIZE) / batch_size)


def logged_step(step: int, log_every: int) -> bool:
    """Whether step ``step`` (from 1) logs a record: the first step, then every ``log_every``-th."""
    return step == 1 or step % log_every == 0


def batch_order(generator: torch.Generator, size: int, batch_size: int) -> list[Tensor]:
    """One epoch's mini-batches: a permutation of ``range(size)`` drawn from ``generator``, cut into batches."""
    return list(torch.randperm(size, generator=generator).split(batch_size))


def non_finite(step: int) -> str:
    """Why a run whose loss at ``step`` was not finite diverged."""
    return f"loss became non-finite at step {step}"


def first_non_finite(steps: Sequence[int], losses: Sequence[float]) -> int | None:
    """The first of ``steps`` whose loss (``losses``, in the same order) is not finite; None when all are."""
    return next((step for step, loss in zip(steps, losses, strict=True) if not math.isfinite(loss)), None)


def run_summary(records: Sequence[dict[str, float]], epochs: Sequence[dict[str, float]], steps_done: int,
                seconds: float) -> dict[str, float]:
    """A run's summary from its rows: ``final_loss`` and ``best_loss`` of the epochs' train losses (of the logged
    losses when no epoch ended), ``steps_done``, the seeds' metrics (``telemetry.seed_summary``) and ``seconds``."""
    losses = [row["train_loss"] for row in epochs] or [row["loss"] for row in records]
    return {"final_loss": losses[-1] if losses else math.nan, "best_loss": finite_best(losses),
            "steps_done": steps_done, **telemetry.seed_summary(epochs), "seconds": seconds}


class MNIST1DTask(Task):
    """The seed MLP (depth 3, width 256 unless ``depth`` / ``width`` say otherwise) on MNIST-1D."""

    key = MNIST1D
    title = "MNIST-1D (seed MLP)"
    description = "The seed MLP (depth 3, width 256) trained on MNIST-1D (--epochs)."
    phrase = MNIST1D
    length = "epochs"
    default_log_every = 10  # about three records an epoch at batch 128: full telemetry within a few % of a bare loop
    metrics = (
        ("final_test_accuracy", "final test acc"),
        ("best_test_accuracy_seed_metric", "best test acc (seed metric)"),
        ("test_accuracy_at_best_val", "test acc at best val"),
        ("final_val_loss", "final val loss"),
    )
    objective = "lowest validation loss"
    dtype = torch.float32  # the MLP's weights and the data
    gpu_by_default = True
    in_worker_process = True  # seconds to minutes a job, where 2 s of process start-up is small

    def check_args(self, task_args: Mapping[str, Any]) -> None:
        """Only ``depth`` and ``width``, each an integer in its range (``engine.tasks.models.check_shape``)."""
        for name in task_args:
            check_choice(MNIST1D, "task argument", name, ARGS)
        check_shape(task_args.get("depth", 3), task_args.get("width", 256), MNIST1D)

    def total_steps(self, steps: int, epochs: int, batch_size: int) -> int:
        return epochs * steps_per_epoch(batch_size)

    def step_work(self, batch_size: int, task_args: Mapping[str, Any]) -> float:
        """3 x batch size x the MLP's weights: the forward pass once, the backward pass twice."""
        depth, width = task_args.get("depth", 3), task_args.get("width", 256)
        weights = 40 * width + (depth - 1) * width * width + width * 10  # MNIST-1D: 40 features, 10 classes
        return 3.0 * batch_size * weights

    def run(self, request: RunRequest, device: torch.device, recorder: Recorder) -> Outcome:
        started = time.perf_counter()
        data = load_mnist1d(request.seed, device=device)
        model = mlp(request.task_args.get("depth", 3), request.task_args.get("width", 256),
                    generator=torch.Generator().manual_seed(request.seed)).to(device)
        params = list(model.parameters())
        optimizer = request.optimizer.build(params)
        probe = telemetry.NetworkProbe(params, telemetry.layer_indices(model, layer_names(model)))
        order = torch.Generator().manual_seed(2 * request.seed + 1)
        per_epoch, log_every = steps_per_epoch(request.batch_size), request.log_every
        records, epochs = recorder.records, recorder.epochs
        pending: list[tuple[int, Tensor]] = []  # (step, loss) of unlogged steps, checked for divergence in one sync
        status, diverged_at, reason = "finished", None, None
        step = 0

        def check_pending() -> int | None:
            """The first pending step whose loss is not finite (one host sync), clearing the list."""
            if not pending:
                return None
            bad = first_non_finite([s for s, _ in pending], torch.stack([loss for _, loss in pending]).tolist())
            pending.clear()
            return bad

        for epoch in range(1, request.epochs + 1):
            for index in batch_order(order, len(data.y_train), request.batch_size):
                if recorder.stop():
                    status = "cancelled"
                    break
                step += 1
                index = index.to(device)
                optimizer.zero_grad(set_to_none=True)
                loss = functional.cross_entropy(model(data.x_train[index]), data.y_train[index])
                loss.backward()
                logged, before_logged = logged_step(step, log_every), (step + 1) % log_every == 0
                if logged or before_logged:
                    probe.capture(step, weights=logged)
                optimizer.step()
                if logged:
                    bad = check_pending()
                    measures = probe.measure(loss)
                    if bad is None and not math.isfinite(measures["loss"]):
                        bad = step
                    if bad is not None:
                        status, diverged_at, reason = "diverged", bad, non_finite(bad)
                        break
                    records.append({"step": step, "epoch": step / per_epoch, **measures,
                                    **telemetry.optimizer_measures(optimizer)})
                else:
                    pending.append((step, loss.detach()))
                recorder.tick()
            if status == "finished":
                bad = check_pending()
                if bad is not None:
                    status, diverged_at, reason = "diverged", bad, non_finite(bad)
            if status != "finished":
                break
            epochs.append({"epoch": float(epoch), **telemetry.epoch_measures(model, data)})
        steps_done = step if diverged_at is None else diverged_at - 1  # not the step whose loss was not finite
        return Outcome(status, run_summary(records, epochs, steps_done, time.perf_counter() - started), diverged_at,
                       reason)

    def run_batch(self, requests: Sequence[RunRequest], device: torch.device,
                  recorders: Sequence[Recorder]) -> list[Outcome]:
        started = time.perf_counter()
        order, groups = group_requests(requests)
        batch = MNIST1DBatch(requests[0], [requests[index].seed for index in order], groups, device)
        rows = [recorders[index] for index in order]
        fate = batch.run(rows)
        seconds = time.perf_counter() - started
        summaries = [run_summary(recorder.records, recorder.epochs, done, seconds)
                     for recorder, done in zip(rows, fate.steps_done, strict=True)]
        return in_request_order(order, fate.outcomes(summaries))


class MNIST1DBatch:
    """R runs of the MLP on MNIST-1D with ``settings`` (the length, batch size, logging and task arguments every run
    shares), row r from ``seeds[r]`` (its initial weights, split and mini-batch order), ``groups`` covering the rows in
    order (``engine.tasks.batch``), stepped as one stacked computation.

    Step k of every run still going: its mini-batch's loss L_r (a run's own batch, gathered as [R, B, 40]), the
    gradients of sum_r L_r (each run's own: nothing couples the rows), each group's ``RunsOptimizer`` stepping its
    rows, then the rows of the runs that ended put back as they were (frozen). Divergence is checked as a run alone
    checks it (the unlogged steps' losses at the next logged step and at the end of the epoch), so run r ends at the
    same step with the same telemetry.
    """

    def __init__(self, settings: RunRequest, seeds: Sequence[int], groups: Sequence[RunsGroup],
                 device: torch.device) -> None:
        self.settings = settings
        distinct = sorted(set(seeds))
        data = [load_mnist1d(seed, device=device) for seed in distinct]  # runs of a seed share its split
        depth, width = settings.task_args.get("depth", 3), settings.task_args.get("width", 256)
        models = [mlp(depth, width, generator=torch.Generator().manual_seed(seed)) for seed in distinct]
        rows = [distinct.index(seed) for seed in seeds]
        self.model = StackedMLP([models[row] for row in rows], device)
        self.tensors = [param.detach() for param in self.model.params]
        self.groups = list(groups)
        self.optimizers = [group.build(self.tensors) for group in self.groups]
        self.probe = RunsProbe(self.tensors, telemetry.layer_indices(models[0], layer_names(models[0])))
        self.orders = [torch.Generator().manual_seed(2 * seed + 1) for seed in distinct]
        self.seed_index = torch.tensor(rows, device=device)  # per row, its seed's place in ``distinct``

        def stacked(name: str) -> Tensor:
            return torch.stack([getattr(data[row], name) for row in rows])

        self.train = stacked("x_train"), stacked("y_train")
        test = data[0].x_test, data[0].y_test  # one test set for every seed
        self.splits = [self.train, (stacked("x_val"), stacked("y_val")),
                       (test[0].expand(len(seeds), -1, -1), test[1].expand(len(seeds), -1))]
        self.fate = BatchFate.start(len(seeds), device)
        self.going = list(range(len(seeds)))  # the rows still stepping, as the host knows them
        self.ended: Tensor | None = None  # the rows that stopped, and their parameters as they stopped
        self.frozen: list[Tensor] = []

    def run(self, recorders: Sequence[Recorder]) -> BatchFate:
        """Every run for the settings' epochs, or until it diverges or ``recorders[r].stop()``; telemetry into
        ``recorders[r]`` at the steps ``logged_step`` names and every epoch."""
        settings = self.settings
        batch_size, log_every, per_epoch = settings.batch_size, settings.log_every, steps_per_epoch(settings.batch_size)
        pending_steps: list[int] = []  # the steps since the last check, whose [R] losses are checked in one sync
        pending: list[Tensor] = []
        step, started = 0, time.perf_counter()
        for epoch in range(1, settings.epochs + 1):
            x, y = self.epoch_batches(batch_size)
            for start in range(0, x.shape[1], batch_size):
                for run in list(self.going):
                    if recorders[run].stop():
                        self.end(run, "cancelled", step, recorders[run], started)
                if not self.going:
                    return self.fate
                step += 1
                for param in self.model.params:
                    param.grad = None
                losses = self.model.losses(x[:, start:start + batch_size], y[:, start:start + batch_size])
                losses.sum().backward()
                logged, before_logged = logged_step(step, log_every), (step + 1) % log_every == 0
                grads = [param.grad for param in self.model.params]
                if logged or before_logged:
                    self.probe.capture(step, grads, weights=logged)
                self.step(grads)
                pending_steps.append(step)
                pending.append(losses.detach())
                if logged:
                    self.check(pending_steps, pending, recorders, started)
                    self.record(step, step / per_epoch, losses, recorders)
                for run in self.going:
                    recorders[run].tick()
            self.check(pending_steps, pending, recorders, started)
            if not self.going:
                return self.fate
            for run, measures in zip(self.going, runs_epoch_measures(self.model, self.splits, self.going), strict=True):
                recorders[run].epochs.append({"epoch": float(epoch), **measures})
        for run in self.going:
            self.fate.steps_done[run] = step
        return self.fate

    def epoch_batches(self, batch_size: int) -> tuple[Tensor, Tensor]:
        """The epoch's training rows of every run in its seed's batch order (``batch_order``, one draw per seed):
        [R, n, 40] and [R, n]; batch k of run r is ``[r, k B : (k + 1) B]``."""
        x, y = self.train
        size = x.shape[1]
        drawn = torch.stack([torch.cat(batch_order(order, size, batch_size)) for order in self.orders])
        permutation = drawn.to(x.device)[self.seed_index]
        return x[torch.arange(len(x), device=x.device).unsqueeze(1), permutation], y.gather(1, permutation)

    def step(self, grads: Sequence[Tensor]) -> None:
        """Every group steps its rows with their gradients; the rows of ended runs are put back."""
        for group, optimizer in zip(self.groups, self.optimizers, strict=True):
            optimizer.step([grad[group.start:group.stop] for grad in grads])
        if self.ended is not None:
            with torch.no_grad():
                for tensor, frozen in zip(self.tensors, self.frozen, strict=True):
                    tensor.index_copy_(0, self.ended, frozen)

    def check(self, steps: list[int], losses: list[Tensor], recorders: Sequence[Recorder], started: float) -> None:
        """The runs still going whose loss at one of ``steps`` was not finite end ``diverged`` at the first such step
        (one host sync; ``end``); the lists are cleared."""
        if steps:
            table = torch.stack(losses).T.tolist()
            for run in list(self.going):
                bad = first_non_finite(steps, table[run])
                if bad is not None:
                    self.end(run, "diverged", bad - 1, recorders[run], started, step=bad, reason=non_finite(bad))
        steps.clear()
        losses.clear()

    def end(self, run: int, status: str, steps_done: int, recorder: Recorder, started: float, *,
            step: int | None = None, reason: str | None = None) -> None:
        """Row ``run`` stops (``BatchFate.end``) after ``steps_done`` steps, and stays as it is from now on; its
        ``recorder`` gets its outcome at once (``Recorder.end``; ``started``: the batch's start, for its seconds)."""
        self.fate.end(run, status, step=step, reason=reason)
        self.fate.steps_done[run] = steps_done
        self.going.remove(run)
        self.ended = torch.nonzero(~self.fate.active).flatten()
        self.frozen = [tensor[self.ended] for tensor in self.tensors]
        summary = run_summary(recorder.records, recorder.epochs, steps_done, time.perf_counter() - started)
        recorder.end(Outcome(status, summary, step, reason))

    def record(self, step: int, epoch: float, losses: Tensor, recorders: Sequence[Recorder]) -> None:
        """A telemetry row for every run still going, with the keys of a run alone."""
        measured = self.probe.measure(losses)
        optimizer_rows = telemetry.runs_optimizer_measures(self.optimizers)
        for run in self.going:
            recorders[run].records.append({"step": step, "epoch": epoch, **measured[run], **optimizer_rows[run]})
