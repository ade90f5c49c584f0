"""The seed claims' shipped results: full reproductions committed as data, with where they came from, and the verdict
table a newcomer reads first.

A shipped file, ``assets/claims_results/<claim>.json``, is
``{"format": 1, "provenance": {...}, "reproduction": {...}}``: the reproduction is ``claims.Reproduction.to_dict()``
(full budgets only: a quick one is a smoke test); the provenance says when it was computed (ISO 8601, UTC: when the
reproduction ended), with which versions (Python, torch, Optuna, NumPy, mnist1d and Optiscope's git commit, ``-dirty``
when tracked files had changes) and the command that regenerates it, e.g.
``OPTISCOPE_THREADS=1 python -m engine reproduce agaw --seeds 10 --ship`` (run it in a fresh ``$OPTISCOPE_HOME``: an
existing study of the claim would be continued, not tuned again).

``ship`` writes one (``reproduce --ship`` after a reproduction, ``reproduce --ship --from-saved`` for the one already
saved under ``$OPTISCOPE_HOME/claims``); ``shipped_result`` reads one (None when there is none); ``verdict_rows``
lays every claim's out for the Sweeps page, saying plainly where a claim has no shipped result.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.sweeps.claims import (
    METRICS,
    NONE,
    Claim,
    Reproduction,
    ci_text,
    judge,
    load_result,
    result_path,
)

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED_DIR = REPOSITORY / "assets" / "claims_results"
FORMAT = 1
PACKAGES = ("torch", "optuna", "numpy", "mnist1d")  # the versions a shipped result records, with Python's
NO_RESULT = "no shipped result yet"


@dataclass(frozen=True)
class Provenance:
    """Where a shipped result came from: ``computed`` (ISO 8601 UTC, when the reproduction ended), the ``command``
    that regenerates it and the ``versions`` it ran with."""

    computed: str
    command: str
    versions: dict[str, str]

    @property
    def date(self) -> str:
        """The day it was computed, ``YYYY-MM-DD``."""
        return self.computed[:10]


@dataclass(frozen=True)
class ShippedResult:
    """A claim's full reproduction and its provenance, as shipped under ``assets/claims_results``."""

    reproduction: Reproduction
    provenance: Provenance

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "provenance": asdict(self.provenance), "reproduction": self.reproduction.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ShippedResult:
        if data.get("format") != FORMAT:
            raise ValueError(f"shipped result: invalid format={data.get('format')!r}; expected {FORMAT}")
        provenance = data["provenance"]
        return cls(Reproduction.from_dict(data["reproduction"]),
                   Provenance(str(provenance["computed"]), str(provenance["command"]), dict(provenance["versions"])))


def versions() -> dict[str, str]:
    """The versions a result depends on: Python, ``PACKAGES`` and ``optiscope``, this checkout's git commit."""
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found | {"optiscope": _git_commit()}


def _git_commit() -> str:
    """``HEAD``'s commit, ``-dirty`` when tracked files have changed; ``unknown`` outside a git checkout."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, check=True,
                                  timeout=10).stdout.strip()
        commit = git("rev-parse", "HEAD")
        return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def reproduce_command(key: str, seeds: int, workers: int = 1) -> str:
    """The command that regenerates claim ``key``'s shipped result, with this process's ``OPTISCOPE_THREADS`` (torch's
    threads change the last digits of a run) when it is set."""
    threads = os.environ.get("OPTISCOPE_THREADS")
    return (f"OPTISCOPE_THREADS={threads} " if threads else "") + f"python -m engine reproduce {key} --seeds {seeds}" \
        + (f" --workers {workers}" if workers != 1 else "") + " --ship"


def shipped_path(key: str, directory: Path | None = None) -> Path:
    """Where claim ``key``'s shipped result lives (``directory`` defaults to ``SHIPPED_DIR``)."""
    return (directory or SHIPPED_DIR) / f"{key}.json"


def shipped_result(key: str, directory: Path | None = None) -> ShippedResult | None:
    """Claim ``key``'s shipped result, or None when there is none (or it cannot be read)."""
    try:
        return ShippedResult.from_dict(json.loads(shipped_path(key, directory).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ship(reproduction: Reproduction, command: str, *, computed: datetime | None = None,
         directory: Path | None = None) -> Path:
    """Write ``reproduction`` as its claim's shipped result, computed at ``computed`` (default now) by ``command``,
    with this environment's ``versions``; returns the path. Its verdicts are judged again by ``claims.judge``, so a
    result saved by an earlier version ships with this version's words. ``ValueError`` for a quick reproduction."""
    if reproduction.quick:
        raise ValueError(f"ship: {reproduction.claim} is a quick reproduction (a smoke test); only a full one ships")
    n = len(reproduction.seeds)
    verdicts = [replace(v, verdict=judge(v.difference, v.p, v.claimed_better, METRICS[v.metric].higher_is_better, n))
                for v in reproduction.verdicts]
    when = (computed or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    shipped = ShippedResult(replace(reproduction, verdicts=verdicts), Provenance(when, command, versions()))
    path = shipped_path(reproduction.claim, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(shipped.to_dict(), indent=1) + "\n")
    return path


def ship_saved(key: str, *, workers: int = 1, directory: Path | None = None) -> Path:
    """Ship the full reproduction of claim ``key`` saved under ``$OPTISCOPE_HOME/claims``, computed when that file was
    last written; ``ValueError`` naming the file when there is none."""
    saved = load_result(key)
    if saved is None:
        raise ValueError(f"ship: no full reproduction of {key} saved at {result_path(key)}; run "
                         f"python -m engine reproduce {key} --ship")
    computed = datetime.fromtimestamp(result_path(key).stat().st_mtime, UTC)
    return ship(saved, reproduce_command(key, len(saved.seeds), workers), computed=computed, directory=directory)


def verdict_rows(claims: Mapping[str, Claim], directory: Path | None = None) -> list[dict[str, str]]:
    """The first table of the Sweeps page: per claim, comparison and metric (the write-up's, then the clean one), the
    verdict (third, so a phone shows it without scrolling), the write-up's numbers, ours (mean ± 95% CI over seeds,
    mode vs baseline) and the day it was computed; ``NO_RESULT`` where the claim has no shipped result (its
    write-up's numbers still shown)."""
    rows = []
    for key, claim in claims.items():
        shipped = shipped_result(key, directory)
        reproduction = shipped.reproduction if shipped else None
        outcomes = {outcome.label: outcome for outcome in reproduction.modes} if reproduction else {}
        verdicts = {(v.mode, v.baseline, v.metric): v.verdict for v in reproduction.verdicts} if reproduction else {}
        for mode, baseline in claim.comparisons:
            reported = [claim.reported.get(label) for label in (mode, baseline)]
            written = " vs ".join(f"{value:.4f}" for value in reported) if None not in reported else "not reported"
            for metric_key, attribute, whose, number in ((claim.metric, "seed_metric", "the write-up's", written),
                                                         (claim.clean_metric, "clean_metric", "clean", NONE)):
                ours = [ci_text(getattr(outcomes[label], attribute)) for label in (mode, baseline) if label in outcomes]
                rows.append({
                    "claim": claim.source, "comparison": f"{mode} vs {baseline}",
                    "verdict": verdicts.get((mode, baseline, metric_key), NO_RESULT),
                    "metric": f"{METRICS[metric_key].name} ({whose})", "write-up's number": number,
                    "ours (mean ± 95% CI)": " vs ".join(ours) if len(ours) == 2 else NO_RESULT,
                    "computed": shipped.provenance.date if shipped else NONE,
                })
    return rows
