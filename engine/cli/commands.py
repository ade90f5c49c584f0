"""The command line, ``python -m engine``: one parser over the commands of ``engine.cli.run`` (``run``, ``list``,
``runs``), ``engine.cli.landscape`` (``landscape``), ``engine.cli.sensitivity`` (``sensitivity``) and
``engine.cli.sweeps`` (``sweep``, ``worker``, ``reproduce``), and the exit statuses they share.

Bad arguments exit with status 2 and one line naming the field and its valid range (the spec's own message): every
argument a command can check before it runs anything, ``--device`` (a CUDA device this machine lacks) and ``--out``
(a missing folder, a folder, a file that cannot be written) included. Status 1: the work failed, its output or a run
could not be saved, or (``runs``) a saved run file could not be read; 130: interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from engine.cli import landscape, run, sensitivity, sweeps
from engine.cli.text import check_before_running, one_line


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m engine", description="Optiscope's engine, headless: runs, sweeps and claims.")
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{run,list,runs,landscape,sensitivity,sweep,worker,reproduce}")
    run.add_commands(commands)
    landscape.add_command(commands)
    sensitivity.add_command(commands)
    sweeps.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 the work failed, 2 bad arguments, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "list":
        run.print_list(sys.stdout)
        return 0
    if args.command == "runs":
        return run.print_runs(args, sys.stdout, sys.stderr)
    try:
        if args.command == "run":
            spec = run.comparison_from_args(args)
            check_before_running(spec.device, args.out, save=not args.no_save)
        elif args.command == "landscape":
            return landscape.run(args)
        elif args.command == "sensitivity":
            return sensitivity.run(args)
        else:
            return sweeps.run(args)
    except ValueError as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {one_line(error)}\n")
    return run.run_command(spec, args)
