"""What every command does the same way: a progress bar, one-line errors, values typed on the command line, and the
checks of ``--device`` and ``--out`` before any work (then ``--out`` written)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from engine.runs import resolve_device, store


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


def check_before_running(device: str, out: Path | None, *, save: bool = False) -> None:
    """Refuse, before any work, a ``--device`` this machine does not have (``cuda`` without a GPU, ``cuda:99``), an
    ``--out`` that cannot be written (``check_output``) and, when the runs are to be ``save``d, a runs folder that
    cannot be written: ``ValueError`` naming the option or folder, the value and why."""
    resolve_device(device)
    if out is not None:
        check_output(out)
    if save:
        try:
            store.check_writable()
        except OSError as error:
            raise ValueError(f"cli: {error}; set $OPTISCOPE_HOME to a folder you can write, or pass --no-save") \
                from None


def check_output(path: Path) -> None:
    """Refuse an output file in a folder that does not exist, a folder, or a file that cannot be opened for writing
    (tried without changing it; a file created by the try is removed): ``ValueError`` naming ``--out`` and why."""
    shown = f"cli: invalid --out={str(path)!r}"
    if path.is_dir():
        raise ValueError(f"{shown}; it is a folder, expected a file to write")
    if not path.parent.is_dir():
        raise ValueError(f"{shown}; the folder {str(path.parent)!r} does not exist")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise ValueError(f"{shown}; it cannot be written ({error.strerror or error})") from None
    if not existed:
        path.unlink()


def write_out(prog: str, path: Path, text: str) -> int:
    """Write ``text`` to ``--out``'s ``path``: 0, or 1 with one line on stderr if it fails after all (``path`` was
    checked before the work, so only a change since then can make it fail)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"{prog}: error: could not write --out {path}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0
