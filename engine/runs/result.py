"""One run's outcome as data: its spec, status, telemetry and summary, with a JSON round trip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.runs.spec import RunSpec, fields_of
from optimizers.validation import check_choice, check_number, short_repr

OWNER = "run"  # how a result's messages name what was refused
STATUSES = ("finished", "diverged", "cancelled", "running")
"""How a run ended (``running``: the partial result of a run in progress)."""


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
    def from_dict(cls, data: object) -> RunResult:
        """The result ``to_dict`` wrote (from a run file, a worker process, a trial), every field checked: its type
        and range (``status`` one of ``STATUSES``; rows and summary of numbers, NaN and infinities allowed, as a
        diverged run's; ``diverged_at`` a step >= 1 or null). ``ValueError`` names the field, the bad value and what
        is valid."""
        values = fields_of(cls, data)
        check_choice(OWNER, "status", values["status"], STATUSES)
        if values.get("diverged_at") is not None:
            check_number(OWNER, "diverged_at", values["diverged_at"], low=1, integer=True)
        for name in ("reason", "device"):
            if not isinstance(values.get(name), str | None):
                raise ValueError(f"{OWNER}: invalid {name}={short_repr(values[name])}; expected text or null")
        return cls(
            spec=RunSpec.from_dict(values["spec"]),
            status=values["status"],
            records=_rows("records", values.get("records", [])),
            epochs=_rows("epochs", values.get("epochs", [])),
            summary=_numbers("summary", values.get("summary", {})),
            diverged_at=None if values.get("diverged_at") is None else int(values["diverged_at"]),
            reason=values.get("reason"),
            device=values.get("device"),
        )


def _rows(name: str, rows: object) -> list[dict[str, float]]:
    """``rows`` as a list of telemetry rows (``_numbers`` each); ``ValueError`` naming the first bad one."""
    if not isinstance(rows, list):
        raise ValueError(f"{OWNER}: invalid {name}={short_repr(rows)}; expected a list of rows")
    return [_numbers(f"{name}[{index}]", row) for index, row in enumerate(rows)]


def _numbers(name: str, row: object) -> dict[str, float]:
    """``row`` as a mapping of names to numbers (ints and floats, NaN and infinities included; never booleans, text
    or null); ``ValueError`` naming the first bad entry."""
    if not isinstance(row, dict):
        raise ValueError(f"{OWNER}: invalid {name}={short_repr(row)}; expected an object of names to numbers")
    for key, value in row.items():
        if type(value) not in (int, float):  # exact types: bool is an int, and is no number here
            raise ValueError(f"{OWNER}: invalid {name}[{key!r}]={short_repr(value)}; expected a number "
                             "(NaN and infinities allowed)")
    return dict(row)
