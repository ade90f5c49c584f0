"""The command line: ``python -m engine run TASK OPT[:key=value,...] ...`` runs a comparison headless (the same
runner, specs and store as the app) and prints a table of means and 95% confidence intervals over seeds;
``python -m engine list`` prints the tasks and the registered optimizers with their hyperparameters;
``sweep``, ``worker`` and ``reproduce`` tune and judge (``engine.cli_sweeps``).

Bad arguments exit with status 2 and one line naming the field and its valid range (the spec's own message).
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from engine import cli_sweeps, store
from engine.spec import MNIST1D, ComparisonSpec, OptimizerChoice
from engine.stats import mean_ci
from engine.surfaces import EXPR_PREFIX, SURFACES
from engine.text_table import text_table
from optimizers.registry import REGISTRY, HyperParam
from optimizers.validation import check_number

SURFACE_METRICS = (("final_loss", "final loss"), ("best_loss", "best loss"))
MNIST1D_METRICS = (
    ("final_test_accuracy", "final test acc"),
    ("best_test_accuracy_seed_metric", "best test acc (seed metric)"),
    ("test_accuracy_at_best_val", "test acc at best val"),
    ("final_val_loss", "final val loss"),
)
"""The table's columns: summary key and heading."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m engine", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{run,list,sweep,worker,reproduce}")
    commands.add_parser("list", help="print the tasks and the optimizers with their hyperparameters")
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
    cli_sweeps.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 a run failed, 2 bad arguments, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        print_list(sys.stdout)
        return 0
    if args.command != "run":
        try:
            return cli_sweeps.run(args)
        except ValueError as error:
            parser.exit(2, f"{parser.prog} {args.command}: error: {_one_line(error)}\n")
    try:
        spec = comparison_from_args(args)
    except ValueError as error:
        parser.exit(2, f"{parser.prog} run: error: {_one_line(error)}\n")
    return run_command(spec, args)


def comparison_from_args(args: argparse.Namespace) -> ComparisonSpec:
    """The ``ComparisonSpec`` the ``run`` arguments describe; ``ValueError`` (field and valid range) if invalid."""
    is_mnist = args.task == MNIST1D
    if is_mnist and args.steps is not None:
        raise ValueError(f"cli: invalid --steps for {MNIST1D}; use --epochs N (passes over the training split)")
    if not is_mnist and args.epochs is not None:
        raise ValueError(f"cli: invalid --epochs for the surface {args.task!r}; use --steps N")
    seeds = check_number("cli", "seeds", args.seeds, low=1, high=10_000, integer=True)
    task_args: dict[str, Any] = {}
    for assignment in args.task_arg:
        name, equals, value = assignment.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"cli: invalid --task-arg {assignment!r}; expected name=value")
        task_args[name.strip()] = _number(value.strip())
    if args.noise is not None:
        task_args["noise"] = args.noise
    length = {"epochs": args.epochs} if is_mnist and args.epochs is not None else {}
    if not is_mnist and args.steps is not None:
        length = {"steps": args.steps}
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
    """Run ``spec`` with a progress bar, save each run as it ends, print the table, write ``--out``."""
    from tqdm import tqdm

    from engine.runner import run_comparison

    job_id = f"cli-{secrets.token_urlsafe(6)}"
    results: list[Any] = []
    stop = threading.Event()
    bar = tqdm(total=None, unit="step", file=sys.stderr, disable=args.quiet or not sys.stderr.isatty(),
               dynamic_ncols=True, leave=False)

    def on_progress(progress: Any) -> None:
        bar.total = progress.steps_total
        bar.n = progress.steps_done
        bar.set_description_str(progress.current, refresh=False)
        bar.refresh()

    def on_result(result: Any) -> None:
        results.append(result)
        if not args.no_save:
            try:
                store.save(result, job_id=job_id, comparison=spec)
            except OSError as error:
                warnings.warn(f"cli: could not save a run ({error})", RuntimeWarning, stacklevel=2)

    previous = _on_interrupt(stop)
    try:
        run_comparison(spec, on_progress=on_progress, should_stop=stop.is_set, on_result=on_result)
    except Exception as error:  # a run that raises: report it in one line, as a failed job would
        bar.close()
        print(f"python -m engine run: error: the run failed: {type(error).__name__}: {_one_line(error)}",
              file=sys.stderr)
        return 1
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    rows = table(spec, results)
    print(format_table(spec, rows))
    if args.out is not None:
        payload = {"comparison": spec.to_dict(), "runs": [result.to_dict() for result in results], "table": rows}
        args.out.write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    if not args.no_save and results:
        print(f"saved {len(results)} runs to {store.runs_dir()} (job {job_id})", file=sys.stderr)
    if stop.is_set():
        print("interrupted: the table covers the runs that ended", file=sys.stderr)
        return 130
    return 0


def table(spec: ComparisonSpec, results: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per optimizer of ``spec``: for each metric the mean, CI half-width and n over seeds; ``diverged``
    and ``runs`` counts. ``results`` are in ``spec.runs()`` order (seed-major), possibly cut short by a cancel."""
    metrics = MNIST1D_METRICS if spec.task == MNIST1D else SURFACE_METRICS
    count = len(spec.optimizers)
    rows = []
    for index, choice in enumerate(spec.optimizers):
        mine = [result for position, result in enumerate(results) if position % count == index]
        row: dict[str, Any] = {"optimizer": str(choice), "label": choice.label, "runs": len(mine),
                               "diverged": sum(result.status == "diverged" for result in mine)}
        for key, _ in metrics:
            stat = mean_ci(result.summary.get(key, float("nan")) for result in mine)
            row[key] = {"mean": stat.mean, "ci95": stat.half_width, "n": stat.n}
        rows.append(row)
    return rows


def format_table(spec: ComparisonSpec, rows: Sequence[dict[str, Any]]) -> str:
    """The rows as aligned text: ``mean ± half-width`` (95% CI over seeds; one seed: the mean alone)."""
    metrics = MNIST1D_METRICS if spec.task == MNIST1D else SURFACE_METRICS
    header = ["optimizer", *(title for _, title in metrics), "diverged"]
    body = []
    for row in rows:
        cells = [row["label"]]
        for key, _ in metrics:
            cell = row[key]
            cells.append(str(mean_ci([]) if cell["n"] == 0 else _cell(cell["mean"], cell["ci95"])))
        cells.append(f"{row['diverged']}/{row['runs']}")
        body.append(cells)
    seeds = len(spec.seeds)
    note = f"{spec.task}: mean ± 95% CI over {seeds} seed{'s' * (seeds != 1)} (Student t; diverged runs left out)"
    return note + "\n" + text_table([header, *body])


def print_list(out: IO[str]) -> None:
    """The tasks and the optimizers, from ``SURFACES`` and ``REGISTRY``."""
    print("Tasks:", file=out)
    width = max(len(key) for key in [*SURFACES, MNIST1D, EXPR_PREFIX + "<formula>"])
    for key, surface in SURFACES.items():
        print(f"  {key.ljust(width)}  {surface.description}", file=out)
    print(f"  {(EXPR_PREFIX + '<formula>').ljust(width)}  A surface typed as a formula in x and y.", file=out)
    print(f"  {MNIST1D.ljust(width)}  The seed MLP (depth 3, width 256) trained on MNIST-1D (--epochs).", file=out)
    print("\nOptimizers (OPT = key[:name=value,...]):", file=out)
    for info in REGISTRY.values():
        print(f"  {info.key}: {info.name}. {info.description}", file=out)
        for hp in info.hyperparams:
            print(f"      {hp.name} = {hp.default!s}  {_range(hp)}  {hp.help}", file=out)


def _range(hp: HyperParam) -> str:
    if hp.choices:
        return "{" + ", ".join(hp.choices) + "}"
    return f"[{hp.low:g}, {hp.high:g}{', log' if hp.log else ''}]" if hp.low is not None else ""


def _cell(mean: float, half_width: float) -> str:
    from engine.stats import MeanCI

    return str(MeanCI(mean, half_width, 2))


def _number(text: str) -> Any:
    """``"10"`` -> 10, ``"0.5"`` -> 0.5, anything else stays text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _on_interrupt(stop: threading.Event) -> Any:
    """On Ctrl-C, stop cooperatively (the run in progress ends ``cancelled`` and is saved); return the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    return signal.signal(signal.SIGINT, handler)
