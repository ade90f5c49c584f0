"""Where Optiscope keeps its files on disk: runs, studies, claim results and the MNIST-1D cache."""

from __future__ import annotations

import os
from pathlib import Path


def optiscope_home() -> Path:
    """``$OPTISCOPE_HOME``, or ``~/.optiscope`` when it is unset or empty; read at every call."""
    return Path(os.environ.get("OPTISCOPE_HOME") or Path.home() / ".optiscope").expanduser()
