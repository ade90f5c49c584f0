"""The app's router and its Home page, run headless with AppTest: a route per page file, the guided path, and every
registered optimizer with its description and hyperparameters."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from engine.lessons import load_lessons
from optimizers import REGISTRY, HyperParam
from ui.cards import HYPERPARAM_COLUMNS, PICTURES_DIR, hyperparam_row
from ui.navigation import PAGE_GUIDE, PAGES, PAGES_DIR, leave_legacy_navigation

RESEARCH_FIRST = sorted(REGISTRY.values(), key=lambda info: not info.research)  # stable: registry order within


@pytest.fixture(scope="module")
def app(repo_root: Path) -> AppTest:
    """Home (the default page of app.py) after its first run (importing torch can take a while on a cold machine)."""
    return AppTest.from_file(repo_root / "app.py", default_timeout=60).run()


def test_runs_without_exception(app: AppTest) -> None:
    assert not app.exception
    assert [title.value for title in app.title] == ["Optiscope"]


def test_guides_a_person_through_the_lessons_then_every_page(app: AppTest) -> None:
    """A card per lesson (opening it), then one per page but Home, in the guide's order; the optimizers after."""
    assert [header.value for header in app.header] == ["Start with a lesson", "The explorer, page by page",
                                                      "Research optimizers", "Baselines"]
    links = [(link.proto.label, link.proto.page) for link in app.get("page_link")]
    lessons = load_lessons()
    assert len(lessons) >= 6
    assert links[:len(lessons)] == [(lesson.title, "lessons") for lesson in lessons]
    assert [page for _, page in links[len(lessons):]] == [path for *_, path in PAGES[1:]]
    assert list(PAGE_GUIDE) == [file for file, *_ in PAGES[1:]]


def test_every_card_has_its_picture() -> None:
    """Each page's and each lesson's card shows a small picture of it, taken by scripts/page_pictures.py."""
    names = [file.removesuffix(".py") for file in PAGE_GUIDE] + [f"lesson_{lesson.key}" for lesson in load_lessons()]
    missing = [name for name in names if not (PICTURES_DIR / f"{name}.png").is_file()]
    assert not missing, f"no picture for {missing}: run scripts/page_pictures.py"


def test_lists_each_optimizer_once(app: AppTest) -> None:
    shown = [subheader.value for subheader in app.subheader]
    assert sorted(shown) == sorted(info.name for info in REGISTRY.values())
    assert len(set(shown)) == len(shown)
    assert not [md.value for md in app.markdown if md.value.startswith("- **")], "no second list of the optimizers"


def test_lists_research_optimizers_first_then_baselines(app: AppTest) -> None:
    assert [subheader.value for subheader in app.subheader] == [info.name for info in RESEARCH_FIRST]


def test_shows_every_description(app: AppTest) -> None:
    texts = {text.value for text in app.text}
    assert {info.description for info in REGISTRY.values()} <= texts


def test_each_hyperparameter_table_lists_its_hyperparameters(app: AppTest) -> None:
    tables = [table.value for table in app.table]  # one per card, in card order
    assert len(tables) == len(RESEARCH_FIRST)
    for info, table in zip(RESEARCH_FIRST, tables, strict=True):
        assert tuple(table.columns) == HYPERPARAM_COLUMNS, info.key
        assert list(table["name"]) == [hp.name for hp in info.hyperparams], info.key


@pytest.mark.parametrize(
    ("hp", "expected"),
    [
        (
            HyperParam("lr", 1e-3, "Step size.", low=1e-5, high=1.0, log=True),
            {"name": "lr", "default": "0.001", "range": "1e-05 .. 1", "scale": "log", "help": "Step size."},
        ),
        (
            HyperParam("warmup_steps", 100, "Steps.", low=1, high=2000),
            {"name": "warmup_steps", "default": "100", "range": "1 .. 2000", "scale": "linear", "help": "Steps."},
        ),
        (
            HyperParam("base", "adam", "Inner.", choices=("adam", "sgd")),
            {"name": "base", "default": "adam", "range": "adam / sgd", "scale": "choice", "help": "Inner."},
        ),
    ],
    ids=["log-float", "int", "choice"],
)
def test_hyperparam_row(hp: HyperParam, expected: dict[str, str]) -> None:
    assert hyperparam_row(hp) == expected


def test_the_router_has_a_page_per_file_in_pages() -> None:
    """app.py routes every page in pages/ (a new page file needs its line in ``ui.navigation.PAGES``), at the URL
    paths that shared links name; Home is the default page, at /."""
    assert sorted(file for file, *_ in PAGES) == sorted(path.name for path in PAGES_DIR.glob("*.py"))
    assert [(title, url_path) for _, title, _, url_path in PAGES] == [
        ("Home", None), ("Lessons", "lessons"), ("Playground", "playground"), ("Landscape", "landscape"),
        ("Train", "train"), ("Sensitivity", "sensitivity"), ("Filter Lab", "filter_lab"),
        ("Stability", "stability"), ("Sweeps", "sweeps"),
    ]


def test_the_legacy_reroute_does_nothing_outside_a_script_run() -> None:
    """An import by a test or the CLI leaves Streamlit alone (tests/e2e/test_deep_links.py checks what the reroute
    does in a script run): no rerun raised, the config option untouched."""
    before = st.get_option("client.showSidebarNavigation")
    leave_legacy_navigation()
    assert st.get_option("client.showSidebarNavigation") == before
