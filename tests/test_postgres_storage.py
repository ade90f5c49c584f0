"""A real PostgreSQL server as the sweeps' shared storage: two worker processes finish one study through it.

The server is started for the test on a free localhost port in a temporary directory (as the ``postgres`` user
when the tests run as root, which PostgreSQL refuses) and stopped after. Debian's ``postgresql`` package puts
the binaries in /usr/lib/postgresql/<version>/bin; ``.ci/run`` installs it. Outside CI the test is skipped, with a
message naming the package, when they are missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_studies import spec, two_workers_spend_the_budget


def _binaries() -> Path | None:
    """The directory with initdb and pg_ctl (the newest Debian version, else the PATH's)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    binaries = _binaries()
    if binaries is None:
        message = "PostgreSQL server binaries not found: install Debian's postgresql package"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    as_user: list[str] = []
    data = Path(tempfile.mkdtemp(prefix="optiscope-pg-"))
    if os.geteuid() == 0:  # postgres refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(data, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    cluster = data / "cluster"

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    run(str(binaries / "initdb"), "-D", str(cluster), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={data}"
    run(str(binaries / "pg_ctl"), "-D", str(cluster), "-o", options, "-l", str(data / "server.log"), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(cluster), "-m", "immediate", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


def test_two_workers_finish_a_study_in_postgresql(postgres_url: str, tmp_path: Path) -> None:
    two_workers_spend_the_budget(spec(name="postgres", trials=3, steps=100), postgres_url, tmp_path, timeout_s=300)
