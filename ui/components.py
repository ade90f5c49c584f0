"""Shared Streamlit components: how an optimizer and its hyperparameters are shown on every page."""

from collections.abc import Iterable

import streamlit as st

from optimizers import HyperParam, OptimizerInfo

HYPERPARAM_COLUMNS = ("name", "default", "range", "scale", "help")


def _number(value: float) -> str:
    """A number as a person writes it: ``0.001``, ``1e-07``, ``100``."""
    return f"{value:g}"


def hyperparam_row(hp: HyperParam) -> dict[str, str]:
    """One row of a hyperparameter table, keyed by ``HYPERPARAM_COLUMNS``."""
    if hp.kind == "choice":
        default, span, scale = str(hp.default), " / ".join(hp.choices), "choice"
    else:
        default = _number(float(hp.default))
        span = f"{_number(hp.low)} .. {_number(hp.high)}" if hp.low is not None and hp.high is not None else ""
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
