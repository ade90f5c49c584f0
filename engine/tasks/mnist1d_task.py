"""MNIST-1D as a task: the seed MLP trained for ``epochs`` passes over the training split, telemetry every few steps.

Fairness: for a seed every optimizer starts from the same weights (``mlp(generator=Generator().manual_seed(seed))``),
sees the same split (``load_mnist1d(seed)``) and the same mini-batches (a generator seeded with ``2 * seed + 1``
draws each epoch's permutation, ``batch_order``). A record is logged every ``log_every`` steps (the network's step
measures through ``telemetry.NetworkProbe``) and a row at the end of every epoch (loss and accuracy on the three
splits). The run diverges at the first step whose loss is not finite; the unlogged steps' losses are checked in one
host sync at the next logged step.
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
from engine.tasks.mnist1d import TRAIN_SIZE, VALIDATION_SIZE, load_mnist1d
from engine.tasks.models import layer_names, mlp
from engine.tasks.task import Outcome, Recorder, RunRequest, Task, finite_best
from optimizers.validation import check_choice

MNIST1D = "mnist1d"
"""The network task's name."""
ARGS = ("depth", "width")
"""Its arguments: the MLP's hidden layers and their width (``engine.tasks.models.mlp``)."""


def steps_per_epoch(batch_size: int) -> int:
    """Optimizer steps in one pass over MNIST-1D's training split (the last batch may be smaller)."""
    return math.ceil((TRAIN_SIZE - VALIDATION_SIZE) / batch_size)


def batch_order(generator: torch.Generator, size: int, batch_size: int) -> list[Tensor]:
    """One epoch's mini-batches: a permutation of ``range(size)`` drawn from ``generator``, cut into batches."""
    return list(torch.randperm(size, generator=generator).split(batch_size))


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
    gpu_by_default = True
    in_worker_process = True  # seconds to minutes a job, where 2 s of process start-up is small

    def check_args(self, task_args: Mapping[str, Any]) -> None:
        for name in task_args:
            check_choice(MNIST1D, "task argument", name, ARGS)

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
            values = torch.stack([loss for _, loss in pending]).tolist()
            bad = next((s for (s, _), value in zip(pending, values, strict=True) if not math.isfinite(value)), None)
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
                logged, before_logged = step % log_every == 0, (step + 1) % log_every == 0
                if logged or before_logged:
                    probe.capture(step, weights=logged)
                optimizer.step()
                if logged:
                    bad = check_pending()
                    measures = probe.measure(loss)
                    if bad is None and not math.isfinite(measures["loss"]):
                        bad = step
                    if bad is not None:
                        status, diverged_at, reason = "diverged", bad, f"loss became non-finite at step {bad}"
                        break
                    records.append({"step": step, "epoch": step / per_epoch, **measures,
                                    **telemetry.optimizer_measures(optimizer)})
                else:
                    pending.append((step, loss.detach()))
                recorder.tick()
            if status == "finished":
                bad = check_pending()
                if bad is not None:
                    status, diverged_at, reason = "diverged", bad, f"loss became non-finite at step {bad}"
            if status != "finished":
                break
            epochs.append({"epoch": float(epoch), **telemetry.epoch_measures(model, data)})
        losses = [row["train_loss"] for row in epochs] or [row["loss"] for row in records]
        summary = {
            "final_loss": losses[-1] if losses else math.nan,
            "best_loss": finite_best(losses),
            "steps_done": step if diverged_at is None else diverged_at - 1,  # not the step whose loss was not finite
            **telemetry.seed_summary(epochs),
            "seconds": time.perf_counter() - started,
        }
        return Outcome(status, summary, diverged_at, reason)

    def run_batch(self, requests: Sequence[RunRequest], device: torch.device,
                  recorders: Sequence[Recorder]) -> list[Outcome]:
        return [self.run(request, device, recorder) for request, recorder in zip(requests, recorders, strict=True)]
