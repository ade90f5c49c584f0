"""A page's figures and downloads: a Plotly figure with its caption beside it, and download buttons for its data."""

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st
from plotly.graph_objects import Figure

from ui.text import escape_markdown

_LEGEND_ROW_PX = 20  # one row of the horizontal legend that the engine's figures put between title and plot
_LEGEND_COLUMNS = 2  # entries per legend row in a figure three quarters of a wide page wide (the long names)


def _room_for_legend(figure: Figure) -> None:
    """Grow the top margin so a legend that wraps into many rows stays below the title instead of covering it."""
    entries = sum(1 for trace in figure.data if trace.showlegend is not False and trace.type != "heatmap")
    rows = -(-entries // _LEGEND_COLUMNS)
    needed = 60 + _LEGEND_ROW_PX * rows
    current = figure.layout.margin.t if figure.layout.margin.t is not None else 100  # Plotly's default
    if current < needed:
        figure.update_layout(margin_t=needed, height=(figure.layout.height or 450) + needed - current)


def figure_with_caption(figure: Figure, caption: str, *, key: str, select: bool = False) -> Any:
    """A Plotly figure with the sentences that say what to look at beside it, on the right. With ``select``, a click
    on a point reruns the page and the chart's state is returned (``state["selection"]["points"]``, each point with
    its ``customdata``); else None."""
    _room_for_legend(figure)
    left, right = st.columns([3, 1], vertical_alignment="center")
    selection: dict[str, Any] = {"on_select": "rerun", "selection_mode": "points"} if select else {}
    state = left.plotly_chart(figure, key=key, theme=None, config={"displaylogo": False}, **selection)
    right.markdown(escape_markdown(caption))
    return state if select else None


_MIME = {".csv": "text/csv", ".json": "application/json"}


def download_buttons(files: Sequence[tuple[str, Callable[[], str], str]]) -> None:
    """One download button per (label, text maker, file name), side by side; the text is made on the click (big
    grids cost nothing until asked for) and the click does not rerun the page. The MIME type follows the suffix."""
    for column, (label, make, file_name) in zip(st.columns(len(files)), files, strict=True):
        column.download_button(label, make, file_name=file_name, mime=_MIME[file_name[file_name.rindex("."):]],
                               icon=":material/download:", width="stretch", on_click="ignore")
