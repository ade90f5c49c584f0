"""The one look every Optiscope figure shares: the template, the title, the legend, the toolbar and the margins."""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE = "plotly_white"
# The template is Plotly's default for every figure of this process, applied when a figure is serialised (4 ms) rather
# than validated into each one by ``update_layout(template=...)`` (10 ms, half of ``finish``): a live Train page redraws
# six figures a poll, and that cost was most of a loaded server's time (benchmarks/bench_load.py).
pio.templates.default = TEMPLATE
MODEBAR_MARGIN = 40  # px: the right margin that holds the chart's toolbar, upright, clear of the title and legend
TITLE_CHARACTERS = 38  # a title line's length at most: what a 390 px phone shows at the title's font size
# A legend entry's line at most: a horizontal legend is as wide as the plot, some 250 px on a 390 px phone, and its text
# starts 40 px in, after the entry's symbol: 30 characters of the legend's font, in the widest one it may fall back on.
LEGEND_CHARACTERS = 30
TITLE_TOP_PX, TITLE_LINE_PX = 12, 24  # the title's first line from the figure's top, and each line's height


def wrapped(text: str, width: int) -> str:
    """``text`` broken at spaces into lines of at most ``width`` characters (Plotly wraps neither a title nor a legend
    entry itself, so a long one ran off a phone's screen); line breaks already in it are kept."""
    lines = [piece for line in text.split("<br>") for piece in textwrap.wrap(line, width) or [""]]
    return "<br>".join(lines)


def legend_name(label: str) -> str:
    """``label`` as a legend entry shows it, the name of the trace that carries the entry: in lines of at most
    ``LEGEND_CHARACTERS`` (an optimizer with several hyperparameters takes two), so that on a phone it stays inside
    the plot's width instead of running under the toolbar. Hovers name the run on one line."""
    return wrapped(label, LEGEND_CHARACTERS)


def finish(fig: go.Figure, title: str, *, height: int = 440, subtitle: str | None = None) -> go.Figure:
    """The shared look (its template is the process's default, ``TEMPLATE``): a left title at the top (wrapped to
    fit a phone) with an optional smaller ``subtitle`` under it, the horizontal legend right under them (in pixels
    from the top, so however many rows it needs on a narrow screen it never runs into the title: the plot moves down
    instead), and the chart's toolbar upright in the right margin, clear of both."""
    text = wrapped(title, TITLE_CHARACTERS)
    lines = text.count("<br>") + 1
    title = {"text": text, "x": 0.0, "xanchor": "left", "y": 1 - TITLE_TOP_PX / height, "yanchor": "top",
             "yref": "container"}
    if subtitle is not None:
        title["subtitle"] = {"text": wrapped(subtitle, TITLE_CHARACTERS)}
        lines += title["subtitle"]["text"].count("<br>") + 1
    legend_top = TITLE_TOP_PX + TITLE_LINE_PX * lines + 6
    fig.update_layout(
        title=title,
        legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": 1 - legend_top / height, "yanchor": "top",
                "yref": "container"},
        margin={"t": legend_top + 60, "l": 70, "r": MODEBAR_MARGIN, "b": 60},
        modebar={"orientation": "v", "bgcolor": "rgba(255, 255, 255, 0.8)"},
        height=height,
        hovermode="closest",
    )
    return fig
