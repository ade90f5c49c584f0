"""MNIST-1D, generated offline, cached on disk, and split by a seed into train / validation / test tensors.

Source: Greydanus, "Scaling down deep learning" (2020), https://github.com/greydanus/mnist1d, through the
``mnist1d`` package (pinned in requirements.txt). The 5,000 signals (40 features, 10 classes) are generated with
``mnist1d.data.make_dataset(get_dataset_args())``: 4,000 train and 1,000 test. The package's download path
(``get_dataset(..., download=True)``, which calls ``requests``) is never used, so loading works without a network.

The arguments are the package's defaults, copied in ``DATASET_ARGS`` (a test checks the copy against
``get_dataset_args()``), so a cached load never imports the package, which imports matplotlib (about 0.6 s).

The arrays are cached as ``$OPTISCOPE_HOME/cache/mnist1d-<hash>.npz`` (default home ``~/.optiscope``, read at call
time), where ``<hash>`` is a SHA-256 of the canonical JSON of the generation arguments; the file is written
atomically, and a corrupt one is reported with a warning and regenerated. A seed then splits the 4,000 train signals
into 3,600 train and 400 validation; the test set stays apart.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import threading
import warnings
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.home import atomic_file, optiscope_home
from optimizers.validation import check_number

FEATURES = 40
CLASSES = 10
TRAIN_SIZE = 4000
TEST_SIZE = 1000
VALIDATION_SIZE = 400
# mnist1d.data.get_dataset_args() of mnist1d 0.0.2.post1 without its download `url`: 5,000 signals, 80 % train, seed 42.
DATASET_ARGS: dict[str, Any] = {
    "num_samples": 5000,
    "train_split": 0.8,
    "template_len": 12,
    "padding": [36, 60],
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "shuffle_seq": False,
    "final_seq_length": 40,
    "seed": 42,
}
_ARRAYS = ("x", "y", "x_test", "y_test")
_FORMAT = 1  # bump when the cached file's layout changes, so old files are not read
_LOCK = threading.Lock()  # one generation at a time: make_dataset seeds numpy's global RNG


@dataclass(frozen=True)
class MNIST1DData:
    """The split dataset: ``x_*`` float ``[n, 40]``, ``y_*`` int64 labels 0..9.

    ``args_hash`` names the generation arguments (and the cache file); ``from_cache`` is True when the arrays were
    read from the on-disk cache, False when they were generated in this process.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    args_hash: str
    from_cache: bool


def dataset_args() -> dict[str, Any]:
    """The generation arguments (a fresh copy of ``DATASET_ARGS``)."""
    return json.loads(json.dumps(DATASET_ARGS))


def args_hash(args: dict[str, Any]) -> str:
    """A stable key for ``args``: SHA-256 of canonical JSON, without the download URL (it does not change the data).

    The package version and the cache format are part of the key, so an upgrade never reads stale arrays.
    """
    payload = {
        "args": {key: value for key, value in args.items() if key != "url"},
        "mnist1d": metadata.version("mnist1d"),
        "format": _FORMAT,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dataset_path() -> Path:
    """Where the cached arrays for the default arguments live (the file may not exist yet)."""
    return optiscope_home() / "cache" / f"mnist1d-{args_hash(dataset_args())}.npz"


def load_mnist1d(
    seed: int = 0, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> MNIST1DData:
    """MNIST-1D as tensors: 3,600 train / 400 validation (split by ``seed``, default 0) / 1,000 test.

    The split draws a permutation of the 4,000 train signals from a ``torch.Generator`` seeded with ``seed``; the
    global RNGs are left untouched. Repeated loads in one process reuse the arrays (an in-process memo).
    """
    seed = check_number("load_mnist1d", "seed", seed, low=0, integer=True)
    path = dataset_path()
    arrays, from_cache = _arrays(str(path))
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(TRAIN_SIZE, generator=generator)
    val_index, train_index = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    x, y = _tensor(arrays["x"], dtype, device), _tensor(arrays["y"], torch.int64, device)
    val_index, train_index = val_index.to(x.device), train_index.to(x.device)
    return MNIST1DData(
        x_train=x[train_index],
        y_train=y[train_index],
        x_val=x[val_index],
        y_val=y[val_index],
        x_test=_tensor(arrays["x_test"], dtype, device),
        y_test=_tensor(arrays["y_test"], torch.int64, device),
        args_hash=path.stem.removeprefix("mnist1d-"),
        from_cache=from_cache,
    )


def _tensor(array: np.ndarray, dtype: torch.dtype, device: torch.device | str | None) -> torch.Tensor:
    """A fresh tensor (a copy), so no caller can write into the memoised arrays."""
    return torch.tensor(array, dtype=dtype, device=device)


@functools.lru_cache(maxsize=4)
def _arrays(path: str) -> tuple[dict[str, np.ndarray], bool]:
    """The four arrays for the cache file ``path`` (read-only) and whether they came from it."""
    with _LOCK:
        arrays = _read(Path(path))
        from_cache = arrays is not None
        if arrays is None:
            arrays = _generate(dataset_args())
            _write(Path(path), arrays)
    for array in arrays.values():
        array.setflags(write=False)
    return arrays, from_cache


def _generate(args: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run the package's generator; it seeds Python's and numpy's global RNGs, which are restored afterwards."""
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(ObjectView(dict(args)))
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    arrays = {name: np.ascontiguousarray(data[name]) for name in _ARRAYS}
    arrays["y"], arrays["y_test"] = arrays["y"].astype(np.int64), arrays["y_test"].astype(np.int64)
    _check(arrays)
    return arrays


def _check(arrays: dict[str, np.ndarray]) -> None:
    """Raise ``ValueError`` unless the arrays have the MNIST-1D shapes, finite signals and labels 0..9."""
    expected = {
        "x": (TRAIN_SIZE, FEATURES),
        "y": (TRAIN_SIZE,),
        "x_test": (TEST_SIZE, FEATURES),
        "y_test": (TEST_SIZE,),
    }
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ValueError(f"mnist1d: {name} has shape {arrays[name].shape}; expected {shape}")
    if not (np.isfinite(arrays["x"]).all() and np.isfinite(arrays["x_test"]).all()):
        raise ValueError("mnist1d: the signals contain non-finite values")
    for name in ("y", "y_test"):
        if arrays[name].dtype != np.int64 or arrays[name].min() < 0 or arrays[name].max() >= CLASSES:
            raise ValueError(f"mnist1d: {name} must hold int64 labels 0..{CLASSES - 1}")


def _read(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when the file is missing; a corrupt file is reported with a warning and skipped."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _ARRAYS}
        _check(arrays)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"mnist1d: corrupt cache file {path} ({error}); regenerating it", RuntimeWarning, stacklevel=3)
        return None
    return arrays


def _write(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays atomically (temporary file, then ``os.replace``); a failure is reported, never fatal."""
    try:
        with atomic_file(path, binary=True) as file:
            np.savez(file, **arrays)
    except OSError as error:
        warnings.warn(f"mnist1d: could not write the cache file {path} ({error})", RuntimeWarning, stacklevel=3)
