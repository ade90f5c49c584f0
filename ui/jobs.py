"""The live job views' shared parts: polling a background job, stopping the poll once it ends, and what a page's Start
and Cancel buttons do to it."""

import contextlib
from collections.abc import Callable
from typing import NoReturn

import streamlit as st

from engine.jobs import Busy, JobManager, JobStatus, UnknownJob
from ui.text import literal


def stop_polling() -> NoReturn:
    """Rerun the whole page from inside a polling fragment whose job has ended, so that the fragment stops polling.

    Call it before the fragment draws anything. When a fragment run draws and then reruns the whole page, the
    frontend of Streamlit 1.67 (pinned) sometimes drops the element right after the fragment, or keeps the fragment's
    old elements beside the new ones: its stale-node cleanup races the full rerun (cf. streamlit/streamlit#16708).
    tests/e2e/test_sweeps.py reads the heading after the Sweeps page's fragment.
    """
    st.rerun()


def poll_job(manager: JobManager, job_id: str, what: str) -> JobStatus | str:
    """``manager.poll(job_id)``, or the message to show instead (a page never raises into the browser); ``what``
    names the job in it, e.g. ``"training job"``."""
    try:
        return manager.poll(job_id)
    except UnknownJob:
        return (f"There is no {what} {job_id!r} on this server: it was never started here, or it ended long ago and "
                "nothing of it was saved. Press Start to run it.")
    except Exception as error:  # a broken store or manager: a message, never a traceback
        return f"Could not read {what} {job_id!r}: {type(error).__name__}: {error}"


def job_actions(manager: JobManager, job_key: str, job_id: str | None, status: JobStatus | str | None, *,
                start: bool, stop: bool, submit: Callable[[], str] | None) -> str | None:
    """What a page's Start and Cancel buttons do to its background job; the job id to show next (None: none).

    Start submits (``submit`` returns the new job's id; a busy server's message is shown instead) and reruns the page,
    so the buttons redraw with Start off and Cancel on; Cancel cancels; a job the manager does not know (``status`` is
    then the message ``poll_job`` gave, from a stale link) is reported once and forgotten. ``job_key`` is the
    session-state key that holds the page's job id."""
    if start and submit is not None:
        try:
            job_id = submit()
        except Busy as error:
            st.warning(str(error), icon=":material/hourglass_top:")
        else:
            st.session_state[job_key] = job_id
            st.rerun()
    if stop and job_id:
        with contextlib.suppress(UnknownJob):  # it ended and was dropped meanwhile: the view says so
            manager.cancel(job_id)
    if isinstance(status, str) and not start:  # literally: it repeats the link's job id
        st.warning(literal(status), icon=":material/link_off:")
        st.session_state[job_key] = job_id = None
    return job_id
