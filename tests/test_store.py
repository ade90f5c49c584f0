"""engine.runs.store: runs on disk under $OPTISCOPE_HOME/runs: save, list, load, delete, export; bad files skipped."""

import csv
import io
import json
import os
from pathlib import Path

import pytest

from engine.home import atomic_file
from engine.runs import ComparisonSpec, OptimizerChoice, RunResult, RunSpec, store


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path))
    return tmp_path


def result(optimizer: str = "adam:lr=0.01", seed: int = 0, status: str = "finished") -> RunResult:
    spec = RunSpec("rosenbrock", OptimizerChoice.parse(optimizer), seed=seed, steps=2)
    records = [{"step": 1.0, "loss": 4.0, "x": -2.0}, {"step": 2.0, "loss": float("nan"), "y": 2.0}]
    summary = {"final_loss": float("nan"), "best_loss": 4.0, "steps_done": 2.0, "seconds": 0.01}
    return RunResult(spec, status, records, [], summary, diverged_at=2 if status == "diverged" else None)


def test_round_trip_list_load_delete(home: Path) -> None:
    first = store.save(result("sgd"), job_id="job1", comparison=ComparisonSpec("rosenbrock", (OptimizerChoice("sgd"),)))
    second = store.save(result("adam:lr=0.01", seed=1, status="diverged"))
    assert first.parent == home / "runs" and first.name.endswith("-sgd.json")
    assert not list((home / "runs").glob(".*")), "no temporary file is left behind"
    runs = store.list_runs()
    assert [run.path for run in runs] == [second, first], "newest first"
    assert (runs[0].optimizer, runs[0].label, runs[0].seed, runs[0].status) == (
        "adam:lr=0.01", "Adam (lr=0.01)", 1, "diverged")
    assert runs[1].job_id == "job1" and runs[1].task == "rosenbrock" and runs[1].summary["best_loss"] == 4.0
    loaded = store.load(runs[0].run_id)
    original = result("adam:lr=0.01", seed=1, status="diverged")
    assert loaded.spec == original.spec and loaded.diverged_at == 2 and loaded.records[0] == original.records[0]
    assert [run.run_id for run in store.list_runs(job_id="job1")] == [runs[1].run_id]
    comparison, results = store.load_job("job1")
    assert comparison == ComparisonSpec("rosenbrock", (OptimizerChoice("sgd"),)) and len(results) == 1
    assert store.delete(runs[0].run_id) and not store.delete(runs[0].run_id)
    assert [run.path for run in store.list_runs()] == [first]
    with pytest.raises(KeyError):
        store.load(runs[0].run_id)
    with pytest.raises(ValueError, match="run_id"):
        store.load("../escape")


def test_export_csv_and_json() -> None:
    store.save(result("sgd"))
    store.save(result("adam:lr=0.01", seed=1))
    ids = [run.run_id for run in store.list_runs()]
    rows = list(csv.DictReader(io.StringIO(store.export_csv(ids))))
    assert len(rows) == 4
    assert list(rows[0])[:3] == ["run_id", "optimizer", "seed"] and {"loss", "x", "y"} <= set(rows[0])
    assert rows[0]["optimizer"] == "adam:lr=0.01" and rows[0]["x"] == "-2.0" and rows[1]["x"] == ""
    exported = json.loads(store.export_json(ids))
    assert [row["spec"]["optimizer"]["key"] for row in exported] == ["adam", "sgd"]
    assert exported[0]["summary"]["best_loss"] == 4.0 and "records" not in exported[0]


def test_corrupt_and_truncated_files_are_reported_and_skipped(home: Path) -> None:
    good = store.save(result())
    text = good.read_text()
    truncated = good.with_name("20000101T000000000000Z-00000000-adam.json")
    truncated.write_text(text[: len(text) // 2])
    corrupt = good.with_name("20000102T000000000000Z-11111111-adam.json")
    corrupt.write_text("not json at all")
    wrong_format = good.with_name("20000103T000000000000Z-22222222-adam.json")
    wrong_format.write_text(json.dumps({**json.loads(text), "format": 999}))
    bad_spec = good.with_name("20000104T000000000000Z-33333333-adam.json")
    payload = json.loads(text)
    payload["result"]["spec"]["optimizer"]["hyperparameters"]["lr"] = -1
    bad_spec.write_text(json.dumps(payload))
    with pytest.warns(RuntimeWarning) as caught:
        runs = store.list_runs()
    assert [run.path for run in runs] == [good]
    messages = "\n".join(str(warning.message) for warning in caught)
    for path in (truncated, corrupt, wrong_format, bad_spec):
        assert str(path) in messages
    with pytest.warns(RuntimeWarning, match="20000101T"), pytest.raises(ValueError, match="corrupt"):
        store.load(truncated.stem)


def test_missing_folder_lists_nothing(home: Path) -> None:
    assert store.list_runs() == []
    assert not (home / "runs").exists()
    assert os.environ["OPTISCOPE_HOME"] == str(home)


def test_listings_carry_the_spec_and_name_the_latest_job() -> None:
    assert store.latest_job() is None
    store.save(result("sgd"), job_id="older", comparison=ComparisonSpec("rosenbrock", (OptimizerChoice("sgd"),)))
    store.save(result("adam:lr=0.01"), job_id="newer")
    store.save(result("adam:lr=0.01", seed=1))  # a run of no job (the CLI's)
    assert store.latest_job() == "newer" and store.latest_job(task="mnist1d") is None
    (listed, *_) = store.list_runs()
    assert listed.spec == result("adam:lr=0.01", seed=1).spec and listed.spec.steps == 2


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda p: p.update(job="oops"), "invalid job='oops'"),  # issue 14: AttributeError in list_runs
        (lambda p: p["result"]["summary"].update(final_loss="high"), "invalid summary['final_loss']='high'"),
        (lambda p: p["result"]["summary"].update(best_loss=None), "invalid summary['best_loss']=None"),
        (lambda p: p["result"]["summary"].update(best_loss=True), "invalid summary['best_loss']=True"),
        (lambda p: p["result"].update(status="exploded"), "invalid status='exploded'; allowed values: 'finished'"),
        (lambda p: p["result"].update(records="oops"), "invalid records='oops'; expected a list of rows"),
        (lambda p: p["result"]["records"][0].update(loss="x"), "invalid records[0]['loss']='x'"),
        (lambda p: p["result"].update(diverged_at=0), "invalid diverged_at=0; valid range: diverged_at >= 1"),
        (lambda p: p["result"].update(reason=5), "invalid reason=5; expected text or null"),
        (lambda p: p["result"]["spec"].update(steps="many"), "invalid steps='many'"),
        (lambda p: p["result"]["spec"].update(task_args=[1]), "invalid task_args=[1]"),
        (lambda p: p["result"]["spec"]["optimizer"].update(hyperparameters="fast"), "hyperparameters='fast'"),
        (lambda p: p["result"]["spec"].update(colour="red"), "RunSpec: unknown field 'colour'"),
        (lambda p: p["result"]["spec"].pop("optimizer"), "RunSpec: missing field 'optimizer'"),
        (lambda p: p["result"].update(spec=[]), "RunSpec: invalid value []"),
        (lambda p: p.update(saved_at=3), "invalid saved_at=3; expected an ISO date and time"),
        (lambda p: p["job"].update(comparison={"task": "rosenbrock", "optimizers": "sgd"}), "invalid optimizers='sgd'"),
        (lambda p: p.update(result=None), "Result: invalid value None"),
    ],
)
def test_valid_json_that_is_not_a_valid_run_is_reported_and_skipped(edit, reason: str) -> None:
    """Issue 14: every field of a run file is validated on load; a bad file never breaks a listing or a page."""
    good = store.save(result(), job_id="job", comparison=ComparisonSpec("rosenbrock", (OptimizerChoice("sgd"),)))
    payload = json.loads(good.read_text())
    edit(payload)
    bad = good.with_name("20000101T000000000000Z-00000000-adam.json")
    bad.write_text(json.dumps(payload))
    with pytest.warns(RuntimeWarning, match="skipping the unreadable run file"):
        assert [run.path for run in store.list_runs()] == [good]
    with pytest.warns(RuntimeWarning):
        (unreadable,) = store.unreadable_runs()
    assert (unreadable.run_id, unreadable.path) == (bad.stem, bad) and reason in unreadable.reason, unreadable.reason
    with pytest.warns(RuntimeWarning), pytest.raises(ValueError, match="corrupt"):
        store.load(bad.stem)
    with pytest.warns(RuntimeWarning):
        assert len(store.load_job("job")[1]) == 1


def test_unreadable_runs_is_empty_when_every_file_reads() -> None:
    store.save(result())
    assert store.unreadable_runs() == []


def test_a_run_that_cannot_be_saved_raises_a_clear_error(home: Path) -> None:
    """Issue 14: a read-only runs folder (here: a file where the folder should be, which stops root too) is an error
    naming the folder, never a silent warning."""
    (home / "runs").write_text("not a folder")
    with pytest.raises(OSError, match=f"store: cannot save the run in {home / 'runs'}: "):
        store.save(result())


def test_a_listing_reads_each_file_once_until_it_changes(home: Path) -> None:
    """Pages list the store at every script run: an unchanged file is not read and validated again, a replaced one
    is."""
    path = store.save(result("sgd"))
    store.list_runs()
    before = store._read_file.cache_info()
    assert store.list_runs()[0].status == "finished"
    after = store._read_file.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 0)
    payload = json.loads(path.read_text())
    payload["result"]["status"] = "cancelled"
    path.write_text(json.dumps(payload))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))  # a coarse clock: a new time
    assert store.list_runs()[0].status == "cancelled"


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "run.json"
    with atomic_file(path) as file:
        file.write("first")
    with pytest.raises(RuntimeError, match="crash"), atomic_file(path) as file:
        file.write("half of the sec")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "first"  # the old contents, never half of the new
    assert [entry.name for entry in path.parent.iterdir()] == ["run.json"]  # no temporary file left behind
    with atomic_file(path, binary=True) as file:
        file.write(b"\x00second")
    assert path.read_bytes() == b"\x00second"
