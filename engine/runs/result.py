"""One run's outcome as data: its spec, status, telemetry and summary, with a JSON round trip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.runs.spec import RunSpec


@dataclass
class RunResult:
    """One run's outcome: its status, telemetry records, per-epoch rows (MNIST-1D) and summary.

    ``status``: ``finished``, ``diverged`` or ``cancelled``; ``running`` marks the partial result of a run still in
    progress (its telemetry so far, an empty summary), which the job manager builds from ``Telemetry``.

    ``summary``: ``final_loss``, ``best_loss``, ``steps_done`` and ``seconds``; on surfaces also ``final_x``,
    ``final_y`` (the point after the last step; ``final_loss`` is the loss there); on MNIST-1D ``final_loss`` and
    ``best_loss`` come from the per-epoch training loss (from the step losses when no epoch finished), plus
    ``final_test_accuracy``, ``best_test_accuracy_seed_metric``, ``test_accuracy_at_best_val``, ``final_val_loss``.

    ``device``: where the run actually ran (``cpu``, ``cuda:0``), as the runner resolved the spec's ``auto``; None
    where it is not known (a run in progress, a run saved before it was recorded).
    """

    spec: RunSpec
    status: str
    records: list[dict[str, float]]
    epochs: list[dict[str, float]]
    summary: dict[str, float]
    diverged_at: int | None = None
    reason: str | None = None
    device: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "status": self.status,
            "records": [dict(row) for row in self.records],
            "epochs": [dict(row) for row in self.epochs],
            "summary": dict(self.summary),
            "diverged_at": self.diverged_at,
            "reason": self.reason,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            spec=RunSpec.from_dict(data["spec"]),
            status=data["status"],
            records=[dict(row) for row in data.get("records", [])],
            epochs=[dict(row) for row in data.get("epochs", [])],
            summary=dict(data.get("summary", {})),
            diverged_at=data.get("diverged_at"),
            reason=data.get("reason"),
            device=data.get("device"),
        )
