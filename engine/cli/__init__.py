"""The command line, ``python -m engine``: run, list, sweep, worker, reproduce."""

from engine.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
