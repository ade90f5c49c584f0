"""A server killed with SIGKILL mid-job: its worker process ends within seconds, and the next server finds the job
interrupted (never cancelled) with the run that had ended, and resumes the rest.

The server stand-in is what ``streamlit run`` holds the jobs in: the engine's job manager (``get_manager``), in a
subprocess of its own, training MNIST-1D in a spawned worker as the Train page does (the runs as one batch). One
optimizer of the job is cancelled first, so that one run has ended (and been saved, at once, although its batch goes
on) while the other still trains when the server is killed. ``tests/e2e/test_fault_e2e.py`` does the same through a
real server and its Train page.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.jobs import JobManager
from engine.runs import ComparisonSpec, OptimizerChoice, store
from engine.tasks import MNIST1D
from tests.test_jobs import gone, seconds_until_gone

SPEC = ComparisonSpec(MNIST1D, (OptimizerChoice.parse("adam:lr=0.0047"), OptimizerChoice.parse("sgd:lr=0.05")),
                      epochs=50, batch_size=16, log_every=50)

# The server: submit, cancel the first optimizer once it trains, wait for its run to be saved, print the job's id.
SERVER = f"""
import time
from engine.jobs import JobManager
from engine.runs import ComparisonSpec, store
manager = JobManager(mode="process")
job_id = manager.submit(ComparisonSpec.from_json({SPEC.to_json()!r}))
while not manager.poll(job_id).partials:
    time.sleep(0.05)
manager.cancel(job_id, optimizer=0)
while not store.list_runs(job_id=job_id):
    time.sleep(0.05)
print(job_id, flush=True)
time.sleep(300)
"""


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_killed_server_loses_nothing_and_leaves_no_worker(repo_root: Path, home_with_mnist1d: Path) -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], cwd=repo_root, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(repo_root)})
    try:
        job_id = server.stdout.readline().strip()  # type: ignore[union-attr]
        assert job_id, "the server stand-in did not start the job"
        workers = [pid for pid in children(server.pid) if not gone(pid)]
        assert workers, "the job trains in a worker process"
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    elapsed = seconds_until_gone(workers)
    assert all(gone(pid) for pid in workers), "the worker outlived its server"
    assert elapsed < 6, f"the worker took {elapsed:.1f} s to end after its server"

    restarted = JobManager()  # the next server
    status = restarted.poll(job_id)
    assert status.state == "interrupted" and status.restored and status.spec == SPEC
    assert [(r.spec.optimizer.key, r.status) for r in status.results] == [("adam", "cancelled")]
    restarted.resume(job_id)
    deadline = time.monotonic() + 60
    while not restarted.poll(job_id).partials and time.monotonic() < deadline:
        time.sleep(0.1)
    resumed = restarted.poll(job_id)
    assert resumed.state == "running" and [r.spec.optimizer.key for r in resumed.partials] == ["sgd"], \
        "only the run that had not ended trains again"
    restarted.cancel(job_id)
    while not restarted.poll(job_id).done and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(store.list_runs(job_id=job_id)) == 2
