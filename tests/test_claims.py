"""The seed claims: the data file, the statistics and verdicts, the report's wording (a quick run is a smoke test,
never a verdict), the progress a reproduction reports, and ``reproduce --quick`` end to end for each."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats

from engine.runs.stats import welch
from engine.sweeps import claims
from engine.sweeps.claims import METRICS, judge, load_claims

CLAIMS = ("agaw", "gao", "gnw", "a2grad", "autosgm")
VERDICT_WORDS = ("holds", "contradicted", "not distinguishable", "supported")
EPOCHS = [
    {"val_loss": 1.2, "test_loss": 1.3, "test_accuracy": 0.50},
    {"val_loss": 0.9, "test_loss": 1.0, "test_accuracy": 0.61},
    {"val_loss": 1.1, "test_loss": 0.8, "test_accuracy": 0.66},
]


def test_every_claim_is_in_the_data_file_with_the_seeds_setup() -> None:
    loaded = load_claims()
    assert tuple(loaded) == CLAIMS
    agaw = loaded["agaw"]
    assert [mode.label for mode in agaw.sweep.modes] == ["Adam", "Adam + linear warmup", "AGAW"]
    assert (agaw.sweep.trials, agaw.sweep.epochs, agaw.epochs) == (15, 50, 50)
    assert agaw.reported == {"Adam": 0.68, "Adam + linear warmup": 0.675, "AGAW": 0.689}
    assert (loaded["gao"].sweep.trials, loaded["gao"].sweep.epochs, loaded["gao"].epochs) == (30, 25, 100)
    assert (loaded["gnw"].sweep.trials, loaded["gnw"].sweep.epochs, loaded["gnw"].epochs) == (10, 25, 50)
    assert loaded["gnw"].reported == {"Adam": 1.0846, "GNW-Adam": 1.0533}
    assert loaded["gnw"].sweep.task_args == {"depth": 1}  # the write-up's MLP with one hidden layer
    presets = {mode.label: mode.fixed for mode in loaded["a2grad"].sweep.modes if not mode.space}
    assert presets["A2Grad exp (preset)"] == {"variant": "exp", "beta": 5.0, "lips": 1.0, "rho": 0.9}
    gammas = {mode.fixed["gamma"] for mode in loaded["autosgm"].sweep.modes}
    numerators = {mode.fixed["numerator"] for mode in loaded["autosgm"].sweep.modes}
    assert gammas == {0.0, 0.3, 0.5528} and numerators == {"unity", "max_bound", "markov_huber_corr"}


def test_welch_matches_scipy_on_fixed_numbers() -> None:
    a, b = [0.689, 0.684, 0.692, 0.671, 0.688], [0.680, 0.676, 0.683, 0.669, 0.681]
    expected = stats.ttest_ind(a, b, equal_var=False)
    result = welch(a, b)
    assert result.p == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.difference == pytest.approx(sum(a) / 5 - sum(b) / 5, rel=1e-12)
    va, vb = stats.tvar(a) / 5, stats.tvar(b) / 5  # the difference's 95% CI, Welch-Satterthwaite by hand
    nu = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 4)
    assert result.half_width == pytest.approx(stats.t.ppf(0.975, nu) * math.sqrt(va + vb), rel=1e-9)
    assert math.isnan(welch([1.0], [1.0, 2.0]).half_width)
    assert math.isnan(welch([1.0], [1.0, 2.0]).p) and math.isnan(welch([1.0, 1.0], [2.0, 2.0]).p)
    assert welch([0.5, math.nan, 0.7], [0.4, 0.3]).difference == pytest.approx(0.25)  # diverged seeds left out


@pytest.mark.parametrize(("difference", "p", "claimed_better", "higher_is_better", "expected"), [
    (0.01, 0.01, True, True, "holds"),
    (-0.01, 0.01, True, True, "contradicted"),
    (-0.03, 0.001, True, False, "holds"),  # a loss: lower is better
    (-0.01, 0.01, False, True, "holds"),  # the write-up reported this mode worse, and it is
    (0.01, 0.2, True, True, "not distinguishable at 10 seeds"),
    (0.01, math.nan, True, True, "not distinguishable at 10 seeds"),
])
def test_verdicts(difference: float, p: float, claimed_better: bool, higher_is_better: bool, expected: str) -> None:
    assert judge(difference, p, claimed_better, higher_is_better, 10) == expected


def test_the_claimed_direction_follows_the_seeds_reported_numbers() -> None:
    agaw = load_claims()["agaw"]
    assert agaw.claimed_better("AGAW", "Adam")
    assert not agaw.claimed_better("Adam + linear warmup", "Adam")  # 0.675 < 0.680 in the write-up
    assert load_claims()["gnw"].claimed_better("GNW-Adam", "Adam")  # a loss: 1.0533 < 1.0846
    assert load_claims()["gao"].claimed_better("GAO(Adam)", "Adam")  # nothing reported: the contender is first


def test_the_seeds_metric_peeks_at_the_test_set_and_the_clean_one_does_not() -> None:
    assert METRICS["best_test_accuracy"].read(EPOCHS) == 0.66  # chosen on the test set
    assert METRICS["test_accuracy_at_best_val"].read(EPOCHS) == 0.61  # the epoch validation chose
    assert METRICS["best_val_loss"].read(EPOCHS) == 0.9
    assert METRICS["final_val_loss"].read(EPOCHS) == 1.1
    assert METRICS["test_loss_at_best_val"].read(EPOCHS) == 1.0
    assert math.isnan(METRICS["test_accuracy_at_best_val"].read([]))


def test_an_unknown_claim_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="invalid claim='adamw'; allowed values: 'agaw'"):
        claims.get_claim("adamw")


@pytest.mark.parametrize("key", CLAIMS)
def test_reproduce_quick_end_to_end(key: str, home_with_mnist1d: Path) -> None:
    env = {**os.environ, "OPTISCOPE_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "engine", "reproduce", key, "--quick", "--seeds", "2", "--quiet"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    claim = load_claims()[key]
    out = done.stdout
    assert f"[{claims.SMOKE_TEST}]" in out
    assert f"write-up's metric = {METRICS[claim.metric].name}" in out
    assert f"clean metric      = {METRICS[claim.clean_metric].name}" in out
    for mode in claim.sweep.modes:
        assert mode.label in out
    for reported in claim.reported.values():
        assert f"{reported:.4f}" in out  # the write-up's number beside ours
    assert out.count(claims.SMOKE_TEST) == 1 + 2 * len(claim.comparisons)  # the header, then every comparison
    assert not any(word in out for word in VERDICT_WORDS), "a quick run gives no verdict"
    assert "shared/seeds" not in out and claim.source in out
    result = claims.load_result(key, quick=True)
    assert result is not None and result.seeds == [1, 2]
    assert len(result.verdicts) == 2 * len(claim.comparisons)  # each comparison on both metrics
    assert {verdict.verdict for verdict in result.verdicts} == {claims.SMOKE_TEST}  # saved without a verdict too
    assert {outcome.label for outcome in result.modes} == {mode.label for mode in claim.sweep.modes}
    for outcome in result.modes:
        assert len(outcome.seed_metric) == 2
        assert outcome.diverged == sum(math.isnan(v) for v in outcome.seed_metric)
    assert f"saved: {claims.result_path(key, quick=True)}" in out


def full_agaw(verdict: str = "holds") -> claims.Reproduction:
    """A hand-made full reproduction of the AGAW claim over three seeds."""
    claim = load_claims()["agaw"]
    return claims.Reproduction(
        claim="agaw", quick=False, seeds=[1, 2, 3],
        modes=[claims.ModeOutcome(mode.label, {"lr": 0.005}, [0.68, 0.69, 0.70], [0.66, 0.67, math.nan], 0)
               for mode in claim.sweep.modes],
        verdicts=[claims.Verdict("AGAW", "Adam", claim.metric, True, 0.004, 0.01, verdict)],
        seconds={"tuning": 61.0, "evaluation": 12.0})


def test_the_report_names_the_write_up_and_gives_the_verdict_of_a_full_run() -> None:
    claim = load_claims()["agaw"]
    text = claims.format_table(claim, full_agaw())
    assert text.splitlines()[0] == f"agaw: {claim.title} (the AGAW write-up)"
    assert "write-up's number" in text and "seed reported" not in text and "shared/seeds" not in text
    assert "0.6890" in text and "0.69 ± 0.025" in text  # the write-up's number beside ours (mean ± 95% CI)
    assert "0.665 ± 0.064" in text  # the clean metric, the diverged seed's NaN left out
    assert text.splitlines()[-1].split("  ")[2] == "holds" and claims.SMOKE_TEST not in text
    rows = claims.comparison_rows(full_agaw())
    assert rows == [{"comparison": "AGAW vs Adam", "metric": "best test accuracy", "verdict": "holds",
                     "claimed": "higher", "difference": "+0.0040", "Welch p": "0.01"}]
    assert list(rows[0])[2] == "verdict"  # third: a phone shows it without scrolling


def test_every_claim_names_its_write_up_not_a_path() -> None:
    for claim in load_claims().values():
        assert claim.source.startswith("the ") and "/" not in claim.source and "seeds" not in claim.source


def test_the_progress_fraction_is_of_the_stage_and_bounded() -> None:
    assert claims.ReproductionProgress(1, "tuning", 3, 4, "trials", 10.0).fraction == 0.75
    assert claims.ReproductionProgress(2, "training", 0, 0, "steps", math.nan).fraction == 0.0
    assert claims.ReproductionProgress(2, "training", 12, 10, "steps", 0.0).fraction == 1.0


def test_reproduce_reports_trials_then_steps_with_an_eta(home_with_mnist1d: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTISCOPE_THREADS", "1")
    reports: list[claims.ReproductionProgress] = []
    assert claims.reproduce("gnw", seeds=2, quick=True, on_progress=reports.append) is not None
    tuning = [report for report in reports if report.stage == 1]
    training = [report for report in reports if report.stage == 2]
    assert reports == tuning + training  # the tuning, then the training
    assert {(r.unit, r.total) for r in tuning} == {("trials", 2 * claims.QUICK["trials"])}  # both modes tuned
    assert [r.done for r in tuning] == sorted(r.done for r in tuning) and tuning[0].done == 0
    assert math.isnan(tuning[0].eta_seconds) and tuning[-1].done == tuning[-1].total
    assert tuning[-1].eta_seconds == 0.0 and all(r.eta_seconds >= 0 for r in tuning[1:])
    assert training[0].text.startswith("training the best configurations") and "4 runs together" in training[0].text
    assert training[-1].unit == "steps" and training[-1].done == training[-1].total > 0
    assert training[-1].fraction == 1.0
