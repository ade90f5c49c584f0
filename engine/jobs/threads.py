"""The server process's core budget: the torch threads of every running worker process, leased from the usable cores.

A worker (``engine.jobs.worker.Worker``) leases when it starts, with the multiply-adds a step of its work
(``engine.runs.device.step_work``), and gives its lease back when its process ends (finished, failed, stopped or
killed). Each lease *wants* ``threads_for(work, cores)`` threads (``engine.runs.device``: 1 for a 2-D surface or
one seed-MLP run, more for stacked runs and larger networks) and *gets* a share (``share_out``): every lease at least
1 thread, and the cores left over handed out one at a time, round robin in lease order, to the leases that want
more. So the shares never sum to more than the cores, except for the floor of one thread per running worker when
more workers run than there are cores (the job manager's ``max_running`` defaults to the usable cores, so its own
jobs never need the floor; a sweep started with more processes than cores does). A lease never waits: a job that
finds every core leased still starts, with 1 thread, and the others' shares shrink to make room; when a lease ends,
the others grow back. A worker applies a changed share at its next poll of ``should_stop`` (every step of a run).

Why shares change rather than wait or stay as granted, measured on this 2-core VM with the seed MLP's training
step: three 1-thread processes side by side took 4.0-4.5 s for what one takes alone in 2.6 s (the cores
time-sliced, fair), while a 2-thread process of 8 stacked runs beside one 1-thread process took 5.2 s for what it
takes alone in 1.9 s, and 3.3 s had it run on 1 thread: a multi-threaded worker must give its threads back as soon as
another arrives. Waiting instead would leave a comparison queued for as long as a sweep runs (hours).

Only worker processes lease: the 2-D comparisons that the job manager runs in threads of the server process are a
few dozen multiply-adds a step, far below one thread's worth. The budget knows this process's workers, not the other
processes of the machine: where they keep cores busy (a shared VM), ``$OPTISCOPE_THREADS`` caps it (``1``: one thread
per worker). Measured in three runs of ``benchmarks/bench_engine.py`` while other processes loaded this 2-core VM to
a load average of 4 to 14, 2 threads ran the default seed-MLP run 3-19x slower than 1, and runs of about 200 M
multiply-adds a step anywhere from 1.5x faster to 16x slower, where on the idle VM they are 1.1x and 1.5-1.7x faster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from engine.runs import usable_cores
from engine.runs.device import thread_cap, threads_for
from optimizers.validation import check_number


def share_out(wants: Sequence[int], cores: int) -> list[int]:
    """Each lease's threads: at least 1 and at most what it wants; the ``cores`` left after one each go one at a time,
    round robin in order, to the leases that want more (max-min fair)."""
    shares = [1] * len(wants)
    spare = cores - len(wants)
    while spare > 0:
        hungry = [index for index, want in enumerate(wants) if shares[index] < want]
        if not hungry:
            break
        for index in hungry[:spare]:
            shares[index] += 1
        spare -= min(spare, len(hungry))
    return shares


class Lease:
    """One worker's claim on the budget: ``wanted`` threads for its work, ``threads`` its share now. ``on_change``
    (called under the budget's lock, so it must not call the budget) hears each share: the first, then every change."""

    def __init__(self, wanted: int, on_change: Callable[[int], None] | None) -> None:
        self.wanted = wanted
        self.threads = 0  # no share until the budget gives it one
        self._on_change = on_change

    def _set(self, threads: int) -> None:
        if threads != self.threads:
            self.threads = threads
            if self._on_change is not None:
                self._on_change(threads)


class ThreadBudget:
    """``cores`` threads (default: the user's ``$OPTISCOPE_THREADS``, else the usable cores), leased to this
    process's worker processes; see the module docstring. Thread-safe."""

    def __init__(self, cores: int | None = None) -> None:
        cores = cores or thread_cap() or usable_cores()
        self.cores = int(check_number("ThreadBudget", "cores", cores, low=1, integer=True))
        self._leases: list[Lease] = []
        self._lock = threading.Lock()

    def lease(self, work: float, on_change: Callable[[int], None] | None = None) -> Lease:
        """A lease for work of ``work`` multiply-adds a step; its ``threads`` are its share at once (never waits)."""
        lease = Lease(threads_for(work, self.cores), on_change)
        with self._lock:
            self._leases.append(lease)
            self._share()
        return lease

    def release(self, lease: Lease) -> None:
        """Give ``lease``'s threads back to the others; releasing it again changes nothing."""
        with self._lock:
            if lease in self._leases:
                self._leases.remove(lease)
                self._share()

    @property
    def leased(self) -> int:
        """The threads leased now: at most ``cores``, or one per lease when there are more leases than cores."""
        with self._lock:
            return sum(lease.threads for lease in self._leases)

    def _share(self) -> None:
        for lease, threads in zip(self._leases, share_out([lease.wanted for lease in self._leases], self.cores),
                                  strict=True):
            lease._set(threads)


_DEFAULT = ThreadBudget()


def default_budget() -> ThreadBudget:
    """The budget of this process's usable cores, which every ``Worker`` leases from unless given another."""
    return _DEFAULT
