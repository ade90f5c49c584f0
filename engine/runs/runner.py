"""Runs a comparison: every optimizer of every seed on one task, with progress, live telemetry and cancel.

Batched (the default): all runs of the comparison at once, as one stacked computation (``engine.tasks.Task.
run_batch``: R points as an [R, 2] tensor, the MLP's weights as [R, in, out]), each run ending as it would alone.
Sequential (``sequential=True``, the reference): one run after another (``Task.run``, with the optimizers' own
``torch.optim`` classes). Either way the task sets each run up from its seed (for a seed every optimizer starts from
the same point or weights and sees the same batches and noise), steps it, records telemetry and says how it ended; a
run that diverges ends ``"diverged"`` and the others go on. A run that raises (an overflow, a numerical error) ends
``"diverged"`` too, at the step that raised, with the exception as its reason (``_failed_outcome``): one run's
failure is that run's. A batch that raises runs again one run at a time, so that only the runs that raise end that
way (rows already sent live are not sent again: a run alone repeats its batched rows). ``should_stop`` is polled
before every step: the runs in progress end as ``"cancelled"`` and later runs are not started.
``should_stop_optimizer`` (``run_comparison``) stops one optimizer alone, polled with its position in
``ComparisonSpec.optimizers``: its runs in progress end as ``"cancelled"``, its later runs are skipped (no result),
and the other optimizers go on.

Live telemetry: with ``on_telemetry``, each progress report also hands over the rows that each run in progress
logged since the previous report (a ``Telemetry`` per run), so a page can draw the curves while they grow; each
run's ``RunResult`` still comes whole through ``on_result`` when it ends (batched: when the batch ends, or at once
for a run that ends before it, in a task that tells its recorder so: ``Recorder.end``).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch

from engine.runs.device import configure_threads, resolve_device, step_work
from engine.runs.result import RunResult
from engine.runs.spec import ComparisonSpec, RunSpec
from engine.tasks import Outcome
from engine.tasks.task import finite_best

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


def device_name(device: torch.device) -> str:
    """The device a run used, as its result records it: ``cpu`` or ``cuda:N`` (the index filled in, since ``cuda``
    alone means the current CUDA device)."""
    if device.type == "cuda" and device.index is None:
        return f"cuda:{torch.cuda.current_device()}"
    return str(device)


def label(spec: RunSpec) -> str:
    """``"seed 0 · Adam (lr=0.01)"``: how progress names a run."""
    return f"seed {spec.seed} · {spec.optimizer.label}"


@dataclass
class _RunRecorder:
    """One run's ``Recorder``: its telemetry rows, its stop (the comparison's or its optimizer's) and its ticks,
    counted by the tracker."""

    tracker: _Tracker
    index: int  # the run's position in the comparison's runs
    spec: RunSpec
    optimizer: int  # the position of the run's optimizer in the comparison's optimizers
    records: list[dict[str, float]] = field(default_factory=list)
    epochs: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    stopped: bool = False  # it was told to stop
    report: Callable[[Outcome], RunResult] | None = None  # how a run of a batch that ends before it goes out
    result: RunResult | None = None  # a run of a batch that ended before it, as it went out

    def stop(self) -> bool:
        self.stopped = self.tracker.stop_all() or self.tracker.optimizer_stopped(self.optimizer)
        return self.stopped

    def tick(self) -> None:
        self.steps += 1
        self.tracker.tick()

    def end(self, outcome: Outcome) -> None:
        """The run ended before its batch: its result goes out now, and its rows no longer as telemetry."""
        if self.report is not None and self.result is None:
            self.tracker.sent[self.index] = (len(self.records), len(self.epochs))
            self.result = self.report(outcome)


@dataclass
class _Tracker:
    """Progress over a whole comparison and the live telemetry of the runs in progress, reported at most every
    ``PROGRESS_INTERVAL`` seconds, and cancellation (of the comparison, or of one optimizer's runs)."""

    steps_total: int
    on_progress: Callable[[Progress], None] | None
    on_telemetry: Callable[[Telemetry], None] | None
    should_stop: Callable[[], bool] | None
    should_stop_optimizer: Callable[[int], bool] | None
    steps_done: int = 0  # of the runs that ended
    current: str = ""
    running: list[_RunRecorder] = field(default_factory=list)  # the runs in progress
    sent: dict[int, tuple[int, int]] = field(default_factory=dict)  # by run position: (records, epochs) sent live
    started: float = field(default_factory=time.monotonic)
    last_report: float = field(default_factory=time.monotonic)

    def begin(self, runs: list[tuple[int, RunSpec, int]]) -> list[_RunRecorder]:
        """Runs (position, spec, optimizer position) start, each with fresh rows to fill."""
        self.running = [_RunRecorder(self, index, spec, optimizer) for index, spec, optimizer in runs]
        return self.running

    def naming(self) -> str:
        """What progress says is running: the run, or how many run at once (those not told to stop)."""
        going = [run for run in self.running if not run.stopped]
        return label(going[0].spec) if len(going) == 1 else f"{len(going)} runs at once"

    def end(self, steps: int) -> None:
        """The runs in progress ended: ``steps`` more count as done (a diverged or cancelled run's remaining steps
        too); their rows go out whole through ``on_result``, no longer as telemetry."""
        self.steps_done += steps
        self.running = []

    def stop_all(self) -> bool:
        return self.should_stop is not None and bool(self.should_stop())

    def optimizer_stopped(self, optimizer: int) -> bool:
        return self.should_stop_optimizer is not None and bool(self.should_stop_optimizer(optimizer))

    def tick(self) -> None:
        """One step of a run done."""
        if (self.on_progress is not None or self.on_telemetry is not None) and \
                time.monotonic() - self.last_report >= PROGRESS_INTERVAL:
            self.report()

    def report(self) -> None:
        now = time.monotonic()
        self.last_report = now
        if self.on_telemetry is not None:
            for run in self.running:
                sent = self.sent.get(run.index, (0, 0))
                records, epochs = run.records[sent[0]:], run.epochs[sent[1]:]
                if records or epochs:
                    self.sent[run.index] = (max(sent[0], len(run.records)), max(sent[1], len(run.epochs)))
                    self.on_telemetry(Telemetry(run.index, records, epochs))
        if self.on_progress is None:
            return
        # runs stepped together share their length: the batch is as far as its furthest run
        furthest = max((run.steps for run in self.running), default=0)
        done, total = self.steps_done + furthest * len(self.running), self.steps_total
        elapsed = now - self.started
        eta = elapsed / done * (total - done) if done > 0 and elapsed > 0 else NAN
        if self.running:
            self.current = self.naming()
        self.on_progress(Progress(done / total if total else 1.0, done, total, eta, self.current))


def run_comparison(
    spec: ComparisonSpec,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    on_telemetry: Callable[[Telemetry], None] | None = None,
    should_stop_optimizer: Callable[[int], bool] | None = None,
    sequential: bool = False,
) -> list[RunResult]:
    """Run every (seed, optimizer) of ``spec``, batched unless ``sequential``; return the results of the runs
    started, in ``spec.runs()`` order.

    ``should_stop_optimizer(position)`` stops the optimizer ``spec.optimizers[position]`` alone (module docstring).
    """
    count = len(spec.optimizers)
    # runs() is seed-major, so a run's optimizer is its index modulo the optimizers (twins stay apart, unlike .index)
    runs = [(index, run_spec, index % count) for index, run_spec in enumerate(spec.runs())]
    tracker = _Tracker(sum(s.total_steps for _, s, _ in runs), on_progress, on_telemetry, should_stop,
                       should_stop_optimizer)
    configure_threads(work=step_work(spec, 1 if sequential else len(runs)))
    if sequential:
        return _run_each(runs, tracker, on_result)
    return _run_together(runs, tracker, on_result)


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
    configure_threads(work=step_work(spec))
    (result,) = _run_each([(0, spec, 0)], tracker, on_result)
    return result


def _run_each(runs: list[tuple[int, RunSpec, int]], tracker: _Tracker,
              on_result: Callable[[RunResult], None] | None,
              ended: Mapping[int, RunResult] | None = None) -> list[RunResult]:
    """Run each (position, spec, optimizer position) alone, in order, under ``tracker``; the results of the runs
    started. A run whose result already went out (by position in ``ended``: it ended in a batch that then raised)
    keeps it and is not run again."""
    results = []
    for index, spec, optimizer in runs:
        if ended and index in ended:
            tracker.steps_done += spec.total_steps
            results.append(ended[index])
            continue
        if tracker.optimizer_stopped(optimizer):  # its optimizer was stopped before this run began: skip it
            tracker.steps_done += spec.total_steps
            continue
        (recorder,) = tracker.begin([(index, spec, optimizer)])
        task = spec.task_info
        device = resolve_device(spec.device, gpu_by_default=task.gpu_by_default)
        started = time.perf_counter()
        try:
            outcome = task.run(spec, device, recorder)
        except Exception as error:  # this run's failure is this run's: the others go on
            outcome = _failed_outcome(recorder, error, time.perf_counter() - started)
        tracker.end(spec.total_steps)
        results.append(_result(recorder, outcome, device=device_name(device), on_result=on_result))
        if outcome.status == "cancelled" and tracker.stop_all():
            break
    tracker.report()
    return results


def _run_together(runs: list[tuple[int, RunSpec, int]], tracker: _Tracker,
                  on_result: Callable[[RunResult], None] | None) -> list[RunResult]:
    """Run every (position, spec, optimizer position) whose optimizer is not stopped as one batch under
    ``tracker``; the results of the runs started."""
    started = [run for run in runs if not tracker.optimizer_stopped(run[2])]
    tracker.steps_done += sum(spec.total_steps for _, spec, _ in runs) - sum(spec.total_steps for _, spec, _ in started)
    if not started:
        return []
    recorders = tracker.begin(started)
    first = started[0][1]
    task = first.task_info
    device = resolve_device(first.device, gpu_by_default=task.gpu_by_default)
    for recorder in recorders:  # a run that ends before the batch goes out at once (``Recorder.end``)
        recorder.report = functools.partial(_result, recorder, device=device_name(device), on_result=on_result)
    try:
        outcomes = task.run_batch([spec for _, spec, _ in started], device, recorders)
    except Exception:  # which run raised is unknown: each runs again alone, and only those that raise end failed
        ended = {recorder.index: recorder.result for recorder in recorders if recorder.result is not None}
        return _run_each(started, tracker, on_result, ended)
    tracker.end(sum(spec.total_steps for _, spec, _ in started))
    results = [recorder.result or _result(recorder, outcome, device=device_name(device), on_result=on_result)
               for recorder, outcome in zip(recorders, outcomes, strict=True)]
    tracker.report()
    return results


def _failed_outcome(recorder: _RunRecorder, error: Exception, seconds: float) -> Outcome:
    """The outcome of a run that raised ``error`` after ``recorder.steps`` steps: ``"diverged"`` at the step that
    raised, the exception as its reason, and the summary its logged losses give (``final_loss`` NaN, as a diverged
    run's)."""
    step = recorder.steps + 1
    summary = {"final_loss": math.nan, "best_loss": finite_best([row["loss"] for row in recorder.records]),
               "steps_done": recorder.steps, "seconds": seconds}
    return Outcome("diverged", summary, step, f"the run failed at step {step}: {type(error).__name__}: {error}")


def _result(recorder: _RunRecorder, outcome: Outcome, *, device: str,
            on_result: Callable[[RunResult], None] | None) -> RunResult:
    """The run's result from its rows, its outcome and the device it ran on, handed to ``on_result``."""
    result = RunResult(recorder.spec, outcome.status, recorder.records, recorder.epochs, outcome.summary,
                       outcome.diverged_at, outcome.reason, device)
    if on_result is not None:
        on_result(result)
    return result
