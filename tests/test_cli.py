"""engine.cli: ``list``, one-line errors with exit status 2, and a short end-to-end run with --out."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine import cli
from engine.cli.interrupt import interruptible
from engine.runs import store
from engine.tasks.surfaces import SURFACES
from optimizers.registry import REGISTRY


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_list_names_every_task_and_optimizer(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for key in [*SURFACES, "mnist1d", "expr:<formula>"]:
        assert f"  {key} " in out
    for info in REGISTRY.values():
        assert f"  {info.key}: {info.name}." in out
        for hp in info.hyperparams:
            assert f"      {hp.name} = {hp.default}" in out
    assert "lr = 0.001  [1e-05, 1, log]" in out and "{uni, inc, exp}" in out


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["run", "rosenbrock", "nosuchopt"], "unknown optimizer 'nosuchopt'"),
        (["run", "rosenbrock", "adam:lr=-1"], "invalid lr=-1.0; valid range: lr >= 0"),
        (["run", "rosenbrock", "adam:beta1=1.5"], "invalid beta1=1.5; valid range: 0 <= beta1 < 1"),
        (["run", "nosuchtask", "adam"], "invalid name='nosuchtask'; allowed values: 'rosenbrock'"),
        (["run", "rosenbrock", "adam", "--steps", "0"], "invalid steps=0; valid range: 1 <= steps"),
        (["run", "rosenbrock", "adam:lr"], "invalid setting 'lr'; expected name=value"),
        (["run", "rosenbrock", "adam:lr=abc"], "invalid lr='abc'; expected a float"),
        (["run", "rosenbrock", "adam", "--seeds", "0"], "invalid seeds=0; valid range: 1 <= seeds"),
        (["run", "mnist1d", "adam", "--epochs", "0"], "invalid epochs=0; valid range: 1 <= epochs"),
        (["run", "mnist1d", "adam", "--steps", "5"], "invalid --steps for mnist1d"),
        (["run", "rosenbrock", "adam", "--epochs", "5"], "invalid --epochs for the surface"),
        (["run", "rosenbrock", "adam", "--steps", "x"], "argument --steps: invalid int value: 'x'"),
        (["run", "rosenbrock", "adam", "--steps", "5", "--epochs", "5"], "not allowed with argument"),
        (["run", "rosenbrock"], "the following arguments are required: OPT"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], field: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert field in lines[0]


def test_python_m_engine_list(repo_root: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "engine", "list"], cwd=repo_root, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "rosenbrock" in done.stdout and "agaw: AGAW." in done.stdout and "warmup_steps = 100" in done.stdout


def test_run_rosenbrock_end_to_end(tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "out.json"
    status = cli.main(["run", "rosenbrock", "adam:lr=0.05", "sgd:lr=0.001", "--steps", "20", "--seeds", "2",
                       "--noise", "0.1", "--out", str(out_file)])
    assert status == 0
    captured = capsys.readouterr()
    table = captured.out.splitlines()
    assert table[0].startswith("rosenbrock: mean ± 95% CI over 2 seeds")
    assert table[1].split() == ["optimizer", "final", "loss", "best", "loss", "diverged"]
    assert table[3].startswith("Adam (lr=0.05)") and table[3].endswith("0/2") and "±" in table[3]
    assert table[4].startswith("SGD (lr=0.001)")
    data = json.loads(out_file.read_text())
    assert data["comparison"]["task"] == "rosenbrock" and data["comparison"]["seeds"] == [0, 1]
    assert data["comparison"]["task_args"] == {"noise": 0.1}
    assert [(run["spec"]["optimizer"]["key"], run["spec"]["seed"]) for run in data["runs"]] == [
        ("adam", 0), ("sgd", 0), ("adam", 1), ("sgd", 1)]
    assert all(run["status"] == "finished" and len(run["records"]) == 20 for run in data["runs"])
    assert all(run["summary"]["steps_done"] == 20 for run in data["runs"])
    assert data["table"][0]["optimizer"] == "adam:lr=0.05" and data["table"][0]["final_loss"]["n"] == 2
    saved = store.list_runs()
    assert len(saved) == 4 and len({run.job_id for run in saved}) == 1 and saved[0].job_id.startswith("cli-")


def test_run_batches_by_default_and_sequential_gives_the_same_json(tmp_path: Path, home: Path) -> None:
    outputs = []
    for flags in ([], ["--sequential"]):
        out_file = tmp_path / f"out{len(outputs)}.json"
        argv = ["run", "rosenbrock", "momentum:lr=0.001", "adam:lr=0.05", "--steps", "30", "--seeds", "2",
                "--noise", "0.2", "--quiet", "--no-save", "--out", str(out_file), *flags]
        assert cli.main(argv) == 0
        outputs.append(json.loads(out_file.read_text()))
    batched, sequential = outputs
    assert batched.keys() == sequential.keys() and batched["comparison"] == sequential["comparison"]
    for one, other in zip(batched["runs"], sequential["runs"], strict=True):
        assert one.keys() == other.keys() and one["spec"] == other["spec"] and one["status"] == other["status"]
        assert [row.keys() for row in one["records"]] == [row.keys() for row in other["records"]]
        assert one["summary"]["final_loss"] == pytest.approx(other["summary"]["final_loss"], rel=1e-10)


def test_ctrl_c_stops_cooperatively_then_aborts_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with interruptible() as stop:
        assert signal.getsignal(signal.SIGINT) is not before
        signal.raise_signal(signal.SIGINT)
        assert stop.is_set()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
