"""Where runs compute: the torch device a run asks for, and torch's CPU threads (how many a run's work wants, all
cores, or a worker's share)."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import torch

from optimizers.validation import check_number

if TYPE_CHECKING:
    from engine.runs.spec import RunSettings

WORK_PER_THREAD = 50e6
"""Multiply-adds a step that make one more torch thread pay (``threads_for``). Measured on this 2-core VM, the seed
MLP's training step (forward, backward, Adam) with 2 threads against 1, idle machine, median of 5 interleaved rounds:
14 M multiply-adds a step (batch 32) 0.8x, 28 M (batch 64) 1.09x, 55 M (batch 128, the default run) 1.10x, 110 M
(batch 256, or 2 runs of batch 128 stacked as [R, in, out]) 1.4x, about 215 M (batch 512; width 512; 4 stacked runs)
1.3x, 1.6x, 1.7x, 884 M (16 stacked runs) 1.9x. In a round where another process kept a core busy, 2 threads took
136 ms a step of the default run against 2.2 ms with 1: below this size a second thread gains a few per cent and
risks 60x."""

_THREADS_LOCK = threading.Lock()
_configured_threads: int | None = None


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity mask
        return max(1, os.cpu_count() or 1)


def step_work(settings: RunSettings, runs: int = 1) -> float:
    """The multiply-adds of one optimizer step of ``runs`` runs with ``settings`` stepped together (the batched runner
    stacks them; the sequential runner's step is one run's): the task's own estimate (``Task.step_work``) per run."""
    return settings.task_info.step_work(settings.batch_size, settings.task_args) * runs


def threads_for(work: float, cores: int) -> int:
    """The torch threads a computation of ``work`` multiply-adds a step wants on ``cores`` cores: one per
    ``WORK_PER_THREAD`` (at least 1, at most ``cores``). A 2-D surface or one seed-MLP run of batch 128 gets 1 thread,
    stacked runs and larger networks more."""
    check_number("threads_for", "cores", cores, low=1, integer=True)
    check_number("threads_for", "work", work, low=0.0)
    return max(1, min(cores, int(work // WORK_PER_THREAD)))


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


def thread_cap() -> int | None:
    """The user's ``$OPTISCOPE_THREADS``: the torch threads this process computes with, its worker processes' together
    (the job system's budget, ``engine.jobs.threads``); None when unset. ``ValueError`` unless an integer >= 1."""
    value = os.environ.get("OPTISCOPE_THREADS", "").strip()
    if not value:
        return None
    if not (value.isdigit() and int(value) >= 1):
        raise ValueError(f"OPTISCOPE_THREADS: invalid value {value!r}; expected an integer >= 1")
    return int(value)


def configure_threads(threads: int | None = None, *, work: float | None = None) -> int:
    """Set torch's intra-op threads and return the count in force.

    With ``threads`` (a worker process, told its share of the cores by the job system's budget,
    ``engine.jobs.threads``), always that count. Without it, the first time only: the user's ``$OPTISCOPE_THREADS``
    when set, else ``threads_for(work, usable_cores())`` when the caller knows its ``work`` (``step_work``), else
    every usable core (the work unknown, as before); later calls change nothing, so a caller (a benchmark,
    a test) that sets its own count afterwards keeps it. A process alone cannot see other busy processes: on a shared
    machine, fewer threads can be much faster (``WORK_PER_THREAD``): ``OPTISCOPE_THREADS=1``.
    """
    global _configured_threads
    with _THREADS_LOCK:
        if threads is not None:
            _configured_threads = check_number("configure_threads", "threads", threads, low=1, integer=True)
            torch.set_num_threads(_configured_threads)
        elif _configured_threads is None:
            cap, cores = thread_cap(), usable_cores()
            _configured_threads = cap or (cores if work is None else threads_for(work, cores))
            torch.set_num_threads(_configured_threads)
        return torch.get_num_threads()
