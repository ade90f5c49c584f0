"""Filter Lab and Stability, run headless with AppTest: they render, every control moves its figure, presets set the
controls, the URL carries the configuration both ways (bad values fall back to defaults with a warning), the live
margin reads a Playground link or a run saved by Train, and the downloads are offered."""

# ruff: noqa: RUF001  (button labels use the spec's Greek symbols)

import json
import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from engine.figures.exports import trace_values
from engine.figures.runs import STABILITY_MARGIN
from engine.figures.theory import FILTER_PRESETS
from engine.runs import ComparisonSpec, OptimizerChoice, run_comparison, store
from engine.theory import deadbeat

FILTER_LAB, STABILITY = "pages/filter_lab.py", "pages/stability.py"
FILTER_DEFAULTS = {"beta": "0.9", "gamma": "0.5528", "eta": "0.2236", "debias": "true"}
STABILITY_DEFAULTS = {"beta": "0.9", "gamma": "0.5528", "kappa": "1", "steps": "60", "run": "playground",
                      "playground": "surface=quadratic&steps=200&n=1&opt1=autosgm:lr=0.5"}


@pytest.fixture(autouse=True)
def optiscope_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$OPTISCOPE_HOME`` for each test: the Stability page lists the runs Train saved there."""
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path))
    return tmp_path


def downloads(at: AppTest) -> list[str]:
    """The labels of the page's download buttons, in page order."""
    return [button.proto.label for button in at.get("download_button")]


def open_page(repo_root: Path, page: str, **query: str) -> AppTest:
    """The app switched to ``page``, opened with the URL query ``query``."""
    at = AppTest.from_file(repo_root / "app.py", default_timeout=60).run()
    at.query_params.clear()
    at.query_params.update(query)
    return at.switch_page(page).run()


def specs(at: AppTest) -> list[dict[str, Any]]:
    """The Plotly JSON spec of every chart on the page, in page order."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace(spec: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The first trace of ``spec`` whose name starts with ``prefix``."""
    return next(t for t in spec["data"] if t.get("name", "").startswith(prefix))


def values(array: Any) -> list[Any]:
    """A spec's array as a list: Plotly 7 writes numeric arrays as typed ``{"dtype", "bdata", "shape"}`` objects."""
    if isinstance(array, dict) and "bdata" in array:
        return trace_values(array).tolist()
    return list(array)


def warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def literal(markdown: str) -> str:
    """What a message written through ``escape_markdown`` shows: its text without the escaping backslashes."""
    return re.sub(r"\\(.)", r"\1", markdown)


# --- Filter Lab ---------------------------------------------------------------------------------------------------


def test_filter_lab_renders_four_figures_and_writes_its_url(repo_root: Path) -> None:
    at = open_page(repo_root, FILTER_LAB)
    assert not at.exception
    assert [t.value for t in at.title] == ["Filter Lab"]
    assert len(specs(at)) == 4
    assert at.query_params == FILTER_DEFAULTS
    assert not warnings(at)
    assert downloads(at) == ["frequency response (CSV)", "impulse and step responses (CSV)", "configuration (JSON)"]


def test_filter_lab_reads_its_url(repo_root: Path) -> None:
    at = open_page(repo_root, FILTER_LAB, beta="0.5", gamma="0.25", eta="1", debias="exact")
    assert not at.exception and not warnings(at)
    assert at.slider(key="filter_lab.beta").value == pytest.approx(0.5)
    assert at.slider(key="filter_lab.gamma").value == pytest.approx(0.25)
    assert at.number_input(key="filter_lab.eta").value == pytest.approx(1.0)
    assert at.radio(key="filter_lab.debias").value == "exact"
    assert values(trace(specs(at)[0], "pole")["x"]) == [0.5]


@pytest.mark.parametrize(
    ("widget", "key", "value", "figure", "changed"),
    [
        ("slider", "beta", 0.5, 0, lambda s: values(trace(s, "pole")["x"])),
        ("slider", "gamma", -0.2, 0, lambda s: values(trace(s, "zero")["x"])),
        ("number_input", "eta", 1.0, 1, lambda s: values(trace(s, "magnitude")["y"])),
        ("radio", "debias", "exact", 2, lambda s: [t.get("visible") for t in s["data"]]),
        ("slider", "beta", 0.3, 3, lambda s: values(trace(s, "your filter")["x"])),
    ],
    ids=["beta-pole", "gamma-zero", "eta-magnitude", "debias-steps", "beta-design-plane"],
)
def test_every_filter_control_changes_its_figure(repo_root: Path, widget: str, key: str, value: object,
                                                 figure: int, changed: Any) -> None:
    at = open_page(repo_root, FILTER_LAB)
    before = changed(specs(at)[figure])
    getattr(at, widget)(key=f"filter_lab.{key}").set_value(value).run()
    assert not at.exception
    assert changed(specs(at)[figure]) != before
    assert float(at.query_params[key]) == value if widget != "radio" else at.query_params[key] == value


def test_debias_hides_the_other_debiased_step(repo_root: Path) -> None:
    at = open_page(repo_root, FILTER_LAB, debias="false")
    time_response = specs(at)[2]
    assert trace(time_response, "step, seed debias").get("visible") == "legendonly"
    assert trace(time_response, "step, exact debias").get("visible") == "legendonly"
    assert trace(time_response, "step response (no debias)").get("visible") in (None, True)


@pytest.mark.parametrize("preset", FILTER_PRESETS, ids=lambda p: p.name)
def test_a_filter_preset_sets_the_controls(repo_root: Path, preset: Any) -> None:
    at = open_page(repo_root, FILTER_LAB, beta="0.3", gamma="-0.5", eta="3")
    at.button(key=f"preset {preset.name}").click().run()
    assert not at.exception
    assert at.slider(key="filter_lab.beta").value == pytest.approx(preset.beta)
    assert at.slider(key="filter_lab.gamma").value == pytest.approx(preset.gamma, abs=1e-4)
    assert at.number_input(key="filter_lab.eta").value == pytest.approx(preset.eta, abs=1e-4)
    assert float(at.query_params["beta"]) == pytest.approx(preset.beta)
    assert values(trace(specs(at)[0], "pole")["x"]) == [pytest.approx(preset.beta)]


@pytest.mark.parametrize(
    ("name", "bad", "shown"),
    [
        ("beta", "1.5", "0 <= beta <= 0.999"),
        ("beta", "nan", "0 <= beta <= 0.999"),
        ("beta", "abc", "0 <= beta <= 0.999"),
        ("gamma", "1", "-1 <= gamma <= 0.999"),
        ("eta", "0", "0.001 <= eta <= 10"),
        ("debias", "maybe", "'true', 'exact', 'false'"),
    ],
)
def test_filter_lab_bad_url_value_falls_back_with_a_warning(repo_root: Path, name: str, bad: str,
                                                            shown: str) -> None:
    at = open_page(repo_root, FILTER_LAB, **{name: bad})
    assert not at.exception
    [message] = map(literal, warnings(at))
    assert f"invalid {name}=" in message and shown in message and "default" in message
    assert at.query_params == FILTER_DEFAULTS  # the defaults are used and written back


# --- Stability ----------------------------------------------------------------------------------------------------


def test_stability_renders_maps_and_a_run_and_writes_its_url(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY)
    assert not at.exception
    assert [t.value for t in at.title] == ["Stability"]
    maps_beta, maps_gamma, run, _ = specs(at)
    assert maps_beta["data"][0]["type"] == maps_gamma["data"][0]["type"] == "heatmap"
    assert values(trace(maps_gamma, "deadbeat")["x"]) == [pytest.approx(float(deadbeat(0.9)[1]))]
    assert "converging" in trace(run, "predicted")["name"]
    assert at.query_params == STABILITY_DEFAULTS
    assert downloads(at) == ["(κ, β) map (CSV)", "(γ, κ) map (CSV)", "simulated run (CSV)", "live margin (CSV)",
                             "configuration (JSON)"]


def test_the_live_margin_is_the_playground_examples_trace_against_one(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY)
    (expected,) = run_comparison(ComparisonSpec("quadratic", (OptimizerChoice.parse("autosgm:lr=0.5"),), steps=200,
                                                task_args={"noise": 0.0, "start": (1.5, 0.5)}))
    margin = specs(at)[3]
    line = values(trace(margin, "AutoSGM (lr=0.5)")["y"])
    assert line[1:] == [row[STABILITY_MARGIN] for row in expected.records[1:]]
    assert any(shape.get("y0") == 1.0 == shape.get("y1") for shape in margin["layout"]["shapes"])
    assert not at.error and not at.info


def test_a_playground_link_without_autosgm_says_how_to_make_one(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY, playground="surface=quadratic&n=2&opt1=adam&opt2=sgd")
    assert not at.exception and len(specs(at)) == 3
    assert "no AutoSGM" in at.info[0].value and "Train has saved none yet" in at.info[0].value
    [link] = at.get("page_link")
    assert link.proto.label == "Open the Playground with AutoSGM" and link.proto.page == "playground"
    assert "opt1=autosgm" in link.proto.query_string


def test_a_bad_playground_link_shows_the_fields_message(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY)
    at.text_input(key="stability.playground").set_value("surface=quadratic&steps=many&opt1=autosgm").run()
    assert not at.exception and len(specs(at)) == 3
    assert "invalid steps='many'" in at.error[0].value
    assert at.query_params["playground"] == "surface=quadratic&steps=many&opt1=autosgm"  # the link, as typed


def test_a_run_saved_by_train_is_read_from_the_store(repo_root: Path) -> None:
    (result,) = run_comparison(ComparisonSpec("rosenbrock", (OptimizerChoice.parse("autosgm:lr=0.05"),), steps=30))
    run_id = store.save(result).stem
    at = open_page(repo_root, STABILITY, run=run_id)
    assert not at.exception and not warnings(at)
    assert at.selectbox(key="stability.run").value == run_id
    assert not at.text_input  # the Playground link is only asked for with that source
    line = values(trace(specs(at)[3], "AutoSGM (lr=0.05)")["y"])
    assert line[1:] == [row[STABILITY_MARGIN] for row in result.records[1:]]
    assert at.query_params["run"] == run_id and "playground" not in at.query_params


def test_a_run_id_that_is_gone_falls_back_to_the_playground_with_a_warning(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY, run="20260101T000000000000Z-deadbeef-autosgm")
    assert not at.exception
    [message] = warnings(at)
    assert "invalid run=" in message and "default" in message
    assert len(specs(at)) == 4 and at.query_params["run"] == "playground"


@pytest.mark.parametrize(
    ("key", "value", "figure", "changed"),
    [
        ("beta", 0.5, 1, lambda s: values(s["data"][0]["z"])),
        ("gamma", 0.1, 0, lambda s: values(s["data"][0]["z"])),
        ("kappa", 2.0, 0, lambda s: values(trace(s, "your configuration")["x"])),
        ("kappa", 2.0, 2, lambda s: values(trace(s, "AutoSGM run")["y"])),
        ("steps", 100, 2, lambda s: len(values(trace(s, "AutoSGM run")["x"]))),
    ],
    ids=["beta-map", "gamma-map", "kappa-star", "kappa-run", "steps-run"],
)
def test_every_stability_control_changes_its_figure(repo_root: Path, key: str, value: float, figure: int,
                                                    changed: Any) -> None:
    at = open_page(repo_root, STABILITY)
    before = changed(specs(at)[figure])
    at.slider(key=f"stability.{key}").set_value(value).run()
    assert not at.exception
    assert changed(specs(at)[figure]) != before
    assert float(at.query_params[key]) == value


def test_past_the_boundary_the_run_diverges_as_predicted(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY, beta="0.9", gamma="0", kappa="4")  # kappa_max(0.9, 0) = 3.8
    run = values(trace(specs(at)[2], "AutoSGM run")["y"])
    assert "diverging" in trace(specs(at)[2], "predicted")["name"]
    assert run[-1] > run[0]
    assert at.error and "diverges" in at.error[0].value


def test_deadbeat_button_reaches_radius_zero(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY, beta="0.5")
    at.button(key="deadbeat").click().run()
    assert at.slider(key="stability.gamma").value == pytest.approx(1 / 3, abs=1e-4)
    assert at.slider(key="stability.kappa").value == pytest.approx(1.5)
    assert at.metric[0].value == "0.0000" or float(at.metric[0].value) < 1e-2


def test_a_stability_preset_sets_the_controls(repo_root: Path) -> None:
    at = open_page(repo_root, STABILITY, beta="0.3", gamma="-0.5", kappa="5")
    at.button(key="preset heavy ball").click().run()
    assert at.slider(key="stability.beta").value == pytest.approx(0.9)
    assert at.slider(key="stability.gamma").value == pytest.approx(0.0)
    assert at.query_params["gamma"] == "0"
    assert "converging" in trace(specs(at)[2], "predicted")["name"]


@pytest.mark.parametrize(("name", "bad"), [("beta", "7"), ("kappa", "-1"), ("steps", "12.5"), ("gamma", "inf")])
def test_stability_bad_url_value_falls_back_with_a_warning(repo_root: Path, name: str, bad: str) -> None:
    at = open_page(repo_root, STABILITY, **{name: bad})
    assert not at.exception
    [message] = warnings(at)
    assert f"invalid {name}=" in message and "default" in message
    assert at.query_params == STABILITY_DEFAULTS
