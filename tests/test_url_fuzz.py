"""No link does harm: every page's URL parameters, fuzzed headless with AppTest.

For each page and each kind of hostile value (wrong type, non-finite, huge, a 10,000-character string, markup), every
parameter of the page gets that value at once, and the page must render within AppTest's timeout without an exception
element; a value the page refused (the URL it writes back holds another) has a warning naming the field and its valid
range; markup is never rendered as Markdown. Then the link failures of issue 14, each reproduced: a Playground link on
Stability asking for a million steps, ``steps=inf`` in it, and the Sweeps page's old ``storage`` parameter.
"""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.runs.playground_link import STEPS_RANGE
from engine.sweeps import default_storage, redacted
from tests.test_pages_theory import literal
from ui.navigation import PAGES

TIMEOUT_S = 30  # per script run: a link never makes a page work longer than this
MARKUP = ("<script>alert(1)</script>", "**bold**", "__import__('os')")
VALUES = {  # the kinds of hostile value, each given to every parameter of a page at once
    "text": "abc",
    "nan": "nan",
    "inf": "inf",
    "-inf": "-inf",
    "1e308": "1e308",
    "huge integer": "9" * 400,
    "long": "x" * 10_000,
    **dict(zip(("script", "bold", "python"), MARKUP, strict=True)),
}
# Each page's URL parameters (a context first: the values that show the gated ones, e.g. the formula's field).
# test_the_table_names_every_parameter_a_page_writes keeps this table whole.
PARAMETERS: dict[str, list[tuple[dict[str, str], tuple[str, ...]]]] = {
    "home.py": [({}, ("page",))],
    "lessons.py": [({}, ("lesson", "step", "answers"))],
    "playground.py": [({}, ("surface", "condition", "rotation", "x0", "y0", "noise", "steps", "n", "opt1", "opt2",
                            "opt3", "opt4", "step", "speed", "surface3d")),
                      ({"surface": "formula"}, ("formula",))],
    "landscape.py": [({}, ("surface", "condition", "rotation", "noise", "steps", "opt1", "xname", "xlo", "xhi",
                           "xscale", "xn", "yname", "ylo", "yhi", "yscale", "yn", "x0", "y0", "metric")),
                     ({"metric": "steps"}, ("tol",))],
    "train.py": [({}, ("epochs", "batch", "seeds", "n", "opt1", "opt2", "show", "job"))],
    "sensitivity.py": [({}, ("seeds", "epochs", "n", "opt1", "opt2", "param", "lo", "hi", "scale", "points", "job"))],
    "filter_lab.py": [({}, ("beta", "gamma", "eta", "debias"))],
    "stability.py": [({}, ("beta", "gamma", "kappa", "steps", "run", "playground"))],
    "sweeps.py": [({}, ("task", "opts", "tune_adam", "tune_sgd", "trials", "epochs", "pruner", "workers", "name",
                        "view", "storage")),
                  ({"task": "rosenbrock"}, ("steps",))],
}
RANGE_WORDS = ("valid range", "expected", "allowed", "known:")  # how a refusal states what is valid


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$OPTISCOPE_HOME`` and no server storage: nothing a test's page writes outlives it."""
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("OPTISCOPE_STORAGE", raising=False)
    return tmp_path / "home"


def open_link(repo_root: Path, page: str, query: dict[str, str]) -> AppTest:
    """The app switched to ``pages/<page>`` opened with the URL query ``query``, each script run bounded in time."""
    at = AppTest.from_file(repo_root / "app.py", default_timeout=TIMEOUT_S).run()
    at.query_params.clear()
    at.query_params.update(query)
    return at.switch_page(f"pages/{page}").run()


def shown_texts(at: AppTest) -> list[str]:
    """The Markdown bodies of the page's text elements and alerts, as the page wrote them (escaped or not)."""
    kinds = ("markdown", "caption", "warning", "error", "info", "success", "title", "header", "subheader")
    return [element.value for kind in kinds for element in at.get(kind)]


def names_field(text: str, name: str) -> bool:
    """Whether a message names URL field ``name`` as ``name=...`` or ``name = ...`` (not inside another word)."""
    return re.search(rf"(?<![\w.]){re.escape(name)}\s?=", text) is not None


def refusal(at: AppTest, name: str) -> str | None:
    """The (unescaped) warning that names field ``name``, if any."""
    return next((text for text in map(literal, (w.value for w in at.warning)) if names_field(text, name)), None)


CASES = [pytest.param(page, context, names, value, id=f"{page.removesuffix('.py')}{'+' if context else ''}-{kind}")
         for page, groups in PARAMETERS.items() for context, names in groups for kind, value in VALUES.items()]


@pytest.mark.parametrize(("page", "context", "names", "value"), CASES)
def test_a_hostile_value_in_every_field_falls_back_with_a_warning(repo_root: Path, page: str, context: dict[str, str],
                                                                  names: tuple[str, ...], value: str) -> None:
    at = open_link(repo_root, page, context | dict.fromkeys(names, value))
    assert not at.exception, [e.value for e in at.exception]
    for name in names:
        written = at.query_params.get(name)
        if written is not None and written != value:  # refused: the page went on with another value
            warning = refusal(at, name)
            assert warning is not None, (name, [literal(w.value) for w in at.warning])
            assert any(word in warning for word in RANGE_WORDS), warning
            assert len(warning) < 1000, warning  # a 10,000-character value is cut in the message
    if value in MARKUP:  # shown literally wherever it is shown, never as Markdown
        assert not [text for text in shown_texts(at) if value in text]


def test_the_table_names_every_parameter_a_page_writes(repo_root: Path) -> None:
    assert set(PARAMETERS) == {file for file, *_ in PAGES}
    for page, groups in PARAMETERS.items():
        fuzzed = {name for _, names in groups for name in names}
        for context, _ in groups:
            at = open_link(repo_root, page, context | {"unused": "1"})  # not bare: Train and Sensitivity start nothing
            assert not at.exception
            assert set(at.query_params) - set(context) - {"unused"} <= fuzzed, page


# --- the link failures of issue 14, reproduced ------------------------------------------------------------------------

STABILITY = "stability.py"
FOUR_AUTOSGMS = "surface=quadratic&n=4&" + "&".join(f"opt{slot}=autosgm:lr=0.{slot}" for slot in range(1, 5))


@pytest.mark.parametrize("steps", ["1000000", "inf", "1e308", "9" * 400])
def test_a_playground_link_on_stability_is_held_to_the_playgrounds_steps(repo_root: Path, steps: str) -> None:
    at = open_link(repo_root, STABILITY, {"playground": f"{FOUR_AUTOSGMS}&steps={steps}"})
    assert not at.exception  # steps=inf raised OverflowError in the page
    warning = refusal(at, "steps")
    low, high = STEPS_RANGE
    assert warning is not None and f"{low} <= steps <= {high}" in warning and "playground" in warning
    assert f"steps={steps}" not in at.text_input(key="stability.playground").value  # the default link instead
    at.text_input(key="stability.playground").input(f"{FOUR_AUTOSGMS}&steps={steps}").run()  # typed: refused too
    assert not at.exception
    assert any(f"{low} <= steps <= {high}" in literal(error.value) for error in at.error)


def test_a_playground_link_at_the_playgrounds_limit_runs_there(repo_root: Path) -> None:
    at = open_link(repo_root, STABILITY, {"playground": f"{FOUR_AUTOSGMS}&steps={STEPS_RANGE[1]}"})
    assert not at.exception and not at.warning
    assert at.text_input(key="stability.playground").value.endswith(f"steps={STEPS_RANGE[1]}")


@pytest.mark.parametrize("storage", ["journal:{tmp}/elsewhere/journal.log", "sqlite:///{tmp}/elsewhere.db",
                                     "postgresql://user:secret@203.0.113.1:1/db"])
def test_a_link_never_chooses_the_sweeps_storage(repo_root: Path, tmp_path: Path, storage: str) -> None:
    at = open_link(repo_root, "sweeps.py", {"storage": storage.format(tmp=tmp_path), "task": "rosenbrock"})
    assert not at.exception and not at.error
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "elsewhere.db").exists()
    assert "storage" not in at.query_params  # the link's parameter is dropped, and no field takes one
    assert not [field for field in at.text_input if "storage" in (field.key or "")]
    assert any(redacted(default_storage()) in literal(caption.value) for caption in at.caption)


@pytest.mark.parametrize("name", ["a:b", "x" * 81, "   "])
def test_a_links_sweep_name_is_checked_at_the_url(repo_root: Path, name: str) -> None:
    at = open_link(repo_root, "sweeps.py", {"name": name, "task": "rosenbrock"})
    assert not at.exception and not at.error  # refused at the URL, not by the sweep when it is built
    assert at.text_input(key="sweeps.name").value == "my-sweep"
    assert any("name=" in literal(warning.value) and "1 to 80 characters" in literal(warning.value)
               for warning in at.warning)
