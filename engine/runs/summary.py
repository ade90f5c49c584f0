"""A comparison's table: per optimizer, the mean and 95% confidence interval over seeds of its task's metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.runs.result import RunResult
from engine.runs.spec import ComparisonSpec
from engine.runs.stats import MeanCI, mean_ci
from engine.runs.text_table import text_table


def comparison_table(spec: ComparisonSpec, results: Sequence[RunResult]) -> list[dict[str, Any]]:
    """One row per optimizer of ``spec``: for each metric the mean, CI half-width and n over the seeds whose runs did
    not diverge (a diverged run's loss, e.g. 1e18 where a point left the domain, says nothing about the optimizer's
    result); ``runs``, ``diverged`` (a count) and ``diverged_at`` (each diverged run's step, in seed order).
    ``results`` are in ``spec.runs()`` order (seed-major), possibly cut short by a cancel."""
    metrics = spec.task_info.metrics
    count = len(spec.optimizers)
    rows = []
    for index, choice in enumerate(spec.optimizers):
        mine = [result for position, result in enumerate(results) if position % count == index]
        diverged = [result for result in mine if result.status == "diverged"]
        row: dict[str, Any] = {"optimizer": str(choice), "label": choice.label, "runs": len(mine),
                               "diverged": len(diverged), "diverged_at": [result.diverged_at for result in diverged]}
        for key, _ in metrics:
            stat = mean_ci(result.summary.get(key, float("nan")) for result in mine if result.status != "diverged")
            row[key] = {"mean": stat.mean, "ci95": stat.half_width, "n": stat.n}
        rows.append(row)
    return rows


def format_comparison(spec: ComparisonSpec, rows: Sequence[dict[str, Any]]) -> str:
    """The rows as aligned text: ``mean ± half-width`` (95% CI over seeds; one seed: the mean alone)."""
    metrics = spec.task_info.metrics
    header = ["optimizer", *(title for _, title in metrics), "diverged"]
    body = []
    for row in rows:
        cells = [row["label"]]
        for key, _ in metrics:
            cell = row[key]
            cells.append(str(MeanCI(cell["mean"], cell["ci95"], cell["n"])))
        cells.append(f"{row['diverged']}/{row['runs']}" + _steps(row["diverged_at"]))
        body.append(cells)
    seeds = len(spec.seeds)
    note = f"{spec.task}: mean ± 95% CI over {seeds} seed{'s' * (seeds != 1)} (Student t; diverged runs left out)"
    return note + "\n" + text_table([header, *body])


SHOWN_STEPS = 5  # divergence steps a table cell lists before it cuts the rest short


def _steps(steps: Sequence[int | None]) -> str:
    """Where runs diverged, for the table: ``" at step 4"``, ``" at steps 4, 7"`` (the first ``SHOWN_STEPS``, then
    ``...``); nothing when none did."""
    if not steps:
        return ""
    shown = [str(step) for step in steps[:SHOWN_STEPS]] + ["..."] * (len(steps) > SHOWN_STEPS)
    return f" at step{'s' * (len(steps) > 1)} " + ", ".join(shown)
