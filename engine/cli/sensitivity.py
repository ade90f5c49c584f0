"""``python -m engine sensitivity``: one hyperparameter over a range for several optimizers on MNIST-1D, each value
over seeds (``engine.runs.SensitivitySpec``), trained as one batch here, or with ``--storage`` point by point through
an Optuna study that ``python -m engine worker`` processes on other machines share (``engine.sweeps.grid``); a table
per optimizer of the best validation loss and the test accuracy at the best validation epoch (mean ± 95% CI), and
with ``--out`` the same numbers and every run's summary as JSON."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from optuna.storages import BaseStorage

from engine.cli.interrupt import interruptible
from engine.cli.text import check_before_running, one_line, progress_bar, task_args_from, write_out
from engine.runs import (
    OptimizerChoice,
    Param,
    Progress,
    RunResult,
    SensitivitySpec,
    format_sensitivity,
    run_comparison,
    run_metrics,
    sensitivity_table,
)
from engine.sweeps import grid, open_storage
from engine.tasks import MNIST1D
from optimizers.validation import check_number

PROG = "python -m engine sensitivity"


def add_command(commands: Any) -> None:
    """Add ``sensitivity`` to the ``python -m engine`` sub-parsers."""
    parser = commands.add_parser(
        "sensitivity", help="one hyperparameter over a range: best validation loss per value, over seeds",
        description="Train every OPT at each of N values of one hyperparameter over seeds 0..K-1 (one batch, or "
                    "shared through --storage) and print, per optimizer and value, the best validation loss and "
                    "the test accuracy at the best validation epoch: mean ± 95%% CI over the seeds.")
    parser.add_argument("task", help=f"a network trained in epochs: {MNIST1D}")
    parser.add_argument("optimizers", nargs="+", metavar="OPT", help="key[:name=value,...]: the fixed hyperparameters")
    parser.add_argument("--param", required=True, metavar="NAME=LO:HI:N[:log]",
                        help="the swept hyperparameter, common to every OPT: N values (2..64) from LO to HI")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..K-1 at every value (default 3)")
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training split (default 20)")
    parser.add_argument("--batch-size", type=int, default=128, help="mini-batch size (default 128)")
    parser.add_argument("--task-arg", action="append", default=[], metavar="NAME=VALUE",
                        help="a task argument: depth, width (the MLP)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument("--storage", metavar="URL",
                        help="share the grid through this Optuna storage (journal:PATH or an RDB URL): one trial per "
                             "optimizer and value; `python -m engine worker --storage URL --study NAME` joins")
    parser.add_argument("--out", type=Path,
                        help="write the table and every run's summary as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def spec_from_args(args: argparse.Namespace) -> SensitivitySpec:
    """The ``SensitivitySpec`` the arguments describe; ``ValueError`` (the field and its valid range) if invalid."""
    seeds = check_number("cli", "seeds", args.seeds, low=1, high=10_000, integer=True)
    return SensitivitySpec(args.task, optimizers=tuple(OptimizerChoice.parse(text) for text in args.optimizers),
                           param=Param.parse(args.param), seeds=tuple(range(seeds)), epochs=args.epochs,
                           batch_size=args.batch_size, task_args=task_args_from(args.task_arg), device=args.device)


def run(args: argparse.Namespace) -> int:
    """Run the grid the arguments describe (``ValueError`` for bad ones, ``--device`` and ``--out`` included, before
    any work: exit 2), print the tables, write ``--out``; 1 if training or the writing fails, 130 when interrupted
    (the tables cover the points that ended)."""
    spec = spec_from_args(args)
    check_before_running(spec.device, args.out)
    storage = open_storage(args.storage) if args.storage else None  # a bad URL is bad input, before any work
    if storage is not None:
        grid.prepare(spec, storage)
    started = time.perf_counter()
    with interruptible() as stop:
        try:
            results = _train(spec, args.quiet, stop) if storage is None else \
                _share(spec, args.storage, storage, args.quiet, stop)
        except Exception as error:  # training itself: one line, as `run` reports a failed run
            print(f"{PROG}: error: training failed: {type(error).__name__}: {one_line(error)}", file=sys.stderr)
            return 1
    seconds = time.perf_counter() - started
    rows = sensitivity_table(spec, results)
    print(format_sensitivity(spec, rows))
    print(f"{len(results)} runs in {seconds:.1f} s", file=sys.stderr)
    if args.out is not None:
        data = payload(spec, results, rows, seconds, grid.study_name(spec) if storage else None)
        if write_out(PROG, args.out, json.dumps(data, indent=1, sort_keys=True)):
            return 1
    if stop.is_set():
        print("interrupted: the tables cover the points that ended (here: each cancelled run's epochs so far)",
              file=sys.stderr)
        return 130
    return 0


def payload(spec: SensitivitySpec, results: list[RunResult], rows: list[dict[str, Any]], seconds: float,
            study: str | None) -> dict[str, Any]:
    """``--out``'s JSON: the spec, ``param`` and its ``values``, the ``table`` (a row per optimizer and value), every
    run (its optimizer without the swept value, the value, seed, status, the two metrics and its summary),
    ``seconds`` and the ``study`` (with ``--storage``)."""
    name = spec.param.name
    runs = [{"optimizer": str(spec.optimizers[point[0]]), "value": spec.values[point[1]], "seed": result.spec.seed,
             "status": result.status, "diverged_at": result.diverged_at, "reason": result.reason,
             **run_metrics(result), "summary": result.summary}
            for result in results if (point := spec.locate(result.spec.optimizer)) is not None]
    return {"sensitivity": spec.to_dict(), "param": name, "values": list(spec.values), "table": rows, "runs": runs,
            "seconds": seconds, "study": study}


def _train(spec: SensitivitySpec, quiet: bool, stop: threading.Event) -> list[RunResult]:
    """The whole grid as one batched comparison, with a progress bar in steps."""
    bar = progress_bar(quiet, unit="step")

    def on_progress(progress: Progress) -> None:
        bar.total, bar.n = progress.steps_total, progress.steps_done
        bar.set_description_str(progress.current, refresh=False)
        bar.refresh()

    try:
        return run_comparison(spec.comparison(), on_progress=on_progress, should_stop=stop.is_set)
    finally:
        bar.close()


def _share(spec: SensitivitySpec, url: str, storage: BaseStorage, quiet: bool,
           stop: threading.Event) -> list[RunResult]:
    """The grid through its prepared study in ``storage`` (at ``url``): run points until none is left (waiting for
    those that workers elsewhere run), with a progress bar in points; the runs of every point that ended."""
    name = grid.study_name(spec)
    print(f"study {name}: other machines join with `python -m engine worker --storage {url} --study {name}`",
          file=sys.stderr)
    bar = progress_bar(quiet, unit="point", total=len(spec.points()))

    def on_progress() -> None:
        bar.n = grid.points_done(spec, storage)
        bar.refresh()

    try:
        grid.work(url, name, should_stop=stop.is_set, on_progress=on_progress, wait=True)
    finally:
        bar.close()
    return grid.results(spec, storage)
