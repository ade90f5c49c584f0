"""Fixtures shared by the whole test suite."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root: where app.py lives and where the app and its subprocesses run from."""
    return Path(__file__).resolve().parent.parent
