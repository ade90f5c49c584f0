"""The Sensitivity page, run headless with AppTest against stand-in job managers (and once against the real one, which
restores a saved grid from the store): a bare first visit starts a small grid at once, Start submits one job, the
figures fill in from the runs in progress, a finished grid shows its table, the job lives in the URL, and bad input
or a stale link shows a message instead of a traceback."""

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import engine.jobs as jobs
from engine.jobs import Busy, JobStatus
from engine.runs import ComparisonSpec, OptimizerChoice, Param, Progress, RunResult, SensitivitySpec, store
from engine.tasks import MNIST1D, steps_per_epoch
from tests.test_pages_theory import open_page, specs, values, warnings

PAGE = "pages/sensitivity.py"
CONFIG = {"n": "2", "opt1": "adam", "opt2": "sgd", "param": "lr", "lo": "0.001", "hi": "1", "scale": "log",
          "points": "4", "seeds": "2", "epochs": "3"}
GRID = SensitivitySpec(MNIST1D, optimizers=(OptimizerChoice.parse("adam"), OptimizerChoice.parse("sgd")),
                       param=Param("lr", 1e-3, 1.0, 4, True), seeds=(0, 1), epochs=3, batch_size=128,
                       log_every=steps_per_epoch(128))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path))
    return tmp_path


def epoch(e: float, val_loss: float) -> dict[str, float]:
    return {"epoch": e, "train_loss": val_loss, "val_loss": val_loss, "test_accuracy": 1.0 / (1.0 + val_loss)}


def result(position: int, status: str, epochs: int) -> RunResult:
    """Run ``position`` of ``GRID``'s comparison with ``epochs`` epoch rows (its loss falls with the value)."""
    run = GRID.comparison().runs()[position]
    lr = run.optimizer.hyperparameters["lr"]
    return RunResult(run, status, [], [epoch(e, 2.0 - lr / 2 + 0.01 * run.seed - 0.1 * e) for e in
                                       range(1, epochs + 1)], {})


class FakeManager:
    """Stands in for the job manager: records submissions and reports ``state`` with the ``ended`` runs of the
    comparison ended and the next ``running`` runs in progress."""

    def __init__(self, state: str = "running", ended: int = 0, running: int = 0, busy: bool = False) -> None:
        self.state, self.ended, self.running, self.busy = state, ended, running, busy
        self.submitted: list[ComparisonSpec] = []
        self.cancelled: str | None = None

    def submit(self, spec: ComparisonSpec, *, session: str = "") -> str:
        if self.busy:
            raise Busy("jobs: this session already has 2 jobs running (limit max_per_session=2)")
        self.submitted.append(spec)
        return "gridjob"

    def poll(self, job_id: str) -> JobStatus:
        spec = self.submitted[-1] if self.submitted else GRID.comparison()
        done = tuple(result(i, "finished", 3) for i in range(self.ended))
        partials = tuple(result(i, "running", 1) for i in range(self.ended, self.ended + self.running))
        progress = Progress(0.25, 10, 40, 30.0, "16 runs at once")
        return JobStatus(job_id, self.state, spec, "", progress, done, (), None, len(spec.runs()), 0.0, None,
                         partials=partials)

    def cancel(self, job_id: str, *, optimizer: int | None = None) -> bool:
        self.cancelled = job_id
        return True


def install(monkeypatch: pytest.MonkeyPatch, fake: Any) -> Any:
    monkeypatch.setattr(jobs, "get_manager", lambda: fake)
    return fake


def line(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """The trace named exactly ``name`` (an optimizer's mean line, not its band)."""
    return next(t for t in spec["data"] if t["name"] == name)


def progress_text(at: AppTest) -> str:
    bars = at.get("progress")
    return bars[0].proto.text if bars else ""


def test_a_bare_first_visit_starts_a_small_grid_at_once(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = install(monkeypatch, FakeManager(running=2))
    at = open_page(repo_root, PAGE)
    assert not at.exception and [t.value for t in at.title] == ["Sensitivity"]
    assert fake.submitted == [GRID.comparison()], "one job: the default grid"
    assert at.query_params["job"] == "gridjob" and at.query_params["param"] == "lr"
    assert {name: at.query_params[name] for name in CONFIG} == CONFIG
    assert progress_text(at).startswith("running · 25% · 16 runs at once")
    loss, _ = specs(at)
    assert values(line(loss, "Adam")["x"]) == [0.001, 0.01], "the values with runs so far"
    assert loss["layout"]["title"]["subtitle"]["text"].startswith("live: epoch 1 of 3")
    assert not at.get("expander"), "the table waits for the job's end"
    at.run()
    assert len(fake.submitted) == 1, "a first visit starts one grid at most"
    assert at.button(key="sensitivity.start").disabled
    at.button(key="sensitivity.cancel").click().run()
    assert not at.exception and fake.cancelled == "gridjob"


def test_a_link_with_a_configuration_waits_for_start_which_submits_one_job(
        repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = install(monkeypatch, FakeManager(state="finished", ended=16))
    at = open_page(repo_root, PAGE, **{**CONFIG, "param": "beta1", "lo": "0", "hi": "0.9", "scale": "linear",
                                       "opt2": "adamw", "points": "5"})
    assert not at.exception and not fake.submitted
    assert any("press **Start**" in info.value for info in at.info)
    at.button(key="sensitivity.start").click().run()
    assert not at.exception
    (submitted,) = fake.submitted
    grid = SensitivitySpec.from_comparison(submitted)
    assert grid.param == Param("beta1", 0.0, 0.9, 5) and len(grid.values) == 5
    assert [choice.key for choice in submitted.optimizers] == ["adam"] * 5 + ["adamw"] * 5
    assert at.query_params["job"] == "gridjob"


def test_a_finished_grid_shows_both_figures_and_its_table(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeManager(state="finished", ended=16))
    at = open_page(repo_root, PAGE, **CONFIG, job="gridjob")
    assert not at.exception
    assert progress_text(at) == "finished · 16 of 16 runs ended"
    loss, accuracy = specs(at)
    assert values(line(loss, "SGD")["x"]) == [0.001, 0.01, 0.1, 1.0]
    assert {t["name"] for t in loss["data"]} >= {"Adam · 95% band", "SGD · 95% band"}
    assert loss["layout"]["xaxis"]["type"] == "log"
    assert accuracy["layout"]["title"]["text"] == "Clean test accuracy"
    table = at.table[0].value
    assert list(table.columns) == ["optimizer", "lr", "best validation loss",
                                   "test accuracy at the best validation epoch", "diverged"]
    assert len(table) == 8 and list(table["diverged"]) == ["0/2"] * 8
    assert table["test accuracy at the best validation epoch"].str.endswith(tuple("0123456789")).all()


def test_bad_input_names_the_field_and_start_stays_off(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeManager())
    at = open_page(repo_root, PAGE, **{**CONFIG, "lo": "0.5", "hi": "0.1"})
    assert not at.exception
    assert any("HI" in error.value and "valid range" in error.value for error in at.error)
    assert at.button(key="sensitivity.start").disabled


def test_optimizers_without_a_common_hyperparameter_say_so(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeManager())
    at = open_page(repo_root, PAGE, **{**CONFIG, "opt1": "agaw", "opt2": "a2grad"})
    assert not at.exception
    assert any("share no numeric hyperparameter" in error.value for error in at.error)
    assert at.button(key="sensitivity.start").disabled


def slider_labels(at: AppTest) -> list[str]:
    return [slider.label for slider in [*at.slider, *at.select_slider]]


def test_the_hyperparameter_offers_what_every_optimizer_has(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, FakeManager())
    at = open_page(repo_root, PAGE, **{**CONFIG, "opt2": "adamw"})
    assert at.selectbox(key="sensitivity.param").options == ["lr", "beta1", "beta2"]
    assert "lr" not in slider_labels(at) and slider_labels(at).count("beta2") == 2, "the swept one has no slider"
    at.selectbox(key="sensitivity.param").set_value("beta2").run()
    assert not at.exception
    assert at.query_params["lo"] == "0.9" and at.query_params["hi"] == "0.9999"  # the registry's range
    assert slider_labels(at).count("lr") == 2 and "beta2" not in slider_labels(at)


@pytest.mark.parametrize("busy", [True, False])
def test_busy_says_so_and_a_stale_job_link_is_dropped(repo_root: Path, monkeypatch: pytest.MonkeyPatch,
                                                      busy: bool) -> None:
    if busy:
        install(monkeypatch, FakeManager(busy=True))
        at = open_page(repo_root, PAGE, **CONFIG)
        at.button(key="sensitivity.start").click().run()
        assert any("max_per_session=2" in w for w in warnings(at)) and "job" not in at.query_params
    else:
        at = open_page(repo_root, PAGE, **CONFIG, job="nosuchjob")  # the real manager, an empty store
        assert any("no sensitivity job 'nosuchjob'" in w for w in warnings(at)) and "job" not in at.query_params
    assert not at.exception


def test_a_train_comparison_in_the_url_is_not_drawn_as_a_grid(repo_root: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake = install(monkeypatch, FakeManager())
    fake.submitted.append(ComparisonSpec(MNIST1D, (OptimizerChoice.parse("adam"),), epochs=1))
    at = open_page(repo_root, PAGE, **CONFIG, job="trainjob")
    assert not at.exception and not specs(at)
    assert any("not a sensitivity grid" in w for w in warnings(at))


def test_a_bare_visit_shows_the_last_saved_grid(repo_root: Path) -> None:
    comparison = GRID.comparison()
    for position in range(len(comparison.runs())):
        store.save(result(position, "finished", 3), job_id="savedgrid", comparison=comparison)
    at = open_page(repo_root, PAGE)  # the real manager restores the job from the store
    assert not at.exception
    assert at.query_params["job"] == "savedgrid" and at.query_params["param"] == "lr"
    assert progress_text(at) == "finished · 16 of 16 runs ended"
    assert values(line(specs(at)[0], "Adam")["x"]) == [0.001, 0.01, 0.1, 1.0]
    assert at.table
