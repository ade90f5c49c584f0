"""The Landscape page, run headless with AppTest: it draws its map from the URL, a changed axis changes the map, a
click on a cell opens that very run in the Playground, the Playground links back, and bad URL values fall back."""

import pytest
from streamlit.testing.v1 import AppTest

from engine.runs import Axis, LandscapeSpec, OptimizerChoice, compute_landscape
from tests.test_pages_theory import literal, open_page, specs, values, warnings
from ui.text import escape_markdown

LANDSCAPE, PLAYGROUND = "pages/landscape.py", "pages/playground.py"
SMALL = {"xn": "12", "yn": "8", "steps": "100"}  # a quick map for most tests
DEFAULTS = {"surface": "quadratic", "condition": "10", "rotation": "0", "noise": "0", "steps": "200",
            "opt1": "momentum", "xname": "lr", "xlo": "1e-05", "xhi": "1", "xscale": "log", "xn": "64",
            "yname": "momentum", "ylo": "0", "yhi": "0.999", "yscale": "linear", "yn": "64", "x0": "1.5", "y0": "0.5",
            "metric": "final_loss"}


def heatmap(at: AppTest) -> dict:
    """The map's heatmap (its x, y and z)."""
    return next(t for t in specs(at)[0]["data"] if t["type"] == "heatmap" and t.get("name") != "diverged")


def test_the_landscape_draws_a_map_with_the_theory_and_writes_its_url(repo_root) -> None:
    at = open_page(repo_root, LANDSCAPE)
    assert not at.exception and not at.error and not warnings(at)
    assert [t.value for t in at.title] == ["Landscape"]
    assert at.query_params == DEFAULTS
    names = [trace.get("name") for trace in specs(at)[0]["data"]]
    assert "diverged" in names and "theory: stability boundary" in names
    assert len(values(heatmap(at)["x"])) == 64 and "steps/s" in at.caption[0].value
    assert any("largest curvature" in markdown.value for markdown in at.markdown)


def test_changing_an_axis_changes_the_map(repo_root) -> None:
    at = open_page(repo_root, LANDSCAPE, **SMALL)
    before = values(heatmap(at)["z"])
    at.number_input(key="landscape.xhi").set_value(0.1).run()
    assert not at.exception
    assert at.query_params["xhi"] == "0.1" and values(heatmap(at)["x"])[-1] == 0.1
    assert values(heatmap(at)["z"]) != before
    at.slider(key="landscape.yn").set_value(5).run()
    assert len(values(heatmap(at)["y"])) == 5


def test_another_axis_takes_its_own_range(repo_root) -> None:
    at = open_page(repo_root, LANDSCAPE, **SMALL)
    at.selectbox(key="landscape.yname").set_value("y0").run()
    assert not at.exception and not at.error
    assert (at.query_params["ylo"], at.query_params["yhi"], at.query_params["yscale"]) == ("-2", "2", "linear")
    assert values(heatmap(at)["y"]) == [-2.0, *values(heatmap(at)["y"])[1:-1], 2.0]
    assert "y0" not in at.query_params  # the start's y is the axis now, not a field


def test_another_optimizer_resets_the_axes_to_its_hyperparameters(repo_root) -> None:
    at = open_page(repo_root, LANDSCAPE, **SMALL)
    at.selectbox(key="landscape.opt1").set_value("adam").run()
    assert not at.exception and not at.error
    assert (at.query_params["xname"], at.query_params["yname"]) == ("lr", "beta1")
    assert "theory: stability boundary" not in [trace.get("name") for trace in specs(at)[0]["data"]]


def test_a_click_on_a_cell_opens_that_run_in_the_playground(repo_root) -> None:
    at = open_page(repo_root, LANDSCAPE, **SMALL)
    [chart] = at.get("plotly_chart")
    x, y = values(heatmap(at)["x"]), values(heatmap(at)["y"])
    curve, markers = next((index, trace) for index, trace in enumerate(specs(at)[0]["data"])
                          if trace["type"] == "scatter" and "final loss" in trace.get("hovertemplate", ""))
    point = next(k for k, (row, column, _) in enumerate(values(markers["customdata"])) if (row, column) == (3, 5))
    at.session_state[chart.key] = {"selection": {"points": [{"curve_number": curve, "point_index": point}],
                                                 "point_indices": [point], "box": [], "lasso": []}}
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Playground"]
    assert at.query_params["opt1"] == f"momentum:lr={x[5]!r},momentum={y[3]!r}"
    assert (at.query_params["surface"], at.query_params["steps"], at.query_params["n"]) == ("quadratic", "100", "1")
    spec = LandscapeSpec("quadratic", OptimizerChoice("momentum"), Axis("lr", 1e-5, 1.0, 12, log=True),
                         Axis("momentum", 0.0, 0.999, 8), steps=100, task_args={"start": (1.5, 0.5)})
    expected = compute_landscape(spec).final_loss[3][5]
    [message] = at.success
    assert expected is not None and escape_markdown(f"loss {expected:.4g}") in message.value


def test_the_playground_opens_each_optimizer_as_a_landscape(repo_root) -> None:
    at = open_page(repo_root, PLAYGROUND, surface="quadratic", steps="100", n="2", opt1="adam:lr=0.05",
                   opt2="momentum:lr=0.02")
    assert not at.exception
    links = [link.proto for link in at.get("page_link")]
    landscape = [link for link in links if "landscape" in link.page]
    assert [link.label for link in landscape] == ["Open Adam (lr=0.05) as a landscape",
                                                   "Open Heavy ball (lr=0.02) as a landscape"]
    assert "opt1=momentum%3Alr%3D0.02" in landscape[1].query_string or "opt1=momentum:lr=0.02" in \
        landscape[1].query_string
    assert "surface=quadratic" in landscape[1].query_string and "opt2" not in landscape[1].query_string


@pytest.mark.parametrize(
    ("name", "bad", "shown"),
    [
        ("xn", "999", "2 <= xn <= 256"),
        ("yname", "nope", "allowed values: 'lr', 'momentum', 'x0', 'y0'"),
        ("xlo", "abc", "1e-05 <= xlo <= 1"),
        ("metric", "speed", "'final_loss', 'steps'"),
    ],
)
def test_a_bad_url_value_falls_back_with_a_warning(repo_root, name: str, bad: str, shown: str) -> None:
    at = open_page(repo_root, LANDSCAPE, **(SMALL | {name: bad}))
    assert not at.exception
    [message] = map(literal, warnings(at))
    assert f"invalid {name}=" in message and shown in message and "default" in message
    assert specs(at)


def test_a_range_the_optimizer_refuses_shows_its_message(repo_root) -> None:
    at = open_page(repo_root, LANDSCAPE, **SMALL, xscale="linear", xlo="0", yscale="log")
    assert not at.exception and not specs(at)
    assert "invalid LO=0.0; valid range: LO > 0" in at.error[0].value  # momentum from 0 on a log scale


def test_a_new_surface_moves_a_start_axis_into_its_domain(repo_root) -> None:
    at = open_page(repo_root, LANDSCAPE, **SMALL, surface="himmelblau", yname="y0", ylo="-5", yhi="5")
    assert not at.exception and not at.error and values(heatmap(at)["y"])[-1] == 5.0
    at.selectbox(key="landscape.surface").set_value("quadratic").run()
    assert not at.exception and not at.error
    assert (at.query_params["ylo"], at.query_params["yhi"]) == ("-2", "2") and values(heatmap(at)["y"])[-1] == 2.0
