"""The sweep commands of ``python -m engine``: ``sweep`` (tune with N local worker processes), ``worker`` (join a
sweep, or a sensitivity grid's study, from any machine) and ``reproduce`` (a seed claim, tuned and judged over seeds;
``--ship`` also writes it as the claim's shipped result under ``assets/claims_results``, ``--ship --from-saved`` ships
the full reproduction already saved under ``$OPTISCOPE_HOME/claims`` without running it again).
See ``engine.sweeps.studies``, ``engine.sweeps.grid``, ``engine.sweeps.claims`` and ``engine.sweeps.shipped``; bad
arguments exit with status 2 and one line, as ``run`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.cli.interrupt import interruptible
from engine.cli.text import progress_bar
from engine.runs import text_table
from engine.sweeps import claims, grid, shipped, studies
from engine.tasks import get_task


def add_commands(commands: Any) -> None:
    """Add ``sweep``, ``worker`` and ``reproduce`` to the ``python -m engine`` sub-parsers."""
    sweep = commands.add_parser(
        "sweep", help="tune optimizers with Optuna (equal budgets), N local worker processes",
        description="Run the sweep SPEC_OR_CLAIM: a claim's tuning (see `reproduce`) or a JSON sweep spec file.")
    sweep.add_argument("target", metavar="SPEC_OR_CLAIM",
                       help=f"a claim ({', '.join(claims.load_claims())}) or a sweep spec .json file")
    sweep.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    sweep.add_argument("--storage", help="journal:PATH or an Optuna RDB URL, e.g. postgresql://user@host/db "
                                         "(default journal:$OPTISCOPE_HOME/studies/journal.log)")
    sweep.add_argument("--trials", type=int, help="trials per optimizer (default: the spec's)")
    sweep.add_argument("--quick", action="store_true", help="a claim's shrunk budgets (for a smoke test)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")

    worker = commands.add_parser("worker", help="join a sweep or a sensitivity grid; run its trials until none waits",
                                 description="Join the sweep or sensitivity grid NAME in STORAGE (e.g. from another "
                                 "machine).")
    worker.add_argument("--storage", required=True, help="journal:PATH or an Optuna RDB URL")
    worker.add_argument("--study", required=True, metavar="NAME",
                        help="the sweep's name, or the study that `sensitivity --storage` names")

    reproduce = commands.add_parser(
        "reproduce", help="tune a seed claim as it was tuned, then judge it over seeds",
        description="Tune CLAIM's modes, train each best configuration from seeds 1..N and compare them.")
    reproduce.add_argument("claim", help=", ".join(claims.load_claims()))
    reproduce.add_argument("--seeds", type=int, default=10, help="final training seeds (default 10)")
    reproduce.add_argument("--quick", action="store_true", help="shrunk budgets: a smoke test, no verdict")
    reproduce.add_argument("--workers", type=int, default=1, help="local worker processes for the tuning")
    reproduce.add_argument("--storage", help="as for sweep")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bar")
    reproduce.add_argument("--ship", action="store_true", help="also write the result, with its date, versions and "
                           "this command, as the claim's shipped result (assets/claims_results/CLAIM.json)")
    reproduce.add_argument("--from-saved", action="store_true", help="with --ship: ship the full reproduction saved "
                           "under $OPTISCOPE_HOME/claims (dated by its file), without running it again")


def run(args: argparse.Namespace) -> int:
    """Run the parsed sweep command; ``ValueError`` on bad input (the caller exits 2 with its message)."""
    if args.command == "worker":
        work = grid.work if grid.owns(args.storage, args.study) else studies.work  # a sensitivity grid, or a sweep
        with interruptible() as stop:
            ended = work(args.storage, args.study, should_stop=stop.is_set)
        print(f"{args.study}: {ended} trial{'s' * (ended != 1)} ended in this worker")
        return 0
    if args.command == "reproduce":
        return _reproduce(args)
    return _sweep(args)


def sweep_spec(target: str, *, quick: bool = False, trials: int | None = None) -> studies.SweepSpec:
    """The sweep ``target`` names: a claim's key, or the path of a JSON ``SweepSpec``."""
    known = claims.load_claims()
    if target in known:
        spec = (known[target].quick() if quick else known[target]).sweep
    else:
        path = Path(target)
        if not path.is_file():
            raise ValueError(f"sweep: unknown SPEC_OR_CLAIM {target!r}; expected a claim ({', '.join(known)}) "
                             "or a sweep spec .json file")
        try:
            spec = studies.SweepSpec.from_dict(json.loads(path.read_text()))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"sweep: cannot read {target}: {error}") from None
    if trials is not None:
        spec = studies.SweepSpec.from_dict({**spec.to_dict(), "trials": trials})
    return spec


def _sweep(args: argparse.Namespace) -> int:
    spec = sweep_spec(args.target, quick=args.quick, trials=args.trials)
    bar = progress_bar(args.quiet, unit="trial", total=spec.trials * sum(bool(mode.space) for mode in spec.modes))

    def on_progress(rows: list[studies.ModeProgress]) -> None:
        bar.n = sum(row.complete + row.pruned for row in rows)
        bar.refresh()

    with interruptible() as stop:
        try:
            rows = studies.run_sweep(spec, workers=args.workers, storage_url=args.storage, on_progress=on_progress,
                                     should_stop=stop.is_set)
        finally:
            bar.close()
    print(f"sweep {spec.name}: {spec.trials} trials per optimizer, objective: {get_task(spec.task).objective}")
    table = [("mode", "complete", "pruned", "failed", "best value", "best hyperparameters")]
    for row in rows:
        params = ", ".join(f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
                           for name, value in row.best_params.items())
        table.append((row.label, str(row.complete), str(row.pruned), str(row.failed), f"{row.best_value:.4f}",
                      params))
    print(text_table(table))
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    claim = claims.get_claim(args.claim)
    if args.ship and args.quick:
        raise ValueError("reproduce: --ship needs the full budgets; --quick runs a smoke test (budgets shrunk)")
    if args.from_saved:
        if not args.ship:
            raise ValueError("reproduce: --from-saved ships the saved result; add --ship")
        print(f"shipped: {shipped.ship_saved(args.claim, workers=args.workers)}")
        return 0
    bar = progress_bar(args.quiet, unit="trials", total=None)
    stages = [1]

    def on_progress(progress: claims.ReproductionProgress) -> None:
        if progress.stage != stages[-1]:  # the tuning's trials, then the training's steps, each with its ETA
            stages.append(progress.stage)
            bar.reset(total=progress.total or None)
            bar.unit = progress.unit
        bar.set_description(f"stage {progress.stage}/2", refresh=False)
        bar.total = progress.total or None
        bar.n = progress.done
        bar.refresh()

    with interruptible() as stop:
        try:
            result = claims.reproduce(args.claim, seeds=args.seeds, quick=args.quick, workers=args.workers,
                                      storage_url=args.storage, on_stage=lambda text: print(text, file=sys.stderr),
                                      on_progress=on_progress, should_stop=stop.is_set)
        finally:
            bar.close()
    if result is None:
        print("interrupted: nothing saved; the last saved result stays", file=sys.stderr)
        return 130
    print(claims.format_table(claim.quick() if args.quick else claim, result))
    print(f"saved: {claims.result_path(args.claim, args.quick)}")
    if args.ship:
        print(f"shipped: {shipped.ship(result, shipped.reproduce_command(args.claim, args.seeds, args.workers))}")
    return 0
