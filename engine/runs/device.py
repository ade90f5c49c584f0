"""Where runs compute: the torch device a run asks for, and torch's CPU threads (all cores, or a worker's share)."""

from __future__ import annotations

import os
import threading

import torch

from optimizers.validation import check_number

_THREADS_LOCK = threading.Lock()
_configured_threads: int | None = None


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity mask
        return max(1, os.cpu_count() or 1)


def resolve_device(name: str = "auto", *, gpu_by_default: bool = True) -> torch.device:
    """The device for ``name``: ``"auto"`` (CUDA when torch sees a GPU and ``gpu_by_default``, else CPU), ``"cpu"``,
    ``"cuda"``, ``"cuda:N"``. A task whose runs gain nothing from a GPU passes ``gpu_by_default=False``.

    Raises ``ValueError`` for an unknown name and for a CUDA device that this machine does not have.
    """
    if name == "auto":
        return torch.device("cuda" if gpu_by_default and torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if isinstance(name, str) and (name == "cuda" or name.startswith("cuda:")):
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(f"device: invalid device={name!r}; allowed values: 'auto', 'cpu', 'cuda[:N]'") from None
        if not torch.cuda.is_available():
            raise ValueError(f"device: invalid device={name!r}; torch sees no CUDA GPU here (use 'auto' or 'cpu')")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ValueError(f"device: invalid device={name!r}; valid range: 0 <= N < {count} (GPUs torch sees)")
        return device
    raise ValueError(f"device: invalid device={name!r}; allowed values: 'auto', 'cpu', 'cuda[:N]'")


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads and return the count in force.

    With ``threads`` (a worker process, told its share of the cores by the job system), always that count. Without
    it, the first time only: the user's ``$OPTISCOPE_THREADS`` when set, else the usable cores; later calls change
    nothing, so a caller (a benchmark, a test) that sets its own count afterwards keeps it. On a machine shared with
    other busy processes, fewer threads can be much faster: ``OPTISCOPE_THREADS=1``.
    """
    global _configured_threads
    with _THREADS_LOCK:
        if threads is not None:
            _configured_threads = check_number("configure_threads", "threads", threads, low=1, integer=True)
            torch.set_num_threads(_configured_threads)
        elif _configured_threads is None:
            override = os.environ.get("OPTISCOPE_THREADS", "").strip()
            if override and not (override.isdigit() and int(override) >= 1):
                raise ValueError(f"OPTISCOPE_THREADS: invalid value {override!r}; expected an integer >= 1")
            _configured_threads = int(override) if override else usable_cores()
            torch.set_num_threads(_configured_threads)
        return torch.get_num_threads()
