"""The step kinds on the seed MLP on MNIST-1D: ``seeds`` (a small comparison over a few seeds, Train's seed bands)
and ``claim`` (a seed claim re-run over seeds: its shipped full-budget reproduction, or a small live one).

A 95% confidence interval of a mean over n seeds is mean ± t_{0.975, n-1} s / sqrt(n) (``engine.runs.mean_ci``,
Student 1908); two optimizers whose intervals overlap are not told apart by these seeds.
"""



from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from engine.figures import BAND_CAPTION, SWEEP_CAPTIONS, band_epoch_figure, claims_figure, epoch_figure
from engine.lessons.base import Arguments, Config, Figures, Kind, Link, Outcome, only, percent, whole
from engine.runs import ComparisonSpec, MeanCI, OptimizerChoice, RunResult, mean_ci, run_comparison
from engine.sweeps import Claim, Reproduction, get_claim, shipped_result
from engine.sweeps.claims import METRICS, ModeOutcome
from engine.tasks import MNIST1D
from optimizers import HyperParam

OVERLAP, SEPARATE = "overlap", "separate"
LARGER, SMALLER = "larger", "smaller"
_ACCURACY = "test_accuracy"


@lru_cache(maxsize=16)
def _comparison(key: str) -> tuple[RunResult, ...]:
    """A comparison's runs, computed once per process (a few seconds on MNIST-1D; the lessons ask again)."""
    return tuple(run_comparison(ComparisonSpec.from_json(key)))


def _final_accuracy(runs: list[RunResult]) -> MeanCI:
    return mean_ci([run.epochs[-1][_ACCURACY] if run.epochs else math.nan for run in runs])


def _interval(ci: MeanCI) -> str:
    return f"{ci.mean:.1%} ± {ci.half_width * 100:.1f}"


def _train_link(choices: list[str], epochs: int, batch: int, seeds: int) -> Link:
    query = {"epochs": str(epochs), "batch": str(batch), "seeds": str(seeds), "n": str(len(choices)), "show": "band"}
    return Link("pages/train.py", "Train", query | {f"opt{i}": text for i, text in enumerate(choices, start=1)})


class SeedsKind(Kind):
    """Optimizers side by side on MNIST-1D over a few seeds, as Train's seed bands. Configuration: ``optimizers`` (2
    to 4), ``seeds`` (2 to 5), ``epochs`` (1 to 5: a lesson's comparison stays cheap) and ``batch_size``. Measure:
    ``bands``: whether the 95% intervals of the first two optimizers' final test accuracy ``overlap`` or
    ``separate``. Before the reveal only seed 0 is drawn: one seed, as a single write-up reports it."""

    name = "seeds"
    measures: ClassVar[dict[str, bool]] = {"bands": False}

    def check(self, data: Mapping[str, Any]) -> Config:
        only(data, ("optimizers", "seeds", "epochs", "batch_size"))
        optimizers = data.get("optimizers")
        if not isinstance(optimizers, list | tuple) or not 2 <= len(optimizers) <= 4:
            raise ValueError(f"invalid optimizers={optimizers!r}; expected 2 to 4 optimizers like 'adam:lr=0.01'")
        config = {"optimizers": [str(OptimizerChoice.parse(str(text))) for text in optimizers],
                  "seeds": whole(data, "seeds", 3, 2, 5), "epochs": whole(data, "epochs", 3, 1, 5),
                  "batch_size": whole(data, "batch_size", 128, 16, 1024)}
        self.spec(config)
        return config

    def spec(self, config: Config) -> ComparisonSpec:
        return ComparisonSpec(MNIST1D, tuple(OptimizerChoice.parse(text) for text in config["optimizers"]),
                              epochs=config["epochs"], batch_size=config["batch_size"],
                              seeds=tuple(range(config["seeds"])))

    def results(self, config: Config) -> tuple[RunResult, ...]:
        return _comparison(self.spec(config).to_json())

    def controls(self, config: Config) -> list[HyperParam]:
        return []  # every move would train again for seconds: Train is one click away

    def figures(self, config: Config, measure: str, arguments: Arguments, revealed: bool) -> Figures:
        results = self.results(config)
        if revealed:
            return [(band_epoch_figure(results, (_ACCURACY,), title="Test accuracy per epoch: mean and 95% band",
                                       y_title="test accuracy"), BAND_CAPTION)]
        first = [result for result in results if result.spec.seed == 0]
        return [(epoch_figure(first, (_ACCURACY,), title="Test accuracy per epoch, seed 0 alone",
                              y_title="test accuracy"),
                 "One seed, as a write-up that ran each optimizer once would show it. Commit to a prediction to see "
                 "every seed.")]

    def outcome(self, config: Config, measure: str, arguments: Arguments) -> Outcome:
        results = self.results(config)
        count = len(config["optimizers"])
        groups = [[r for index, r in enumerate(results) if index % count == position] for position in range(2)]
        cis = [_final_accuracy(runs) for runs in groups]
        labels = [runs[0].spec.optimizer.label for runs in groups]
        value = OVERLAP if cis[0].low <= cis[1].high and cis[1].low <= cis[0].high else SEPARATE
        seed0 = ", ".join(f"{label} {percent(runs[0].epochs[-1][_ACCURACY])}" for label, runs in
                          zip(labels, groups, strict=True))
        n = config["seeds"]
        theory = (f"Each interval is mean ± t · s / √n over n = {n} seeds, with Student's t = "
                  f"{_student_t(n):.2f}: few seeds make t large and the intervals wide.")
        run = (f"Seed 0 alone: {seed0}. Over {config['seeds']} seeds: "
               + "; ".join(f"{label} {_interval(ci)}" for label, ci in zip(labels, cis, strict=True))
               + f": the intervals {'overlap' if value == OVERLAP else 'do not overlap'}.")
        return Outcome(value, theory, run)

    def link(self, config: Config) -> Link:
        return _train_link(config["optimizers"], config["epochs"], config["batch_size"], config["seeds"])


def _student_t(n: int) -> float:
    """t_{0.975, n-1}: the half-width of ``mean_ci`` for a sample whose s / sqrt(n) is 1."""
    sample = [-1.0, 1.0] + [0.0] * (n - 2)
    spread = math.sqrt(sum(v * v for v in sample) / (n - 1)) / math.sqrt(n)
    return mean_ci(sample).half_width / spread


@lru_cache(maxsize=8)
def _live_reproduction(key: str, modes: tuple[str, ...], seeds: int, epochs: int) -> Reproduction:
    """A small live re-run of claim ``key``'s ``modes`` at the write-up's own settings (``reported_params``), from
    seeds 1..``seeds`` for ``epochs`` epochs: a smoke-sized stand-in while no full reproduction is shipped."""
    claim = get_claim(key)
    by_label = {mode.label: mode for mode in claim.sweep.modes}
    choices = [OptimizerChoice(by_label[label].key, {**by_label[label].fixed, **claim.reported_params.get(label, {})})
               for label in modes]
    spec = ComparisonSpec(claim.sweep.task, tuple(choices), epochs=epochs, batch_size=claim.sweep.batch_size,
                          task_args=dict(claim.sweep.task_args), seeds=tuple(range(1, seeds + 1)))
    results = _comparison(spec.to_json())
    metric, clean = METRICS[claim.metric], METRICS[claim.clean_metric]
    outcomes = []
    for position, (label, choice) in enumerate(zip(modes, choices, strict=True)):
        runs = [r for index, r in enumerate(results) if index % len(modes) == position]
        outcomes.append(ModeOutcome(label, dict(choice.hyperparameters), [metric.read(r.epochs) for r in runs],
                                    [clean.read(r.epochs) for r in runs], sum(r.status == "diverged" for r in runs)))
    return Reproduction(key, True, list(range(1, seeds + 1)), outcomes, [], {})


class ClaimKind(Kind):
    """A seed claim re-run over seeds: the claims figure of its shipped full-budget reproduction (``engine.sweeps.
    shipped_result``), or, while none is shipped, of a small live re-run (``seeds`` x ``epochs``, at the write-up's
    settings). Configuration: ``claim``, ``mode`` and ``baseline`` (two of its modes), ``seeds`` and ``epochs`` (the
    live re-run's). Measure: ``spread``: whether the baseline's seed-to-seed spread (max - min over seeds of the
    write-up's metric) is ``larger`` or ``smaller`` than the gap the write-up reported between the two modes."""

    name = "claim"
    measures: ClassVar[dict[str, bool]] = {"spread": False}

    def check(self, data: Mapping[str, Any]) -> Config:
        only(data, ("claim", "mode", "baseline", "seeds", "epochs"))
        claim = get_claim(str(data.get("claim", "")))
        labels = [mode.label for mode in claim.sweep.modes]
        config: Config = {"claim": claim.key}
        for name in ("mode", "baseline"):
            label = data.get(name)
            if label not in labels:
                raise ValueError(f"invalid {name}={label!r}; allowed values: {', '.join(labels)}")
            if label not in claim.reported:
                raise ValueError(f"invalid {name}={label!r}: the write-up reported no number for it")
            config[name] = label
        return config | {"seeds": whole(data, "seeds", 4, 2, 10), "epochs": whole(data, "epochs", 2, 1, 5)}

    def controls(self, config: Config) -> list[HyperParam]:
        return []

    def reproduction(self, config: Config) -> tuple[Claim, Reproduction]:
        """The claim and its shipped reproduction, or the small live one while none is shipped."""
        claim = get_claim(config["claim"])
        shipped = shipped_result(claim.key)
        if shipped is not None:
            return claim, shipped.reproduction
        return claim, _live_reproduction(claim.key, (config["mode"], config["baseline"]), config["seeds"],
                                         config["epochs"])

    def figures(self, config: Config, measure: str, arguments: Arguments, revealed: bool) -> Figures:
        claim, reproduction = self.reproduction(config)
        if revealed:
            return [(claims_figure(claim, reproduction), SWEEP_CAPTIONS["claims"])]
        empty = [ModeOutcome(m.label, m.hyperparameters, [], [], 0) for m in reproduction.modes]
        return [(claims_figure(claim, Reproduction(claim.key, reproduction.quick, reproduction.seeds, empty, [], {})),
                 "The open diamonds are the write-up's numbers, one run per optimizer. Commit to a prediction to "
                 "see the re-run over seeds beside them.")]

    def outcome(self, config: Config, measure: str, arguments: Arguments) -> Outcome:
        claim, reproduction = self.reproduction(config)
        mode, baseline = config["mode"], config["baseline"]
        gap = abs(claim.reported[mode] - claim.reported[baseline])
        outcome = next(o for o in reproduction.modes if o.label == baseline)
        values = [v for v in outcome.seed_metric if math.isfinite(v)]
        spread = max(values) - min(values)
        metric = METRICS[claim.metric]
        source = (f"the shipped reproduction over {len(reproduction.seeds)} seeds" if not reproduction.quick else
                  f"a small live re-run ({config['epochs']} epochs, {len(reproduction.seeds)} seeds: no full "
                  "reproduction is shipped yet)")
        return Outcome(LARGER if spread > gap else SMALLER,
                       f"The write-up: {mode} {claim.reported[mode]:.4f} against {baseline} "
                       f"{claim.reported[baseline]:.4f}, a gap of {gap * 100:.1f} points from one run each.",
                       f"{baseline}'s {metric.name} over the seeds of {source}: from {min(values):.4f} to "
                       f"{max(values):.4f}, a spread of {spread * 100:.1f} points (mean {_interval(mean_ci(values))}).")

    def link(self, config: Config) -> Link:
        claim = get_claim(config["claim"])
        by_label = {mode.label: mode for mode in claim.sweep.modes}
        choices = [str(OptimizerChoice(by_label[label].key, {**by_label[label].fixed,
                                                             **claim.reported_params.get(label, {})}))
                   for label in (config["mode"], config["baseline"])]
        return _train_link(choices, min(claim.epochs, 100), claim.sweep.batch_size, 10)
