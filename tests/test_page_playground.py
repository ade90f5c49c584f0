"""The Playground, run headless with AppTest: it renders, hyperparameters and the surface move their figures, a bad
formula or a bad URL value shows a message instead of a traceback, and a diverging run says where it diverged."""

import pytest
from streamlit.testing.v1 import AppTest

from optimizers import REGISTRY, HyperParam
from tests.test_pages_theory import open_page, specs, trace, values, warnings
from ui.controls import log_stops

PLAYGROUND = "pages/playground.py"
DEFAULTS = {"surface": "rosenbrock", "x0": "-2", "y0": "2", "noise": "0", "steps": "200", "n": "2",
            "opt1": "adam:lr=0.05", "opt2": "momentum:lr=0.001"}


def trajectory(at: AppTest, prefix: str) -> list[float]:
    """The x coordinates of the path of the run whose label starts with ``prefix``, in the trajectory figure."""
    return values(trace(specs(at)[0], prefix)["x"])


def test_playground_renders_its_figures_and_writes_its_url(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    assert not at.exception
    assert [t.value for t in at.title] == ["Playground"]
    assert len(specs(at)) == 6  # trajectory, loss, effective LR, lr, cosine, internals
    assert at.query_params == DEFAULTS
    assert not warnings(at) and not at.error
    assert len(at.success) == 2 and "finished after 200 steps" in at.success[0].value
    assert len(trajectory(at, "Adam (lr=0.05)")) == 200


def test_changing_a_hyperparameter_changes_its_trajectory(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    before, other = trajectory(at, "Adam"), trajectory(at, "Heavy ball")
    at.select_slider(key="playground.opt1.adam.lr").set_value(0.1).run()
    assert not at.exception
    assert trajectory(at, "Adam (lr=0.1)") != before
    assert trajectory(at, "Heavy ball") == other
    assert at.query_params["opt1"] == "adam:lr=0.1"


def test_a_linear_hyperparameter_is_a_slider_and_goes_to_the_url(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    at.slider(key="playground.opt2.momentum.momentum").set_value(0.5).run()
    assert not at.exception
    assert at.query_params["opt2"] == "momentum:lr=0.001,momentum=0.5"


def test_changing_the_optimizer_uses_its_defaults(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    at.selectbox(key="playground.opt2").set_value("autosgm").run()
    assert not at.exception
    assert at.query_params["opt2"] == "autosgm"
    assert trace(specs(at)[0], "AutoSGM")
    assert specs(at)[5]["data"]  # AutoSGM reports internals


def test_changing_the_surface_changes_the_contour_and_the_start(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    contour = values(specs(at)[0]["data"][0]["z"])
    at.selectbox(key="playground.surface").set_value("himmelblau").run()
    assert not at.exception
    assert values(specs(at)[0]["data"][0]["z"]) != contour
    assert (at.query_params["x0"], at.query_params["y0"]) == ("0", "0")  # Himmelblau's own start


def test_a_formula_draws_and_a_bad_one_shows_the_parsers_message(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="formula", formula="x**2 + 3*y**2")
    assert not at.exception and not at.error
    assert len(specs(at)) == 6
    at.text_input(key="playground.formula").input("x**2 + foo(y)").run()
    assert not at.exception
    assert at.error and "foo" in at.error[0].value
    assert not specs(at)
    assert at.query_params["formula"] == "x**2 + foo(y)"


@pytest.mark.parametrize(
    ("name", "bad", "shown"),
    [
        ("opt1", "nosuch", "unknown optimizer 'nosuch'"),
        ("opt1", "adam:lr=-1", "lr"),
        ("opt2", "momentum:lr=abc", "lr"),
        ("steps", "abc", "invalid steps="),
        ("surface", "moon", "invalid surface="),
        ("n", "9", "invalid n="),
    ],
)
def test_bad_url_value_falls_back_with_a_warning(repo_root, name: str, bad: str, shown: str) -> None:
    at = open_page(repo_root, PLAYGROUND, **{name: bad})
    assert not at.exception
    [message] = warnings(at)
    assert shown in message and "default" in message
    assert at.query_params == DEFAULTS


def test_a_link_reproduces_the_view(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="beale", steps="50", n="1", opt1="sgd:lr=0.0123")
    assert not at.exception and not warnings(at)
    assert at.select_slider(key="playground.opt1.sgd.lr").value == pytest.approx(0.0123)  # off the slider's stops
    assert len(trajectory(at, "SGD (lr=0.0123)")) == 50
    assert at.query_params["opt1"] == "sgd:lr=0.0123"


def test_a_diverging_run_says_where_and_why(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, opt1="sgd:lr=1")
    assert not at.exception
    [error] = at.error
    assert "diverged at step 1" in error.value and "left the domain" in error.value
    assert trace(specs(at)[0], "SGD (lr=1.0): diverged")


def test_the_step_slider_moves_the_markers(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    at.slider(key="playground.step.200").set_value(20).run()
    assert not at.exception
    assert trace(specs(at)[0], "Adam (lr=0.05) at step 20")
    at.toggle(key="playground.3d").set_value(True).run()
    assert not at.exception
    assert specs(at)[0]["data"][0]["type"] == "surface"


LOG_SCALED = [pytest.param(hp, id=f"{info.key}.{hp.name}") for info in REGISTRY.values() for hp in info.hyperparams
              if hp.log]


@pytest.mark.parametrize("hp", LOG_SCALED)
def test_every_log_scale_default_is_a_stop_exactly_and_every_stop_reads_back(hp: HyperParam) -> None:
    stops = log_stops(hp)
    assert hp.default in stops and stops == sorted(set(stops))
    assert stops[0] == hp.low and stops[-1] == hp.high
    assert all(float(f"{stop:g}") == stop for stop in stops)  # what the slider and the URL show is the value


def test_a_default_like_0_05_round_trips_through_the_slider_and_the_url(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, n="1", opt1="adam:lr=0.05")
    lr = at.select_slider(key="playground.opt1.adam.lr")
    assert lr.value == 0.05 and "0.05" in lr.options
    assert at.query_params["opt1"] == "adam:lr=0.05"
    lr.set_value(0.07).run()
    assert at.query_params["opt1"] == "adam:lr=0.07"
    at.select_slider(key="playground.opt1.adam.lr").set_value(0.05).run()
    assert at.query_params["opt1"] == "adam:lr=0.05"
    assert trace(specs(at)[0], "Adam (lr=0.05)")


def test_a_new_optimizer_starts_at_its_registry_defaults_exactly(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    at.selectbox(key="playground.opt2").set_value("agaw").run()
    assert at.select_slider(key="playground.opt2.agaw.target_lr").value == 0.001
    assert at.select_slider(key="playground.opt2.agaw.initial_lr").value == 1e-07
    assert at.query_params["opt2"] == "agaw"  # every value is its default: nothing to write
