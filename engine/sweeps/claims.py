"""The seed claims as data (``assets/claims.json``) and their reproduction: tuned fairly, judged over seeds.

A claim names its modes (optimizers, fixed values, tuned ranges), its budget (trials and epochs per trial), the
final training length, the pairs it compares and the numbers the write-up reported. ``reproduce`` tunes every mode
with the same budget (``engine.sweeps.studies``: the objective is the validation loss, never the test set), trains each
mode's best configuration from seeds 1..N (seed 0 tuned it; the same initial weights and batches for every mode
of a seed) and compares the pairs with Welch's t-test.

Two metrics each: the write-up's own (``metric``, e.g. the best test accuracy over epochs, which peeks at the test
set by choosing the epoch on it) and the clean one (``clean_metric``, e.g. the test accuracy at the epoch of lowest
validation loss). A comparison's verdict at level ``ALPHA``: *holds* when the difference is significant and in the
claimed direction (the sign of the write-up's reported difference, else "the first mode is better"), *contradicted*
when it is significant the other way, else *not distinguishable at N seeds*. A ``--quick`` reproduction shrinks the
budgets to a smoke test: its comparisons say ``SMOKE_TEST``, never a verdict.

``reproduce`` reports its progress as ``ReproductionProgress`` (trials of the tuning, then steps of the training over
seeds, each with an ETA), for the command line's bar and the page's.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.home import optiscope_home
from engine.runs import RunResult, Welch, mean_ci, run_comparison, text_table, welch
from engine.sweeps import search_space, studies
from engine.sweeps.storage import open_storage
from engine.sweeps.studies import Mode, SweepSpec
from optimizers.registry import HyperValue
from optimizers.validation import check_choice, check_number

CLAIMS_PATH = Path(__file__).resolve().parents[2] / "assets" / "claims.json"
ALPHA = 0.05
QUICK = {"trials": 2, "tune_epochs": 1, "epochs": 2, "seeds": 2}
"""``--quick``: budgets shrunk so that every claim runs end to end in seconds (for tests, not for verdicts)."""
SMOKE_TEST = "smoke test: budgets shrunk"
"""What a quick reproduction says in place of a verdict."""
NONE = "—"  # a table's cell without a number (a dash alone would be a Markdown list item in the page's tables)


@dataclass(frozen=True)
class Metric:
    """A number read from a run's per-epoch rows: ``name`` in a table's few words, ``description`` in full."""

    key: str
    name: str
    description: str
    higher_is_better: bool
    read: Callable[[list[dict[str, float]]], float]


def _at_best_val(column: str) -> Callable[[list[dict[str, float]]], float]:
    def read(epochs: list[dict[str, float]]) -> float:
        finite = [row for row in epochs if math.isfinite(row["val_loss"])]
        return min(finite, key=lambda row: row["val_loss"])[column] if finite else math.nan
    return read


METRICS = {
    metric.key: metric for metric in (
        Metric("best_test_accuracy", "best test accuracy", "best test accuracy over epochs (peeks at the test set)",
               True, lambda epochs: max((row["test_accuracy"] for row in epochs), default=math.nan)),
        Metric("test_accuracy_at_best_val", "test accuracy at best validation",
               "test accuracy at the epoch of lowest validation loss", True, _at_best_val("test_accuracy")),
        Metric("best_val_loss", "lowest validation loss", "lowest validation loss over epochs", False,
               lambda epochs: min((row["val_loss"] for row in epochs), default=math.nan)),
        Metric("final_val_loss", "final validation loss", "validation loss after the last epoch", False,
               lambda epochs: epochs[-1]["val_loss"] if epochs else math.nan),
        Metric("test_loss_at_best_val", "test loss at best validation",
               "test loss at the epoch of lowest validation loss", False, _at_best_val("test_loss")),
    )
}


@dataclass(frozen=True)
class Claim:
    """One experiment of the seed write-ups, as data (``source`` names the write-up)."""

    key: str
    title: str
    source: str
    statement: str
    sweep: SweepSpec  # the tuning: modes, trials per mode, epochs per trial
    epochs: int  # the final training of each mode's best configuration
    comparisons: tuple[tuple[str, str], ...]  # (mode, baseline) pairs
    metric: str
    clean_metric: str
    reported: dict[str, float] = field(default_factory=dict)
    reported_params: dict[str, dict[str, HyperValue]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels = [mode.label for mode in self.sweep.modes]
        for pair in self.comparisons:
            for label in pair:
                check_choice(self.key, "compared mode", label, labels)
        check_choice(self.key, "metric", self.metric, tuple(METRICS))
        check_choice(self.key, "clean_metric", self.clean_metric, tuple(METRICS))
        check_number(self.key, "epochs", self.epochs, low=1, high=10_000, integer=True)

    def quick(self) -> Claim:
        """The same claim with ``QUICK``'s budgets, under its own study name."""
        sweep = replace(self.sweep, name=f"{self.sweep.name}-quick", trials=QUICK["trials"],
                        epochs=QUICK["tune_epochs"])
        return replace(self, sweep=sweep, epochs=QUICK["epochs"])

    def claimed_better(self, mode: str, baseline: str) -> bool:
        """Whether the write-up claims ``mode`` better than ``baseline`` (on either metric: better is better): the sign
        of its reported difference on its own metric where it reported both, else yes (a claim names its
        contender first)."""
        if mode in self.reported and baseline in self.reported:
            difference = self.reported[mode] - self.reported[baseline]
            return difference > 0 if METRICS[self.metric].higher_is_better else difference < 0
        return True


def load_claims(path: Path = CLAIMS_PATH) -> dict[str, Claim]:
    """Every claim in ``path`` (``assets/claims.json``), checked."""
    data = json.loads(path.read_text())
    return {key: _claim(key, entry) for key, entry in data.items()}


def get_claim(key: str) -> Claim:
    """Claim ``key``; ``ValueError`` listing the known claims otherwise."""
    claims = load_claims()
    check_choice("reproduce", "claim", key, tuple(claims))
    return claims[key]


def _claim(key: str, entry: Mapping[str, Any]) -> Claim:
    modes = tuple(
        Mode(mode["label"], mode["key"], dict(mode.get("fixed", {})), search_space.from_dict(mode.get("space", {})))
        for mode in entry["modes"]
    )
    sweep = SweepSpec(name=f"claim-{key}", modes=modes, trials=entry["trials"], task=entry["task"],
                      epochs=entry["tune_epochs"], batch_size=entry["batch_size"],
                      task_args=dict(entry.get("task_args", {})), seed=0, pruner=entry.get("pruner", "median"))
    return Claim(
        key=key, title=entry["title"], source=entry["source"], statement=entry["statement"], sweep=sweep,
        epochs=entry["epochs"], comparisons=tuple(tuple(pair) for pair in entry["comparisons"]),  # type: ignore[misc]
        metric=entry["metric"], clean_metric=entry["clean_metric"], reported=dict(entry.get("reported", {})),
        reported_params={mode["label"]: mode["reported_params"] for mode in entry["modes"]
                         if "reported_params" in mode},
    )


@dataclass(frozen=True)
class ModeOutcome:
    """One mode's final runs: its chosen hyperparameters and, per seed, both metrics (NaN where it diverged):
    ``seed_metric`` is the write-up's metric (the name is the stored JSON's), ``clean_metric`` the clean one."""

    label: str
    hyperparameters: dict[str, HyperValue]
    seed_metric: list[float]
    clean_metric: list[float]
    diverged: int


@dataclass(frozen=True)
class Verdict:
    """One comparison on one metric."""

    mode: str
    baseline: str
    metric: str
    claimed_better: bool
    difference: float
    p: float
    verdict: str


@dataclass(frozen=True)
class Reproduction:
    """What ``reproduce`` measured; JSON round-trip, saved under ``$OPTISCOPE_HOME/claims``."""

    claim: str
    quick: bool
    seeds: list[int]
    modes: list[ModeOutcome]
    verdicts: list[Verdict]
    seconds: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reproduction:
        return cls(data["claim"], data["quick"], list(data["seeds"]),
                   [ModeOutcome(**mode) for mode in data["modes"]],
                   [Verdict(**verdict) for verdict in data["verdicts"]], dict(data["seconds"]))


@dataclass(frozen=True)
class ReproductionProgress:
    """Where a reproduction stands, for a progress bar: stage 1 of 2 tunes (``done`` of ``total`` trials), stage 2
    trains the best configurations from every seed at once (``done`` of ``total`` steps, all runs counted). The ETA
    extrapolates the stage's pace: elapsed / done_here * (total - done), ``done_here`` counting only what this run
    did (not the trials a stopped tuning had already spent); NaN until something is done."""

    stage: int
    text: str
    done: int
    total: int
    unit: str
    eta_seconds: float

    @property
    def fraction(self) -> float:
        """Of the stage, in [0, 1]."""
        return min(self.done / self.total, 1.0) if self.total > 0 else 0.0


def judge(difference: float, p: float, claimed_better: bool, higher_is_better: bool, seeds: int) -> str:
    """``holds``, ``contradicted`` or ``not distinguishable at N seeds`` (module docstring)."""
    if not math.isfinite(p) or p >= ALPHA or difference == 0:
        return f"not distinguishable at {seeds} seeds"
    better = difference > 0 if higher_is_better else difference < 0
    return "holds" if better == claimed_better else "contradicted"


def reproduce(key: str, *, seeds: int = 10, quick: bool = False, workers: int = 1, storage_url: str | None = None,
              on_stage: Callable[[str], None] | None = None,
              on_progress: Callable[[ReproductionProgress], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> Reproduction | None:
    """Tune claim ``key`` as it was tuned, train every mode's best configuration from seeds 1..``seeds`` and judge
    its comparisons; the result is saved (``result_path``) and returned. ``on_stage`` names each stage as it
    begins; ``on_progress`` reports it then, after each trial and about once a second of the training.

    ``should_stop`` stops the tuning (its trial in progress is requeued for the next start) or the training; a
    stopped reproduction saves nothing and returns None, so the last saved result stays.
    """
    check_number("reproduce", "seeds", seeds, low=2, high=1000, integer=True)
    claim = get_claim(key).quick() if quick else get_claim(key)
    stopped = should_stop or (lambda: False)
    report = on_progress or (lambda _progress: None)
    storage = open_storage(storage_url)
    started = time.monotonic()
    tuned_modes = sum(bool(mode.space) for mode in claim.sweep.modes)
    text = f"tuning {tuned_modes} modes, {claim.sweep.trials} trials each"
    if on_stage:
        on_stage(text)
    studies.prepare(claim.sweep, storage)
    total, before = claim.sweep.trials * tuned_modes, _trials_used(studies.progress(claim.sweep, storage))

    def tuning(rows: list[studies.ModeProgress]) -> None:
        done, elapsed = _trials_used(rows), time.monotonic() - started
        eta = elapsed / (done - before) * (total - done) if done > before else math.nan
        report(ReproductionProgress(1, text, done, total, "trials", eta))

    tuning(studies.progress(claim.sweep, storage))
    studies.run_sweep(claim.sweep, workers=workers, storage_url=storage_url, on_progress=tuning, should_stop=stopped)
    if stopped():  # tuned on part of the budget: not the claim's tuning
        return None
    tuned = time.monotonic()
    choices = studies.best_choices(claim.sweep, storage)
    seed_list = tuple(range(1, seeds + 1))
    text = (f"training the best configurations for {claim.epochs} epochs from seeds 1..{seeds} "
            f"({len(choices) * seeds} runs together)")
    if on_stage:
        on_stage(text)
    comparison = studies.comparison(claim.sweep, choices, seed_list, claim.epochs)
    report(ReproductionProgress(2, text, 0, 0, "steps", math.nan))
    results = run_comparison(comparison, should_stop=stopped, on_progress=lambda progress: report(
        ReproductionProgress(2, text, progress.steps_done, progress.steps_total, "steps", progress.eta_seconds)))
    if stopped():  # runs cut short: never judged, never saved over the last result
        return None
    outcomes = _outcomes(claim, choices, results)
    reproduction = Reproduction(
        claim=key, quick=quick, seeds=list(seed_list), modes=outcomes, verdicts=_verdicts(claim, outcomes, quick),
        seconds={"tuning": tuned - started, "evaluation": time.monotonic() - tuned},
    )
    path = result_path(key, quick)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(reproduction.to_dict(), indent=1))
    temporary.replace(path)
    return reproduction


def result_path(key: str, quick: bool = False) -> Path:
    """Where ``reproduce`` saves claim ``key``'s result."""
    return optiscope_home() / "claims" / f"{key}{'-quick' if quick else ''}.json"


def load_result(key: str, quick: bool = False) -> Reproduction | None:
    """The last saved reproduction of claim ``key`` (None when there is none or it cannot be read)."""
    try:
        return Reproduction.from_dict(json.loads(result_path(key, quick).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _trials_used(rows: Sequence[studies.ModeProgress]) -> int:
    """The tuning budget spent: trials complete or pruned (a failed one is queued again)."""
    return sum(row.complete + row.pruned for row in rows)


def _outcomes(claim: Claim, choices: Mapping[str, Any], results: Sequence[RunResult]) -> list[ModeOutcome]:
    metric, clean = METRICS[claim.metric], METRICS[claim.clean_metric]
    labels = list(choices)
    outcomes = []
    for position, label in enumerate(labels):
        runs = [result for index, result in enumerate(results) if index % len(labels) == position]
        usable = [result for result in runs if result.status != "diverged"]
        outcomes.append(ModeOutcome(
            label=label,
            hyperparameters=dict(choices[label].hyperparameters),
            seed_metric=[metric.read(r.epochs) if r in usable else math.nan for r in runs],
            clean_metric=[clean.read(r.epochs) if r in usable else math.nan for r in runs],
            diverged=len(runs) - len(usable),
        ))
    return outcomes


def _verdicts(claim: Claim, outcomes: Sequence[ModeOutcome], quick: bool) -> list[Verdict]:
    by_label = {outcome.label: outcome for outcome in outcomes}
    verdicts = []
    for mode, baseline in claim.comparisons:
        for metric_key, attribute in ((claim.metric, "seed_metric"), (claim.clean_metric, "clean_metric")):
            metric = METRICS[metric_key]
            test: Welch = welch(getattr(by_label[mode], attribute), getattr(by_label[baseline], attribute))
            claimed = claim.claimed_better(mode, baseline)
            seeds = len(getattr(by_label[mode], attribute))
            verdict = SMOKE_TEST if quick else judge(test.difference, test.p, claimed, metric.higher_is_better, seeds)
            verdicts.append(Verdict(mode, baseline, metric_key, claimed, test.difference, test.p, verdict))
    return verdicts


def mode_rows(claim: Claim, reproduction: Reproduction) -> list[dict[str, str]]:
    """Per mode: the write-up's number beside ours (mean ± 95% CI over seeds) on both metrics, the diverged runs
    and the tuned values; the CLI prints these rows as text, the page as a table."""
    metric, clean = METRICS[claim.metric], METRICS[claim.clean_metric]
    n = len(reproduction.seeds)
    rows = []
    for outcome in reproduction.modes:
        reported = claim.reported.get(outcome.label)
        space = next((m.space for m in claim.sweep.modes if m.label == outcome.label), {})
        tuned = ", ".join(f"{name}={_short(value)}" for name, value in outcome.hyperparameters.items()
                          if name in space)
        rows.append({"mode": outcome.label, "write-up's number": f"{reported:.4f}" if reported is not None else NONE,
                     f"ours: {metric.name}": ci_text(outcome.seed_metric),
                     f"ours: {clean.name} (clean)": ci_text(outcome.clean_metric),
                     "diverged": f"{outcome.diverged}/{n}", "tuned": tuned or "(preset)"})
    return rows


def comparison_rows(reproduction: Reproduction) -> list[dict[str, str]]:
    """Per comparison and metric: the verdict (``SMOKE_TEST`` for a quick reproduction; third, so a phone shows it
    without scrolling), the direction the write-up claims, our difference of means and Welch's p."""
    rows = []
    for verdict in reproduction.verdicts:
        metric = METRICS[verdict.metric]
        better = "higher" if metric.higher_is_better else "lower"
        claimed = better if verdict.claimed_better else ("lower" if better == "higher" else "higher")
        rows.append({"comparison": f"{verdict.mode} vs {verdict.baseline}", "metric": metric.name,
                     "verdict": verdict.verdict, "claimed": claimed, "difference": f"{verdict.difference:+.4f}",
                     "Welch p": f"{verdict.p:.3g}" if math.isfinite(verdict.p) else NONE})
    return rows


def format_table(claim: Claim, reproduction: Reproduction) -> str:
    """The printed report: ``mode_rows`` and ``comparison_rows`` as text tables under a header naming the claim, its
    source, both metrics and the seeds."""
    metric, clean = METRICS[claim.metric], METRICS[claim.clean_metric]
    lines = [
        f"{claim.key}: {claim.title} ({claim.source})" + (f" [{SMOKE_TEST}]" if reproduction.quick else ""),
        f"write-up's metric = {metric.name}: {metric.description}",
        f"clean metric      = {clean.name}: {clean.description}",
        f"ours: mean ± 95% CI over seeds {reproduction.seeds[0]}..{reproduction.seeds[-1]} "
        f"(n={len(reproduction.seeds)}); tuning {reproduction.seconds['tuning']:.0f} s, "
        f"evaluation {reproduction.seconds['evaluation']:.0f} s",
        "",
    ]
    for rows in (mode_rows(claim, reproduction), comparison_rows(reproduction)):
        lines += [text_table([tuple(rows[0]), *(tuple(row.values()) for row in rows)]), ""]
    return "\n".join(lines[:-1])


def ci_text(values: Sequence[float]) -> str:
    """``mean ± half-width`` of the 95% CI over seeds (``MeanCI``'s text); ``NONE`` when every run diverged."""
    ci = mean_ci(values)
    return str(ci) if ci.n else NONE


def _short(value: HyperValue) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
