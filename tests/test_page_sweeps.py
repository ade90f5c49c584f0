"""The Sweeps page, run headless with AppTest against real background sweeps: it renders, Start runs a tiny surface
sweep whose progress, best-so-far curves and trials table appear as it is polled, a reload re-attaches by the name in
the URL, bad ranges, storages and names get a message next to their field instead of a traceback, and the claims
section shows every claim with its last saved result."""

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.sweeps import claims, studies
from engine.sweeps.search_space import default_space
from engine.sweeps.storage import open_storage
from engine.sweeps.studies import Mode, SweepSpec
from tests.test_pages_theory import open_page, specs, warnings

SWEEPS = "pages/sweeps.py"
TINY = {"task": "rosenbrock", "trials": "2", "steps": "50", "name": "tiny"}


pytestmark = pytest.mark.usefixtures("sweep_home")


def progress_text(at: AppTest) -> str:
    bars = at.get("progress")
    return bars[0].proto.text if bars else ""


def wait_until_finished(at: AppTest, timeout_s: float = 120.0) -> AppTest:
    """Rerun the page until the sweep's progress bar says its budget is spent."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception
        if progress_text(at).startswith("finished"):
            return at
        time.sleep(0.5)
    pytest.fail(f"the sweep did not finish within {timeout_s} s (progress: {progress_text(at)!r})")


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_sweeps_renders_its_configuration_and_every_claim(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS)
    assert not at.exception and not errors(at) and not warnings(at)
    assert [t.value for t in at.title] == ["Sweeps"]
    assert at.query_params["task"] == "mnist1d" and at.query_params["opts"] == "adam,sgd"
    assert at.query_params["tune_adam"] == "lr=1e-05:1:log" and at.query_params["pruner"] == "median"
    assert not at.button(key="sweeps.start").disabled
    titles = {h.value for h in at.subheader}
    assert {claim.title for claim in claims.load_claims().values()} <= titles
    assert len(at.get("code")) == 0  # no reproduction saved yet: a hint instead of a table
    assert sum("No quick reproduction saved yet" in c.value for c in at.caption) == len(claims.load_claims())


def test_start_runs_a_tiny_sweep_and_the_page_follows_it(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS, **TINY)
    at.button(key="sweeps.start").click().run()
    assert not at.exception and not errors(at)
    assert at.query_params["view"] == "tiny"
    assert " of 4 trials used" in progress_text(at)
    wait_until_finished(at)
    assert progress_text(at).startswith("finished · 4 of 4 trials used (4 complete, 0 pruned)")
    charts = specs(at)
    assert [chart["layout"]["title"]["text"] for chart in charts] == [
        "Best objective so far · tiny", "Adam: parallel coordinates", "Adam: hyperparameter importances",
        "SGD: parallel coordinates", "SGD: hyperparameter importances"]
    assert {trace["name"] for trace in charts[0]["data"]} == {"Adam", "SGD"}
    trials = at.dataframe[1].value  # after the per-optimizer progress table
    assert len(trials) == 4 and set(trials["state"]) == {"complete"} and "lr" in trials.columns
    assert not [b for b in at.button if b.key == "sweeps.resume"]
    assert [b.proto.label for b in at.get("download_button")] == ["trials (CSV)",
                                                                  "spec and best configurations (JSON)"]

    # A reload with the sweep's name in the URL re-attaches; the name field says Start would continue it.
    again = open_page(repo_root, SWEEPS, **TINY, view="tiny")
    assert not again.exception and progress_text(again).startswith("finished")
    assert any("exists with this setup" in info.value for info in again.info)


def test_a_stopped_sweep_can_be_resumed(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS, **{**TINY, "trials": "100", "steps": "3000", "name": "long"})
    at.button(key="sweeps.start").click().run()
    deadline = time.monotonic() + 60
    while not progress_text(at).startswith("running") and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    at.button(key="sweeps.stop").click().run()
    assert not at.exception
    deadline = time.monotonic() + 30
    while not progress_text(at).startswith("stopped") and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    assert progress_text(at).startswith("stopped"), progress_text(at)
    assert not at.button(key="sweeps.resume").disabled
    at.button(key="sweeps.resume").click().run()
    assert not at.exception and progress_text(at).startswith("running")
    at.button(key="sweeps.stop").click().run()


def test_a_bad_range_is_a_message_next_to_its_field(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS, **TINY)
    at.number_input(key="sweeps.tune_adam.lr.low").set_value(2.0).run()
    assert not at.exception
    assert any("invalid lr range 2.0..1.0; expected low < high" in text for text in errors(at))
    assert at.button(key="sweeps.start").disabled
    at.number_input(key="sweeps.tune_adam.lr.low").set_value(0.0).run()  # a log range needs low > 0
    assert any("a log range needs low > 0" in text for text in errors(at))

    from_url = open_page(repo_root, SWEEPS, **TINY, tune_sgd="lr=1:0.5")
    assert not from_url.exception and not from_url.button(key="sweeps.start").disabled
    assert any("tune_sgd" in text or "invalid lr range" in text for text in warnings(from_url))
    assert from_url.query_params["tune_sgd"] == "lr=1e-05:1:log"  # the default, after the warning


def test_a_bad_storage_url_is_a_message_not_a_traceback(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS, **TINY)
    at.text_input(key="sweeps.storage").input("nosuchdialect://user:secret@nowhere/db").run()
    assert not at.exception
    assert any(text.startswith("This storage cannot be opened: storage: cannot open nosuchdialect://user:***@")
               for text in errors(at))
    assert not any("secret" in text for text in errors(at))
    assert at.button(key="sweeps.start").disabled


def test_a_name_that_exists_with_another_space_is_refused(repo_root: Path) -> None:
    other = SweepSpec(name="tiny", modes=(Mode("Adam", "adam", space=default_space("adam", ["beta1"])),), trials=2,
                      task="rosenbrock", steps=50)
    studies.prepare(other, open_storage())
    at = open_page(repo_root, SWEEPS, **TINY)
    assert not at.exception
    assert any("exists in this storage with another search space" in text for text in errors(at))
    assert at.button(key="sweeps.start").disabled
    opener = next(box for box in at.selectbox if box.label == "open a sweep in this storage")
    assert opener.options == ["tiny"]  # it can be opened instead
    opener.select("tiny").run()
    assert not at.exception and " of 2 trials used" in progress_text(at)


def test_a_claims_saved_result_is_shown_with_its_table_and_figure(repo_root: Path) -> None:
    claim = claims.load_claims()["gnw"]
    result = claims.Reproduction(
        claim="gnw", quick=True, seeds=[1, 2],
        modes=[claims.ModeOutcome(mode.label, {"lr": 0.005}, [1.05, 1.07], [1.06, 1.08], 0)
               for mode in claim.sweep.modes],
        verdicts=[claims.Verdict(claim.comparisons[0][0], claim.comparisons[0][1], claim.metric, True, -0.01, 0.5,
                                 "not distinguishable at 2 seeds")],
        seconds={"tuning": 3.0, "evaluation": 2.0})
    path = claims.result_path("gnw", quick=True)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(result.to_dict()))
    at = open_page(repo_root, SWEEPS)
    assert not at.exception
    tables = [code.value for code in at.get("code")]
    assert len(tables) == 1 and "not distinguishable at 2 seeds" in tables[0] and "[quick" in tables[0]
    assert any(chart["layout"]["title"]["text"].startswith("gnw: mean ± 95% CI over 2 seeds")
               for chart in specs(at))


def test_a_failing_reproduction_shows_its_message(repo_root: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("OPTISCOPE_HOME", str(blocker / "home"))  # nothing can be written under a file
    at = open_page(repo_root, SWEEPS)
    assert not at.exception
    assert any(text.startswith("This storage cannot be opened") for text in errors(at))
    at.button(key="sweeps.claim.gnw.run").click().run()
    assert not at.exception
    deadline = time.monotonic() + 60
    while not any("The reproduction failed" in text for text in errors(at)) and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception
    assert any(text.startswith("The reproduction failed: ") for text in errors(at)), errors(at)
