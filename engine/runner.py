"""Runs a comparison: each optimizer of each seed on one task, fairly, with telemetry, divergence and cancel.

Fairness: for a seed every optimizer starts from the same weights (``mlp(generator=Generator().manual_seed(seed))``)
or the same point, sees the same mini-batches (a generator seeded with ``2 * seed + 1`` draws each epoch's
permutation), the same split (``load_mnist1d(seed)``) and, on a noisy surface, the same gradient noise (a generator
seeded with ``seed``). A run stops as ``"diverged"`` at the step whose loss is not finite, or (2-D) after the step
that takes the point more than 100 half-widths from the domain's centre; the comparison goes on. ``should_stop``
is polled before every step: the run in progress ends as ``"cancelled"`` and later runs are not started.
``should_stop_optimizer`` (``run_comparison``) stops one optimizer alone, polled with its position in
``ComparisonSpec.optimizers``: its run in progress ends as ``"cancelled"``, its later runs are skipped (no result),
and the other optimizers go on.

Live telemetry: with ``on_telemetry``, each progress report also hands over the rows that the run in progress logged
since the previous report (a ``Telemetry``), so a page can draw the curves while they grow; the run's ``RunResult``
still comes whole through ``on_result`` when it ends.

Telemetry (``engine.telemetry``): a record per logged step (every ``log_every`` steps) and, on MNIST-1D, a row per
epoch. On surfaces a record holds the iterate ``x``, ``y`` at which step k evaluated its loss and gradient (step 1:
the start) and, for A2Grad, the averaged iterate ``xbar_x``, ``xbar_y`` at the same time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional

from engine import telemetry
from engine.device import configure_threads, resolve_device
from engine.mnist1d import TRAIN_SIZE, VALIDATION_SIZE, load_mnist1d
from engine.models import layer_names, mlp
from engine.spec import MNIST1D, ComparisonSpec, RunSpec
from engine.surfaces import get_surface

NAN = float("nan")
PROGRESS_INTERVAL = 0.1  # seconds between progress (and live telemetry) reports
DOMAIN_FACTOR = 100.0  # a 2-D run diverges beyond this many half-widths from the domain's centre


@dataclass
class Progress:
    """Where a comparison stands: ``fraction`` of all its steps done, and an ETA (NaN until measurable)."""

    fraction: float
    steps_done: int
    steps_total: int
    eta_seconds: float
    current: str


@dataclass
class Telemetry:
    """The rows the run in progress logged since the previous report: ``run`` is its position in the comparison's
    runs (``ComparisonSpec.runs()`` order), ``records`` and ``epochs`` the new rows, in order."""

    run: int
    records: list[dict[str, float]]
    epochs: list[dict[str, float]]


@dataclass
class RunResult:
    """One run's outcome: its status, telemetry records, per-epoch rows (MNIST-1D) and summary.

    ``status``: ``finished``, ``diverged`` or ``cancelled``; ``running`` marks the partial result of a run still in
    progress (its telemetry so far, an empty summary), which the job manager builds from ``Telemetry``.

    ``summary``: ``final_loss``, ``best_loss``, ``steps_done`` and ``seconds``; on surfaces also ``final_x``,
    ``final_y`` (the point after the last step; ``final_loss`` is the loss there); on MNIST-1D ``final_loss`` and
    ``best_loss`` come from the per-epoch training loss (from the step losses when no epoch finished), plus
    ``final_test_accuracy``, ``best_test_accuracy_seed_metric``, ``test_accuracy_at_best_val``, ``final_val_loss``.
    """

    spec: RunSpec
    status: str
    records: list[dict[str, float]]
    epochs: list[dict[str, float]]
    summary: dict[str, float]
    diverged_at: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "status": self.status,
            "records": [dict(row) for row in self.records],
            "epochs": [dict(row) for row in self.epochs],
            "summary": dict(self.summary),
            "diverged_at": self.diverged_at,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            spec=RunSpec.from_dict(data["spec"]),
            status=data["status"],
            records=[dict(row) for row in data.get("records", [])],
            epochs=[dict(row) for row in data.get("epochs", [])],
            summary=dict(data.get("summary", {})),
            diverged_at=data.get("diverged_at"),
            reason=data.get("reason"),
        )


def label(spec: RunSpec) -> str:
    """``"seed 0 · Adam (lr=0.01)"``: how progress names a run."""
    return f"seed {spec.seed} · {spec.optimizer.label}"


def steps_per_epoch(batch_size: int) -> int:
    """Optimizer steps in one pass over MNIST-1D's training split (the last batch may be smaller)."""
    return math.ceil((TRAIN_SIZE - VALIDATION_SIZE) / batch_size)


def total_steps(spec: RunSpec) -> int:
    """The optimizer steps ``spec`` takes when it runs to the end."""
    return spec.epochs * steps_per_epoch(spec.batch_size) if spec.task == MNIST1D else spec.steps


def batch_order(generator: torch.Generator, size: int, batch_size: int) -> list[Tensor]:
    """One epoch's mini-batches: a permutation of ``range(size)`` drawn from ``generator``, cut into batches."""
    return list(torch.randperm(size, generator=generator).split(batch_size))


@dataclass
class _Tracker:
    """Progress over a whole comparison and the live telemetry of the run in progress, reported at most every
    ``PROGRESS_INTERVAL`` seconds, and cancellation (of the comparison, or of the run's optimizer alone)."""

    steps_total: int
    on_progress: Callable[[Progress], None] | None
    on_telemetry: Callable[[Telemetry], None] | None
    should_stop: Callable[[], bool] | None
    should_stop_optimizer: Callable[[int], bool] | None
    steps_done: int = 0
    current: str = ""
    run_index: int = 0
    optimizer: int = 0  # the position of the run's optimizer in the comparison's optimizers
    records: list[dict[str, float]] = field(default_factory=list)  # the run in progress appends to these
    epochs: list[dict[str, float]] = field(default_factory=list)
    sent: tuple[int, int] = (0, 0)  # records and epochs of the run in progress already handed to on_telemetry
    started: float = field(default_factory=time.monotonic)
    last_report: float = field(default_factory=time.monotonic)

    def begin(self, run_index: int, spec: RunSpec, optimizer: int) -> None:
        """Run ``run_index`` of the comparison starts, with fresh rows to fill."""
        self.run_index, self.optimizer, self.current = run_index, optimizer, label(spec)
        self.reset_rows()

    def reset_rows(self) -> None:
        """Fresh ``records`` and ``epochs``, none of them reported yet (the previous run's belong to its result)."""
        self.records, self.epochs, self.sent = [], [], (0, 0)

    def stop_all(self) -> bool:
        return self.should_stop is not None and bool(self.should_stop())

    def optimizer_stopped(self, optimizer: int) -> bool:
        return self.should_stop_optimizer is not None and bool(self.should_stop_optimizer(optimizer))

    def stop(self) -> bool:
        """Whether the run in progress must end now: the comparison or its optimizer was stopped."""
        return self.stop_all() or self.optimizer_stopped(self.optimizer)

    def tick(self) -> None:
        """One step done."""
        self.steps_done += 1
        if (self.on_progress is not None or self.on_telemetry is not None) and \
                time.monotonic() - self.last_report >= PROGRESS_INTERVAL:
            self.report()

    def report(self) -> None:
        now = time.monotonic()
        self.last_report = now
        if self.on_telemetry is not None:
            records, epochs = self.records[self.sent[0]:], self.epochs[self.sent[1]:]
            if records or epochs:
                self.sent = (len(self.records), len(self.epochs))
                self.on_telemetry(Telemetry(self.run_index, records, epochs))
        if self.on_progress is None:
            return
        done, total = self.steps_done, self.steps_total
        elapsed = now - self.started
        eta = elapsed / done * (total - done) if done > 0 and elapsed > 0 else NAN
        self.on_progress(Progress(done / total if total else 1.0, done, total, eta, self.current))


def run_comparison(
    spec: ComparisonSpec,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    on_telemetry: Callable[[Telemetry], None] | None = None,
    should_stop_optimizer: Callable[[int], bool] | None = None,
) -> list[RunResult]:
    """Run every (seed, optimizer) of ``spec`` in ``spec.runs()`` order; return the results of the runs started.

    ``should_stop_optimizer(position)`` stops the optimizer ``spec.optimizers[position]`` alone (module docstring).
    """
    count = len(spec.optimizers)
    # runs() is seed-major, so a run's optimizer is its index modulo the optimizers (twins stay apart, unlike .index)
    runs = [(run_spec, index % count) for index, run_spec in enumerate(spec.runs())]
    tracker = _Tracker(sum(total_steps(s) for s, _ in runs), on_progress, on_telemetry, should_stop,
                       should_stop_optimizer)
    return _run_all(runs, tracker, on_result)


def run(
    spec: RunSpec,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    on_telemetry: Callable[[Telemetry], None] | None = None,
) -> RunResult:
    """One run (the sweeps' unit), with ``run_comparison``'s callbacks except the per-optimizer stop."""
    tracker = _Tracker(total_steps(spec), on_progress, on_telemetry, should_stop, None)
    (result,) = _run_all([(spec, 0)], tracker, on_result)
    return result


def _run_all(runs: list[tuple[RunSpec, int]], tracker: _Tracker,
             on_result: Callable[[RunResult], None] | None) -> list[RunResult]:
    """Run each (spec, optimizer position) in order under ``tracker``; the results of the runs started."""
    configure_threads()
    results = []
    for index, (spec, optimizer) in enumerate(runs):
        before = tracker.steps_done
        if tracker.optimizer_stopped(optimizer):  # its optimizer was stopped before this run began: skip it
            tracker.steps_done = before + total_steps(spec)
            continue
        tracker.begin(index, spec, optimizer)
        result = _run_surface(spec, tracker) if spec.task != MNIST1D else _run_mnist1d(spec, tracker)
        tracker.reset_rows()  # the run's rows go out whole through on_result, no longer as telemetry
        results.append(result)
        if on_result is not None:
            on_result(result)
        if result.status == "cancelled" and tracker.stop_all():
            tracker.report()
            return results
        tracker.steps_done = before + total_steps(spec)  # a diverged or cancelled run's remaining steps count as done
    tracker.report()
    return results


def _surface_device(name: str) -> torch.device:
    """A 2-D run computes on the CPU under ``"auto"``: a (2,) tensor gains nothing from a GPU, and every step reads
    the point back to the host. An explicit ``"cuda"`` is honoured (and checked)."""
    return torch.device("cpu") if name == "auto" else resolve_device(name)


def _run_surface(spec: RunSpec, tracker: _Tracker) -> RunResult:
    started = time.perf_counter()
    device = _surface_device(spec.device)
    task_args = dict(spec.task_args)
    noise, start = float(task_args.pop("noise", 0.0)), task_args.pop("start", None)
    surface = get_surface(spec.task, **task_args)
    point = torch.tensor(surface.start if start is None else start, dtype=torch.float64, device=device)
    point.requires_grad_(True)
    optimizer = spec.optimizer.build([point])
    averaged = getattr(optimizer, "averaged_iterate", None)
    generator = torch.Generator(device=device).manual_seed(spec.seed) if noise > 0 else None
    records = tracker.records
    status, diverged_at, reason = "finished", None, None
    prev_grad: list[float] | None = None
    steps_done = 0
    for step in range(1, spec.steps + 1):
        if tracker.stop():
            status = "cancelled"
            break
        optimizer.zero_grad(set_to_none=True)
        loss = surface.at(point)
        loss.backward()
        if generator is not None:
            point.grad.add_(torch.randn(2, generator=generator, dtype=torch.float64, device=device), alpha=noise)
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            status, diverged_at, reason = "diverged", step, f"loss became {loss_value} at step {step}"
            break
        logged = step % spec.log_every == 0
        before, grad = point.detach().tolist(), point.grad.tolist()
        xbar = averaged(point).tolist() if averaged is not None and logged else None
        optimizer.step()
        after = point.detach().tolist()
        steps_done = step
        if logged:
            record = {"step": step, "loss": loss_value, "x": before[0], "y": before[1]}
            record.update(telemetry.point_measures(grad, before, after, prev_grad))
            record.update(telemetry.optimizer_measures(optimizer))
            if xbar is not None:
                record["xbar_x"], record["xbar_y"] = xbar
            records.append(record)
        prev_grad = grad
        tracker.tick()
        if telemetry.outside_domain(after, surface.domain, DOMAIN_FACTOR):
            status, diverged_at = "diverged", step
            where = f"the point ({after[0]:.4g}, {after[1]:.4g})"
            reason = (f"{where} left the domain by a factor of {DOMAIN_FACTOR:g} at step {step}"
                      if all(map(math.isfinite, after)) else f"{where} became non-finite at step {step}")
            break
    with torch.no_grad():
        final = point.detach().tolist()
        final_loss = surface.at(point).item()
    losses = [row["loss"] for row in records] + [final_loss]
    finite = [value for value in losses if math.isfinite(value)]
    summary = {
        "final_loss": final_loss,
        "best_loss": min(finite) if finite else NAN,
        "steps_done": steps_done,
        "final_x": final[0],
        "final_y": final[1],
        "seconds": time.perf_counter() - started,
    }
    return RunResult(spec, status, records, [], summary, diverged_at, reason)


def _run_mnist1d(spec: RunSpec, tracker: _Tracker) -> RunResult:
    started = time.perf_counter()
    device = resolve_device(spec.device)
    data = load_mnist1d(spec.seed, device=device)
    model = mlp(spec.task_args.get("depth", 3), spec.task_args.get("width", 256),
                generator=torch.Generator().manual_seed(spec.seed)).to(device)
    params = list(model.parameters())
    optimizer = spec.optimizer.build(params)
    probe = telemetry.NetworkProbe(params, telemetry.layer_indices(model, layer_names(model)))
    order = torch.Generator().manual_seed(2 * spec.seed + 1)
    per_epoch, log_every = steps_per_epoch(spec.batch_size), spec.log_every
    records, epochs = tracker.records, tracker.epochs
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

    for epoch in range(1, spec.epochs + 1):
        for index in batch_order(order, len(data.y_train), spec.batch_size):
            if tracker.stop():
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
            tracker.tick()
        if status == "finished":
            bad = check_pending()
            if bad is not None:
                status, diverged_at, reason = "diverged", bad, f"loss became non-finite at step {bad}"
        if status != "finished":
            break
        epochs.append({"epoch": float(epoch), **telemetry.epoch_measures(model, data)})
    losses = [row["train_loss"] for row in epochs] or [row["loss"] for row in records]
    finite = [value for value in losses if math.isfinite(value)]
    summary = {
        "final_loss": losses[-1] if losses else NAN,
        "best_loss": min(finite) if finite else NAN,
        "steps_done": step if diverged_at is None else diverged_at - 1,  # not the step whose loss was not finite
        **telemetry.seed_summary(epochs),
        "seconds": time.perf_counter() - started,
    }
    return RunResult(spec, status, records, epochs, summary, diverged_at, reason)
