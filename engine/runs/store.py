"""Finished and cancelled runs on disk: one JSON file per run under ``$OPTISCOPE_HOME/runs/``; list, load, delete,
export.

A file is named ``<UTC timestamp>-<short hash>-<optimizer key>.json`` (so names sort by time) and holds
``{"format": FORMAT, "saved_at", "job": {"id", "comparison"} | null, "result": RunResult.to_dict()}``. It is written
atomically (a temporary file in the same folder, then ``os.replace``), so a reader never sees half a file from this
module. Every file is validated when it is read (``_read``): its layout, then each field's type and range (the spec
as a ``RunSpec`` checks it, the result as ``RunResult.from_dict`` does, ``saved_at`` an ISO time, ``job`` null or
``{"id": text, "comparison": null | a ComparisonSpec}``). A file that fails (a crash of another writer, a manual
edit, valid JSON that is no run) is reported with ``warnings.warn`` naming the path and skipped, never fatal;
``unreadable_runs`` lists such files with their reasons, so a page can say how many could not be read. JSON keeps
NaN and infinities (Python's ``NaN`` / ``Infinity`` extension): a diverged run's loss is one.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.home import atomic_file, optiscope_home
from engine.runs.result import RunResult
from engine.runs.spec import ComparisonSpec, RunSpec
from optimizers.validation import short_repr

FORMAT = 1  # bump when the layout of a run file changes; files of another format are reported and skipped
_SUFFIX = ".json"
READ_CACHE_FILES = 1024  # run files kept read and validated in memory (a run of the seed MLP: a few kB)


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
    diverged_at: int | None = None  # the step a diverged run diverged at


@dataclass(frozen=True)
class UnreadableRun:
    """A run file that could not be read, and why (``reason``, one line): skipped by every listing."""

    run_id: str
    path: Path
    reason: str


@dataclass(frozen=True)
class _RunFile:
    """A run file's validated content."""

    saved_at: str
    job_id: str | None
    comparison: ComparisonSpec | None
    result: RunResult


def check_writable() -> None:
    """Refuse, before any run, a runs folder that cannot be written (created if missing, then a file tried in it):
    ``OSError`` naming the folder and why, so that nobody waits for runs that could not be saved."""
    folder = runs_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise OSError(f"store: cannot save runs in {folder}: {error.strerror or error}") from error


def save(result: RunResult, *, job_id: str | None = None, comparison: ComparisonSpec | None = None) -> Path:
    """Write ``result`` (with the job and comparison it belongs to, when given) as a new file; return its path.

    Raises ``OSError`` naming the runs folder and why when it cannot be written (a read-only folder, a full disk):
    a run that was not saved is an error its caller shows, never a line in a log.
    """
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
    try:
        with atomic_file(path) as file:
            file.write(text)
    except OSError as error:
        raise OSError(f"store: cannot save the run in {path.parent}: {error.strerror or error}") from error
    return path


def list_runs(*, job_id: str | None = None, task: str | None = None) -> list[StoredRun]:
    """Every readable saved run (of job ``job_id``, of task ``task``, when given), newest first; bad files are reported
    and skipped (``unreadable_runs`` lists them)."""
    runs = []
    for path, run in _scan()[0]:
        spec = run.result.spec
        if (job_id is None or run.job_id == job_id) and (task is None or spec.task == task):
            runs.append(StoredRun(
                run_id=path.stem, path=path, saved_at=run.saved_at, job_id=run.job_id, task=spec.task,
                optimizer=str(spec.optimizer), label=spec.optimizer.label, seed=spec.seed, status=run.result.status,
                summary=dict(run.result.summary), spec=spec, diverged_at=run.result.diverged_at,
            ))
    return sorted(runs, key=lambda run: (run.saved_at, run.run_id), reverse=True)


def unreadable_runs() -> list[UnreadableRun]:
    """Every run file that could not be read, with the reason, in file-name order (oldest first): what a page counts
    as "N saved runs could not be read" and ``python -m engine runs`` reports."""
    return _scan()[1]


def latest_job(task: str | None = None) -> str | None:
    """The job of the newest saved run (of ``task``, when given) that belongs to a job: the comparison run last on
    this machine; None when there is none."""
    return next((run.job_id for run in list_runs(task=task) if run.job_id is not None), None)


def load(run_id: str) -> RunResult:
    """The saved run ``run_id`` (a ``StoredRun.run_id``). Raises ``KeyError`` if there is none, ``ValueError`` if its
    file cannot be read (reported as ``list_runs`` reports it)."""
    path = _path(run_id)
    if not path.exists():
        raise KeyError(f"store: no saved run {run_id!r} in {runs_dir()}")
    try:
        return _read(path).result
    except ValueError as error:
        _report(path, error)
        raise ValueError(f"store: the run file {path} is corrupt ({error})") from error


def load_job(job_id: str) -> tuple[ComparisonSpec | None, list[RunResult]]:
    """The comparison of job ``job_id`` (None if unknown) and its saved runs in the order they ran (oldest first).

    A file that cannot be read is reported and skipped.
    """
    mine = sorted(((run.saved_at, path.stem, run) for path, run in _scan()[0] if run.job_id == job_id),
                  key=lambda item: item[:2])
    comparison = next((run.comparison for _, _, run in mine if run.comparison is not None), None)
    return comparison, [run.result for _, _, run in mine]


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


def _scan() -> tuple[list[tuple[Path, _RunFile]], list[UnreadableRun]]:
    """Every run file read: the readable ones with their content, and the others with why (each reported)."""
    readable, unreadable = [], []
    for path in _files():
        try:
            readable.append((path, _read(path)))
        except ValueError as error:
            _report(path, error)
            unreadable.append(UnreadableRun(path.stem, path, " ".join(str(error).split())))
    return readable, unreadable


def _read(path: Path) -> _RunFile:
    """The file's content, every field validated; ``ValueError`` saying what is wrong (unreadable, not JSON, of
    another format, a field of the wrong type or out of its range).

    Memoized by the file's path, modification time and size: Train and Stability list the store at every script
    run, and reading and validating every file each time made a page's load grow with the store (300 runs: 2 s). A
    file changes only by ``os.replace`` (a new modification time), so a changed file is read again."""
    try:
        stat = path.stat()
    except OSError as error:
        raise ValueError(f"not a readable JSON file: {error}") from error
    return _read_file(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=READ_CACHE_FILES)
def _read_file(path: Path, mtime_ns: int, size: int) -> _RunFile:
    """``_read`` of the file as it is at (``mtime_ns``, ``size``); a file that fails is not kept (read again)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, RecursionError, json.JSONDecodeError) as error:
        raise ValueError(f"not a readable JSON file: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"format {short_repr(found)}, expected {FORMAT}")
    saved_at, job = payload.get("saved_at"), payload.get("job")
    try:
        datetime.fromisoformat(saved_at)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"invalid saved_at={short_repr(saved_at)}; expected an ISO date and time") from None
    if job is not None and not (isinstance(job, dict) and isinstance(job.get("id"), str)):
        raise ValueError(f"invalid job={short_repr(job)}; expected null or {{\"id\": text, \"comparison\": ...}}")
    try:
        comparison = None if job is None or job.get("comparison") is None else \
            ComparisonSpec.from_dict(job["comparison"])
        result = RunResult.from_dict(payload.get("result"))
    except (KeyError, TypeError, AttributeError) as error:  # a shape the validation did not foresee: still this file's
        raise ValueError(f"{type(error).__name__}: {error}") from error
    return _RunFile(str(saved_at), None if job is None else job["id"], comparison, result)


def _report(path: Path, error: object) -> None:
    warnings.warn(f"store: skipping the unreadable run file {path} ({error})", RuntimeWarning, stacklevel=4)
