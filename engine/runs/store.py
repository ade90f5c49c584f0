"""Finished and cancelled runs on disk: one JSON file per run under ``$OPTISCOPE_HOME/runs/``; list, load, delete,
export.

A file is named ``<UTC timestamp>-<short hash>-<optimizer key>.json`` (so names sort by time) and holds
``{"format": FORMAT, "saved_at", "job": {"id", "comparison"} | null, "result": RunResult.to_dict()}``. It is written
atomically (a temporary file in the same folder, then ``os.replace``), so a reader never sees half a file from this
module; a corrupt or truncated file (a crash of another writer, a manual edit) is reported with ``warnings.warn``
naming the path and skipped, never fatal. JSON keeps NaN and infinities (Python's ``NaN`` / ``Infinity``
extension): a diverged run's loss is one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.home import optiscope_home
from engine.runs.result import RunResult
from engine.runs.spec import ComparisonSpec, RunSpec

FORMAT = 1  # bump when the layout of a run file changes; files of another format are reported and skipped
_SUFFIX = ".json"


def runs_dir() -> Path:
    """``$OPTISCOPE_HOME/runs`` (read at every call, so tests and users can move it)."""
    return optiscope_home() / "runs"


@dataclass(frozen=True)
class StoredRun:
    """One saved run as a listing shows it: ``run_id`` (the file's stem) names it for ``load`` and ``delete``;
    ``spec`` is its whole spec (length, batch size, ...), so a listing can tell runs of other settings apart."""

    run_id: str
    path: Path
    saved_at: str
    job_id: str | None
    task: str
    optimizer: str  # the parse form, e.g. "adam:lr=0.01"
    label: str  # the display name, e.g. "Adam (lr=0.01)"
    seed: int
    status: str
    summary: dict[str, float]
    spec: RunSpec


def save(result: RunResult, *, job_id: str | None = None, comparison: ComparisonSpec | None = None) -> Path:
    """Write ``result`` (with the job and comparison it belongs to, when given) as a new file; return its path."""
    now = datetime.now(UTC)
    data = result.to_dict()
    payload = {
        "format": FORMAT,
        "saved_at": now.isoformat(),
        "job": None if job_id is None else {"id": job_id, "comparison": comparison and comparison.to_dict()},
        "result": data,
    }
    text = json.dumps(payload, sort_keys=True)
    digest = hashlib.sha256(f"{now.isoformat()} {job_id} {text}".encode()).hexdigest()[:8]
    key = "".join(c if c.isalnum() or c == "_" else "-" for c in data["spec"]["optimizer"]["key"])
    path = runs_dir() / f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{digest}-{key}{_SUFFIX}"
    _write_atomic(path, text)
    return path


def list_runs(*, job_id: str | None = None, task: str | None = None) -> list[StoredRun]:
    """Every readable saved run (of job ``job_id``, of task ``task``, when given), newest first; bad files are reported
    and skipped."""
    runs = []
    for path in _files():
        payload = _read(path)
        if payload is None:
            continue
        job = payload.get("job") or {}
        if job_id is not None and job.get("id") != job_id:
            continue
        try:
            spec = RunSpec.from_dict(payload["result"]["spec"])
            run = StoredRun(
                run_id=path.stem, path=path, saved_at=str(payload["saved_at"]), job_id=job.get("id"),
                task=spec.task, optimizer=str(spec.optimizer), label=spec.optimizer.label, seed=spec.seed,
                status=str(payload["result"]["status"]), summary=dict(payload["result"].get("summary", {})), spec=spec,
            )
        except (KeyError, TypeError, ValueError) as error:
            _report(path, error)
            continue
        if task is None or run.task == task:
            runs.append(run)
    return sorted(runs, key=lambda run: (run.saved_at, run.run_id), reverse=True)


def latest_job(task: str | None = None) -> str | None:
    """The job of the newest saved run (of ``task``, when given) that belongs to a job: the comparison run last on
    this machine; None when there is none."""
    return next((run.job_id for run in list_runs(task=task) if run.job_id is not None), None)


def load(run_id: str) -> RunResult:
    """The saved run ``run_id`` (a ``StoredRun.run_id``). Raises ``KeyError`` if there is none, ``ValueError`` if its
    file cannot be read."""
    path = _path(run_id)
    if not path.exists():
        raise KeyError(f"store: no saved run {run_id!r} in {runs_dir()}")
    payload = _read(path)
    if payload is None:
        raise ValueError(f"store: the run file {path} is corrupt")
    try:
        return RunResult.from_dict(payload["result"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"store: the run file {path} is corrupt ({error})") from error


def load_job(job_id: str) -> tuple[ComparisonSpec | None, list[RunResult]]:
    """The comparison of job ``job_id`` (None if unknown) and its saved runs in the order they ran (oldest first).

    A file that cannot be turned back into a result is reported and skipped.
    """
    comparison = None
    results = []
    for run in reversed(list_runs(job_id=job_id)):
        try:
            results.append(load(run.run_id))
            if comparison is None:
                stored = (_read(run.path) or {}).get("job", {}).get("comparison")
                comparison = ComparisonSpec.from_dict(stored) if stored else None
        except (KeyError, TypeError, ValueError) as error:
            _report(run.path, error)
    return comparison, results


def delete(run_id: str) -> bool:
    """Remove the saved run ``run_id``; False if there was none."""
    try:
        _path(run_id).unlink()
    except FileNotFoundError:
        return False
    return True


def export_json(run_ids: list[str]) -> str:
    """The specs, statuses and summaries of the given runs as a JSON list (no telemetry: use ``export_csv``)."""
    rows = []
    for run_id in run_ids:
        result = load(run_id)
        rows.append({"run_id": run_id, "spec": result.spec.to_dict(), "status": result.status,
                     "diverged_at": result.diverged_at, "reason": result.reason, "summary": result.summary})
    return json.dumps(rows, indent=2, sort_keys=True)


def export_csv(run_ids: list[str]) -> str:
    """The telemetry records of the given runs as CSV: ``run_id``, ``optimizer``, ``seed``, then every record
    field (the union over runs, in first-seen order; empty where a run has no such field)."""
    rows: list[dict[str, Any]] = []
    for run_id in run_ids:
        result = load(run_id)
        head = {"run_id": run_id, "optimizer": str(result.spec.optimizer), "seed": result.spec.seed}
        rows.extend({**head, **record} for record in result.records)
    fields = list(dict.fromkeys(name for row in rows for name in row)) or ["run_id", "optimizer", "seed"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _files() -> list[Path]:
    folder = runs_dir()
    return sorted(folder.glob(f"*{_SUFFIX}")) if folder.is_dir() else []


def _path(run_id: str) -> Path:
    """The file of ``run_id``; an id that is not a plain file name (a path, ``..``) is refused."""
    if not run_id or Path(run_id).name != run_id or run_id.startswith("."):
        raise ValueError(f"store: invalid run_id={run_id!r}; expected a run file's name without {_SUFFIX}")
    return runs_dir() / f"{run_id}{_SUFFIX}"


def _read(path: Path) -> dict[str, Any] | None:
    """The file's payload, or None (reported) when it is unreadable, not JSON, or of another format."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        _report(path, error)
        return None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("result"), dict):
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        _report(path, f"format {found!r}, expected {FORMAT}")
        return None
    return payload


def _report(path: Path, error: object) -> None:
    warnings.warn(f"store: skipping the unreadable run file {path} ({error})", RuntimeWarning, stacklevel=3)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then ``os.replace`` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                     delete=False) as file:
        temporary = Path(file.name)
        try:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        except BaseException:
            file.close()
            temporary.unlink(missing_ok=True)
            raise
    os.replace(temporary, path)
