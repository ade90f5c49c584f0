"""The claims' shipped results: the file's round trip and provenance, the loader's None, shipping a result already
saved (dated by its file), the command line's ``--ship`` flags, and the verdict table that says plainly where a claim
has no shipped result."""

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.cli.commands import main
from engine.sweeps import claims, shipped
from engine.sweeps.claims import ModeOutcome, Reproduction, Verdict, load_claims

COMPUTED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
PROVENANCE_VERSIONS = {"python", "torch", "optuna", "numpy", "mnist1d", "optiscope"}


def same(a: Reproduction, b: Reproduction) -> bool:
    """Equal, NaN (a diverged seed) included."""
    return json.dumps(a.to_dict()) == json.dumps(b.to_dict())


def gnw(quick: bool = False, verdict: str = "holds") -> Reproduction:
    """A hand-made reproduction of the GNW-Adam claim over three seeds (GNW-Adam's loss lower than Adam's)."""
    return Reproduction(
        claim="gnw", quick=quick, seeds=[1, 2, 3],
        modes=[ModeOutcome("Adam", {"lr": 0.006}, [1.10, 1.11, 1.12], [1.20, 1.21, 1.22], 0),
               ModeOutcome("GNW-Adam", {"lr": 0.005}, [1.00, 1.01, 1.02], [1.30, 1.31, math.nan], 1)],
        verdicts=[Verdict("GNW-Adam", "Adam", "final_val_loss", True, -0.1, 0.0004, verdict),
                  Verdict("GNW-Adam", "Adam", "test_loss_at_best_val", True, 0.1, 0.001, "contradicted")],
        seconds={"tuning": 100.0, "evaluation": 20.0})


def test_a_shipped_result_round_trips_with_its_provenance(tmp_path: Path) -> None:
    path = shipped.ship(gnw(), "python -m engine reproduce gnw --seeds 3 --ship", computed=COMPUTED,
                        directory=tmp_path)
    assert path == tmp_path / "gnw.json"
    data = json.loads(path.read_text())
    assert data["format"] == shipped.FORMAT and set(data) == {"format", "provenance", "reproduction"}
    loaded = shipped.shipped_result("gnw", tmp_path)
    assert loaded is not None and same(loaded.reproduction, gnw())
    provenance = loaded.provenance
    assert provenance.computed == "2026-03-04T05:06:07+00:00" and provenance.date == "2026-03-04"
    assert provenance.command == "python -m engine reproduce gnw --seeds 3 --ship"
    assert set(provenance.versions) == PROVENANCE_VERSIONS
    assert provenance.versions["python"].count(".") == 2 and provenance.versions["optuna"][0].isdigit()
    commit = provenance.versions["optiscope"]
    assert commit == "unknown" or len(commit.removesuffix("-dirty")) == 40
    assert shipped.ShippedResult.from_dict(data).provenance == provenance


def test_the_loader_says_none_for_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    assert shipped.shipped_result("gnw", tmp_path) is None
    (tmp_path / "gao.json").write_text("{not json")
    assert shipped.shipped_result("gao", tmp_path) is None
    (tmp_path / "agaw.json").write_text(json.dumps({"format": 99, "provenance": {}, "reproduction": {}}))
    assert shipped.shipped_result("agaw", tmp_path) is None


def test_a_quick_reproduction_never_ships_and_old_verdict_words_are_judged_again(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="quick reproduction"):
        shipped.ship(gnw(quick=True), "any", directory=tmp_path)
    assert not (tmp_path / "gnw.json").exists()
    shipped.ship(gnw(verdict="supported"), "any", computed=COMPUTED, directory=tmp_path)  # an earlier version's word
    loaded = shipped.shipped_result("gnw", tmp_path)
    assert loaded is not None and [v.verdict for v in loaded.reproduction.verdicts] == ["holds", "contradicted"]


def test_a_saved_result_ships_dated_by_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPTISCOPE_THREADS", "1")
    with pytest.raises(ValueError, match="no full reproduction of gnw saved at"):
        shipped.ship_saved("gnw", directory=tmp_path)
    saved = claims.result_path("gnw")
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps(gnw().to_dict()))
    os.utime(saved, (COMPUTED.timestamp(), COMPUTED.timestamp()))
    shipped.ship_saved("gnw", directory=tmp_path / "out")
    loaded = shipped.shipped_result("gnw", tmp_path / "out")
    assert loaded is not None and same(loaded.reproduction, gnw())
    assert loaded.provenance.computed == "2026-03-04T05:06:07+00:00"
    assert loaded.provenance.command == "OPTISCOPE_THREADS=1 python -m engine reproduce gnw --seeds 3 --ship"


def test_the_command_line_ships_a_saved_result_and_refuses_a_quick_one(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OPTISCOPE_THREADS", raising=False)
    monkeypatch.setattr(shipped, "SHIPPED_DIR", tmp_path / "assets")
    with pytest.raises(SystemExit) as refused:
        main(["reproduce", "gnw", "--quick", "--ship"])
    assert refused.value.code == 2 and "--ship needs the full budgets" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["reproduce", "gnw", "--from-saved"])
    assert refused.value.code == 2 and "add --ship" in capsys.readouterr().err
    saved = claims.result_path("gnw")
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps(gnw().to_dict()))
    assert main(["reproduce", "gnw", "--ship", "--from-saved", "--workers", "2"]) == 0
    assert capsys.readouterr().out.strip() == f"shipped: {tmp_path / 'assets' / 'gnw.json'}"
    loaded = shipped.shipped_result("gnw")
    assert loaded is not None and loaded.provenance.command == \
        "python -m engine reproduce gnw --seeds 3 --workers 2 --ship"


def test_the_verdict_table_shows_shipped_numbers_and_says_where_there_are_none(tmp_path: Path) -> None:
    shipped.ship(gnw(), "python -m engine reproduce gnw --seeds 3 --ship", computed=COMPUTED, directory=tmp_path)
    known = load_claims()
    rows = shipped.verdict_rows(known, tmp_path)
    assert len(rows) == 2 * sum(len(claim.comparisons) for claim in known.values())  # both metrics of each pair
    gnw_rows = [row for row in rows if row["claim"] == "the GNW-Adam write-up"]
    assert gnw_rows == [
        {"claim": "the GNW-Adam write-up", "comparison": "GNW-Adam vs Adam", "verdict": "holds",
         "metric": "final validation loss (the write-up's)", "write-up's number": "1.0533 vs 1.0846",
         "ours (mean ± 95% CI)": "1.01 ± 0.025 vs 1.11 ± 0.025", "computed": "2026-03-04"},
        {"claim": "the GNW-Adam write-up", "comparison": "GNW-Adam vs Adam", "verdict": "contradicted",
         "metric": "test loss at best validation (clean)", "write-up's number": claims.NONE,
         "ours (mean ± 95% CI)": "1.305 ± 0.064 vs 1.21 ± 0.025", "computed": "2026-03-04"},
    ]
    assert [list(row) for row in gnw_rows] == [list(gnw_rows[0])] * 2
    assert list(gnw_rows[0])[:3] == ["claim", "comparison", "verdict"]  # a phone shows the verdict unscrolled
    others = [row for row in rows if row["claim"] != "the GNW-Adam write-up"]
    assert {row["ours (mean ± 95% CI)"] for row in others} == {shipped.NO_RESULT}  # never an invented number
    assert {row["verdict"] for row in others} == {shipped.NO_RESULT}
    agaw = next(row for row in others if row["comparison"] == "AGAW vs Adam")
    assert agaw["write-up's number"] == "0.6890 vs 0.6800"  # the write-up's own numbers are data: shown
    assert next(row for row in others if row["claim"].startswith("the GAO"))["write-up's number"] == "not reported"
