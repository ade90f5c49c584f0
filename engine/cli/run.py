"""``python -m engine run`` (a comparison over seeds, headless: the same runner, specs and store as the app, and a
table of means and 95% confidence intervals), ``python -m engine list`` (the tasks and the optimizers) and
``python -m engine runs`` (the saved runs, and the files that could not be read)."""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
import warnings
from pathlib import Path
from typing import IO, Any

from engine.cli.interrupt import interruptible
from engine.cli.text import one_line, progress_bar, task_args_from, write_out
from engine.runs import (
    ComparisonSpec,
    OptimizerChoice,
    comparison_table,
    format_comparison,
    run_comparison,
    store,
    text_table,
)
from engine.tasks import EXPR_PREFIX, MNIST1D, SURFACES, get_task, named_tasks
from optimizers.registry import REGISTRY, HyperParam
from optimizers.validation import check_number

LENGTH_HELP = {"steps": "optimizer steps", "epochs": "passes over the training split"}
PROG = "python -m engine run"


def add_commands(commands: Any) -> None:
    """Add ``list``, ``runs`` and ``run`` to the ``python -m engine`` sub-parsers."""
    commands.add_parser("list", help="print the tasks and the optimizers with their hyperparameters")
    runs = commands.add_parser(
        "runs", help="list the saved runs; report the run files that could not be read (exit 1 if any)",
        description="List the runs saved under $OPTISCOPE_HOME/runs, newest first; report every run file that could "
                    "not be read, with why, on stderr. Exit status 1 when there is such a file, else 0.")
    runs.add_argument("--task", help="only the runs of this task")
    runs.add_argument("--job", help="only the runs of this job")
    run = commands.add_parser("run", help="run a comparison of optimizers over seeds",
                              description="Run OPT... on TASK over seeds 0..N-1 and print mean ± 95%% CI.")
    run.add_argument("task", help=f"a surface ({', '.join(SURFACES)}), {EXPR_PREFIX}<formula>, or {MNIST1D}")
    run.add_argument("optimizers", nargs="+", metavar="OPT", help="key[:name=value,...], e.g. adam:lr=0.01")
    length = run.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help=f"passes over the training split ({MNIST1D}; default 20)")
    length.add_argument("--steps", type=int, help="optimizer steps (surfaces; default 200)")
    run.add_argument("--seeds", type=int, default=1, help="run seeds 0..N-1 (default 1)")
    run.add_argument("--batch-size", type=int, default=128, help=f"mini-batch size ({MNIST1D}; default 128)")
    run.add_argument("--noise", type=float, help="std of Gaussian gradient noise (surfaces; default 0)")
    run.add_argument("--task-arg", action="append", default=[], metavar="NAME=VALUE",
                     help="a task argument: condition, rotation (quadratic); depth, width (mnist1d)")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    run.add_argument("--log-every", type=int, default=None,
                     help="record telemetry every N steps (default: 1 on a surface, 10 on mnist1d)")
    run.add_argument("--out", type=Path, help="write specs, summaries and telemetry to this JSON file")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--no-save", action="store_true", help="do not save the runs to $OPTISCOPE_HOME/runs")
    run.add_argument("--sequential", action="store_true",
                     help="one run at a time with torch.optim's own classes (default: all runs batched at once)")


def comparison_from_args(args: argparse.Namespace) -> ComparisonSpec:
    """The ``ComparisonSpec`` the ``run`` arguments describe; ``ValueError`` (field and valid range) if invalid."""
    task = get_task(args.task)
    given = {"steps": args.steps, "epochs": args.epochs}
    for option, value in given.items():
        if option != task.length and value is not None:
            raise ValueError(f"cli: invalid --{option} for {task.phrase}; use --{task.length} N "
                             f"({LENGTH_HELP[task.length]})")
    seeds = check_number("cli", "seeds", args.seeds, low=1, high=10_000, integer=True)
    task_args = task_args_from(args.task_arg)
    if args.noise is not None:
        task_args["noise"] = args.noise
    length = {task.length: given[task.length]} if given[task.length] is not None else {}
    return ComparisonSpec(
        task=args.task,
        optimizers=tuple(OptimizerChoice.parse(text) for text in args.optimizers),
        seeds=tuple(range(seeds)),
        batch_size=args.batch_size,
        log_every=args.log_every,
        task_args=task_args,
        device=args.device,
        **length,
    )


def run_command(spec: ComparisonSpec, args: argparse.Namespace) -> int:
    """Run ``spec`` with a progress bar, save each run as it ends, print the table, write ``--out``: 0, or 1 when the
    comparison failed, ``--out`` could not be written or a run could not be saved (one line on stderr), 130 when
    interrupted."""
    job_id = f"cli-{secrets.token_urlsafe(6)}"
    results: list[Any] = []
    bar = progress_bar(args.quiet, unit="step")

    def on_progress(progress: Any) -> None:
        bar.total = progress.steps_total
        bar.n = progress.steps_done
        bar.set_description_str(progress.current, refresh=False)
        bar.refresh()

    unsaved: list[OSError] = []

    def on_result(result: Any) -> None:
        results.append(result)
        if not args.no_save:
            try:
                store.save(result, job_id=job_id, comparison=spec)
            except OSError as error:  # reported once the table is out: the runs that ran are still shown
                unsaved.append(error)

    with interruptible() as stop:
        try:
            run_comparison(spec, on_progress=on_progress, should_stop=stop.is_set, on_result=on_result,
                           sequential=args.sequential)
        except Exception as error:  # a run that raises: report it in one line, as a failed job would
            print(f"{PROG}: error: the run failed: {type(error).__name__}: {one_line(error)}", file=sys.stderr)
            return 1
        finally:
            bar.close()
    rows = comparison_table(spec, results)
    print(format_comparison(spec, rows))
    if args.out is not None:
        payload = {"comparison": spec.to_dict(), "runs": [result.to_dict() for result in results], "table": rows}
        if write_out(PROG, args.out, json.dumps(payload, indent=1, sort_keys=True)):
            return 1
    if unsaved:
        print(f"{PROG}: error: {len(unsaved)} of {len(results)} runs could not be saved: {one_line(unsaved[0])}",
              file=sys.stderr)
        return 1
    if not args.no_save and results:
        print(f"saved {len(results)} runs to {store.runs_dir()} (job {job_id})", file=sys.stderr)
    if stop.is_set():
        print("interrupted: the table covers the runs that ended", file=sys.stderr)
        return 130
    return 0


def print_runs(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """The saved runs (of ``--task``, ``--job``) as a table on ``out``, newest first; the run files that could not be
    read, each with why, on ``err`` (``store.unreadable_runs``). 1 when there is such a file, else 0."""
    with warnings.catch_warnings():  # the unreadable files are reported below, once, with their reasons
        warnings.simplefilter("ignore", RuntimeWarning)
        runs = store.list_runs(task=args.task, job_id=args.job)
        unreadable = store.unreadable_runs()
    table = [["run", "saved at", "task", "optimizer", "seed", "status", "final loss"]]
    table += [[run.run_id, run.saved_at[:19], run.task, run.optimizer, str(run.seed),
               run.status + ("" if run.diverged_at is None else f" at step {run.diverged_at}"),
               f"{run.summary.get('final_loss', math.nan):.4g}"] for run in runs]
    print(text_table(table) if runs else f"no saved runs in {store.runs_dir()}", file=out)
    if unreadable:
        print(f"{len(unreadable)} saved run{'s' * (len(unreadable) != 1)} could not be read:", file=err)
        for bad in unreadable:
            print(f"  {bad.path}: {bad.reason}", file=err)
    return 1 if unreadable else 0


def print_list(out: IO[str]) -> None:
    """The tasks and the optimizers, from ``engine.tasks.named_tasks`` and ``REGISTRY``."""
    print("Tasks:", file=out)
    formula = EXPR_PREFIX + "<formula>"
    tasks = named_tasks()
    width = max(len(key) for key in [*(task.key for task in tasks), formula])
    for task in tasks:
        print(f"  {task.key.ljust(width)}  {task.description}", file=out)
    print(f"  {formula.ljust(width)}  A surface typed as a formula in x and y.", file=out)
    print("\nOptimizers (OPT = key[:name=value,...]):", file=out)
    for info in REGISTRY.values():
        print(f"  {info.key}: {info.name}. {info.description}", file=out)
        for hp in info.hyperparams:
            print(f"      {hp.name} = {hp.default!s}  {_range(hp)}  {hp.help}", file=out)


def _range(hp: HyperParam) -> str:
    if hp.choices:
        return "{" + ", ".join(hp.choices) + "}"
    return f"[{hp.low:g}, {hp.high:g}{', log' if hp.log else ''}]" if hp.low is not None else ""
