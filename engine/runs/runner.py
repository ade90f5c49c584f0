"""Runs a comparison: each optimizer of each seed on one task, in order, with progress, live telemetry and cancel.

Each run is its task's (``engine.tasks.Task.run``): the task sets it up from the seed (for a seed every optimizer
starts from the same point or weights and sees the same batches and noise), steps it, records telemetry and says how
it ended; a run that diverges ends ``"diverged"`` and the comparison goes on. ``should_stop`` is polled before every
step: the run in progress ends as ``"cancelled"`` and later runs are not started. ``should_stop_optimizer``
(``run_comparison``) stops one optimizer alone, polled with its position in ``ComparisonSpec.optimizers``: its run in
progress ends as ``"cancelled"``, its later runs are skipped (no result), and the other optimizers go on.

Live telemetry: with ``on_telemetry``, each progress report also hands over the rows that the run in progress logged
since the previous report (a ``Telemetry``), so a page can draw the curves while they grow; the run's ``RunResult``
still comes whole through ``on_result`` when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.runs.device import configure_threads, resolve_device
from engine.runs.result import RunResult
from engine.runs.spec import ComparisonSpec, RunSpec

NAN = float("nan")
PROGRESS_INTERVAL = 0.1  # seconds between progress (and live telemetry) reports


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


def label(spec: RunSpec) -> str:
    """``"seed 0 · Adam (lr=0.01)"``: how progress names a run."""
    return f"seed {spec.seed} · {spec.optimizer.label}"


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
    tracker = _Tracker(sum(s.total_steps for s, _ in runs), on_progress, on_telemetry, should_stop,
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
    tracker = _Tracker(spec.total_steps, on_progress, on_telemetry, should_stop, None)
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
            tracker.steps_done = before + spec.total_steps
            continue
        tracker.begin(index, spec, optimizer)
        result = _run_one(spec, tracker)
        tracker.reset_rows()  # the run's rows go out whole through on_result, no longer as telemetry
        results.append(result)
        if on_result is not None:
            on_result(result)
        if result.status == "cancelled" and tracker.stop_all():
            tracker.report()
            return results
        tracker.steps_done = before + spec.total_steps  # a diverged or cancelled run's remaining steps count as done
    tracker.report()
    return results


def _run_one(spec: RunSpec, tracker: _Tracker) -> RunResult:
    """Run ``spec`` on its task, its telemetry going into the tracker's fresh rows."""
    task = spec.task_info
    device = resolve_device(spec.device, gpu_by_default=task.gpu_by_default)
    outcome = task.run(spec, device, tracker)
    return RunResult(spec, outcome.status, tracker.records, tracker.epochs, outcome.summary, outcome.diverged_at,
                     outcome.reason)
