"""Sweeps and claim reproductions in the background, for the Sweeps page: named jobs of ``engine.jobs`` (a worker
process each, found by its kind and name).

``start_sweep`` prepares the sweep in its storage here (a bad storage URL, or a name that exists with another search
space, raises ``ValueError`` at once, before anything runs), then starts its workers (``studies.worker_main``, as
``run_sweep`` does) and returns. ``start_reproduction`` runs ``claims.reproduce`` in a worker; its progress (stage,
done of total, ETA: ``claims.ReproductionProgress``) travels as the job's ``stage`` report, for the page's progress
bar (``reproduction_progress``).

One stop for both (``engine.jobs.worker``): ``stop_sweep`` and ``stop_reproduction`` ask the work to stop
cooperatively and terminate it if it has not ended ``STOP_GRACE`` seconds later. A stopped sweep's trials in progress
end FAIL and are requeued (a terminated worker's, by the next start), so Resume continues the study; a stopped
reproduction saves nothing (``claims.reproduce`` returns None), so the last saved result stays. A job ends
``finished``, ``cancelled`` (stopped) or ``failed`` (``NamedJobStatus.error``: a message, never a traceback).

Everything a job produced lives in the study storage and the claims' result files, so a page reload, or a restart,
re-reads it from there and nothing is lost. Workers never call Streamlit: this module does not import it.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.jobs import NamedJobStatus, Report, get_registry
from engine.runs.device import step_work
from engine.sweeps import claims, studies
from engine.sweeps.storage import open_storage
from optimizers.validation import check_number

SWEEP, REPRODUCTION = "sweep", "reproduction"


def start_sweep(spec: studies.SweepSpec, *, workers: int = 1, storage_url: str | None = None) -> None:
    """Run sweep ``spec`` in the background with ``workers`` local processes until its budgets are spent.

    ``ValueError`` at once for a bad ``workers``, a storage that cannot be opened, a name that exists with another
    search space or setup, or a sweep of that name already running here.
    """
    check_number("sweep", "workers", workers, low=1, high=64, integer=True)
    get_registry().start(SWEEP, spec.name, studies.worker_main, storage_url, spec.name, processes=workers,
                         prepare=lambda: studies.prepare(spec, open_storage(storage_url)),
                         work=step_work(spec.settings()))


def stop_sweep(name: str) -> bool:
    """Ask sweep ``name`` to stop (see the module docstring); False when it is not running here."""
    return get_registry().stop(SWEEP, name)


def is_running(name: str) -> bool:
    """Whether sweep ``name`` runs in this server process (it may also be run by workers elsewhere)."""
    return get_registry().running(SWEEP, name)


def running_sweeps() -> list[str]:
    """The names of the sweeps running in this server process, oldest first."""
    return get_registry().running_names(SWEEP)


def sweep_state(name: str) -> NamedJobStatus | None:
    """Sweep ``name``'s job as it stands, or None when this server process never started it."""
    return get_registry().status(SWEEP, name)


def start_reproduction(key: str, *, quick: bool, seeds: int) -> None:
    """Run ``claims.reproduce(key, quick=quick, seeds=seeds)`` in the background; its result is saved to
    ``claims.result_path(key, quick)``. ``ValueError`` at once for an unknown claim, a bad ``seeds`` or a
    reproduction of the same claim and budget already running."""
    claim = claims.get_claim(key)
    check_number("reproduce", "seeds", seeds, low=2, high=1000, integer=True)
    final = step_work(claim.sweep.settings(claim.epochs), seeds * len(claim.sweep.modes))  # its batched evaluation
    get_registry().start(REPRODUCTION, _reproduction_name(key, quick), _reproduction_main, key, quick, seeds,
                         work=final)


def stop_reproduction(key: str, quick: bool) -> bool:
    """Ask the reproduction of claim ``key`` to stop (see the module docstring: nothing is saved, the last saved
    result stays); False when it is not running here."""
    return get_registry().stop(REPRODUCTION, _reproduction_name(key, quick))


def reproduction_running(key: str, quick: bool) -> bool:
    """Whether the reproduction of claim ``key`` (quick or full) runs in this server process."""
    return get_registry().running(REPRODUCTION, _reproduction_name(key, quick))


def reproduction_state(key: str, quick: bool) -> NamedJobStatus | None:
    """The reproduction job of claim ``key`` as it stands, or None when this server process never started it."""
    return get_registry().status(REPRODUCTION, _reproduction_name(key, quick))


def reproduction_progress(key: str, quick: bool) -> claims.ReproductionProgress | None:
    """Where the reproduction of claim ``key`` stands while it runs here; None before its first report or when it does
    not run."""
    state = reproduction_state(key, quick)
    progress = state.stage if state is not None and state.running else None
    return progress if isinstance(progress, claims.ReproductionProgress) else None


def _reproduction_name(key: str, quick: bool) -> str:
    return f"{key}-quick" if quick else key


def _reproduction_main(key: str, quick: bool, seeds: int, *, report: Report, should_stop: Callable[[], bool]) -> None:
    """A reproduction's worker (module level: spawn pickles it by name): ``claims.reproduce``, reporting its progress
    as ``("stage", ReproductionProgress)``."""
    claims.reproduce(key, seeds=seeds, quick=quick, on_progress=lambda progress: report("stage", progress),
                     should_stop=should_stop)
