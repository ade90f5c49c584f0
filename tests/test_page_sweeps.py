"""The Sweeps page, run headless with AppTest against real background sweeps: its first screen is the seed claims'
verdict table (from a fixture shipped result, saying "no shipped result" where there is none), Start runs a tiny surface
sweep whose progress, best-so-far curves and trials table appear as it is polled, a reload re-attaches by the name in
the URL, bad ranges, names and a bad server storage get a message instead of a traceback, and the claims
section shows every claim with its shipped result, its last saved result (a quick one as a smoke test, never a verdict)
and a running reproduction's progress bar with its ETA."""

import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.jobs import NamedJobStatus
from engine.sweeps import background, claims, shipped, studies
from engine.sweeps.search_space import default_space
from engine.sweeps.storage import STORAGE_VARIABLE, open_storage
from engine.sweeps.studies import Mode, SweepSpec
from tests.test_pages_theory import literal, open_page, specs, warnings

SWEEPS = "pages/sweeps.py"
TINY = {"task": "rosenbrock", "trials": "2", "steps": "50", "name": "tiny"}


VERDICT_WORDS = ("holds", "contradicted", "not distinguishable", "supported")

pytestmark = pytest.mark.usefixtures("sweep_home", "shipped_dir")


@pytest.fixture
def shipped_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder in place of ``assets/claims_results``: the page shows only the results a test ships there."""
    folder = tmp_path / "claims_results"
    monkeypatch.setattr(shipped, "SHIPPED_DIR", folder)
    return folder


def node_text(node: object) -> str:
    """Everything an AppTest node shows as text: each element's message (markdown, captions, labels, help, chart
    specs), each table's cells."""
    children = getattr(node, "children", None)
    if children:
        return "\n".join(node_text(child) for child in children.values())
    if type(node).__name__ == "Table":
        return node.value.to_string()  # type: ignore[attr-defined]
    return str(getattr(node, "proto", ""))


def page_text(at: AppTest) -> str:
    return node_text(at._tree)


def section_text(at: AppTest, key: str) -> str:
    """The text of claim ``key``'s section alone (the smallest block that holds its title and no other's)."""
    titles = {k: claim.title for k, claim in claims.load_claims().items()}
    others = [title for k, title in titles.items() if k != key]

    def blocks(node: object) -> list[object]:
        children = getattr(node, "children", None) or {}
        return [node] * bool(children) + [b for child in children.values() for b in blocks(child)]

    texts = [node_text(block) for block in blocks(at._tree)]
    return min((t for t in texts if titles[key] in t and not any(o in t for o in others)), key=len)


def gnw_quick() -> claims.Reproduction:
    """A quick reproduction of the GNW-Adam claim, as ``reproduce --quick`` saves it: a smoke test, no verdict."""
    claim = claims.load_claims()["gnw"]
    return claims.Reproduction(
        claim="gnw", quick=True, seeds=[1, 2],
        modes=[claims.ModeOutcome(mode.label, {"lr": 0.005}, [1.05, 1.07], [1.06, 1.08], 0)
               for mode in claim.sweep.modes],
        verdicts=[claims.Verdict(claim.comparisons[0][0], claim.comparisons[0][1], metric, True, -0.01, 0.001,
                                 claims.SMOKE_TEST) for metric in (claim.metric, claim.clean_metric)],
        seconds={"tuning": 3.0, "evaluation": 2.0})


def agaw_full() -> claims.Reproduction:
    """A full reproduction of the AGAW claim over ten seeds (a fixture: AGAW ahead of Adam)."""
    claim = claims.load_claims()["agaw"]
    means = {"Adam": 0.680, "Adam + linear warmup": 0.676, "AGAW": 0.690}
    modes = [claims.ModeOutcome(label, {"lr": 0.005}, [mean + 0.001 * (i % 3) for i in range(10)],
                                [mean - 0.01 + 0.001 * (i % 3) for i in range(10)], 0) for label, mean in means.items()]
    verdicts = [claims.Verdict(mode, baseline, metric, claim.claimed_better(mode, baseline),
                               means[mode] - means[baseline], 0.001, "holds")
                for mode, baseline in claim.comparisons for metric in (claim.metric, claim.clean_metric)]
    return claims.Reproduction("agaw", False, list(range(1, 11)), modes, verdicts,
                               {"tuning": 900.0, "evaluation": 90.0})


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
    """The page's error messages as they show (without Markdown's escaping backslashes)."""
    return [literal(e.value) for e in at.error]


def test_sweeps_renders_its_configuration_and_every_claim(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS)
    assert not at.exception and not errors(at) and not warnings(at)
    assert [t.value for t in at.title] == ["Sweeps"]
    assert at.query_params["task"] == "mnist1d" and at.query_params["opts"] == "adam,sgd"
    assert at.query_params["tune_adam"] == "lr=1e-05:1:log" and at.query_params["pruner"] == "median"
    assert not at.button(key="sweeps.start").disabled
    titles = {h.value for h in at.subheader}
    assert {claim.title for claim in claims.load_claims().values()} <= titles
    assert len(at.get("code")) == 0 and len(at.table) == 1  # no result anywhere: the verdict table alone
    assert sum("No quick reproduction saved here yet" in c.value for c in at.caption) == len(claims.load_claims())


def test_start_runs_a_tiny_sweep_and_the_page_follows_it(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS, **TINY)
    at.button(key="sweeps.start").click().run()
    assert not at.exception and not errors(at)
    assert at.query_params["view"] == "tiny"
    assert " of 4 trials used" in progress_text(at)
    wait_until_finished(at)
    assert progress_text(at).startswith("finished · 4 of 4 trials used (4 complete, 0 pruned)")
    verdicts, *charts = specs(at)  # the claims' verdicts figure first, then the sweep's
    assert verdicts["layout"]["title"]["text"].startswith("The seed claims")
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


def test_a_bad_server_storage_url_is_a_message_not_a_traceback(repo_root: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORAGE_VARIABLE, "nosuchdialect://user:secret@nowhere/db")  # the server's configuration
    at = open_page(repo_root, SWEEPS, **TINY)
    assert not at.exception
    shown = [literal(caption.value) for caption in at.caption]
    assert any("nosuchdialect://user:***@nowhere/db" in text for text in shown)  # the page says which storage it uses
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


def test_the_first_screen_is_the_verdict_table_with_nothing_pressed(repo_root: Path, shipped_dir: Path) -> None:
    shipped.ship(agaw_full(), "OPTISCOPE_THREADS=1 python -m engine reproduce agaw --seeds 10 --ship",
                 computed=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC), directory=shipped_dir)
    at = open_page(repo_root, SWEEPS)
    assert not at.exception and not errors(at)
    first = [type(node).__name__ for node in list(at.main.children.values())[:4]]
    # the title, a sentence, the verdicts figure (a block: the figure and its caption beside it), then the table
    assert first == ["Title", "Markdown", "Block", "Table"]
    (verdicts, *_) = specs(at)
    assert verdicts["layout"]["title"]["text"] == "The seed claims, re-run over ten seeds"
    assert len([trace for trace in verdicts["data"] if trace.get("error_x")]) == len(agaw_full().verdicts)
    table = at.table[0].value
    assert list(table.columns) == ["claim", "comparison", "verdict", "metric", "write-up's number",
                                   "ours (mean ± 95% CI)", "computed"]
    agaw = table[table["claim"] == "the AGAW write-up"]
    assert len(agaw) == 6 and set(agaw["verdict"]) == {"holds"} and set(agaw["computed"]) == {"2026-03-04"}
    first_row = agaw.iloc[0]
    assert first_row["write-up's number"] == "0.6890 vs 0.6800"
    assert first_row["ours (mean ± 95% CI)"] == "0.6909 ± 0.00063 vs 0.6809 ± 0.00063"
    others = table[table["claim"] != "the AGAW write-up"]
    assert set(others["verdict"]) == set(others["ours (mean ± 95% CI)"]) == {shipped.NO_RESULT}
    assert set(others["computed"]) == {claims.NONE}
    missing = next(c.value for c in at.caption if c.value.startswith("No shipped result yet for"))
    assert "GAO" in missing and "AGAW" not in missing
    assert any("[the AGAW write-up](#claim-agaw)" in m.value for m in at.markdown)  # down to its run controls
    provenance = next(c.value for c in at.caption if c.value.startswith("Regenerate it with"))
    assert "python \\-m engine reproduce agaw \\-\\-seeds 10 \\-\\-ship" in provenance and "optuna" in provenance
    assert any(chart["layout"]["title"]["text"].replace("<br>", " ").startswith("The AGAW write-up re-run over 10")
               for chart in specs(at))
    assert "shared/seeds" not in page_text(at) and "seed reported" not in page_text(at)


def test_without_shipped_results_the_table_says_so_and_invents_nothing(repo_root: Path) -> None:
    at = open_page(repo_root, SWEEPS)
    table = at.table[0].value
    assert len(table) == 2 * sum(len(claim.comparisons) for claim in claims.load_claims().values())
    assert set(table["verdict"]) == set(table["ours (mean ± 95% CI)"]) == {shipped.NO_RESULT}
    assert sum("No shipped result for this claim yet" in c.value for c in at.caption) == len(claims.load_claims())
    assert "shared/seeds" not in page_text(at)


def test_a_quick_result_is_a_smoke_test_never_a_verdict(repo_root: Path) -> None:
    path = claims.result_path("gnw", quick=True)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(gnw_quick().to_dict()))
    at = open_page(repo_root, SWEEPS)
    assert not at.exception
    assert len(at.get("code")) == 0  # real tables, not monospaced text cut off at the edge
    modes, comparisons = at.table[1].value, at.table[2].value
    assert list(modes["mode"]) == ["Adam", "GNW-Adam"] and list(modes["write-up's number"]) == ["1.0846", "1.0533"]
    assert set(comparisons["verdict"]) == {claims.SMOKE_TEST}
    assert any(f"a {claims.SMOKE_TEST}, no verdict" in m.value for m in at.markdown)
    text = section_text(at, "gnw")
    assert "Your last quick reproduction" in text and "GNW-Adam vs Adam" in text
    assert not any(word in text for word in VERDICT_WORDS), "a quick result gives no verdict"
    assert any(chart["layout"]["title"]["text"].replace("<br>", " ").endswith(f"({claims.SMOKE_TEST})")
               for chart in specs(at))


def test_a_running_reproduction_shows_a_progress_bar_with_an_eta(repo_root: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    progress = claims.ReproductionProgress(1, "tuning 2 modes, 2 trials each", 3, 4, "trials", 75.0)
    running = NamedJobStatus("running", progress, None, time.time(), None)  # type: ignore[arg-type]
    monkeypatch.setattr(background, "reproduction_running", lambda key, quick: key == "gnw" and quick)
    monkeypatch.setattr(background, "reproduction_state", lambda key, quick: running if key == "gnw" and quick
                        else None)
    at = open_page(repo_root, SWEEPS)
    assert not at.exception
    (bar,) = at.get("progress")
    assert bar.proto.value == 75  # percent of the stage
    assert bar.proto.text == ("Running (quick) · stage 1 of 2, tuning 2 modes, 2 trials each · 3 of 4 trials · "
                              "ETA 1 min 15 s")
    assert at.button(key="sweeps.claim.gnw.stop") is not None
    starting = claims.ReproductionProgress(2, "training", 0, 0, "steps", math.nan)
    monkeypatch.setattr(background, "reproduction_state", lambda key, quick: NamedJobStatus(
        "running", starting, None, 0.0, None) if key == "gnw" and quick else None)  # type: ignore[arg-type]
    at.run()
    (bar,) = at.get("progress")
    assert bar.proto.value == 0 and bar.proto.text.endswith("stage 2 of 2, training · starting · ETA estimating…")


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
