"""The one look every Optiscope figure shares: the template, the title, the legend and the margins."""

from __future__ import annotations

import plotly.graph_objects as go

TEMPLATE = "plotly_white"


def finish(fig: go.Figure, title: str, *, height: int = 440) -> go.Figure:
    """The shared look: template, a left title at the top, a horizontal legend between title and plot."""
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title, "x": 0.0, "xanchor": "left", "y": 0.98, "yanchor": "top", "yref": "container"},
        legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": 1.02, "yanchor": "bottom"},
        margin={"t": 110, "l": 70, "r": 30, "b": 60},
        height=height,
        hovermode="closest",
    )
    return fig
