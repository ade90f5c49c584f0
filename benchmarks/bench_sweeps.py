"""Sweep throughput: trials per minute with 1 and 2 local workers on the same small study, and the wall time of
``reproduce agaw`` in full mode.

The small study tunes Adam's lr on MNIST-1D (``--trials`` trials of ``--epochs`` epochs, no pruning, so every trial
does the same work) in a fresh journal storage, once with one worker (in this process, torch on every core) and
once with two worker processes (one torch thread each); the scaling ratio is the second's trials per minute over the
first's. Both include start-up: the two workers' process spawn and imports (a few seconds, which is why the
study is not smaller) are part of what a user waits for.
Then ``reproduce agaw`` with the claim's full budgets (3 modes x 15 trials of 50 epochs, then 3 modes x 10 seeds
of 50 epochs) and two workers for the tuning. Target (issue 6): under 10 minutes on a 2-core machine.

    make bench    # or: PYTHONPATH=. python benchmarks/bench_sweeps.py [--trials 16] [--epochs 15] [--skip-agaw]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from engine.sweeps import claims, studies
from engine.sweeps.search_space import default_space
from engine.tasks.mnist1d import dataset_path, load_mnist1d

AGAW_TARGET_SECONDS = 600.0


def fresh_home() -> Path:
    """A temporary ``$OPTISCOPE_HOME`` holding the MNIST-1D cache (generated once if needed)."""
    load_mnist1d()
    cache = dataset_path()
    home = Path(tempfile.mkdtemp(prefix="optiscope-bench-"))
    (home / "cache").mkdir()
    shutil.copy(cache, home / "cache" / cache.name)
    os.environ["OPTISCOPE_HOME"] = str(home)
    return home


def trials_per_minute(workers: int, trials: int, epochs: int) -> float:
    """Trials per minute of a fresh small study run with ``workers`` local workers."""
    spec = studies.SweepSpec(name=f"bench-{workers}", modes=(studies.Mode("Adam", "adam",
                             space=default_space("adam")),), trials=trials, epochs=epochs, pruner="none")
    storage = f"journal:{fresh_home() / 'studies.log'}"
    start = time.perf_counter()
    rows = studies.run_sweep(spec, workers=workers, storage_url=storage)
    seconds = time.perf_counter() - start
    done = sum(row.complete + row.pruned for row in rows)
    assert done == trials, f"{done} of {trials} trials ended"
    return done / seconds * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--skip-agaw", action="store_true", help="only the scaling measurement")
    args = parser.parse_args()

    one = trials_per_minute(1, args.trials, args.epochs)
    two = trials_per_minute(2, args.trials, args.epochs)
    print(f"small study: Adam lr on MNIST-1D, {args.trials} trials of {args.epochs} epochs, no pruning")
    print(f"1 worker   {one:7.1f} trials/min")
    print(f"2 workers  {two:7.1f} trials/min   scaling ratio {two / one:.2f}x (ideal on 2 cores: 2x)")
    if args.skip_agaw:
        return
    fresh_home()
    start = time.perf_counter()
    result = claims.reproduce("agaw", seeds=10, workers=2)
    assert result is not None, "nothing stops this reproduction"
    seconds = time.perf_counter() - start
    tuning, evaluation = result.seconds["tuning"], result.seconds["evaluation"]
    verdict = "met" if seconds <= AGAW_TARGET_SECONDS else "MISSED"
    print(claims.format_table(claims.get_claim("agaw"), result))
    print(f"reproduce agaw (full, 2 workers): {seconds:.0f} s  (target <= {AGAW_TARGET_SECONDS:.0f} s: {verdict})")
    dominant = "tuning" if tuning >= evaluation else "final training over seeds"
    print(f"  tuning {tuning:.0f} s ({tuning / seconds:.0%}), final training {evaluation:.0f} s "
          f"({evaluation / seconds:.0%}): {dominant} dominates")


if __name__ == "__main__":
    main()
