"""Where Optiscope keeps its files on disk (runs, jobs, studies, claim results and the MNIST-1D cache), and how it
writes them: atomically, so that a reader, or the next start after a crash, never finds half a file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def optiscope_home() -> Path:
    """``$OPTISCOPE_HOME``, or ``~/.optiscope`` when it is unset or empty; read at every call."""
    return Path(os.environ.get("OPTISCOPE_HOME") or Path.home() / ".optiscope").expanduser()


@contextmanager
def atomic_file(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write ``path``'s new contents into (text in UTF-8, or ``binary``): a temporary file beside ``path``,
    flushed to disk and moved into place by ``os.replace`` when the block ends, or removed if it raises. Its folder
    is created; ``OSError`` when it cannot be written (a read-only home, a full disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode, encoding = ("wb", None) if binary else ("w", "utf-8")
    with tempfile.NamedTemporaryFile(mode, encoding=encoding, dir=path.parent, prefix=f".{path.name}.",
                                     suffix=".tmp", delete=False) as file:
        temporary = Path(file.name)
        try:
            yield file
            file.flush()
            os.fsync(file.fileno())
        except BaseException:
            file.close()
            temporary.unlink(missing_ok=True)
            raise
    os.replace(temporary, path)
