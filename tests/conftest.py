"""Fixtures shared by the whole test suite."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from engine.runs import configure_threads


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One torch thread for a module: on a shared 2-core machine, two threads of small kernels measure contention."""
    configure_threads()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root: where app.py lives and where the app and its subprocesses run from."""
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def mnist1d_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MNIST-1D generated once for the session (a few seconds): the cache file, to copy into fresh homes."""
    from engine.tasks.mnist1d import dataset_path, load_mnist1d

    home = tmp_path_factory.mktemp("mnist1d-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTISCOPE_HOME", str(home))
        load_mnist1d()
        return dataset_path()


@pytest.fixture
def home_with_mnist1d(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mnist1d_cache: Path) -> Path:
    """A fresh ``$OPTISCOPE_HOME`` (for this test and its subprocesses) holding the session's MNIST-1D cache."""
    import shutil

    home = tmp_path / "home"
    (home / "cache").mkdir(parents=True)
    shutil.copy(mnist1d_cache, home / "cache" / mnist1d_cache.name)
    monkeypatch.setenv("OPTISCOPE_HOME", str(home))
    return home


@pytest.fixture
def sweep_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``$OPTISCOPE_HOME`` for the sweeps (spawned workers inherit it: the default journal lives there), one
    torch thread per process (this one's, and the workers' as the job system leases it from a budget of one core), and
    an empty named-job registry, so no job (or failure) of an earlier test shows."""
    from engine.jobs import JobRegistry, ThreadBudget, registry, threads

    monkeypatch.setattr(registry, "_REGISTRY", JobRegistry())
    monkeypatch.setattr(threads, "_DEFAULT", ThreadBudget(cores=1))
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path))
    monkeypatch.setenv("OPTISCOPE_THREADS", "1")
    return tmp_path
