"""The Playground, run headless with AppTest: it renders, hyperparameters and the surface move their figures, a bad
formula or a bad URL value shows a message instead of a traceback, a diverging run says where and why it diverged,
every setting (the quadratic's, the step, the 3-D toggle, the speed) round-trips through the URL, and names in
messages are shown literally."""

# ruff: noqa: RUF001  (messages use the multiplication sign)


import pytest
from streamlit.testing.v1 import AppTest

from optimizers import REGISTRY, HyperParam
from tests.test_pages_theory import literal, open_page, specs, trace, values, warnings
from ui.controls import log_stops

PLAYGROUND = "pages/playground.py"
DEFAULTS = {"surface": "quadratic", "condition": "30", "rotation": "30", "x0": "1.5", "y0": "0.5", "noise": "0",
            "steps": "200", "n": "4", "opt1": "sgd", "opt2": "momentum", "opt3": "nesterov", "opt4": "adam:lr=0.01",
            "step": "200", "speed": "10", "surface3d": "false"}
ROSENBROCK = {"surface": "rosenbrock", "n": "2", "opt1": "adam:lr=0.05", "opt2": "momentum:lr=0.001"}


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
    assert len(at.success) == 4 and "finished after 200 steps" in at.success[0].value
    assert len(trajectory(at, "Adam (lr=0.01)")) == 200


def test_the_default_optimizers_share_one_learning_rate_and_make_different_progress(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    lrs = {at.select_slider(key=f"playground.opt{slot}.{key}.lr").value
           for slot, key in enumerate(("sgd", "momentum", "nesterov", "adam"), start=1)}
    assert lrs == {0.01}
    finals = [float(literal(s.value).split("loss ")[1].split(" ")[0]) for s in at.success]
    assert finals[1] < 1e-6 and finals[2] < 1e-6  # momentum gets there...
    assert finals[0] > 1e-3 and finals[3] > 1e-3  # ...SGD and Adam are still on the way
    paths = [tuple(trajectory(at, name)[:50]) for name in ("SGD", "Heavy ball", "Nesterov", "Adam")]
    assert len(set(paths)) == 4


def test_changing_a_hyperparameter_changes_its_trajectory(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK)
    before, other = trajectory(at, "Adam"), trajectory(at, "Heavy ball")
    at.select_slider(key="playground.opt1.adam.lr").set_value(0.1).run()
    assert not at.exception
    assert trajectory(at, "Adam (lr=0.1)") != before
    assert trajectory(at, "Heavy ball") == other
    assert at.query_params["opt1"] == "adam:lr=0.1"


def test_a_linear_hyperparameter_is_a_slider_and_goes_to_the_url(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK)
    at.slider(key="playground.opt2.momentum.momentum").set_value(0.5).run()
    assert not at.exception
    assert at.query_params["opt2"] == "momentum:lr=0.001,momentum=0.5"


def test_changing_the_optimizer_uses_its_defaults(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK)
    at.selectbox(key="playground.opt2").set_value("autosgm").run()
    assert not at.exception
    assert at.query_params["opt2"] == "autosgm"
    assert trace(specs(at)[0], "AutoSGM")
    assert specs(at)[5]["data"]  # AutoSGM reports internals


def test_changing_the_surface_changes_the_contour_and_the_start(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK)
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
    assert shown in literal(message) and "default" in message
    assert at.query_params == DEFAULTS


def test_a_link_reproduces_the_view(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="beale", steps="50", n="1", opt1="sgd:lr=0.0123")
    assert not at.exception and not warnings(at)
    assert at.select_slider(key="playground.opt1.sgd.lr").value == pytest.approx(0.0123)  # off the slider's stops
    assert len(trajectory(at, "SGD (lr=0.0123)")) == 50
    assert at.query_params["opt1"] == "sgd:lr=0.0123"


def test_a_diverging_run_says_where_and_why(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK | {"opt1": "sgd:lr=1"})
    assert not at.exception
    [error] = at.error
    message = literal(error.value)
    assert "diverged at step 1" in message and "left the domain" in message
    assert "lr × the largest curvature at the start is about 4,200, past SGD's limit of 2" in message
    assert trace(specs(at)[0], "SGD (lr=1.0): diverged")


@pytest.mark.parametrize(("optimizer", "product", "limit"), [
    ("sgd:lr=0.34", "3.4", "SGD's limit of 2"),
    ("momentum:lr=0.5", "5", "Heavy ball's limit of 2(1 + β) = 3.8"),
    ("nesterov:lr=0.2", "2", "Nesterov's limit of 2(1 + β)/(1 + 2β) = 1.4"),
])
def test_a_diverged_message_names_the_curvature_product_and_the_limit(repo_root, optimizer: str, product: str,
                                                                     limit: str) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="quadratic", condition="10", rotation="0", n="1", opt1=optimizer)
    assert not at.exception
    [error] = at.error
    assert f"lr × the largest curvature here is about {product}, past {limit}" in literal(error.value)
    assert not at.success


def test_a_formula_undefined_at_the_start_is_refused_before_any_run(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="formula", formula="log(x)")
    assert not at.exception
    [error] = at.error
    assert "f is undefined at the start (-4, 4)" in literal(error.value)
    assert not specs(at) and not at.success  # no run, no figure, no "diverged at step 1"


@pytest.mark.parametrize(("formula", "shown"), [("__import__('os')", "'__import__'"),
                                                ("x.__class__", "'x.__class__'")])
def test_names_in_the_formulas_message_are_shown_literally(repo_root, formula: str, shown: str) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="formula", formula=formula)  # a link's: the default, and a warning
    [warning] = warnings(at)
    assert "\\_\\_" in warning  # escaped, so Markdown shows the underscores instead of bold
    assert shown in literal(warning) and "invalid formula" in literal(warning)
    at.text_input(key="playground.formula").input(formula).run()  # typed: the parser's message, as an error
    [error] = at.error
    assert "\\_\\_" in error.value and shown in literal(error.value)


def test_a_bad_link_warns_full_width_not_inside_a_column(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK | {"x0": "-4", "opt1": "__nosuch__"})
    assert not at.exception
    assert len(warnings(at)) == 2
    assert "'__nosuch__'" in literal(warnings(at)[1]) or "'__nosuch__'" in literal(warnings(at)[0])
    assert not at.sidebar.warning  # above the page, full width: never squeezed into the start's narrow columns


def test_switching_from_a_formula_to_rosenbrock_shows_no_warning(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="formula", formula="x**2 + 3*y**2", x0="-4", y0="4")
    assert not at.exception and not warnings(at)
    at.selectbox(key="playground.surface").set_value("rosenbrock").run()
    assert not at.exception
    assert not warnings(at)
    assert (at.query_params["x0"], at.query_params["y0"]) == ("-2", "2")  # Rosenbrock's own start


def test_the_quadratics_controls_show_only_for_it_and_change_the_surface(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    contour = values(specs(at)[0]["data"][0]["z"])
    condition = at.select_slider(key="playground.condition")
    assert condition.value == 30 and "1000" in condition.options and "1" in condition.options
    condition.set_value(100.0).run()
    assert values(specs(at)[0]["data"][0]["z"]) != contour
    assert at.query_params["condition"] == "100"
    at.slider(key="playground.rotation").set_value(-45).run()
    assert at.query_params["rotation"] == "-45"
    assert "κ = 100, -45°" in specs(at)[0]["layout"]["title"]["text"]
    at.selectbox(key="playground.surface").set_value("rosenbrock").run()
    assert not at.exception
    assert not [s for s in at.select_slider if s.key == "playground.condition"]
    assert "condition" not in at.query_params and "rotation" not in at.query_params


def test_a_link_to_the_quadratic_without_its_arguments_means_the_engines_quadratic(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="quadratic", n="1", opt1="sgd")  # as the Landscape links a cell
    assert (at.query_params["condition"], at.query_params["rotation"]) == ("10", "0")


def test_every_new_setting_round_trips_through_the_url(repo_root) -> None:
    link = {"surface": "quadratic", "condition": "150", "rotation": "-20", "x0": "1", "y0": "-1", "noise": "0",
            "steps": "100", "n": "2", "opt1": "sgd:lr=0.012", "opt2": "adam:lr=0.05", "step": "37", "speed": "25",
            "surface3d": "true"}
    at = open_page(repo_root, PLAYGROUND, **link)
    assert not at.exception and not warnings(at)
    assert at.query_params == link
    assert at.select_slider(key="playground.condition").value == 150
    assert at.slider(key="playground.rotation").value == -20
    assert at.number_input(key="playground.step").value == 37
    assert at.slider(key="playground.speed").value == 25
    assert at.toggle(key="playground.surface3d").value is True
    figure = specs(at)[0]
    assert figure["data"][0]["type"] == "surface"
    assert "κ = 150, -20°" in figure["layout"]["title"]["text"]
    slider = figure["layout"]["sliders"][0]
    assert slider["steps"][slider["active"]]["label"] == "37"
    assert trace(figure, "SGD (lr=0.012) at step 37")
    assert figure["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["duration"] == 40  # 25 frames/s
    assert len(figure["frames"]) > 1


def test_the_step_and_the_toggles_move_the_figure(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND)
    at.number_input(key="playground.step").set_value(20).run()
    assert not at.exception
    assert trace(specs(at)[0], "Adam (lr=0.01) at step 20")
    assert at.query_params["step"] == "20"
    at.toggle(key="playground.surface3d").set_value(True).run()
    assert not at.exception
    assert specs(at)[0]["data"][0]["type"] == "surface" and at.query_params["surface3d"] == "true"
    at.slider(key="playground.steps").set_value(300).run()
    assert at.query_params["step"] == "300"  # new steps: the figure opens at their end


LOG_SCALED = [pytest.param(hp, id=f"{info.key}.{hp.name}") for info in REGISTRY.values() for hp in info.hyperparams
              if hp.log]


@pytest.mark.parametrize("hp", LOG_SCALED)
def test_every_log_scale_default_is_a_stop_exactly_and_every_stop_reads_back(hp: HyperParam) -> None:
    stops = log_stops(hp)
    assert hp.default in stops and stops == sorted(set(stops))
    assert stops[0] == hp.low and stops[-1] == hp.high
    assert all(float(f"{stop:g}") == stop for stop in stops)  # what the slider and the URL show is the value


def test_a_default_like_0_05_round_trips_through_the_slider_and_the_url(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK | {"n": "1"})
    lr = at.select_slider(key="playground.opt1.adam.lr")
    assert lr.value == 0.05 and "0.05" in lr.options
    assert at.query_params["opt1"] == "adam:lr=0.05"
    lr.set_value(0.07).run()
    assert at.query_params["opt1"] == "adam:lr=0.07"
    at.select_slider(key="playground.opt1.adam.lr").set_value(0.05).run()
    assert at.query_params["opt1"] == "adam:lr=0.05"
    assert trace(specs(at)[0], "Adam (lr=0.05)")


def test_a_new_optimizer_starts_at_its_registry_defaults_exactly(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, **ROSENBROCK)
    at.selectbox(key="playground.opt2").set_value("agaw").run()
    assert at.select_slider(key="playground.opt2.agaw.target_lr").value == 0.001
    assert at.select_slider(key="playground.opt2.agaw.initial_lr").value == 1e-07
    assert at.query_params["opt2"] == "agaw"  # every value is its default: nothing to write
