"""Home's cards: an optimizer with its hyperparameter table, and a page or lesson with its picture."""

from collections.abc import Iterable, Mapping
from pathlib import Path

import streamlit as st

from optimizers import HyperParam, OptimizerInfo
from ui.text import escape_markdown, plain_number

HYPERPARAM_COLUMNS = ("name", "default", "range", "scale", "help")


def hyperparam_row(hp: HyperParam) -> dict[str, str]:
    """One row of a hyperparameter table, keyed by ``HYPERPARAM_COLUMNS``."""
    if hp.kind == "choice":
        default, span, scale = str(hp.default), " / ".join(hp.choices), "choice"
    else:
        default = plain_number(float(hp.default))
        has_range = hp.low is not None and hp.high is not None
        span = f"{plain_number(hp.low)} .. {plain_number(hp.high)}" if has_range else ""
        scale = "log" if hp.log else "linear"
    return {"name": hp.name, "default": default, "range": span, "scale": scale, "help": hp.help}


def hyperparam_rows(info: OptimizerInfo) -> list[dict[str, str]]:
    """The hyperparameter table of ``info``, one row per hyperparameter in registry order."""
    return [hyperparam_row(hp) for hp in info.hyperparams]


def optimizer_card(info: OptimizerInfo) -> None:
    """A bordered card: display name, one-line description and, folded, the hyperparameter table."""
    with st.container(border=True):
        st.subheader(info.name, anchor=info.key)
        st.text(info.description)  # literal: descriptions hold maths like ``||g||`` that Markdown would mangle
        with st.expander(f"Hyperparameters ({len(info.hyperparams)})"):
            st.table(hyperparam_rows(info), hide_index=True, border="horizontal")


def optimizer_cards(infos: Iterable[OptimizerInfo]) -> None:
    """``optimizer_card`` for each of ``infos``, one under the other."""
    for info in infos:
        optimizer_card(info)


# Home's card pictures: each page's (<page>.png) and lesson's (lesson_<key>.png) first figure (scripts/page_pictures.py)
PICTURES_DIR = Path(__file__).resolve().parent.parent / "assets" / "pictures"


def picture_card(page: str, title: str, icon: str, text: str, *, picture: str,
                 query_params: Mapping[str, str] | None = None) -> None:
    """A bordered card: the picture ``PICTURES_DIR/<picture>.png`` (when it has been taken), a link to ``page`` (with
    ``query_params``) titled ``title``, and ``text`` under it, shown literally."""
    with st.container(border=True):
        path = PICTURES_DIR / f"{picture}.png"
        if path.exists():
            st.image(path, width="stretch")
        st.page_link(page, label=title, icon=icon, query_params=query_params)
        st.caption(escape_markdown(text))
