"""The Sweeps page's figures, read from their Plotly specs: best-so-far curves in the optimizers' colours, Optuna's
parallel coordinates and importances (or a note when too few trials ended), the claims figure; the downloads."""

import csv
import io
import json
import math
from datetime import datetime, timedelta

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from engine.figures import sweeps as figures_sweeps
from engine.figures import verdicts_figure
from engine.figures.colours import optimizer_colour
from engine.figures.sweeps import VERDICT_COLOURS
from engine.runs.stats import mean_ci, welch
from engine.sweeps import claims, shipped_result
from engine.sweeps.claims import ModeOutcome, Reproduction, Verdict, load_claims
from engine.sweeps.search_space import default_space
from engine.sweeps.studies import Mode, ModeProgress, SweepSpec

START = datetime(2026, 1, 1)
LR = FloatDistribution(1e-5, 1.0, log=True)
BETA1 = FloatDistribution(0.0, 0.999)


def spec(trials: int = 4) -> SweepSpec:
    modes = (Mode("Adam", "adam", space=default_space("adam", ["lr", "beta1"])),
             Mode("SGD", "sgd", space=default_space("sgd")),
             Mode("SGD again", "sgd", space=default_space("sgd")))
    return SweepSpec(name="figs", modes=modes, trials=trials, task="rosenbrock", steps=100)


def trial(value: float | None, ended_after: int, state: TrialState = TrialState.COMPLETE,
          lr: float = 0.01, beta1: float = 0.9) -> optuna.trial.FrozenTrial:
    """A finished trial that ended ``ended_after`` seconds after START (pruned and failed ones have no value)."""
    made = create_trial(state=state, value=value if state == TrialState.COMPLETE else None,
                        params={"lr": lr, "beta1": beta1}, distributions={"lr": LR, "beta1": BETA1})
    made.datetime_start = START
    made.datetime_complete = START + timedelta(seconds=ended_after)
    return made


def study(*trials: optuna.trial.FrozenTrial) -> optuna.Study:
    made = optuna.create_study()
    for one in trials:
        made.add_trial(one)
    return made


def test_best_so_far_follows_the_order_trials_ended_in() -> None:
    trials = [trial(3.0, 4), trial(5.0, 1), trial(None, 2, TrialState.PRUNED), trial(math.inf, 3),
              trial(None, 5, TrialState.FAIL), trial(1.0, 6)]
    # ended: 5.0 (k=1), pruned (k=2), inf (k=3), 3.0 (k=4), 1.0 (k=5); the failed one spends no budget
    assert figures_sweeps.best_so_far(trials) == ([1, 2, 3, 4, 5], [5.0, 5.0, 5.0, 3.0, 1.0])
    assert figures_sweeps.best_so_far([trial(math.inf, 1), trial(2.0, 2)]) == ([2], [2.0])


def test_best_so_far_figure_has_one_curve_per_mode_in_its_optimizers_colour() -> None:
    fig = figures_sweeps.best_so_far_figure(spec(), {"Adam": [trial(0.5, 1), trial(0.2, 2)],
                                                     "SGD": [trial(200.0, 1)], "SGD again": []})
    data = {t.name: t for t in fig.data}
    assert list(data) == ["Adam", "SGD", "SGD again"]
    assert list(data["Adam"].y) == [0.5, 0.2] and list(data["Adam"].x) == [1, 2]
    assert data["Adam"].line.color == optimizer_colour("adam") != data["SGD"].line.color
    assert data["SGD"].line.color == data["SGD again"].line.color == optimizer_colour("sgd")
    assert (data["SGD"].line.dash, data["SGD again"].line.dash) == ("solid", "dash")  # same optimizer: dashed
    assert fig.layout.yaxis.type == "log"  # 0.2 .. 200 spans three decades
    assert tuple(fig.layout.xaxis.range) == (0.5, 4.5)
    assert not fig.layout.annotations


def test_best_so_far_figure_says_when_nothing_has_ended() -> None:
    fig = figures_sweeps.best_so_far_figure(spec(), {"Adam": [], "SGD": []})
    assert "No trial has ended yet" in fig.layout.annotations[0].text
    assert fig.layout.yaxis.type == "linear"


@pytest.mark.parametrize("make", [figures_sweeps.parallel_figure, figures_sweeps.importance_figure])
def test_too_few_trials_give_a_note_not_an_exception(make: object) -> None:
    for few in (study(), study(trial(1.0, 1), trial(math.inf, 2), trial(None, 3, TrialState.PRUNED))):
        fig = make(few, "Adam")  # type: ignore[operator]
        assert not fig.data
        assert fig.layout.annotations[0].text.startswith("Needs at least 2 complete trials")
        assert fig.layout.title.text == "Adam"


def test_parallel_coordinates_and_importances_of_a_study() -> None:
    tuned = study(trial(0.5, 1, lr=0.1, beta1=0.5), trial(0.2, 2, lr=0.01, beta1=0.9), trial(0.9, 3, lr=1e-4),
                  trial(math.inf, 4))
    parallel = figures_sweeps.parallel_figure(tuned, "Adam: parallel coordinates")
    assert parallel.data and parallel.layout.title.text == "Adam: parallel coordinates"
    assert set(parallel.layout.xaxis.ticktext) == {"objective", "lr", "beta1"}
    lines = [t for t in parallel.data if t.mode == "lines"]
    assert len(lines) == 3  # the diverged trial is left out
    worst = max(lines, key=lambda t: t.y[0])
    assert worst.line.color == "rgb(170, 205, 230)"  # the light end of the scale, still visible on white
    importance = figures_sweeps.importance_figure(tuned, "Adam: importances")
    bars = importance.data[0]
    assert bars.type == "bar" and set(bars.y) == {"lr", "beta1"}
    assert sum(bars.x) == pytest.approx(1.0, abs=0.02)  # Optuna rounds each importance for its labels
    assert importance.layout.title.text == "Adam: importances"


def agaw_reproduction(quick: bool = False) -> Reproduction:
    seed = {"Adam": [0.60, 0.62, 0.64], "Adam + linear warmup": [0.61, 0.63, 0.62], "AGAW": [0.65, 0.66, math.nan]}
    return Reproduction(
        claim="agaw", quick=quick, seeds=[1, 2, 3],
        modes=[ModeOutcome(label, {}, values, [v - 0.01 for v in values], 0) for label, values in seed.items()],
        verdicts=[Verdict("AGAW", "Adam", "best_test_accuracy", True, 0.03, 0.04, "holds")],
        seconds={"tuning": 1.0, "evaluation": 1.0})


def test_claims_figure_shows_mean_and_ci_per_mode_and_the_reported_number() -> None:
    claim = load_claims()["agaw"]
    reproduction = agaw_reproduction()
    seed = {outcome.label: outcome.seed_metric for outcome in reproduction.modes}
    fig = figures_sweeps.claims_figure(claim, reproduction)
    top = [t for t in fig.data if t.xaxis == "x" and t.name != figures_sweeps.REPORTED]
    bottom = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.name for t in top] == [t.name for t in bottom] == list(seed)
    adam = top[0]
    ci = mean_ci(seed["Adam"])
    assert adam.y[0] == pytest.approx(ci.mean) and adam.error_y.array[0] == pytest.approx(ci.half_width)
    assert adam.marker.color == optimizer_colour("adam")
    assert bottom[2].y[0] == pytest.approx(0.645)  # NaN (a diverged seed) left out: mean of 0.64 and 0.65
    reported = next(t for t in fig.data if t.name == "the write-up's number")
    assert dict(zip(reported.x, reported.y, strict=True)) == claim.reported
    assert reported.xaxis == "x" and reported.marker.symbol == "diamond-open"
    assert [a.text for a in fig.layout.annotations] == ["write-up's metric: best test accuracy",
                                                        "clean: test accuracy at best validation"]
    assert fig.layout.title.text.replace("<br>", " ") == "The AGAW write-up re-run over 3 seeds: mean ± 95% CI"


def test_claims_figure_stacks_its_panels_so_their_titles_fit_a_phone() -> None:
    """The panels span the full width, one above the other (a 390 px phone cannot hold two titles side by side),
    share the modes' axis (names written once, under the bottom panel) and their titles are short."""
    fig = figures_sweeps.claims_figure(load_claims()["agaw"], agaw_reproduction())
    layout = fig.layout
    assert tuple(layout.xaxis.domain) == tuple(layout.xaxis2.domain) == (0.0, 1.0)
    assert layout.yaxis2.domain[1] < layout.yaxis.domain[0]  # the clean panel below, with a gap
    assert layout.xaxis.matches == "x2" and not layout.xaxis.showticklabels
    titles = [a for claim in load_claims().values()
              for a in figures_sweeps.claims_figure(claim, agaw_reproduction()).layout.annotations]
    assert max(len(a.text) for a in titles) <= 42 and all(a.font.size <= 13 for a in titles)
    assert "/" not in layout.title.text and "seed metric" not in json.dumps(fig.to_plotly_json())
    quick = figures_sweeps.claims_figure(load_claims()["agaw"], agaw_reproduction(quick=True))
    assert quick.layout.title.text.replace("<br>", " ").endswith("(smoke test: budgets shrunk)")


def test_every_figure_has_a_caption() -> None:
    assert set(figures_sweeps.CAPTIONS) == {"best_so_far", "parallel", "importance", "claims", "verdicts"}
    assert all(2 <= caption.count(". ") + 1 <= 5 for caption in figures_sweeps.CAPTIONS.values())


def test_downloads_read_back() -> None:
    rows = [{"mode": "Adam", "trial": 0, "state": "complete", "value": 0.5, "lr": 0.01, "beta1": 0.9},
            {"mode": "SGD", "trial": 0, "state": "pruned", "value": math.nan, "lr": 0.1}]
    read = list(csv.DictReader(io.StringIO(figures_sweeps.trials_csv(rows))))
    assert list(read[0]) == ["mode", "trial", "state", "value", "lr", "beta1"]
    assert read[1]["beta1"] == "" and read[1]["value"] == "nan" and float(read[0]["lr"]) == 0.01
    sweep = spec()
    progress = [ModeProgress("Adam", 2, 1, 0, 0, 1, 0.2, {"lr": 0.01}),
                ModeProgress("SGD", 0, 0, 0, 1, 3, math.nan, {})]
    data = json.loads(figures_sweeps.sweep_json(sweep, progress))
    assert SweepSpec.from_dict(data["spec"]) == sweep
    assert data["best"]["Adam"]["value"] == 0.2 and data["best"]["Adam"]["hyperparameters"] == {"lr": 0.01}
    assert data["best"]["SGD"]["value"] is None


def test_the_verdicts_figure_signs_each_difference_towards_the_claim_and_colours_it_by_its_verdict() -> None:
    """One marker per comparison and metric of every shipped claim, at the difference of the means signed so that > 0
    is the side the write-up claims, its bar the Welch 95% CI, its colour the verdict; the clean metric open."""
    known = claims.load_claims()
    results = {key: shipped.reproduction for key in known if (shipped := shipped_result(key)) is not None}
    assert results, "the claims' results ship with the app"
    fig = verdicts_figure(known, results)
    points = [trace for trace in fig.data if trace.x and trace.x[0] is not None]
    assert len(points) == sum(len(reproduction.verdicts) for reproduction in results.values())
    gnw = results["gnw"]
    (final_val,) = [v for v in gnw.verdicts if v.metric == known["gnw"].metric]
    by_label = {outcome.label: outcome for outcome in gnw.modes}
    test = welch(by_label["GNW-Adam"].seed_metric, by_label["Adam"].seed_metric)
    # GNW-Adam is claimed to end LOWER: its higher loss is a difference against the claim, left of zero
    (marker,) = [t for t in points if t.x[0] == pytest.approx(-test.difference)]
    assert marker.x[0] < 0 and marker.error_x.array[0] == pytest.approx(test.half_width)
    assert marker.marker.color == VERDICT_COLOURS[final_val.verdict] == VERDICT_COLOURS["contradicted"]
    clean = [t for t in points if t.marker.color == "#FFFFFF"]
    assert len(clean) == len(points) // 2, "half the markers, the clean metric's, are open"
    assert "No claim has a result yet." in verdicts_figure(known, {}).layout.annotations[0].text
