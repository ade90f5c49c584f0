"""``python -m engine landscape``: one optimizer over a grid of two hyperparameters (or the start's x / y) on a 2-D
surface, every cell a full run, all stepped as one batch (``engine.runs.compute_landscape``); a short summary, and
the map as JSON with ``--out``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.text import check_before_running, one_line, task_args_from, write_out
from engine.runs import Axis, LandscapeSpec, OptimizerChoice, check_tolerance, compute_landscape
from engine.tasks import EXPR_PREFIX, SURFACES

AXIS_HELP = "NAME=LO:HI:N[:log]: a hyperparameter of OPT, x0 or y0 (the start), N values (2..256) from LO to HI"


def add_command(commands: Any) -> None:
    """Add ``landscape`` to the ``python -m engine`` sub-parsers."""
    parser = commands.add_parser(
        "landscape", help="map an optimizer's final loss over two hyperparameters (every cell a run)",
        description="Run OPT from every cell of the grid --x by --y on a 2-D surface, as one batch; cell (i, j) is "
                    "the run OPT:<x>=<x_values[j]>,<y>=<y_values[i]>.")
    parser.add_argument("task", help=f"a surface ({', '.join(SURFACES)}) or {EXPR_PREFIX}<formula>")
    parser.add_argument("optimizer", metavar="OPT", help="key[:name=value,...]: the fixed hyperparameters")
    parser.add_argument("--x", required=True, metavar="NAME=LO:HI:N[:log]", help=f"the columns' axis, {AXIS_HELP}")
    parser.add_argument("--y", required=True, metavar="NAME=LO:HI:N[:log]", help=f"the rows' axis, {AXIS_HELP}")
    parser.add_argument("--steps", type=int, default=200, help="optimizer steps per run (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed (the gradient noise's; default 0)")
    parser.add_argument("--noise", type=float, default=0.0, help="std of Gaussian gradient noise (default 0)")
    parser.add_argument("--task-arg", action="append", default=[], metavar="NAME=VALUE",
                        help="a surface argument: condition, rotation (quadratic); start=[x, y]")
    parser.add_argument("--tolerance", type=float, help="also count the steps until the loss falls below this")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto: the CPU)")
    parser.add_argument("--out", type=Path, help="write the map as JSON to this file")


def spec_from_args(args: argparse.Namespace) -> LandscapeSpec:
    """The ``LandscapeSpec`` the arguments describe; ``ValueError`` (the field and its valid range) if invalid."""
    return LandscapeSpec(args.task, OptimizerChoice.parse(args.optimizer), Axis.parse(args.x), Axis.parse(args.y),
                         steps=args.steps, seed=args.seed, noise=args.noise, task_args=task_args_from(args.task_arg),
                         device=args.device)


def run(args: argparse.Namespace) -> int:
    """Compute the landscape the arguments describe (``ValueError`` for bad ones, ``--device`` and ``--out``
    included, before any work), print its summary, write ``--out``; 1 if the computation or the writing fails."""
    spec = spec_from_args(args)
    tolerance = check_tolerance(args.tolerance)
    check_before_running(spec.device, args.out)
    try:
        landscape = compute_landscape(spec, tolerance=tolerance)
    except Exception as error:  # the computation itself: one line, as `run` reports a failed run
        print(f"python -m engine landscape: error: the landscape failed: {type(error).__name__}: {one_line(error)}",
              file=sys.stderr)
        return 1
    print("\n".join(landscape.describe()))
    return 0 if args.out is None else write_out("python -m engine landscape", args.out, landscape.to_json())
