"""engine.cli: ``list``, one-line errors with exit status 2, and a short end-to-end run with --out."""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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
        (["run", "rosenbrock", "adam:lr=abc"], "invalid lr='abc'; expected a number in [1e-05, 1]"),
        (["run", "rosenbrock", "adam", "--seeds", "0"], "invalid seeds=0; valid range: 1 <= seeds"),
        (["run", "mnist1d", "adam", "--epochs", "0"], "invalid epochs=0; valid range: 1 <= epochs"),
        (["run", "mnist1d", "adam", "--steps", "5"], "invalid --steps for mnist1d"),
        (["run", "rosenbrock", "adam", "--epochs", "5"], "invalid --epochs for the surface"),
        (["run", "rosenbrock", "adam", "--steps", "x"], "argument --steps: invalid int value: 'x'"),
        (["run", "rosenbrock", "adam", "--steps", "5", "--epochs", "5"], "not allowed with argument"),
        (["run", "rosenbrock"], "the following arguments are required: OPT"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        # issue 14: each of these was a traceback or "the run failed" (exit 1), or was accepted
        (["run", "mnist1d", "sgd:lr=1e308", "adam"], "SGD: invalid lr=1e+308 for mnist1d; valid range: |lr| <= 3.4"),
        (["run", "rosenbrock", "adam:lr=True"], "Adam: invalid lr='True'; expected a number in [1e-05, 1]"),
        (["run", "rosenbrock", "agaw:warmup_steps=2.5"], "expected an integer in [1, 2000]"),
        (["run", "mnist1d", "adam", "--task-arg", "depth=0"], "mnist1d: invalid depth=0; valid range: 1 <= depth <= 8"),
        (["run", "mnist1d", "adam", "--task-arg", "depth=2.5"], "invalid depth=2.5; expected an integer with 1 <="),
        (["run", "mnist1d", "adam", "--task-arg", "width=-1"], "invalid width=-1; valid range: 1 <= width <= 1024"),
        (["run", "mnist1d", "adam", "--task-arg", "width=abc"], "invalid width='abc'; expected an integer with 1 <="),
        (["run", "mnist1d", "adam", "--task-arg", "width=1e12"], "invalid width=1000000000000.0; valid range: 1 <="),
        (["run", "rosenbrock", "adam", "--device", "cudafoo"], "invalid device='cudafoo'; allowed values: 'auto'"),
        (["run", "rosenbrock", "adam", "--device", "cuda:99"], "invalid device='cuda:99'"),
        (["run", "rosenbrock", "adam", "--task-arg", "start=[1e308,0]"], "invalid start_x=1e+308; valid range: -2 <="),
        (["run", "rosenbrock", "adam", "--task-arg", "start=[NaN,0]"], "invalid start_x=nan; expected a finite number"),
        (["run", "rosenbrock", "adam", "--task-arg", "start=[0,5]"], "invalid start_y=5; valid range: -1 <= start_y"),
        (["run", "rosenbrock", "adam", "--task-arg", "start=ab"], "invalid start='ab'; expected a point [x, y] inside"),
        (["run", "rosenbrock", "adam", "--task-arg", "start=[1,2,3]"], "invalid start=[1, 2, 3]; expected a point"),
        (["run", "expr:" + "9" * 400 + "*x", "adam"], "(the number); valid range: |number| <= 1e+12"),
        (["run", "expr:pi*e", "adam"], "the formula 'pi*e' uses neither x nor y"),
        (["run", "expr:3", "adam"], "the formula '3' uses neither x nor y"),
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_device_cuda_without_a_gpu_exits_2_before_running(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: ``--device cuda`` here exited 1 with "the run failed"."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "rosenbrock", "adam", "--device", "cuda"])
    assert exit_info.value.code == 2
    assert "invalid device='cuda'; torch sees no CUDA GPU here" in capsys.readouterr().err


def _bad_outs(tmp_path: Path) -> list[tuple[Path, str]]:
    """--out values that cannot be written, and what the message says: a missing folder, a folder, a file that
    cannot be opened for writing (/proc/version, which even root cannot write)."""
    outs = [(tmp_path / "missing" / "out.json", "does not exist"), (tmp_path, "it is a folder")]
    if Path("/proc/version").exists():
        outs.append((Path("/proc/version"), "it cannot be written"))
    return outs


@pytest.mark.parametrize("command", [
    ["run", "rosenbrock", "adam", "--steps", "5", "--quiet"],
    ["landscape", "rosenbrock", "adam", "--x", "lr=0.001:0.01:2", "--y", "beta1=0.5:0.9:2", "--steps", "5"],
    ["sensitivity", "mnist1d", "adam", "--param", "lr=0.001:0.01:2", "--epochs", "1", "--quiet"],
])
def test_an_out_that_cannot_be_written_exits_2_before_the_work(
        command: list[str], tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: a bad --out printed a traceback after the whole run and wrote nothing; now it is refused first."""
    for out, why in _bad_outs(tmp_path):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*command, "--out", str(out)])
        assert exit_info.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == "" and len(captured.err.splitlines()) == 1 and why in captured.err, captured.err
        assert f"invalid --out={str(out)!r}" in captured.err
    assert not (home / "runs").exists(), "nothing ran"


@pytest.mark.parametrize("storage", ["journal:{folder}", None])
def test_sweep_storage_that_cannot_be_opened_exits_2(storage: str | None, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: ``sweep --storage journal:<a folder>`` and ``sweep`` with an OPTISCOPE_HOME that cannot be written
    (here: below a file, which stops root too) printed tracebacks."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    if storage is None:
        monkeypatch.setenv("OPTISCOPE_HOME", str(blocker / "home"))
    argv = ["sweep", "agaw", "--quick", "--quiet", *(["--storage", storage.format(folder=tmp_path)] if storage else [])]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "storage: cannot open journal:" in err, err
    assert ("Is a directory" if storage else "Not a directory") in err


def test_the_table_shows_divergence_steps_and_leaves_diverged_losses_out(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: on a surface a diverged run's final loss (1.344e18, where its point left the domain) was averaged,
    under "diverged runs left out", and the table gave only a count."""
    assert cli.main(["run", "rosenbrock", "sgd:lr=0.02", "sgd:lr=0.0005", "--steps", "50", "--seeds", "2",
                     "--quiet", "--no-save"]) == 0
    rows = capsys.readouterr().out.splitlines()
    diverged, finished = rows[3], rows[4]
    assert diverged.startswith("SGD (lr=0.02)") and diverged.split()[2:4] == ["-", "-"], diverged
    assert re.search(r"2/2 at steps \d+, \d+$", diverged), diverged
    assert finished.startswith("SGD (lr=0.0005)") and finished.endswith("0/2")


def test_a_runs_folder_that_cannot_be_written_is_refused_before_running(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: with a runs folder that cannot be written the CLI ran every run, printed "saved 2 runs" and exited
    0; it now exits 2 with one line before any run (and --no-save runs without saving)."""
    home.mkdir(parents=True)
    (home / "runs").write_text("a file where the folder should be")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "rosenbrock", "adam", "sgd", "--steps", "5", "--quiet"])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1, "one line, and no run ran"
    assert f"store: cannot save runs in {home / 'runs'}" in captured.err and "--no-save" in captured.err
    assert cli.main(["run", "rosenbrock", "adam", "--steps", "5", "--quiet", "--no-save"]) == 0


def test_runs_that_cannot_be_saved_after_all_exit_1_with_a_message(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A runs folder that could be written when the runs began but not when they end (a full disk, a folder
    replaced meanwhile): the table is still shown, no "saved" line, exit 1 with the reason."""
    monkeypatch.setattr(store, "check_writable", lambda: None)  # it could be written when the check ran
    home.mkdir(parents=True)
    (home / "runs").write_text("a file where the folder should be")
    assert cli.main(["run", "rosenbrock", "adam", "sgd", "--steps", "5", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "Adam" in captured.out, "the table of the runs that ran is still shown"
    assert "saved 2 runs" not in captured.err
    assert f"error: 2 of 2 runs could not be saved: store: cannot save the run in {home / 'runs'}" in captured.err


def test_runs_lists_saved_runs_and_reports_unreadable_files(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: ``python -m engine runs`` lists the saved runs and the files that could not be read (exit 1)."""
    assert cli.main(["runs"]) == 0
    assert "no saved runs in" in capsys.readouterr().out
    assert cli.main(["run", "rosenbrock", "adam", "sgd:lr=1", "--steps", "20", "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["runs", "--task", "rosenbrock"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["run", "saved", "at"] and len(out) == 4
    assert any(" adam " in line and "finished" in line for line in out)
    assert any(" sgd:lr=1.0 " in line and re.search("diverged at step \\d+", line) for line in out)
    (good, *_) = store.list_runs()
    payload = json.loads(good.path.read_text())
    payload["job"] = "oops"
    bad = good.path.with_name("20000101T000000000000Z-00000000-adam.json")
    bad.write_text(json.dumps(payload))
    assert cli.main(["runs"]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 4
    assert captured.err.splitlines() == ["1 saved run could not be read:", f"  {bad}: invalid job='oops'; expected "
                                         'null or {"id": text, "comparison": ...}']
