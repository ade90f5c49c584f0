"""The runs' figures: per-step and per-epoch telemetry of each run, as plotly Figures (the trajectory over a surface is
in ``trajectory``).

Pure functions from ``engine.runs.RunResult`` lists to ``plotly.graph_objects.Figure`` (no Streamlit), so the page, the
CLI's HTML export and the tests build the same figures. Every trace of a run wears its optimizer's colour
(``engine.figures.colours.optimizer_colour``); a second run of the same optimizer in one figure is dashed.
``CAPTIONS`` holds the text a page shows beside each figure (the downloads are ``engine.figures.exports``'). Runs that
differ only in their seed form a group (``engine.runs.group_runs``): the legend has one entry per group, named by its
label in lines that fit a phone (``legend_name``), and its runs' lines toggle together; the hover names each run
(``run_entries``). With ``describe`` (runs of several comparisons, such as saved runs), labels also name each group's
length and seeds.
"""



from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.figures.colours import NEUTRAL, optimizer_colour
from engine.figures.style import finish, legend_name
from engine.runs import RunResult, group_runs, run_labels
from optimizers import get

_DASHES = ("solid", "dash", "dot", "dashdot")  # the 1st, 2nd, ... run of the same optimizer in one figure

CAPTIONS: dict[str, str] = {
    "trajectory": "Each optimizer's path over the loss surface from the same start (square) towards the minimum "
    "(star), one point per step. The shading is f itself, or log10(1 + f - f_min) when f spans more than two decades "
    "over the domain, so valleys stay visible. Drag the step slider to see where every run was at that step; a run "
    "that diverged ends with an x, its reason in the hover.",
    "loss": "The loss f(x_t, y_t) at every step, on a log scale: a straight line down is linear convergence, a "
    "flat stretch a plateau or a slow valley. Runs start at the same loss because they start at the same point.",
    "effective_lr": "The step the optimizer actually took, measured from the iterates: effective LR = ||update|| / "
    "||gradient||. For plain SGD it equals the learning rate; momentum and adaptivity make it rise and fall with the "
    "gradient's history, which is what this plot shows.",
    "lr": "The learning rate the optimizer itself holds (its param_groups' lr): constant for the baselines, rising "
    "for warmups such as AGAW. Compare it with the effective LR to see how much momentum or adaptivity rescales it.",
    "cos_grad_prev": "The cosine between this step's gradient and the previous one, cos(g_t, g_{t-1}). Near 1 the "
    "gradients agree (a straight descent); near -1 they flip-flop, the sign of oscillation across a valley that "
    "a smaller step or more momentum damps.",
    "internals": "What each optimizer reports about itself (its stats), one small plot per quantity: AGAW's "
    "warmup LR and cosine, A2Grad's h and gamma, AutoSGM's window, numerator, denominator and stability margin. "
    "Only optimizers that report internals appear here.",
}
"""The sentences a page shows beside each figure, by figure."""


def run_label(result: RunResult) -> str:
    """A run's display name: its optimizer's label, with the seed when it is not 0."""
    label = result.spec.optimizer.label
    return label if result.spec.seed == 0 else f"{label} · seed {result.spec.seed}"


def run_styles(results: Sequence[RunResult]) -> list[tuple[str, str]]:
    """(colour, dash) per run: the optimizer's colour, dashed for its 2nd, 3rd ... run in the figure."""
    seen: dict[str, int] = {}
    styles = []
    for result in results:
        key = result.spec.optimizer.key
        styles.append((optimizer_colour(key), _DASHES[seen.get(key, 0) % len(_DASHES)]))
        seen[key] = seen.get(key, 0) + 1
    return styles


@dataclass(frozen=True)
class RunEntry:
    """How one run's lines enter a figure: ``name`` (its group's label as the legend shows it, ``legend_name``, for
    the group's first run, which carries the legend entry, else the run's own label), ``hover`` (the run's own label),
    ``group`` (the legend group) and ``legend`` (whether this run shows the group's entry)."""

    name: str
    hover: str
    group: str
    legend: bool


def run_entries(results: Sequence[RunResult], *, describe: bool = False) -> list[RunEntry]:
    """One ``RunEntry`` per run, in order: a single legend entry per group of ``group_runs``, never a repeated one."""
    labels = run_labels(results, describe=describe)
    group_of = {id(run): group.label for group in group_runs(results, describe=describe) for run in group.runs}
    shown: set[str] = set()
    entries = []
    for result, label in zip(results, labels, strict=True):
        group = group_of[id(result)]
        entries.append(RunEntry(label if group in shown else legend_name(group), label, group, group not in shown))
        shown.add(group)
    return entries


def style_entries(fig: go.Figure, names: Sequence[str], dashes: Sequence[str]) -> None:
    """Legend entries without data, in grey, saying what each line style means (e.g. train solid, validation
    dotted)."""
    for name, dash in zip(names, dashes, strict=False):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name, legendgroup=f"style {name}",
                                 line={"color": NEUTRAL, "width": 2, "dash": dash}, hoverinfo="skip"))


def column(result: RunResult, key: str) -> list[float]:
    """The records' ``key`` in step order (NaN where a record lacks it)."""
    return [float(row.get(key, math.nan)) for row in result.records]


LOG_TICKS_MAX = 6  # labelled ticks on a log axis: more crowd each other in a panel a few hundred pixels high


def log_ticks(values: Iterable[float]) -> list[float]:
    """Tick values for a log axis over the positive finite ``values``: 1-2-5 in each decade; only every n-th power of
    ten when that gives more than ``LOG_TICKS_MAX``; every n-th digit (0.2, 0.4, ...) when it gives fewer than two
    (a short range). Plotly's own choice labels every minor tick of a short range (0.15, 0.2, 0.25, ...), and those
    labels overlap."""
    finite = [v for v in values if math.isfinite(v) and v > 0]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)

    def inside(mantissas: Iterable[int]) -> list[float]:
        return [t for t in (float(f"{m}e{k}") for k in decades for m in mantissas) if low <= t <= high]

    ticks = inside((1, 2, 5))
    if len(ticks) > LOG_TICKS_MAX:  # more than two decades: their powers of ten
        ticks = inside((1,))
    elif len(ticks) < 2:
        ticks = inside(range(1, 10)) or ticks
    return ticks[:: math.ceil(len(ticks) / LOG_TICKS_MAX)] if ticks else []


def _tidy_log_y(fig: go.Figure) -> None:
    """Label every log y axis of ``fig`` at ``log_ticks`` of all its traces' values."""
    ticks = log_ticks(v for trace in fig.data for v in (() if trace.y is None else trace.y) if v is not None)
    if ticks:
        fig.update_yaxes(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], selector={"type": "log"})


def finish_lines(fig: go.Figure, title: str, x_title: str, y_title: str, log_y: bool, *,
                 subtitle: str | None = None) -> go.Figure:
    """The shared look of a line figure against the step or the epoch, with readable log ticks when ``log_y``."""
    finish(fig, title, height=380, subtitle=subtitle)
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    _tidy_log_y(fig)
    return fig


def series_figure(results: Sequence[RunResult], key: str, *, log_y: bool = False, title: str,
                  y_title: str, describe: bool = False) -> go.Figure:
    """The telemetry series ``key`` of every run against the step, in the optimizers' colours."""
    fig = go.Figure()
    for result, (colour, dash), entry in zip(results, run_styles(results), run_entries(results, describe=describe),
                                             strict=True):
        mode = "lines+markers" if len(result.records) == 1 else "lines"  # one point: a line alone would not show
        fig.add_trace(go.Scatter(x=column(result, "step"), y=column(result, key), mode=mode, name=entry.name,
                                 line={"color": colour, "width": 2, "dash": dash}, legendgroup=entry.group,
                                 showlegend=entry.legend,
                                 hovertemplate=f"{entry.hover}<br>step %{{x}}<br>{y_title} %{{y:.4g}}<extra></extra>"))
    return finish_lines(fig, title, "step", y_title, log_y)


STABILITY_MARGIN = "stat/stability_margin"
"""The telemetry key of AutoSGM's live stability margin kappa_t / kappa_max (``optimizers.autosgm``)."""


def stat_names(result: RunResult) -> list[str]:
    """The ``stat/*`` keys a run recorded, in first-seen order."""
    names: dict[str, None] = {}
    for row in result.records:
        names.update({key: None for key in row if key.startswith("stat/")})
    return list(names)


def short_labels(results: Sequence[RunResult]) -> list[str]:
    """Each run's optimizer name without its hyperparameters (``AutoSGM``), numbered from its second run in the list
    (``AutoSGM #2``): short enough for a small panel's title, while the legend gives the full ``run_label``."""
    seen: dict[str, int] = {}
    labels = []
    for result in results:
        name = get(result.spec.optimizer.key).name
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return labels


INTERNALS_PANEL_PX = 210  # height of one row of internals panels, title and tick labels included


def note_figure(text: str, title: str) -> go.Figure:
    """A figure with ``text`` in its middle and no axes: what a figure shows when there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": NEUTRAL})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, title, height=220)


NO_INTERNALS = "None of these optimizers reports internal statistics."


def small_multiples(titles: Sequence[str], columns: int) -> go.Figure:
    """An empty grid of ``len(titles)`` panels, ``columns`` wide, titled ``titles`` (the internals' layout); a
    ``<optimizer> · <statistic>`` title takes two lines, so that on a phone it stays inside its panel."""
    rows = -(-len(titles) // columns)
    return make_subplots(rows=rows, cols=columns, subplot_titles=[title.replace(" · ", "<br>") for title in titles],
                         horizontal_spacing=0.14,
                         # 84 px between rows: tick labels, then the two-line title
                         vertical_spacing=min(84 / (INTERNALS_PANEL_PX * rows), 0.3))


def finish_small_multiples(fig: go.Figure, title: str, panels: int, columns: int) -> go.Figure:
    """The look of a ``small_multiples`` grid of ``panels`` panels: small panel titles and ticks, the legend under
    the figure's title."""
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 11}
    height = 180 + INTERNALS_PANEL_PX * -(-panels // columns)
    finish(fig, title, height=height)
    fig.update_layout(margin_t=fig.layout.margin.t + 30)  # room for the first row's two-line panel titles
    fig.update_xaxes(tickfont={"size": 10})
    fig.update_yaxes(tickfont={"size": 10}, exponentformat="power", nticks=5)
    return fig


def internals_figure(results: Sequence[RunResult], *, columns: int = 2, describe: bool = False) -> go.Figure:
    """Small multiples of every run's own statistics (``stat/*``): one panel per (run, statistic), in the run's
    colour; a note instead when no run reports any.

    A panel's title is the short ``<optimizer> · <statistic>`` (``short_labels``) so that titles never run into their
    neighbours at any width a page gives the figure; the legend names each group in full.
    """
    panels = [(result, style, short, name, entry)
              for result, style, short, entry in zip(results, run_styles(results), short_labels(results),
                                                     run_entries(results, describe=describe), strict=True)
              for name in stat_names(result)]
    if not panels:
        return note_figure(NO_INTERNALS, "Optimizer internals")
    fig = small_multiples([f"{short} · {name.removeprefix('stat/')}" for _, _, short, name, _ in panels], columns)
    shown: set[str] = set()
    for index, (result, (colour, dash), _, name, entry) in enumerate(panels):
        fig.add_trace(go.Scatter(x=column(result, "step"), y=column(result, name), mode="lines", name=entry.name,
                                 line={"color": colour, "width": 1.5, "dash": dash}, legendgroup=entry.group,
                                 showlegend=entry.legend and entry.group not in shown,
                                 hovertemplate=f"{entry.hover}<br>step %{{x}}<br>{name} %{{y:.4g}}<extra></extra>"),
                      row=index // columns + 1, col=index % columns + 1)
        shown.add(entry.group)
    return finish_small_multiples(fig, "Optimizer internals (stats)", len(panels), columns)


# --- MNIST-1D (the Train page) ------------------------------------------------------------------------------------

EPOCH_DASHES = ("solid", "dot", "dash", "dashdot")  # the 1st, 2nd, ... key of one epoch figure


def epoch_column(result: RunResult, key: str) -> list[float]:
    """The per-epoch rows' ``key`` in epoch order (NaN where a row lacks it)."""
    return [float(row.get(key, math.nan)) for row in result.epochs]


def epoch_figure(results: Sequence[RunResult], keys: Sequence[str], *, log_y: bool = False, title: str,
                 y_title: str, names: Sequence[str] | None = None, describe: bool = False) -> go.Figure:
    """The per-epoch series ``keys`` (e.g. ``train_loss`` and ``val_loss``) of every run against the epoch, in the
    optimizers' colours: one line style per key (solid, dotted, ...), named ``names`` (default: the keys) in grey
    legend entries after the groups' (one entry per group, as ``run_entries``)."""
    names = list(names) if names is not None else list(keys)
    fig = go.Figure()
    for result, (colour, _), entry in zip(results, run_styles(results), run_entries(results, describe=describe),
                                          strict=True):
        for index, (key, name, dash) in enumerate(zip(keys, names, EPOCH_DASHES, strict=False)):
            hover = f"{entry.hover} · {name}" if len(keys) > 1 else entry.hover
            fig.add_trace(go.Scatter(x=epoch_column(result, "epoch"), y=epoch_column(result, key),
                                     mode="lines+markers", name=entry.name if index == 0 else hover,
                                     legendgroup=entry.group, showlegend=entry.legend and index == 0,
                                     line={"color": colour, "width": 2, "dash": dash}, marker={"size": 6},
                                     hovertemplate=f"{hover}<br>epoch %{{x}}<br>{name} %{{y:.4g}}<extra></extra>"))
    if len(keys) > 1:
        style_entries(fig, names, EPOCH_DASHES)
    return finish_lines(fig, title, "epoch", y_title, log_y)


def layer_keys(results: Sequence[RunResult]) -> list[str]:
    """The ``grad_norm/<layer>`` keys the runs recorded, in first-seen order."""
    names: dict[str, None] = {}
    for result in results:
        for row in result.records:
            names.update({key: None for key in row if key.startswith("grad_norm/")})
    return list(names)


NO_LAYERS = "No per-layer gradient norms recorded yet."
LAYERS_TITLE = "Gradient norm per layer"


def layer_panels(keys: Sequence[str]) -> go.Figure:
    """An empty row of one panel per ``grad_norm/<layer>`` key, sharing the y axis (the layers' layout)."""
    return make_subplots(rows=1, cols=len(keys), shared_yaxes=True, horizontal_spacing=0.03)


def finish_layers(fig: go.Figure, keys: Sequence[str]) -> go.Figure:
    """The look of a ``layer_panels`` figure: the layer under each panel, a shared log scale with readable ticks.

    Each panel's x title is two short lines, the layer and ``step``: on a phone a panel is some 80 px wide, and one
    line (``hidden1 · step``) runs into its neighbour's."""
    finish(fig, f"{LAYERS_TITLE} (shared scale)", height=380)
    fig.update_layout(margin_b=80)
    for index, key in enumerate(keys):
        fig.update_xaxes(title_text=f"{key.removeprefix('grad_norm/')}<br>step", title_font_size=12,
                         row=1, col=index + 1)
    fig.update_yaxes(type="log")
    _tidy_log_y(fig)
    fig.update_yaxes(title_text="||g_layer||", row=1, col=1)
    return fig


def layers_figure(results: Sequence[RunResult], *, describe: bool = False) -> go.Figure:
    """Per-layer gradient norms ``grad_norm/<layer>`` against the step: one panel per layer (log scale), one line per
    run in its optimizer's colour; a note instead when no run recorded any."""
    keys = layer_keys(results)
    if not keys:
        return note_figure(NO_LAYERS, LAYERS_TITLE)
    fig = layer_panels(keys)
    for result, (colour, dash), entry in zip(results, run_styles(results), run_entries(results, describe=describe),
                                             strict=True):
        for index, key in enumerate(keys):
            fig.add_trace(go.Scatter(x=column(result, "step"), y=column(result, key), mode="lines", name=entry.name,
                                     line={"color": colour, "width": 1.5, "dash": dash}, legendgroup=entry.group,
                                     showlegend=entry.legend and index == 0,
                                     hovertemplate=f"{entry.hover}<br>step %{{x}}<br>{key} %{{y:.4g}}<extra></extra>"),
                          row=1, col=index + 1)
    return finish_layers(fig, keys)
