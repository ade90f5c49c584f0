"""Threads: the decision from the work's size, the core budget that worker processes lease from (never more threads
than cores but the floor of one per worker, leases back when a worker ends however it ends), and workers that follow
their share while they run. No timings: the machine is shared."""

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from engine.jobs import JobRegistry, ThreadBudget, Worker, threads
from engine.jobs.threads import share_out
from engine.runs import ComparisonSpec, OptimizerChoice, RunSettings
from engine.runs.device import WORK_PER_THREAD, step_work, threads_for
from engine.tasks import MNIST1D

BIG = 1e12  # multiply-adds a step that want every core of any machine


def eventually(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Whether ``condition`` holds within ``timeout`` seconds (worker processes take a few seconds to start)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- the decision ---------------------------------------------------------------------------------------------------

def test_small_work_gets_one_thread_and_large_work_more_never_above_the_cores() -> None:
    one_mlp_run = step_work(RunSettings(MNIST1D))
    assert threads_for(0.0, 8) == threads_for(step_work(RunSettings("rosenbrock"), runs=256 * 256), 8) == 1
    assert threads_for(one_mlp_run, 8) == 1, "the default MNIST-1D run: a second thread gains a few per cent"
    assert threads_for(4 * one_mlp_run, 8) > 1
    assert [threads_for(16 * one_mlp_run, cores) for cores in (1, 2, 4)] == [1, 2, 4]
    assert threads_for(BIG, 3) == 3
    assert threads_for(2 * WORK_PER_THREAD, 8) == 2
    with pytest.raises(ValueError, match=r"^threads_for: invalid cores=0"):
        threads_for(1.0, 0)


def test_the_work_of_a_step_scales_with_the_runs_the_batch_and_the_network() -> None:
    base = step_work(RunSettings(MNIST1D))
    assert base == 3 * 128 * (40 * 256 + 2 * 256 * 256 + 256 * 10)  # forward once, backward twice, seed MLP
    assert step_work(RunSettings(MNIST1D), runs=6) == 6 * base
    assert step_work(RunSettings(MNIST1D, batch_size=512)) == 4 * base
    assert step_work(RunSettings(MNIST1D, task_args={"width": 512})) > 3 * base
    comparison = ComparisonSpec(MNIST1D, (OptimizerChoice("sgd"), OptimizerChoice("adam")), seeds=(0, 1, 2))
    assert step_work(comparison, len(comparison.runs())) == 6 * base


def test_configure_threads_without_a_count_follows_the_work_it_is_told(repo_root: Path) -> None:
    code = "from engine.runs.device import configure_threads; print(configure_threads(work=0.0))"
    environment = {key: value for key, value in os.environ.items() if key != "OPTISCOPE_THREADS"}
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=False,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


# --- the budget -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("wants", "cores", "shares"), [
    ([], 4, []),
    ([4], 4, [4]),
    ([1, 4], 4, [1, 3]),
    ([4, 4], 4, [2, 2]),
    ([4, 4, 4], 4, [2, 1, 1]),
    ([2, 8, 8], 8, [2, 3, 3]),
    ([4] * 6, 4, [1] * 6),  # more workers than cores: the floor of one thread each
])
def test_share_out_is_max_min_fair(wants: list[int], cores: int, shares: list[int]) -> None:
    assert share_out(wants, cores) == shares


def test_shares_never_exceed_the_cores_but_for_the_floor() -> None:
    generator = random.Random(0)
    for _ in range(500):
        cores = generator.randint(1, 16)
        wants = [generator.randint(1, cores) for _ in range(generator.randint(0, 20))]
        shares = share_out(wants, cores)
        assert all(1 <= share <= want for share, want in zip(shares, wants, strict=True))
        assert sum(shares) <= max(cores, len(wants))
        assert sum(shares) == max(len(wants), min(cores, sum(wants)))  # no core left idle that a lease wants


def test_concurrent_leases_never_hold_more_threads_than_cores() -> None:
    budget, seen, done = ThreadBudget(cores=4), [], threading.Event()

    def churn(work: float) -> None:
        for _ in range(300):
            lease = budget.lease(work)
            assert 1 <= lease.threads <= 4
            budget.release(lease)

    def watch() -> None:
        while not done.is_set():
            seen.append(budget.leased)

    watcher = threading.Thread(target=watch)
    workers = [threading.Thread(target=churn, args=(work,)) for work in (0.0, 3 * WORK_PER_THREAD, BIG, BIG)]
    watcher.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    watcher.join()
    assert seen and max(seen) <= 4
    assert budget.leased == 0


def test_the_users_thread_cap_sizes_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTISCOPE_THREADS", "1")
    budget = ThreadBudget()
    assert budget.cores == 1 and [budget.lease(BIG).threads for _ in range(2)] == [1, 1]
    assert ThreadBudget(cores=3).cores == 3
    monkeypatch.setenv("OPTISCOPE_THREADS", "two")
    with pytest.raises(ValueError, match=r"^OPTISCOPE_THREADS: invalid value 'two'"):
        ThreadBudget()


def test_shares_shrink_for_a_newcomer_and_grow_back_when_it_leaves() -> None:
    budget, heard = ThreadBudget(cores=4), []
    first = budget.lease(BIG, on_change=heard.append)
    assert first.threads == 4
    second = budget.lease(BIG)
    assert (first.threads, second.threads, budget.leased) == (2, 2, 4)
    budget.release(second)
    budget.release(second)  # again: nothing changes
    assert (first.threads, budget.leased, heard) == (4, 4, [4, 2, 4])  # its first share, then each change


# --- worker processes -----------------------------------------------------------------------------------------------

def follow_threads(*, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    """A worker's target: report its torch threads at the start and whenever they change, until stopped."""
    threads_now = 0
    while not should_stop():
        if torch.get_num_threads() != threads_now:
            threads_now = torch.get_num_threads()
            report("threads", threads_now)
        time.sleep(0.01)


def fail(*, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    raise ValueError("bad value")


def ignore_stop(*, report: Callable[[str, Any], None], should_stop: Callable[[], bool]) -> None:
    report("started", None)
    while True:
        time.sleep(0.01)


def latest_threads(worker: Worker, seen: dict[Worker, int]) -> int | None:
    """The thread count ``worker`` reported last (reports taken so far are kept in ``seen``)."""
    for kind, payload in worker.reports():
        if kind == "threads":
            seen[worker] = payload
    return seen.get(worker)


def test_a_worker_follows_its_share_and_gives_it_back_when_it_ends() -> None:
    budget, seen = ThreadBudget(cores=2), {}
    worker = Worker(follow_threads, work=BIG, budget=budget)
    worker.start()
    try:
        assert budget.leased == 2
        assert eventually(lambda: latest_threads(worker, seen) == 2)
        newcomer = budget.lease(BIG)  # another job starts: the worker's share drops to one thread
        assert eventually(lambda: latest_threads(worker, seen) == 1)
        budget.release(newcomer)
        assert eventually(lambda: latest_threads(worker, seen) == 2)
        worker.stop()
        assert eventually(lambda: budget.leased == 0), "released when the process ended, before close"
    finally:
        worker.close()


def test_a_failed_or_terminated_worker_gives_its_threads_back() -> None:
    budget = ThreadBudget(cores=2)
    failing, stubborn = Worker(fail, work=BIG, budget=budget), Worker(ignore_stop, budget=budget)
    failing.start()
    stubborn.start()
    try:
        assert budget.leased == 2
        assert stubborn.report(timeout=60.0) == ("started", None)
        assert eventually(lambda: budget.leased == 1), "the failed worker's lease is back"
        stubborn.stop(grace=0.2)
        assert eventually(lambda: budget.leased == 0), "the terminated worker's lease is back"
        assert failing.reports()[-1] == ("error", "ValueError: bad value")
    finally:
        failing.close()
        stubborn.close()


def test_two_workers_of_a_named_job_never_hold_more_threads_than_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    budget, registry, seen = ThreadBudget(cores=2), JobRegistry(), {}
    monkeypatch.setattr(threads, "_DEFAULT", budget)  # the process's budget, which every Worker leases from
    registry.start("test", "pair", follow_threads, processes=2, work=BIG)  # each alone would take both cores
    workers = registry._jobs[("test", "pair")].workers
    try:
        assert budget.leased == 2
        assert eventually(lambda: [latest_threads(worker, seen) for worker in workers] == [1, 1])
        assert sum(seen.values()) <= budget.cores
    finally:
        registry.stop("test", "pair")
        assert eventually(lambda: not registry.running("test", "pair"))
        for worker in workers:
            worker.close()
    assert budget.leased == 0
