"""The Train page, run headless with AppTest against the real job manager: a bare link opens on a comparison (the
last one saved, or a small one started at once), Start trains a tiny comparison in the background and the page shows
its summary, the curves of the run in progress grow while it trains, Cancel stops the job or one optimizer, a job
interrupted by a crash says so and resumes, a run that cannot be saved is an error on the page, past runs of other
settings stay apart, and bad URL values or an unknown job id show a message instead of a traceback."""

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import engine.jobs as jobs
from engine.figures.style import legend_name
from engine.jobs import Busy, JobStatus, records
from engine.runs import ComparisonSpec, OptimizerChoice, Progress, RunResult, store
from engine.tasks import MNIST1D
from tests.test_pages_theory import open_page, specs, trace, values, warnings

TRAIN = "pages/train.py"
TINY = {"epochs": "1", "batch": "512"}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Runs and the MNIST-1D cache go to a fresh ``$OPTISCOPE_HOME``; a job the test left running (a bare visit starts
    one) is cancelled and waited for, so that it never saves its runs into the next test's home."""
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path))
    manager = jobs.get_manager()  # the server's own, before a test puts a fake in its place
    yield tmp_path
    for job in manager.jobs():
        if not job.done:
            manager.cancel(job.job_id)
    deadline = time.monotonic() + 60
    while any(not job.done for job in manager.jobs()) and time.monotonic() < deadline:
        time.sleep(0.1)


def wait_until_done(at: AppTest, timeout_s: float = 90.0) -> AppTest:
    """Rerun the page until the job's progress bar says it ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception
        text = progress_text(at)
        if text.startswith(("finished", "cancelled", "failed")):
            return at
        time.sleep(0.3)
    pytest.fail(f"the job did not end within {timeout_s} s (progress: {progress_text(at)!r})")


def progress_text(at: AppTest) -> str:
    bars = at.get("progress")
    return bars[0].proto.text if bars else ""


def test_train_renders_and_writes_its_url(repo_root: Path) -> None:
    at = open_page(repo_root, TRAIN, show="band")  # settings in the link: the page waits for Start
    assert not at.exception
    assert [t.value for t in at.title] == ["Train"]
    assert at.query_params["epochs"] == "10" and at.query_params["batch"] == "128"
    assert at.query_params["opt1"] == "adam:lr=0.0047"
    assert at.query_params["opt2"] == "agaw:target_lr=0.0046,warmup_steps=107,gamma=1.7"
    assert "job" not in at.query_params
    assert not warnings(at) and not at.error
    assert at.button(key="train.cancel").disabled and not at.button(key="train.start").disabled


def test_start_trains_and_shows_the_summary_then_the_run_is_saved(repo_root: Path) -> None:
    at = open_page(repo_root, TRAIN, **TINY)
    at.button(key="train.start").click().run()
    assert not at.exception
    job_id = at.session_state["train.job"]
    assert job_id and at.query_params["job"] == job_id
    wait_until_done(at)
    assert progress_text(at).startswith("finished"), progress_text(at)
    table = at.table[0].value
    assert list(table["optimizer"]) == ["Adam (lr=0.0047)",
                                        "AGAW (target_lr=0.0046, warmup_steps=107, gamma=1.7)"]
    assert table["final test accuracy"].str.endswith("%").all()
    assert "best test accuracy (peeks at the test set)" in table.columns
    assert len(specs(at)) == 6  # loss, accuracy, effective LR, cosine, layers, internals
    assert at.query_params["job"] == job_id and at.query_params["epochs"] == "1"
    saved = [run for run in store.list_runs() if run.job_id == job_id]
    assert len(saved) == 2
    assert len(at.multiselect(key="train.past").options) == 2

    # Past runs: pick one, it is drawn; delete it, it is gone.
    at.multiselect(key="train.past").select(saved[0].run_id).run()
    assert not at.exception
    assert len(at.table) == 2 and len(specs(at)) == 12
    at.button(key="train.delete").click().run()
    assert not at.exception
    assert [run.run_id for run in store.list_runs()] == [saved[1].run_id]


def test_a_reload_reattaches_to_the_job_in_the_url(repo_root: Path) -> None:
    at = open_page(repo_root, TRAIN, **TINY)
    at.button(key="train.start").click().run()
    job_id = at.session_state["train.job"]
    wait_until_done(at)
    again = wait_until_done(open_page(repo_root, TRAIN, **TINY, job=job_id))
    assert progress_text(again).startswith("finished")
    assert again.table and again.query_params["job"] == job_id


def test_the_curves_grow_while_training_and_one_optimizer_can_be_cancelled(repo_root: Path) -> None:
    at = open_page(repo_root, TRAIN, epochs="100", batch="32")
    at.button(key="train.start").click().run()
    points = []
    deadline = time.monotonic() + 60
    while len(points) < 2 and time.monotonic() < deadline:  # two polls that drew more of the run in progress
        time.sleep(0.5)
        at.run()
        assert not at.exception
        charts = specs(at)
        adam = [t for t in charts[2]["data"] if t.get("name", "").startswith("Adam")] if len(charts) > 2 else []
        if adam and progress_text(at).startswith("running"):  # Adam's curve once its first record is drawn
            count = len(values(adam[0]["x"]))  # the effective LR, logged every 10 steps
            if count and (not points or count > points[-1]):
                points.append(count)
    assert len(points) == 2, f"the effective-LR curve did not grow live (points seen: {points})"
    assert len(specs(at)) == 6 and "ETA" in progress_text(at)
    assert at.button(key="train.cancel.0").label == "Cancel Adam \\(lr=0\\.0047\\)"

    at.button(key="train.cancel.0").click().run()  # Adam alone: AGAW starts
    assert not at.exception
    assert at.button(key="train.cancel.0").disabled and "cancelled" in at.button(key="train.cancel.0").label
    assert not at.button(key="train.cancel.1").disabled
    at.button(key="train.cancel").click().run()
    wait_until_done(at, timeout_s=30)
    assert any(info.value.startswith("Cancelled one by one: Adam") for info in at.info)
    table = at.table[0].value
    adam = table.iloc[0]
    assert adam["optimizer"] == "Adam (lr=0.0047)" and adam["cancelled"] == 1 and adam["seeds"] == 0


def test_cancel_stops_the_job(repo_root: Path) -> None:
    at = open_page(repo_root, TRAIN, epochs="100", batch="32", seeds="3")
    at.button(key="train.start").click().run()
    assert not at.exception and at.button(key="train.start").disabled
    at.button(key="train.cancel").click().run()
    assert not at.exception
    wait_until_done(at, timeout_s=30)
    assert progress_text(at).startswith("cancelled")
    assert any("Cancelled" in w for w in warnings(at))
    assert not at.button(key="train.start").disabled and at.button(key="train.cancel").disabled


@pytest.mark.parametrize(("name", "bad"), [("epochs", "0"), ("batch", "huge"), ("opt1", "nosuch")])
def test_a_bad_url_value_warns_and_falls_back(repo_root: Path, name: str, bad: str) -> None:
    at = open_page(repo_root, TRAIN, **{name: bad})
    assert not at.exception
    assert any(name in w and "default" in w for w in warnings(at))
    assert at.query_params[name] == {"epochs": "10", "batch": "128", "opt1": "adam:lr=0.0047"}[name]


def test_an_unknown_job_in_the_url_says_so(repo_root: Path) -> None:
    at = open_page(repo_root, TRAIN, job="nosuchjob")
    assert not at.exception
    assert any("no training job 'nosuchjob'" in w for w in warnings(at))
    assert "job" not in at.query_params
    assert not at.get("progress")


def drawn(chart: dict[str, Any]) -> bool:
    """Whether some trace of the chart has a finite point."""
    return any(isinstance(y, float | int) and math.isfinite(y)
               for t in chart["data"] if t.get("y") is not None for y in values(t["y"]))


def test_a_bare_link_with_an_empty_store_starts_a_small_comparison_and_draws_it(repo_root: Path) -> None:
    at = open_page(repo_root, TRAIN)
    assert not at.exception
    job_id = at.session_state["train.job"]
    try:
        assert job_id and at.query_params["job"] == job_id
        # The sidebar shows the comparison that runs: two optimizers, one seed, a few epochs.
        assert (at.query_params["epochs"], at.query_params["seeds"], at.query_params["n"]) == ("5", "1", "2")
        assert at.query_params["opt2"].startswith("agaw")
        assert any("a small comparison, started for you" in c.value for c in at.caption)
        deadline = time.monotonic() + 90
        charts: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(charts) < 3:
            time.sleep(0.3)
            at.run()
            assert not at.exception
            charts = specs(at)
            assert all(drawn(chart) for chart in charts), "every figure drawn has data"
        assert len(charts) >= 3, f"the step curves did not draw (progress: {progress_text(at)!r})"
    finally:
        jobs.get_manager().cancel(job_id)  # the machine is shared: do not train on


def save_job(job_id: str, epochs: int, seeds: tuple[int, ...], *, optimizers: tuple[str, ...] = ("adam:lr=0.0047",)
             ) -> None:
    """Saves one finished job of ``optimizers`` over ``seeds`` with ``epochs`` epochs (hand-made rows)."""
    spec = ComparisonSpec(MNIST1D, tuple(OptimizerChoice.parse(text) for text in optimizers), epochs=epochs,
                          batch_size=512, log_every=1, seeds=seeds)
    for run in spec.runs():
        epoch_rows = [{"epoch": float(e), "train_loss": 1.0 / e, "val_loss": 1.1 / e, "test_accuracy": 0.5 + e / 100}
                      for e in range(1, epochs + 1)]
        records = [{**_record(s), "stat/lr": 0.01} for s in range(1, 4)]
        store.save(RunResult(run, "finished", records, epoch_rows,
                             {"final_test_accuracy": 0.5 + epochs / 100 + run.seed / 1000, "final_val_loss": 0.5},
                             device="cpu"), job_id=job_id, comparison=spec)


def test_a_bare_link_opens_on_the_latest_saved_comparison(repo_root: Path) -> None:
    save_job("olderjob", 3, (0,))
    save_job("latestjob", 4, (0, 1), optimizers=("adam:lr=0.0047", "sgd"))
    at = open_page(repo_root, TRAIN)
    assert not at.exception
    assert at.session_state["train.job"] == "latestjob" and at.query_params["job"] == "latestjob"
    assert (at.query_params["epochs"], at.query_params["seeds"], at.query_params["opt2"]) == ("4", "2", "sgd")
    assert progress_text(at) == "finished · 4 of 4 runs ended"
    assert list(at.table[0].value["optimizer"]) == ["Adam (lr=0.0047)", "SGD"]
    assert len(specs(at)) == 6 and all(drawn(chart) for chart in specs(at))
    assert any("the last comparison run on this server" in c.value for c in at.caption)


def test_past_runs_pool_only_identical_settings_and_never_a_seed_twice(repo_root: Path) -> None:
    save_job("three", 3, (0, 1))
    save_job("five", 5, (0,))
    save_job("again", 3, (0,))  # seed 0 of the 3-epoch setting a second time
    at = open_page(repo_root, TRAIN, show="band")
    options = at.multiselect(key="train.past").options
    assert len(options) == 4 and all(" epochs · batch 512 · seed " in option for option in options)
    at.multiselect(key="train.past").set_value([run.run_id for run in store.list_runs()]).run()
    assert not at.exception
    (table,) = [table.value for table in at.table]
    assert sorted(table["optimizer"]) == ["Adam (lr=0.0047) · 3 epochs · repeat 2 · seed 0",
                                          "Adam (lr=0.0047) · 3 epochs · seeds 0, 1",
                                          "Adam (lr=0.0047) · 5 epochs · seed 0"]
    assert sorted(table["seeds"]) == [1, 1, 2]
    for chart in specs(at):  # one legend entry per group, never repeated
        legend = [t["name"] for t in chart["data"] if t.get("showlegend", True) and t["name"] not in
                  ("train", "validation")]
        assert sorted(legend) == sorted(legend_name(label) for label in table["optimizer"]), legend
    at.radio(key="train.show").set_value("seeds").run()
    for chart in specs(at):
        legend = [t["name"] for t in chart["data"] if t.get("showlegend", True) and t["name"] not in
                  ("train", "validation")]
        assert len(legend) == len(set(legend)) == 3, legend


def _record(step: int) -> dict[str, float]:
    return {"step": float(step), "loss": 2.0 / step, "effective_lr": 0.01, "cos_grad_prev": 0.1,
            "grad_norm/hidden1": 1.0, "grad_norm/output": 0.5, "lr": 0.01}


class LiveManager:
    """Stands in for the job manager with a job whose first run has ended and whose second trains: ``cancel`` calls
    are recorded."""

    def __init__(self) -> None:
        self.spec = ComparisonSpec(MNIST1D, (OptimizerChoice.parse("adam:lr=0.0047"), OptimizerChoice.parse("sgd")),
                                   epochs=3, batch_size=512, log_every=1)
        self.cancelled: list[tuple[str, int | None]] = []

    def poll(self, job_id: str) -> JobStatus:
        first, second = self.spec.runs()
        ended = RunResult(first, "cancelled", [_record(s) for s in range(1, 6)], [], {"steps_done": 5.0})
        running = RunResult(second, "running", [_record(s) for s in range(1, 4)],
                            [{"epoch": 1.0, "train_loss": 1.5, "val_loss": 1.6, "test_accuracy": 0.4}], {})
        return JobStatus(job_id, "running", self.spec, "", Progress(0.4, 10, 25, 12.0, "seed 0 · SGD"), (ended,), (),
                         None, 2, 0.0, None, partials=(running,), stopped_optimizers=(0,))

    def cancel(self, job_id: str, *, optimizer: int | None = None) -> bool:
        self.cancelled.append((job_id, optimizer))
        return True


def test_a_running_job_shows_the_partial_run_beside_the_ended_ones(repo_root: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake = LiveManager()
    monkeypatch.setattr(jobs, "get_manager", lambda: fake)
    at = open_page(repo_root, TRAIN, job="livejob")
    assert not at.exception
    assert progress_text(at).startswith("running · 40% · now seed 0 · SGD · ETA 12 s · ")
    assert progress_text(at).endswith(" so far")  # the time since Start: news at every poll
    charts = specs(at)
    assert len(charts) == 5, "no optimizer reports internals: a line says so instead of an empty figure"
    assert any("None of these optimizers reports internal statistics" in c.value for c in at.caption)
    loss, effective_lr, layers = charts[0], charts[2], charts[4]
    assert len(values(trace(effective_lr, "Adam")["x"])) == 5 and len(values(trace(effective_lr, "SGD")["x"])) == 3
    assert values(trace(loss, "SGD")["x"]) == [1.0]  # the train loss: its mean over SGD's one seed
    assert not [t for t in loss["data"] if t["name"].endswith("95% band")], "one seed each: no band"
    assert len(layers["data"]) == 4  # two layers x two runs
    assert not at.table, "the summary waits for the job's end"
    assert at.button(key="train.cancel.0").disabled and at.button(key="train.cancel.0").label.endswith("cancelled")
    at.button(key="train.cancel.1").click().run()
    assert not at.exception and fake.cancelled == [("livejob", 1)]


class SeedsManager:
    """Stands in for the job manager with a finished job of Adam and SGD over ``seeds`` seeds each."""

    def __init__(self, seeds: int) -> None:
        self.spec = ComparisonSpec(MNIST1D, (OptimizerChoice.parse("adam:lr=0.0047"), OptimizerChoice.parse("sgd")),
                                   epochs=2, batch_size=512, log_every=1, seeds=tuple(range(seeds)))

    def poll(self, job_id: str) -> JobStatus:
        results = tuple(
            RunResult(run, "finished",
                      [{**_record(s), "effective_lr": 0.01 * (1 + run.seed), "stat/lr": 0.01 * run.seed}
                       for s in range(1, 6)],
                      [{"epoch": e, "train_loss": 1.0 / (e + run.seed), "val_loss": 1.2 / (e + run.seed),
                        "test_accuracy": 0.4 + 0.1 * e + 0.01 * run.seed} for e in (1.0, 2.0)],
                      {"final_test_accuracy": 0.6, "final_val_loss": 0.6})
            for run in self.spec.runs())
        return JobStatus(job_id, "finished", self.spec, "", None, results, (), None, len(results), 0.0, 1.0)


def band_names(spec: dict[str, Any]) -> list[str]:
    return [t["name"] for t in spec["data"] if t["name"].endswith("95% band")]


def test_the_view_switches_between_seed_bands_and_individual_seeds(repo_root: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "get_manager", lambda: SeedsManager(3))
    at = open_page(repo_root, TRAIN, job="seedsjob")
    assert not at.exception
    assert at.radio(key="train.show").value == "band" and at.query_params["show"] == "band"
    charts = specs(at)
    assert len(charts) == 6
    for chart in charts:  # every figure: bands, and one legend entry per optimizer (the loss's line styles after)
        assert set(band_names(chart)) == {"Adam (lr=0.0047) · 95% band", "SGD · 95% band"}
        legend = [t["name"] for t in chart["data"] if t.get("showlegend", True)]
        assert legend == ["Adam (lr=0.0047)", "SGD"] + (["train", "validation"] if chart is charts[0] else [])
    assert not at.info, "three seeds: no note about n = 2"

    at.radio(key="train.show").set_value("seeds").run()
    assert not at.exception and at.query_params["show"] == "seeds"
    charts = specs(at)
    assert len(charts) == 6 and not any(band_names(chart) for chart in charts)
    assert {t["name"] for t in charts[2]["data"]} == {"Adam (lr=0.0047)", "SGD", "Adam (lr=0.0047) · seed 1",
                                                      "SGD · seed 1", "Adam (lr=0.0047) · seed 2", "SGD · seed 2"}


def test_two_seeds_say_why_the_band_is_wide(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "get_manager", lambda: SeedsManager(2))
    at = open_page(repo_root, TRAIN, job="seedsjob")
    assert not at.exception
    (note,) = [info.value for info in at.info]
    assert "n = 2" in note and "12\\.7" in note  # the Markdown source: its dot escaped
    at.radio(key="train.show").set_value("seeds").run()
    assert not at.exception and not at.info, "the note goes with the bands"


def test_a_bad_view_in_the_url_falls_back_to_the_bands(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "get_manager", lambda: SeedsManager(2))
    at = open_page(repo_root, TRAIN, job="seedsjob", show="nosuch")
    assert not at.exception
    assert any("show" in w and "default" in w for w in warnings(at))
    assert at.query_params["show"] == "band" and band_names(specs(at)[2])


class FakeManager:
    """Stands in for the job manager: ``submit`` raises ``busy`` when given, ``poll`` reports a failed job."""

    def __init__(self, busy: bool) -> None:
        self.busy = busy

    def submit(self, spec: ComparisonSpec, *, session: str = "") -> str:
        if self.busy:
            raise Busy("jobs: this session already has 2 jobs running (limit max_per_session=2)")
        self.spec = spec
        return "fakejob"

    def poll(self, job_id: str) -> JobStatus:
        return JobStatus(job_id, "failed", self.spec, "", None, (), (), "RuntimeError: out of memory", 2, 0.0, 1.0)


@pytest.mark.parametrize("busy", [True, False])
def test_busy_and_failed_jobs_show_their_message(repo_root: Path, monkeypatch: pytest.MonkeyPatch, busy: bool) -> None:
    fake = FakeManager(busy)
    monkeypatch.setattr(jobs, "get_manager", lambda: fake)
    at = open_page(repo_root, TRAIN, **TINY)
    at.button(key="train.start").click().run()
    assert not at.exception
    if busy:
        assert any("max_per_session=2" in w for w in warnings(at))
        assert "job" not in at.query_params
    else:
        assert any("out of memory" in e.value for e in at.error)
        assert progress_text(at).startswith("failed")
        assert fake.spec.epochs == 1 and fake.spec.batch_size == 512 and fake.spec.log_every == 1


def test_an_interrupted_job_says_so_and_resumes_the_rest(repo_root: Path) -> None:
    spec = ComparisonSpec(MNIST1D, (OptimizerChoice.parse("adam:lr=0.0047"),), epochs=1, batch_size=512, log_every=1)
    records.write(records.JobRecord("crashedjob", spec, time.time()))  # submitted; its server died before it ended
    at = open_page(repo_root, TRAIN, job="crashedjob", **TINY)
    assert not at.exception
    assert progress_text(at) == "interrupted · 0 of 1 runs ended"
    assert any(w.value.startswith("Interrupted: the server stopped") for w in at.warning)
    assert not any("ancel" in w.value for w in at.warning), "nobody cancelled it"
    at.button(key="train.resume").click().run()
    assert not at.exception
    wait_until_done(at)
    assert progress_text(at) == "finished · 1 of 1 runs ended"
    assert len(store.list_runs(job_id="crashedjob")) == 1 and at.query_params["job"] == "crashedjob"


class UnsavedManager(LiveManager):
    """A running job one of whose runs could not be saved."""

    def poll(self, job_id: str) -> JobStatus:
        status = super().poll(job_id)
        return JobStatus(**{**status.__dict__, "error": "could not save the run of Adam (seed 0): PermissionError"})


def test_a_run_that_cannot_be_saved_is_an_error_on_the_page(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "get_manager", lambda: UnsavedManager())
    at = open_page(repo_root, TRAIN, job="livejob")
    assert not at.exception and progress_text(at).startswith("running")
    (error,) = [e.value for e in at.error]
    assert "could not save the run of Adam" in error and "will end failed" in error
