"""engine.jobs: background comparisons with progress, live telemetry, cancel (of a job or of one optimizer), limits,
a reaper, failures, runs saved as they end, jobs recorded when submitted (interrupted by a crash, then resumed), a
run that cannot be saved failing its job; and the worker process under every background job (its threads, reports,
errors and stop; a clean ``__main__``; its end with its parent's).

A fake run function (fast, controllable through events) stands in for the runner, except in the two integration
tests of the manager (a tiny real 2-D comparison in a thread, and one in a spawn process, cancelled).
"""

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from engine.jobs import Busy, JobManager, JobStatus, ThreadBudget, UnknownJob, Worker
from engine.jobs import manager as manager_module
from engine.jobs.parts import rest
from engine.jobs.status import Job
from engine.runs import ComparisonSpec, OptimizerChoice, Progress, RunResult, RunSpec, Telemetry, store
from engine.worker_main import WORKER_NICENESS

SPEC = ComparisonSpec("rosenbrock", (OptimizerChoice.parse("sgd"), OptimizerChoice.parse("adam:lr=0.01")),
                      seeds=(0, 1), steps=5)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPTISCOPE_HOME", str(tmp_path))
    return tmp_path


def fake_run(step_seconds: float = 0.001, gate: threading.Event | None = None, fail: str | None = None,
             between: threading.Event | None = None, stopped: threading.Event | None = None) -> Callable[..., list]:
    """A run function with ``run_comparison``'s signature: each run takes ``spec.steps`` sleeps of ``step_seconds``
    and reports a telemetry record after each step.

    ``gate``: every step after the first waits for it (a job that runs until released or cancelled); ``fail``:
    raise this message after the first run; ``between``: after the first run, wait for it; ``stopped`` is set when a
    stop is seen.
    """

    def run(spec, *, on_progress=None, should_stop=None, on_result=None, on_telemetry=None,
            should_stop_optimizer=None):
        runs = spec.runs()
        total, done, results = len(runs) * spec.steps, 0, []
        for index, run_spec in enumerate(runs):
            position = index % len(spec.optimizers)
            if should_stop_optimizer(position):
                continue
            status, records = "finished", []
            for step in range(1, run_spec.steps + 1):
                while step > 1 and gate is not None and not gate.wait(0.01) and not should_stop() \
                        and not should_stop_optimizer(position):
                    pass
                if should_stop() or should_stop_optimizer(position):
                    status = "cancelled"
                    if stopped is not None:
                        stopped.set()
                    break
                time.sleep(step_seconds)
                done += 1
                records.append({"step": float(step), "loss": 1.0 / step})
                on_telemetry(Telemetry(index, records[-1:], []))
                on_progress(Progress(done / total, done, total, 0.0, str(run_spec.optimizer)))
            result = RunResult(run_spec, status, records, [],
                               {"final_loss": 1.0 + index, "best_loss": 1.0, "steps_done": float(done),
                                "seconds": 0.0})
            results.append(result)
            on_result(result)
            if status == "cancelled" and should_stop():
                return results
            if fail is not None:
                raise RuntimeError(fail)
            if between is not None:
                between.wait(5)
        return results

    return run


def wait_for(manager: JobManager, job_id: str, condition: Callable[[JobStatus], bool], timeout: float = 10.0
             ) -> JobStatus:
    deadline = time.monotonic() + timeout
    while True:
        status = manager.poll(job_id)
        if condition(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.005)


def test_submit_poll_until_finished() -> None:
    manager = JobManager(fake_run(), mode="thread")
    job_id = manager.submit(SPEC, session="s")
    assert isinstance(job_id, str) and job_id
    status = wait_for(manager, job_id, lambda s: s.done)
    assert status.state == "finished" and status.error is None
    assert len(status.results) == status.runs_total == 4
    assert status.progress is not None and status.progress.fraction == 1.0 and status.progress.steps_total == 20
    assert 0 < len(status.events) <= 20 and status.ended_at is not None
    assert [r.spec for r in status.results] == SPEC.runs()
    assert len(store.list_runs(job_id=job_id)) == 4


def test_progress_events_are_bounded() -> None:
    manager = JobManager(fake_run(step_seconds=0), mode="thread", max_events=3)
    status = wait_for(manager, manager.submit(SPEC), lambda s: s.done)
    assert status.state == "finished" and len(status.events) == 3 and status.events[-1].steps_done == 20


def test_cancel_takes_effect_within_a_second() -> None:
    manager = JobManager(fake_run(gate=threading.Event()), mode="thread")
    job_id = manager.submit(SPEC)
    assert wait_for(manager, job_id, lambda s: s.state == "running").state == "running"
    cancelled_at = time.monotonic()
    assert manager.cancel(job_id)
    assert manager.poll(job_id).state in ("stopping", "cancelled")
    status = wait_for(manager, job_id, lambda s: s.done, timeout=1.0)
    elapsed = time.monotonic() - cancelled_at
    assert status.state == "cancelled", f"still {status.state} {elapsed:.2f} s after cancel"
    assert [r.status for r in status.results] == ["cancelled"]
    assert not manager.cancel(job_id), "cancelling an ended job changes nothing"
    with pytest.raises(UnknownJob):
        manager.cancel("no-such-job")


def test_the_run_in_progress_is_visible_with_its_telemetry_so_far() -> None:
    gate = threading.Event()
    manager = JobManager(fake_run(gate=gate), mode="thread", save=False)
    job_id = manager.submit(SPEC)
    status = wait_for(manager, job_id, lambda s: bool(s.partials))
    (partial,) = status.partials
    assert partial.status == "running" and status.results == ()
    assert partial.spec == SPEC.runs()[0] and partial.records == [{"step": 1.0, "loss": 1.0}]
    gate.set()
    status = wait_for(manager, job_id, lambda s: s.done)
    assert status.partials == (), "an ended run is in results, not partial"
    assert [len(r.records) for r in status.results] == [5, 5, 5, 5]


def test_a_snapshot_of_the_partial_run_does_not_grow_behind_the_page() -> None:
    manager = JobManager(fake_run(), mode="thread", save=False)
    job = manager._jobs.setdefault("j", Job("j", SPEC, "", False, 8))  # a job whose worker reports by hand
    manager._on_telemetry(job, job.parts[0], Telemetry(1, [{"step": 1.0, "loss": 2.0}], []))
    (snapshot,) = manager.poll("j").partials
    manager._on_telemetry(job, job.parts[0], Telemetry(1, [{"step": 2.0, "loss": 1.0}], [{"epoch": 1.0}]))
    assert snapshot.spec == SPEC.runs()[1]
    assert [row["step"] for row in snapshot.records] == [1.0] and snapshot.epochs == []
    (grown,) = manager.poll("j").partials
    assert [row["step"] for row in grown.records] == [1.0, 2.0]
    assert grown.epochs == [{"epoch": 1.0}]
    manager._on_telemetry(job, job.parts[0], Telemetry(2, [{"step": 1.0, "loss": 3.0}], []))  # another run, its own
    first, fresh = manager.poll("j").partials
    assert first.spec == SPEC.runs()[1] and fresh.spec == SPEC.runs()[2] and len(fresh.records) == 1


def test_cancelling_one_optimizer_keeps_its_partial_run_and_the_others_go_on() -> None:
    gate = threading.Event()
    manager = JobManager(fake_run(gate=gate), mode="thread")
    job_id = manager.submit(SPEC)
    # running, and its first run past its first step (the job is "running" a moment before its first run starts)
    running = wait_for(manager, job_id, lambda s: s.state == "running" and bool(s.partials))
    assert running.optimizer_pending(0) and running.optimizer_pending(1)
    assert manager.cancel(job_id, optimizer=0)
    assert not manager.cancel(job_id, optimizer=0), "already stopped"
    with pytest.raises(ValueError, match=r"cancel: invalid optimizer=2"):
        manager.cancel(job_id, optimizer=2)
    status = manager.poll(job_id)
    assert status.stopped_optimizers == (0,) and not status.optimizer_pending(0) and status.optimizer_pending(1)
    gate.set()
    status = wait_for(manager, job_id, lambda s: s.done)
    assert status.state == "finished", "the job ran to its end; only one optimizer was cancelled"
    assert [(str(r.spec.optimizer), r.spec.seed, r.status) for r in status.results] == [
        ("sgd", 0, "cancelled"), ("adam:lr=0.01", 0, "finished"), ("adam:lr=0.01", 1, "finished")]
    assert len(store.list_runs(job_id=job_id)) == 3, "the cancelled run is saved with the others"
    assert not manager.cancel(job_id, optimizer=1), "the job has ended"


def test_cancelling_every_optimizer_cancels_the_job() -> None:
    manager = JobManager(fake_run(gate=threading.Event()), mode="thread", save=False)
    job_id = manager.submit(SPEC)
    wait_for(manager, job_id, lambda s: s.state == "running" and bool(s.partials))  # its first run has begun
    assert manager.cancel(job_id, optimizer=1) and manager.cancel(job_id, optimizer=0)
    status = wait_for(manager, job_id, lambda s: s.done, timeout=1.0)
    assert status.state == "cancelled" and [r.status for r in status.results] == ["cancelled"]


def test_a_queued_job_waits_for_a_slot_and_can_be_cancelled() -> None:
    gate = threading.Event()
    manager = JobManager(fake_run(gate=gate), mode="thread", max_running=1, save=False)
    first, second = manager.submit(SPEC, session="a"), manager.submit(SPEC, session="b")
    assert wait_for(manager, first, lambda s: s.state == "running").state == "running"
    assert manager.poll(second).state == "queued"
    manager.cancel(second)
    assert wait_for(manager, second, lambda s: s.done, timeout=1.0).state == "cancelled"
    gate.set()
    assert wait_for(manager, first, lambda s: s.done).state == "finished"


def test_limits_raise_busy_naming_the_limit() -> None:
    gate = threading.Event()
    manager = JobManager(fake_run(gate=gate), mode="thread", max_jobs=2, max_per_session=1, save=False)
    first = manager.submit(SPEC, session="alice")
    with pytest.raises(Busy, match=r"this session already has 1 unfinished jobs \(limit max_per_session=1\)"):
        manager.submit(SPEC, session="alice")
    manager.submit(SPEC, session="bob")
    with pytest.raises(Busy, match=r"the server is busy: 2 jobs running and 0 queued \(limit max_jobs=2\)"):
        manager.submit(SPEC, session="carol")
    manager.cancel(first)
    wait_for(manager, first, lambda s: s.done)
    manager.submit(SPEC, session="alice")  # an ended job frees its place
    manager.shutdown()


def test_the_reaper_drops_an_unpolled_job() -> None:
    stopped = threading.Event()
    manager = JobManager(fake_run(gate=threading.Event(), stopped=stopped), mode="thread", idle_timeout=0.2,
                         reap_interval=0.05, save=False)
    job_id = manager.submit(SPEC)
    assert stopped.wait(5), "the daemon reaper cancelled the job without any call"
    with pytest.raises(UnknownJob, match=job_id):
        manager.poll(job_id)


def test_polling_keeps_a_job_alive() -> None:
    manager = JobManager(fake_run(gate=threading.Event()), mode="thread", idle_timeout=0.3, reap_interval=0.05,
                         save=False)
    job_id = manager.submit(SPEC)
    for _ in range(10):
        time.sleep(0.06)
        assert manager.poll(job_id).state in ("queued", "running")
    assert manager.reap() == []
    manager.shutdown()


def test_a_failing_run_fails_its_job_not_the_manager() -> None:
    failing, working = fake_run(fail="boom: the loss exploded"), fake_run()
    manager = JobManager(lambda spec, **kw: (failing if spec.steps == 5 else working)(spec, **kw), mode="thread")
    status = wait_for(manager, manager.submit(SPEC), lambda s: s.done)
    assert status.state == "failed"
    assert status.error == "RuntimeError: boom: the loss exploded"
    assert len(status.results) == 1, "the run that ended before the failure is kept"
    other = ComparisonSpec(SPEC.task, SPEC.optimizers, steps=6)
    assert wait_for(manager, manager.submit(other), lambda s: s.done).state == "finished"


def test_runs_are_saved_as_they_end_and_restored_after_a_restart() -> None:
    between = threading.Event()
    manager = JobManager(fake_run(between=between), mode="thread")
    job_id = manager.submit(SPEC)
    deadline = time.monotonic() + 5
    while not store.list_runs(job_id=job_id) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(store.list_runs(job_id=job_id)) == 1, "the first run is on disk while the job still runs"
    assert manager.poll(job_id).state == "running"
    between.set()
    finished = wait_for(manager, job_id, lambda s: s.done)
    assert finished.state == "finished"

    restarted = JobManager(fake_run(), mode="thread")  # a new server process: it only has the store
    status = restarted.poll(job_id)
    assert status.restored and status.state == "finished" and status.spec == SPEC
    assert [r.to_dict() for r in status.results] == [r.to_dict() for r in finished.results]
    assert restarted.poll(job_id).restored
    with pytest.raises(UnknownJob):
        restarted.poll("never-submitted")


def test_a_restored_job_with_missing_runs_reads_cancelled() -> None:
    gate = threading.Event()
    manager = JobManager(fake_run(gate=gate), mode="thread")
    job_id = manager.submit(SPEC)
    wait_for(manager, job_id, lambda s: s.state == "running")
    manager.cancel(job_id)
    wait_for(manager, job_id, lambda s: s.done)
    status = JobManager(fake_run(), mode="thread").poll(job_id)
    assert status.restored and status.state == "cancelled" and len(status.results) == 1


def test_busy_counts_queued_jobs_as_queued() -> None:
    gate = threading.Event()
    manager = JobManager(fake_run(gate=gate), mode="thread", max_jobs=3, max_running=1, save=False)
    ids = [manager.submit(SPEC, session=name) for name in ("a", "b", "c")]
    wait_for(manager, ids[0], lambda s: s.state == "running")
    with pytest.raises(Busy, match=r"the server is busy: 1 jobs running and 2 queued \(limit max_jobs=3\)"):
        manager.submit(SPEC, session="d")
    gate.set()
    for job_id in ids:
        assert wait_for(manager, job_id, lambda s: s.done).state == "finished"


def crash_after_the_first_run(between: threading.Event) -> tuple[JobManager, str]:
    """A job whose first run has ended (and was saved) and whose server then stops answering: a manager whose job
    waits on ``between``; the caller lets it end."""
    manager = JobManager(fake_run(between=between), mode="thread")
    job_id = manager.submit(SPEC)
    deadline = time.monotonic() + 5
    while not store.list_runs(job_id=job_id) and time.monotonic() < deadline:
        time.sleep(0.005)
    return manager, job_id


def test_a_crashed_job_reads_interrupted_with_its_ended_runs_and_resumes_the_rest() -> None:
    between = threading.Event()
    crashed, job_id = crash_after_the_first_run(between)
    try:
        restarted = JobManager(fake_run(), mode="thread")  # a new server process: it has the disk alone
        status = restarted.poll(job_id)
        assert status.restored and status.state == "interrupted" and status.done and status.spec == SPEC
        assert [r.spec for r in status.results] == SPEC.runs()[:1]
        assert restarted.resume(job_id, session="s") == job_id
        resumed = wait_for(restarted, job_id, lambda s: s.done)
        assert resumed.state == "finished" and not resumed.restored
        assert sorted(str(r.spec) for r in resumed.results) == sorted(str(r) for r in SPEC.runs())
        assert resumed.results[0].to_dict() == status.results[0].to_dict(), "the ended run is kept, not rerun"
        assert len(store.list_runs(job_id=job_id)) == 4
        with pytest.raises(ValueError, match=r"job .* is finished; only an interrupted job can be resumed"):
            restarted.resume(job_id)
        assert JobManager(fake_run(), mode="thread").poll(job_id).state == "finished", "its end is on disk"
    finally:
        crashed.cancel(job_id)
        between.set()
        wait_for(crashed, job_id, lambda s: s.done)


def test_a_job_queued_at_a_crash_is_interrupted_with_no_runs() -> None:
    gate = threading.Event()
    manager = JobManager(fake_run(gate=gate), mode="thread", max_running=1)
    first, queued = manager.submit(SPEC, session="a"), manager.submit(SPEC, session="b")
    try:
        status = JobManager(fake_run(), mode="thread").poll(queued)
        assert status.state == "interrupted" and status.results == ()
        assert [part.spec for part in rest(SPEC, status.results)] == [SPEC], "nothing ended: resume runs it all"
    finally:
        manager.cancel(first)
        manager.cancel(queued)
        for job_id in (first, queued):
            wait_for(manager, job_id, lambda s: s.done)


def test_the_rest_of_a_comparison_runs_each_missing_run_once() -> None:
    twins = ComparisonSpec("rosenbrock", (OptimizerChoice.parse("sgd"), OptimizerChoice.parse("sgd")),
                           seeds=(3, 5), steps=5)
    runs = twins.runs()
    ended = [RunResult(runs[0], "finished", [], [], {}), RunResult(runs[3], "cancelled", [], [], {})]
    (part,) = rest(twins, ended)  # a result stands for the first of twin runs: each seed misses its second twin
    assert (part.spec.seeds, part.runs, part.optimizers) == ((3, 5), (1, 3), (1,))
    assert part.spec.runs() == [runs[1], runs[3]]
    mixed = rest(SPEC, [RunResult(SPEC.runs()[0], "finished", [], [], {})])
    assert [(p.spec.seeds, p.runs, p.optimizers) for p in mixed] == [((0,), (1,), (1,)), ((1,), (2, 3), (0, 1))]
    assert rest(twins, [RunResult(run, "finished", [], [], {}) for run in runs]) == []


def test_a_run_that_cannot_be_saved_fails_its_job_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*args: Any, **kwargs: Any) -> Path:
        raise PermissionError(13, "Permission denied", "/home/runs/x.json")

    monkeypatch.setattr(manager_module.store, "save", read_only)
    between = threading.Event()
    manager = JobManager(fake_run(between=between), mode="thread")
    job_id = manager.submit(SPEC)
    running = wait_for(manager, job_id, lambda s: s.error is not None)
    assert running.state == "running", "the page sees the error at once, while the other runs go on"
    between.set()
    status = wait_for(manager, job_id, lambda s: s.done)
    assert status.state == "failed" and len(status.results) == 4, "the runs stay on the page"
    assert status.error == "could not save the run of SGD (seed 0): PermissionError: [Errno 13] Permission denied: "\
        "'/home/runs/x.json'"
    restored = JobManager(fake_run(), mode="thread").poll(job_id)
    assert restored.state == "failed" and restored.error == status.error, "its record says why"


def test_real_runner_tiny_comparison_in_a_thread() -> None:
    manager = JobManager(mode="auto")
    spec = ComparisonSpec("rosenbrock", (OptimizerChoice.parse("sgd:lr=0.001"), OptimizerChoice.parse("adam")),
                          seeds=(0, 1), steps=20)
    status = wait_for(manager, manager.submit(spec), lambda s: s.done, timeout=30)
    assert status.state == "finished", status.error
    assert [r.status for r in status.results] == ["finished"] * 4
    assert all(r.summary["steps_done"] == 20 for r in status.results)
    assert len(store.list_runs(job_id=status.job_id)) == 4


def test_real_runner_in_a_spawn_process_live_then_one_optimizer_then_all_cancelled() -> None:
    manager = JobManager(mode="process")
    spec = ComparisonSpec("rosenbrock", (OptimizerChoice.parse("adam"), OptimizerChoice.parse("sgd:lr=0.0001")),
                          steps=1_000_000, log_every=1000)
    job_id = manager.submit(spec)
    adam, sgd = spec.runs()

    def partial(status: JobStatus, run: RunSpec) -> RunResult | None:
        return next((result for result in status.partials if result.spec == run), None)

    status = wait_for(manager, job_id, lambda s: len(getattr(partial(s, adam), "records", ())) >= 2, timeout=60)
    assert status.state == "running" and status.progress is not None, status.error
    assert [row["step"] for row in partial(status, adam).records[:2]] == [1000, 2000], "live telemetry crosses"

    manager.cancel(job_id, optimizer=0)  # Adam alone: its run stops growing, SGD's goes on
    frozen = len(partial(wait_for(manager, job_id, lambda s: s.stopped_optimizers == (0,), timeout=5), adam).records)
    status = wait_for(manager, job_id, lambda s: len(partial(s, sgd).records) > frozen + 2, timeout=10)
    assert status.state == "running" and len(partial(status, adam).records) <= frozen + 1

    cancelled_at = time.monotonic()
    manager.cancel(job_id)
    status = wait_for(manager, job_id, lambda s: s.done, timeout=5)
    assert status.state == "cancelled", status.error
    assert time.monotonic() - cancelled_at < 5
    assert [r.status for r in status.results] == ["cancelled", "cancelled"] and status.partials == ()
    assert len(status.results[0].records) >= 2, "the cancelled run keeps its telemetry"
    assert {run.status for run in store.list_runs(job_id=job_id)} == {"cancelled"}


# --- the worker process ---------------------------------------------------------------------------------------------


def report_threads(*, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    """A worker's target: report the torch threads it runs with."""
    report("threads", torch.get_num_threads())


def report_niceness(*, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    """A worker's target: report its scheduling priority (Unix nice value) and the module that ran as its main."""
    report("niceness", os.nice(0))
    report("main", sys.modules["__mp_main__"].__spec__.name)


def fail(message: str, *, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    raise ValueError(message)


def wait(cooperative: bool, *, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    """Run until stopped (``cooperative``) or forever."""
    report("started", None)
    while not (cooperative and should_stop()):
        time.sleep(0.01)


def wait_with_pid(cooperative: bool, *, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    """``wait``, first reporting the worker's process id."""
    report("pid", os.getpid())
    wait(cooperative, report=report, should_stop=should_stop)


# A server stand-in: two workers (one that stops when asked, one that never does), their pids printed, then asleep.
PARENT = """
import time
from engine.jobs import Worker
from tests.test_jobs import wait_with_pid
workers = [Worker(wait_with_pid, cooperative) for cooperative in (True, False)]
for worker in workers:
    worker.start()
print(*(worker.report(timeout=60)[1] for worker in workers), flush=True)
time.sleep(120)
"""


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie has: nobody may reap an orphan's in a container)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def seconds_until_gone(pids: list[int], limit: float = 10.0) -> float:
    """Seconds until every process of ``pids`` has ended (at most about ``limit``)."""
    started = time.monotonic()
    while not all(gone(pid) for pid in pids) and time.monotonic() - started < limit:
        time.sleep(0.1)
    return time.monotonic() - started


def reports_until_the_end(job: Worker, timeout: float = 60.0) -> list[tuple[str, Any]]:
    """The worker's reports up to its last (``done`` or ``error``)."""
    deadline, taken = time.monotonic() + timeout, []
    while time.monotonic() < deadline and (not taken or taken[-1][0] not in ("done", "error")):
        report = job.report(timeout=0.1)
        if report is not None:
            taken.append(report)
    return taken


def test_workers_side_by_side_share_the_usable_cores() -> None:
    def shares(at_once: int) -> list[int]:
        budget = ThreadBudget(cores=4)
        leases = [budget.lease(work=1e12) for _ in range(at_once)]  # each wants every core
        return [lease.threads for lease in leases]

    assert [shares(1), shares(2), shares(3), shares(8)] == [[4], [2, 2], [2, 1, 1], [1] * 8]


def test_a_worker_runs_with_the_threads_it_is_given_and_reports_its_end_or_its_error() -> None:
    threads = Worker(report_threads, work=1e12, budget=ThreadBudget(cores=3))
    failing = Worker(fail, "bad value\nsecond line", budget=ThreadBudget(cores=3))
    threads.start()
    failing.start()
    try:
        assert reports_until_the_end(threads) == [("threads", 3), ("done", None)]
        assert reports_until_the_end(failing) == [("error", "ValueError: bad value")]
    finally:
        threads.close()
        failing.close()


def test_a_stopped_worker_ends_cooperatively_or_is_terminated_after_the_grace() -> None:
    cooperative, stubborn = Worker(wait, True), Worker(wait, False)
    for job in (cooperative, stubborn):
        job.start()
        assert job.report(timeout=60.0) == ("started", None)
    stopped_at = time.monotonic()
    cooperative.stop()
    stubborn.stop(grace=0.5)
    try:
        assert reports_until_the_end(cooperative, timeout=5.0) == [("done", None)]
        while stubborn.alive and time.monotonic() - stopped_at < 5.0:
            time.sleep(0.05)
        assert not stubborn.alive and stubborn.stop_requested and stubborn.exitcode != 0
        assert stubborn.reports() == [], "terminated: it never reported an end"
    finally:
        cooperative.close()
        stubborn.close()


def test_a_worker_does_not_run_the_main_script_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker, script = tmp_path / "imported", tmp_path / "app.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    main = types.ModuleType("__main__")  # what Streamlit's script runner installs as __main__: the app script
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    plain = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(0,))
    plain.start()
    plain.join(60)
    assert marker.exists(), "a plain spawn child runs the parent's main script: the stand-in is faithful"
    marker.unlink()
    worker = Worker(report_threads)
    worker.start()
    try:
        assert reports_until_the_end(worker)[-1] == ("done", None)
    finally:
        worker.close()
    assert not marker.exists(), "the worker started without running app.py"


@pytest.mark.skipif(not hasattr(os, "nice"), reason="Unix scheduling priority")
def test_a_worker_trains_at_a_lower_priority_than_its_server() -> None:
    """The server's pages and polls come before training, so a loaded server stays live."""
    worker = Worker(report_niceness)
    worker.start()
    try:
        reports = reports_until_the_end(worker)
    finally:
        worker.close()
    assert ("niceness", min(os.nice(0) + WORKER_NICENESS, 19)) in reports
    # lowered by the worker's main, which runs before the worker imports torch and the engine (seconds of CPU that,
    # at the server's priority, made a loaded server's pages stalest whenever a worker started)
    assert ("main", "engine.worker_main") in reports


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_workers_end_within_seconds_of_their_parents_death(repo_root: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=repo_root, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(repo_root)})
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    elapsed = seconds_until_gone(pids)
    assert all(gone(pid) for pid in pids), f"workers still alive {elapsed:.1f} s after their parent's SIGKILL"
    assert elapsed < 5, f"the stubborn worker took {elapsed:.1f} s"
