"""What every command prints the same way: a progress bar, one-line errors, values typed on the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm


def progress_bar(quiet: bool, unit: str, total: int | None = None) -> tqdm:
    """A tqdm bar on stderr, off with ``--quiet`` or when stderr is not a terminal; it leaves no line behind."""
    return tqdm(total=total, unit=unit, file=sys.stderr, disable=quiet or not sys.stderr.isatty(),
                dynamic_ncols=True, leave=False)


def json_value(text: str) -> Any:
    """A value typed on the command line, read as JSON where it is (``"10"`` -> 10, ``"0.5"`` -> 0.5,
    ``"[1, 2]"`` -> [1, 2]); anything else stays text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def one_line(error: BaseException) -> str:
    """The error's message on one line (argparse and the job pages print one line)."""
    return " ".join(str(error).split())


def task_args_from(assignments: Sequence[str]) -> dict[str, Any]:
    """``--task-arg NAME=VALUE`` options as task arguments, values read as JSON where they are."""
    task_args: dict[str, Any] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"cli: invalid --task-arg {assignment!r}; expected name=value")
        task_args[name.strip()] = json_value(value.strip())
    return task_args
