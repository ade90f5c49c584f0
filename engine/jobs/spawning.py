"""How a worker process starts and ends: from a clean ``__main__``, and never outliving the process that started it.

A clean main. Spawn prepares a child by re-creating the parent's ``__main__`` in it
(``multiprocessing.spawn.get_preparation_data``: ``init_main_from_path`` runs the parent's main script again as
``__mp_main__``, ``init_main_from_name`` imports its module). Under ``streamlit run app.py`` the parent's ``__main__``
is Streamlit's module of the app script (the script runner installs it at every run), so every worker re-ran
``app.py`` in a bare interpreter: Streamlit's bare-mode warning, a dozen "missing ScriptRunContext" warnings and the
app's imports before any work. A worker's target is a module-level function of an importable module (spawn pickles it
by name), so the child needs nothing of the parent's main: ``start_clean`` starts a process with ``engine.worker_main``
as its main instead, which lowers the child's priority before it imports anything else.

Why a wrapper of ``get_preparation_data`` rather than swapping ``sys.modules["__main__"]`` around ``start``:
Streamlit's script threads assign ``sys.modules["__main__"]`` at every script run, so a swap races them (and would
hand a running page the wrong main). The wrapper, installed once at import, changes nothing for other callers: it
drops the main only for a start made through ``start_clean`` on the same thread (a thread-local flag).

The end. A spawn child is reparented to PID 1 when its parent is killed (SIGKILL, OOM) and would train on, unseen,
forever. ``exit_with_parent`` watches the parent's sentinel (a pipe whose other end closes when the parent dies, on
any platform); when it fires it sets an event the work polls as a stop, and exits the process ``grace`` seconds later
if the work has not ended by then. ``prctl(PR_SET_PDEATHSIG)`` was no option: it fires when the *thread* that started
the child ends, and a Streamlit script thread that starts a sweep ends at once.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.spawn
import os
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

WORKER_MAIN = "engine.worker_main"  # every worker's main: it lowers the process's priority first
_LOCAL = threading.local()
_ORIGINAL = getattr(multiprocessing.spawn.get_preparation_data, "__wrapped__",
                    multiprocessing.spawn.get_preparation_data)


def _preparation_data(name: str) -> dict[str, Any]:
    """The standard preparation data; when this thread is in ``start_clean``, with ``engine.worker_main`` (which
    lowers the child's priority before its imports) as the child's main instead of the parent's."""
    data = _ORIGINAL(name)
    if getattr(_LOCAL, "clean", False):
        data.pop("init_main_from_path", None)
        data["init_main_from_name"] = WORKER_MAIN
    return data


_preparation_data.__wrapped__ = _ORIGINAL  # type: ignore[attr-defined]  # a reload wraps the original, not us
multiprocessing.spawn.get_preparation_data = _preparation_data


def spawn_context() -> multiprocessing.context.SpawnContext:
    """The one start method of every worker and of the shared memory they read: spawn (a fork of a threaded server
    is unsafe, and spawn behaves the same on every platform)."""
    return multiprocessing.get_context("spawn")


def start_clean(process: BaseProcess) -> None:
    """``process.start()`` for a spawn process whose child runs ``engine.worker_main`` as its main, not this
    process's ``__main__``."""
    _LOCAL.clean = True
    try:
        process.start()
    finally:
        _LOCAL.clean = False


def exit_with_parent(grace: float) -> threading.Event:
    """In a spawned child: an event set when the parent process ends; the child exits ``grace`` seconds after that.
    An event that is never set where there is no parent (a process not started by ``multiprocessing``)."""
    orphaned = threading.Event()
    parent = multiprocessing.parent_process()
    if parent is None:
        return orphaned

    def watch() -> None:
        parent.join()  # waits on the parent's sentinel: it returns when the parent has ended, however it ended
        orphaned.set()
        time.sleep(grace)  # a work that stops in time ends the process first, and this daemon thread with it
        os._exit(1)  # the work ignored the stop: nobody is left to read its results

    threading.Thread(target=watch, name="optiscope-parent-watch", daemon=True).start()
    return orphaned
