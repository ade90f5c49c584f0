"""MNIST-1D: offline generation, the on-disk cache, the seeded split, and no network access."""

from __future__ import annotations

import random
import socket
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
import torch

from engine.tasks import mnist1d
from engine.tasks.mnist1d import MNIST1DData, dataset_path, load_mnist1d


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("MNIST-1D must load without the network")


def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "get", _refuse)
    monkeypatch.setattr(urllib.request, "urlopen", _refuse)
    monkeypatch.setattr(socket.socket, "connect", _refuse)


@dataclass(frozen=True)
class Generated:
    home: Path
    data: MNIST1DData
    seconds: float


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The one generation of the test session, in a fresh home and with the network blocked."""
    import time

    home = tmp_path_factory.mktemp("optiscope-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPTISCOPE_HOME", str(home))
        _block_network(patch)
        start = time.perf_counter()
        data = load_mnist1d()
        seconds = time.perf_counter() - start
    return Generated(home, data, seconds)


@pytest.fixture
def home(generated: Generated, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's home, with the generated cache file in it, as ``$OPTISCOPE_HOME``."""
    monkeypatch.setenv("OPTISCOPE_HOME", str(generated.home))
    return generated.home


def _rows(x: torch.Tensor) -> set[bytes]:
    return {row.tobytes() for row in x.numpy()}


def test_sizes_shapes_and_labels(generated: Generated) -> None:
    data = generated.data
    splits = {
        "train": (data.x_train, data.y_train),
        "val": (data.x_val, data.y_val),
        "test": (data.x_test, data.y_test),
    }
    sizes = {"train": 3600, "val": 400, "test": 1000}
    for name, (x, y) in splits.items():
        assert x.shape == (sizes[name], 40), name
        assert y.shape == (sizes[name],), name
        assert x.dtype == torch.float32 and y.dtype == torch.int64, name
        assert torch.isfinite(x).all(), name
        assert set(y.tolist()) == set(range(10)), name


def test_generated_without_the_network(generated: Generated) -> None:
    assert generated.data.from_cache is False
    assert len(generated.data.args_hash) == 16


def test_generation_is_deterministic_and_leaves_global_rngs_alone(home: Path) -> None:
    random.seed(7)
    np.random.seed(7)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    again = mnist1d._generate(mnist1d.dataset_args())
    assert random.getstate() == python_state
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    with np.load(dataset_path()) as cached:
        for name, array in again.items():
            assert np.array_equal(array, cached[name]), name


def test_second_load_comes_from_the_disk_cache_and_equals_the_first(home: Path, generated: Generated) -> None:
    assert dataset_path().parent == home / "cache"
    assert dataset_path().is_file()
    mnist1d._arrays.cache_clear()  # forget the in-process memo, so the file itself is read
    cached = load_mnist1d()
    assert cached.from_cache is True
    assert cached.args_hash == generated.data.args_hash
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        assert torch.equal(getattr(cached, name), getattr(generated.data, name)), name


def test_repeated_loads_use_the_in_process_memo(home: Path) -> None:
    load_mnist1d()
    hits = mnist1d._arrays.cache_info().hits
    load_mnist1d(seed=3)
    assert mnist1d._arrays.cache_info().hits == hits + 1


def test_split_is_seeded_disjoint_and_covers_the_train_signals(home: Path) -> None:
    arrays, _ = mnist1d._arrays(str(dataset_path()))
    everything = {row.tobytes() for row in arrays["x"]}
    assert len(everything) == 4000  # the signals are distinct, so rows identify samples
    first = load_mnist1d(0, dtype=torch.float64)
    train, val = _rows(first.x_train), _rows(first.x_val)
    assert len(train) == 3600 and len(val) == 400
    assert not train & val
    assert train | val == everything
    assert not _rows(first.x_test) & everything

    same = load_mnist1d(0, dtype=torch.float64)
    assert torch.equal(same.x_val, first.x_val) and torch.equal(same.y_val, first.y_val)
    other = load_mnist1d(1, dtype=torch.float64)
    assert _rows(other.x_val) != val
    assert torch.equal(other.x_test, first.x_test)  # the test set never depends on the seed


def test_split_labels_follow_their_signals(home: Path) -> None:
    arrays, _ = mnist1d._arrays(str(dataset_path()))
    label_of = {row.tobytes(): int(label) for row, label in zip(arrays["x"], arrays["y"], strict=True)}
    data = load_mnist1d(5, dtype=torch.float64)
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val)):
        assert [label_of[row.tobytes()] for row in x.numpy()] == y.tolist()


def test_dtype_and_device(home: Path) -> None:
    data = load_mnist1d(dtype=torch.float64, device="cpu")
    assert data.x_train.dtype == torch.float64 and data.x_test.dtype == torch.float64
    assert data.y_train.dtype == torch.int64
    assert data.x_train.device.type == "cpu"


def test_corrupt_cache_file_is_reported_and_regenerated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, generated: Generated
) -> None:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path))
    _block_network(monkeypatch)
    path = dataset_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an npz file")
    with pytest.warns(RuntimeWarning, match="corrupt cache file"):
        data = load_mnist1d()
    assert data.from_cache is False
    assert torch.equal(data.x_val, generated.data.x_val)
    mnist1d._arrays.cache_clear()
    assert load_mnist1d().from_cache is True  # the regenerated file replaced the garbage
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_cache_with_wrong_shapes_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.zeros((3, 40)), y=np.zeros(3, dtype=np.int64), x_test=np.zeros((1, 40)), y_test=np.zeros(1))
    with pytest.warns(RuntimeWarning, match="corrupt cache file"):
        assert mnist1d._read(path) is None


def test_unwritable_cache_is_reported_not_fatal(tmp_path: Path, generated: Generated) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    arrays, _ = mnist1d._arrays(str(generated.home / "cache" / f"mnist1d-{generated.data.args_hash}.npz"))
    with pytest.warns(RuntimeWarning, match="could not write"):
        mnist1d._write(blocker / "cache" / "mnist1d.npz", dict(arrays))


def test_home_is_read_at_call_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path / "a"))
    assert dataset_path().parent == tmp_path / "a" / "cache"
    monkeypatch.delenv("OPTISCOPE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert dataset_path().parent == tmp_path / "user" / ".optiscope" / "cache"


def test_args_are_the_package_defaults() -> None:
    from mnist1d.data import get_dataset_args

    defaults = get_dataset_args(as_dict=True)
    assert defaults.pop("url").startswith("https://")
    assert mnist1d.dataset_args() == defaults
    assert defaults["num_samples"] == 5000 and defaults["train_split"] == 0.8 and defaults["seed"] == 42


def test_args_hash_is_stable_and_ignores_the_url() -> None:
    args = mnist1d.dataset_args()
    assert mnist1d.dataset_args() is not mnist1d.DATASET_ARGS  # callers get a copy
    key = mnist1d.args_hash(args)
    assert key == mnist1d.args_hash(dict(reversed(list(args.items()))))
    assert key == mnist1d.args_hash({**args, "url": "https://example.invalid/elsewhere.pkl"})
    assert key != mnist1d.args_hash({**args, "seed": 43})


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None])
def test_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises(ValueError, match=r"load_mnist1d: invalid seed="):
        load_mnist1d(seed)  # type: ignore[arg-type]
