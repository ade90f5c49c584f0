"""The Sweeps page's figures and downloads: a sweep's best-so-far curves, one study's parallel coordinates and
hyperparameter importances (``optuna.visualization``), a claim's reproduction over seeds; trials as CSV, the spec and
best configurations as JSON.

Pure functions from Optuna trials and studies, ``engine.sweeps.studies`` rows and ``engine.sweeps.claims`` results to
``plotly.graph_objects.Figure`` or text (no Streamlit), so the page and the tests read the same figures. Every mode
wears its optimizer's colour (``engine.figures.colours.optimizer_colour``), dashed for a second mode of the same
optimizer. A study with too few complete trials for a figure gets an empty figure that says so, never an exception.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from engine.figures.colours import optimizer_colour
from engine.figures.style import finish
from engine.runs.stats import mean_ci, welch
from engine.sweeps.budget import USED
from engine.sweeps.claims import METRICS, SMOKE_TEST, Claim, Reproduction
from engine.sweeps.studies import ModeProgress, SweepSpec
from engine.tasks import get_task

MIN_TRIALS = 2
"""Complete trials with a finite value that parallel coordinates and importances need."""

_OBJECTIVE_SCALE = [[0.0, "rgb(8,48,107)"], [1.0, "rgb(170,205,230)"]]  # lowest objective darkest, never white
_DASHES = ("solid", "dash", "dot", "dashdot")  # the 1st, 2nd, ... mode of the same optimizer in one figure
REPORTED = "the write-up's number"  # the claims figure's open diamonds

CAPTIONS: dict[str, str] = {
    "best_so_far": "For every optimizer, the best objective found so far against the number of its trials that "
    "have ended (complete or pruned, in the order they ended): best_k = min(value_1, ..., value_k). The objective is "
    "the lowest validation loss over a trial's epochs (on a 2-D surface, the lowest loss). Equal budgets make the "
    "curves comparable at every x; a curve that still falls at its end wants more trials.",
    "parallel": "One line per complete trial of this optimizer, through its value of every tuned hyperparameter "
    "and its objective, coloured by the objective (darker is lower). Where the good lines bunch together, the "
    "range could be narrowed; good lines at the edge of a range say the range should be widened.",
    "importance": "How much each tuned hyperparameter decides whether a trial lands among the best (Optuna's "
    "PED-ANOVA: the divergence between the hyperparameter's distribution in the top trials and over the whole "
    "range); the importances sum to 1. With few trials they are noisy; with one tuned hyperparameter it is 1.",
    "claims": "Per mode, the mean over seeds with its 95% confidence interval (mean ± t_{0.975, n-1} s / sqrt(n)) on "
    "the write-up's own metric (top) and on the clean one that never chooses an epoch by the test set (bottom); the "
    "open diamond is the number the write-up reported from one run. A reported number outside our interval is not "
    "what fair tuning and several seeds reproduce.",
    "verdicts": "Each row is one comparison of a seed write-up's claim, re-run with equal tuning budgets over ten "
    "seeds: the difference of the means, signed so that right of zero is the side the write-up claims (in the "
    "metric's own units), with its 95% confidence interval (Welch). Filled: the write-up's own metric; open: the "
    "clean one, which never chooses an epoch by the test set. Green holds, red is contradicted, grey cannot tell "
    "at this many seeds.",
}
"""The sentences a page shows beside each figure, by figure."""


def _styles(spec: SweepSpec) -> dict[str, tuple[str, str]]:
    """Mode label -> (colour, dash): its optimizer's colour, dashed for the 2nd, 3rd ... mode of that optimizer."""
    seen: dict[str, int] = {}
    styles = {}
    for mode in spec.modes:
        styles[mode.label] = (optimizer_colour(mode.key), _DASHES[seen.get(mode.key, 0) % len(_DASHES)])
        seen[mode.key] = seen.get(mode.key, 0) + 1
    return styles


def best_so_far(trials: Sequence[FrozenTrial]) -> tuple[list[int], list[float]]:
    """(k, best objective among the first k ended trials) for every k with a finite best so far; trials end in
    ``datetime_complete`` order, pruned ones spend budget without a value."""
    ended = sorted((t for t in trials if t.state in USED and t.datetime_complete is not None),
                   key=lambda t: t.datetime_complete)  # type: ignore[arg-type, return-value]
    xs, ys, best = [], [], math.inf
    for k, trial in enumerate(ended, start=1):
        if trial.state == TrialState.COMPLETE and trial.value is not None and math.isfinite(trial.value):
            best = min(best, trial.value)
        if math.isfinite(best):
            xs.append(k)
            ys.append(best)
    return xs, ys


def best_so_far_figure(spec: SweepSpec, trials: Mapping[str, Sequence[FrozenTrial]]) -> go.Figure:
    """Each tuned mode's best objective so far against its ended trials (``trials``: mode label -> its trials)."""
    fig = go.Figure()
    styles = _styles(spec)
    lows = []
    for label, mode_trials in trials.items():
        xs, ys = best_so_far(mode_trials)
        colour, dash = styles.get(label, (optimizer_colour(""), "solid"))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=label, line={"color": colour, "dash": dash,
                                 "width": 2, "shape": "hv"}, marker={"color": colour, "size": 6},
                                 hovertemplate=f"{label}<br>trial %{{x}}<br>best so far %{{y:.5g}}<extra></extra>"))
        lows.extend(ys)
    finish(fig, f"Best objective so far · {spec.name}", height=400)
    fig.update_xaxes(title_text="trials ended (complete or pruned)", range=[0.5, spec.trials + 0.5], dtick=_dtick(
        spec.trials))
    positive = [y for y in lows if y > 0]
    log = len(positive) == len(lows) > 1 and max(positive) / min(positive) > 100
    fig.update_yaxes(title_text=get_task(spec.task).objective,
                     type="log" if log else "linear", exponentformat="power")
    if not lows:
        _note(fig, "No trial has ended yet: the curves start with the first complete trial.")
    return fig


def _dtick(trials: int) -> int:
    """An x tick every 1, 2, 5, 10, ... trials: at most about ten ticks."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if trials / step <= 10:
            return step
    return 1000


def _finite_complete(study: optuna.Study) -> int:
    return sum(t.value is not None and math.isfinite(t.value)
               for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def parallel_figure(study: optuna.Study, title: str) -> go.Figure:
    """``optuna.visualization.plot_parallel_coordinate`` of ``study`` (diverged trials, whose value is inf, left
    out), titled ``title``; an annotated empty figure with fewer than ``MIN_TRIALS`` usable trials."""
    count = _finite_complete(study)
    if count < MIN_TRIALS:
        return _too_few(title, count)
    with warnings.catch_warnings():  # Optuna warns about each diverged (inf) trial it leaves out
        warnings.simplefilter("ignore")
        fig = optuna.visualization.plot_parallel_coordinate(study, target_name="objective")
    for trace in fig.data:  # Optuna's scale ends in white, which hides the worst trials' lines: ours stays visible
        if trace.mode == "lines":  # one per trial; its first point is the objective, normalised to [0, 1]
            trace.line.color = sample_colorscale(_OBJECTIVE_SCALE, [trace.y[0]])[0]
        elif trace.marker.colorscale is not None:  # the colour bar
            trace.marker.update(colorscale=_OBJECTIVE_SCALE, reversescale=False)
    finish(fig, title, height=400)
    fig.update_layout(margin={"t": 90, "l": 70, "r": 60, "b": 40})
    return fig


def importance_figure(study: optuna.Study, title: str) -> go.Figure:
    """``optuna.visualization.plot_param_importances`` of ``study`` titled ``title``; an annotated empty figure with
    fewer than ``MIN_TRIALS`` usable trials."""
    count = _finite_complete(study)
    if count < MIN_TRIALS:
        return _too_few(title, count)
    with warnings.catch_warnings():  # Optuna warns that importances from few trials are rough
        warnings.simplefilter("ignore")
        fig = optuna.visualization.plot_param_importances(study, target_name="objective")
    finish(fig, title, height=max(220, 120 + 40 * len(fig.data[0].y) if fig.data else 220))
    fig.update_layout(showlegend=False)
    fig.update_xaxes(title_text="importance (sums to 1)", range=[0, 1.05])
    fig.update_yaxes(title_text=None)  # the bars' labels are the hyperparameters' names
    return fig


def _too_few(title: str, count: int) -> go.Figure:
    fig = finish(go.Figure(), title, height=260)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    _note(fig, f"Needs at least {MIN_TRIALS} complete trials with a finite objective; {count} so far.")
    return fig


def _note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=text, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 14, "color": "#555555"})


def claims_figure(claim: Claim, reproduction: Reproduction) -> go.Figure:
    """Per mode (on the x axis, in its optimizer's colour), the mean ± 95% CI over seeds of the write-up's metric (top
    panel, with the write-up's reported number as an open diamond) and of the clean metric (bottom panel).

    The panels are stacked and share the modes' axis, so each spans the full width: their titles never meet, and the
    modes' names are written once, under the bottom panel, turned by Plotly where a phone's width needs it."""
    metric, clean = METRICS[claim.metric], METRICS[claim.clean_metric]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.16,
                        subplot_titles=(f"write-up's metric: {metric.name}", f"clean: {clean.name}"))
    styles = _styles(claim.quick().sweep if reproduction.quick else claim.sweep)
    for row, attribute, shown in ((1, "seed_metric", metric), (2, "clean_metric", clean)):
        for outcome in reproduction.modes:
            ci = mean_ci(getattr(outcome, attribute))
            colour = styles.get(outcome.label, (optimizer_colour(""), "solid"))[0]
            half = ci.half_width if math.isfinite(ci.half_width) else 0.0
            fig.add_trace(go.Scatter(
                x=[outcome.label], y=[ci.mean], mode="markers", name=outcome.label, showlegend=False,
                marker={"color": colour, "size": 11},
                error_y={"type": "data", "array": [half], "color": colour, "thickness": 2, "width": 8},
                hovertemplate=f"{outcome.label}<br>{shown.name}<br>mean %{{y:.4g}} ± {half:.2g} "
                f"(n={ci.n})<extra></extra>"), row=row, col=1)
    reported = [(label, value) for label, value in claim.reported.items()
                if any(outcome.label == label for outcome in reproduction.modes)]
    if reported:
        fig.add_trace(go.Scatter(
            x=[label for label, _ in reported], y=[value for _, value in reported], mode="markers",
            name=REPORTED, showlegend=False,
            marker={"symbol": "diamond-open", "size": 13, "color": "#000000", "line": {"width": 2}},
            hovertemplate=f"%{{x}}<br>{REPORTED} %{{y:.4f}}<extra></extra>"), row=1, col=1)
    n = len(reproduction.seeds)
    source = claim.source[:1].upper() + claim.source[1:]
    finish(fig, f"{source} re-run over {n} seeds: mean ± 95% CI"
           + (f" ({SMOKE_TEST})" if reproduction.quick else ""), height=560)
    fig.update_annotations(font_size=13)  # the panels' titles: short enough for a 390 px phone
    return fig


VERDICT_COLOURS = {"holds": "#117733", "contradicted": "#CC3311"}  # any other verdict: not distinguishable, grey
UNDECIDED = "#888888"
CLAIM_PX, ROW_PX, MARKER_PX, CLEAN_PX = 30, 18, 10, 12  # the verdicts figure's rows, in pixels


def _claimed_side(reproduction: Reproduction, mode: str, baseline: str, metric: str, attribute: str,
                  higher_is_better: bool, claimed_better: bool) -> tuple[float, float]:
    """The difference of ``mode``'s and ``baseline``'s means on ``attribute`` (Welch, with its 95% CI half-width),
    signed so that > 0 is the side the write-up claims."""
    by_label = {outcome.label: outcome for outcome in reproduction.modes}
    test = welch(getattr(by_label[mode], attribute), getattr(by_label[baseline], attribute))
    sign = (1.0 if higher_is_better else -1.0) * (1.0 if claimed_better else -1.0)
    return sign * test.difference, test.half_width


def verdicts_figure(claims: Mapping[str, Claim], results: Mapping[str, Reproduction]) -> go.Figure:
    """The seed claims at a glance, a forest plot: under each claim's name, one row per comparison with a result in
    ``results`` (by claim key), the difference of the means signed so that > 0 favours the claim, with its 95% CI
    (``welch``), on the write-up's metric (filled) and the clean one (open, just under it), coloured by the verdict.

    Rows are laid out in pixels from the top (y is minus the pixel), their names written above their markers rather
    than as tick labels, so that a phone's width goes to the plot and not to the names."""
    fig = go.Figure()
    y, labels = 0.0, []  # labels: (y, text, bold), in pixels from the top
    for key, claim in claims.items():
        reproduction = results.get(key)
        if reproduction is None:
            continue
        y -= CLAIM_PX
        labels.append((y, claim.source[:1].upper() + claim.source[1:], True))
        for mode, baseline in claim.comparisons:
            y -= ROW_PX
            labels.append((y, f"{mode} vs {baseline}", False))
            for verdict in reproduction.verdicts:
                if (verdict.mode, verdict.baseline) != (mode, baseline):
                    continue
                clean = verdict.metric == claim.clean_metric
                difference, half = _claimed_side(reproduction, mode, baseline, verdict.metric,
                                                  "clean_metric" if clean else "seed_metric",
                                                  METRICS[verdict.metric].higher_is_better, verdict.claimed_better)
                colour = VERDICT_COLOURS.get(verdict.verdict, UNDECIDED)
                fig.add_trace(go.Scatter(
                    x=[difference], y=[y - (MARKER_PX + (CLEAN_PX if clean else 0))], mode="markers",
                    showlegend=False, marker={"color": "#FFFFFF" if clean else colour, "size": 9,
                                              "line": {"color": colour, "width": 2}},
                    error_x={"type": "data", "array": [half if math.isfinite(half) else 0.0], "color": colour,
                             "thickness": 1.5, "width": 3},
                    hovertemplate=f"{mode} vs {baseline}<br>{METRICS[verdict.metric].name}: %{{x:+.4f}} ± "
                    f"{half:.2g}<br>{verdict.verdict}<extra></extra>"))
            y -= MARKER_PX + CLEAN_PX
    if not labels:
        fig.add_annotation(text="No claim has a result yet.", showarrow=False, x=0.5, y=0.5, xref="paper",
                           yref="paper")
        return finish(fig, "The seed claims", height=240)
    for row_y, text, bold in labels:
        fig.add_annotation(text=f"<b>{text}</b>" if bold else text, x=0, xref="paper", xanchor="left", y=row_y,
                           yanchor="bottom", showarrow=False, font={"size": 12 if bold else 11},
                           bgcolor="rgba(255, 255, 255, 0.85)")
    for name, colour, filled in (("holds", VERDICT_COLOURS["holds"], True),
                                 ("contradicted", VERDICT_COLOURS["contradicted"], True),
                                 ("cannot tell", UNDECIDED, True), ("clean metric (open)", UNDECIDED, False)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker={"color": colour if filled else "#FFFFFF", "size": 9,
                                         "line": {"color": colour, "width": 2}}))
    fig.add_vline(x=0, line={"color": "#000000", "width": 1})
    fig.update_yaxes(visible=False, range=[y - 10, 0])
    fig.update_xaxes(title_text="our difference: > 0 is the side the write-up claims", zeroline=False)
    finish(fig, "The seed claims, re-run over ten seeds", height=round(-y) + 230)
    fig.update_layout(margin_l=20)
    return fig


def trials_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """``studies.trials_table`` rows as CSV: every column any row has, in first-seen order (blank where missing)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def sweep_json(spec: SweepSpec, progress: Sequence[ModeProgress]) -> str:
    """The sweep's spec and, per tuned mode, its best configuration so far (value null before any complete trial;
    non-finite numbers as null, as JSON has none)."""
    best = {row.label: {"value": row.best_value if math.isfinite(row.best_value) else None,
                        "hyperparameters": dict(row.best_params), "complete": row.complete, "pruned": row.pruned,
                        "failed": row.failed} for row in progress}
    return json.dumps({"spec": spec.to_dict(), "best": best}, indent=1)
